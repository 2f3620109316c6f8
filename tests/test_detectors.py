"""Beam-free detectors: identities and keys (hashing), image decoding (images), and the
content checks every parsed record goes through (validate). Images are built with PIL."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from detectors.defects import InputDefect
from detectors.hashing import (bytes_key, content_id, digest, normalize_text, record_uid,
                               text_key)
from detectors.images import (DEFAULT_MAX_PIXELS, inspect_image, jpeg_stream_key, load_displayed,
                              open_image)
from detectors.phash import hamming, phash
from schemas.settings import InputSettings, NearImageSettings
from detectors.validate import validate
from schemas.reasons import Reason
from schemas.records import Fingerprint, make_record
from tests.builders import encode, picture


# ---------------------------------------------------------------- helpers

SIZE = (32, 24)   # the pictures' size unless a test says otherwise


def defect_of(data: bytes, **kwargs) -> InputDefect:
    with pytest.raises(InputDefect) as caught:
        inspect_image(data, **kwargs)
    return caught.value


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png_without_rows(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height 8-bit grey pixels, with no pixel rows."""
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b""))
            + _chunk(b"IEND", b""))


# ---------------------------------------------------------------- hashing

@pytest.mark.parametrize("text, normalized", [
    ("ＨＥＬＬＯ　Ｗｏｒｌｄ", "hello world"),        # full-width letters and space (NFKC)
    ("Hello World", "hello world"),
    ("  hello \t\n\r  world \u00a0", "hello world"),  # whitespace runs, NBSP, ends stripped
    ("Straße", "strasse"),                           # case folding, not just lower()
    ("ﬁne ①", "fine 1"),                             # ligature and circled digit (NFKC)
    ("", ""),
])
def test_normalize_text(text, normalized):
    assert normalize_text(text) == normalized


def test_text_key_equal_for_normalization_variants():
    variants = ["Hello World", "hello world", "ＨＥＬＬＯ　ＷＯＲＬＤ", " HELLO\n\tworld ",
                "hello\u00a0world", "HELLO\u3000WORLD"]
    assert len({text_key(v) for v in variants}) == 1
    assert len(text_key("x")) == 32


@pytest.mark.parametrize("a, b", [
    ("hello world", "hello worlds"),
    ("hello world", "helloworld"),       # whitespace is collapsed, never removed
    ("hello world", "hello, world"),
    ("resume", "résumé"),               # accents are not stripped
])
def test_text_key_differs_for_different_texts(a, b):
    assert text_key(a) != text_key(b)


def test_text_key_accepts_lone_surrogates():
    assert text_key("a\ud800") != text_key("a")


def test_content_id_format_and_stability():
    assert content_id(b"abc") == "c9a0135be68294218321f339b"  # ids must not change across versions
    assert content_id() == "cb8e1dda3ac0aa3820ad2990b"
    assert content_id(b"abc") == content_id(b"abc")
    assert content_id(b"abc") != content_id(b"abd")


def test_content_id_length_prefixes_its_parts():
    assert content_id(b"ab", b"c") != content_id(b"a", b"bc")
    assert content_id(b"abc") != content_id(b"abc", b"")
    assert content_id(b"", b"x") != content_id(b"x", b"")


def test_record_uid_is_per_source_and_location():
    uid = record_uid("data/a.jsonl", "line 1")
    assert len(uid) == 24
    assert uid == record_uid("data/a.jsonl", "line 1")
    assert uid != record_uid("data/a.jsonl", "line 2")
    assert uid != record_uid("data/b.jsonl", "line 1")
    assert record_uid("a", "bc") != record_uid("ab", "c")
    # A file name with undecodable bytes (surrogate escapes) still gets a uid.
    assert record_uid("caf\udce9.tar", "member 0") != record_uid("caf\udce8.tar", "member 0")


def test_bytes_key_and_digest():
    assert bytes_key(b"x") == digest(b"x", 16) and len(bytes_key(b"x")) == 32
    assert bytes_key(b"x") != bytes_key(b"y")
    assert len(digest(b"x")) == 24


# ---------------------------------------------------------------- images: same picture

def test_png_and_lossless_webp_of_the_same_pixels_share_the_pixel_key():
    image = picture(1, SIZE)
    png, webp = encode(image, "PNG"), encode(image, "WEBP", lossless=True)
    assert png != webp
    a, b = inspect_image(png), inspect_image(webp)
    assert (a.format, b.format) == ("png", "webp")
    assert (a.width, a.height, a.mode) == (32, 24, "RGB")
    assert a.pixel_key == b.pixel_key
    assert bytes_key(png) != bytes_key(webp)
    # Another compression level: other bytes, same key.
    recompressed = encode(image, "PNG", compress_level=0)
    assert recompressed != png
    assert inspect_image(recompressed).pixel_key == a.pixel_key


def test_different_pixels_differ():
    image = picture(1, SIZE)
    changed = image.copy()
    changed.putpixel((0, 0), tuple((v + 1) % 256 for v in image.getpixel((0, 0))))
    assert inspect_image(encode(image, "PNG")).pixel_key != \
        inspect_image(encode(changed, "PNG")).pixel_key
    # Same pixels, other shape: the size is part of the key.
    flat = Image.fromarray(np.asarray(image).reshape(1, -1, 3))
    assert inspect_image(encode(image, "PNG")).pixel_key != \
        inspect_image(encode(flat, "PNG")).pixel_key


def test_jpeg_key_ignores_metadata_but_not_pixels():
    image = picture(2, size=(96, 64))
    plain = encode(image, "JPEG", quality=80)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"   # metadata only: same pixels
    tagged = encode(image, "JPEG", quality=80, exif=exif.tobytes(), comment=b"scraped")
    assert tagged != plain and b"scraped" in tagged
    a, b = inspect_image(plain), inspect_image(tagged + b"trailing bytes")
    assert a.format == "jpeg" and a.pixel_key == b.pixel_key
    # Other quality, other pixels; a PNG of the decoded pixels is another file kind:
    # the near-duplicate stage pairs those (distance 0), not the exact key.
    assert inspect_image(encode(image, "JPEG", quality=81)).pixel_key != a.pixel_key
    as_png = encode(Image.open(io.BytesIO(plain)).convert("RGB"), "PNG")
    assert inspect_image(as_png).pixel_key != a.pixel_key
    assert hamming(inspect_image(plain, phash=NearImageSettings()).phash,
                   inspect_image(as_png, phash=NearImageSettings()).phash) <= 2


def test_jpeg_stream_key_falls_back_to_pixels_when_markers_cannot_be_walked():
    jpeg = encode(picture(2, SIZE), "JPEG", quality=80)
    assert jpeg_stream_key(jpeg) is not None
    assert jpeg_stream_key(jpeg[:2] + b"\x00" + jpeg[3:]) is None


def test_jpeg_is_decoded_in_draft_mode_at_the_size_the_phash_needs():
    # Smooth content, as photos are (the pHash of pixel noise is itself noise).
    smooth = picture(3, size=(16, 12)).resize((1600, 1200), Image.Resampling.BICUBIC)
    big = encode(smooth, "JPEG", quality=90)
    image = open_image(big)
    small = load_displayed(image, 64, grey=True)
    assert small.mode == "L" and small.size == (200, 150)   # 1/8 scale in the DCT
    full = load_displayed(open_image(big))
    assert full.size == (1600, 1200) and full.mode == "RGB"
    # The pHash from the draft agrees with the one from the full decode.
    assert hamming(phash(small), phash(full)) <= 2


def test_opaque_rgba_equals_rgb_but_translucent_does_not():
    image = picture(3, SIZE)
    rgb = inspect_image(encode(image, "PNG"))
    rgba = inspect_image(encode(image.convert("RGBA"), "PNG"))
    assert rgba.mode == "RGBA" and rgba.pixel_key == rgb.pixel_key
    translucent = image.convert("RGBA")
    translucent.putpixel((0, 0), translucent.getpixel((0, 0))[:3] + (128,))
    assert inspect_image(encode(translucent, "PNG")).pixel_key != rgb.pixel_key


def test_palette_and_greyscale_images_are_keyed_by_their_displayed_pixels():
    image = picture(4, SIZE).quantize(colors=16)  # mode P
    info = inspect_image(encode(image, "PNG"))
    assert info.mode == "P"
    assert info.pixel_key == inspect_image(encode(image.convert("RGB"), "PNG")).pixel_key
    grey = picture(5, SIZE).convert("L")
    assert inspect_image(encode(grey, "PNG")).pixel_key == \
        inspect_image(encode(grey.convert("RGB"), "PNG")).pixel_key


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_is_applied(fmt):
    image = picture(6, SIZE)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    options = {"quality": 95} if fmt == "JPEG" else {}
    oriented = encode(image, fmt, exif=exif.tobytes(), **options)
    info = inspect_image(oriented, phash=NearImageSettings())
    # Width and height are the displayed ones.
    assert (info.width, info.height) == (image.height, image.width)
    # The same stored pixels without the tag are another picture.
    assert info.pixel_key != inspect_image(encode(image, fmt, **options)).pixel_key
    stored = Image.open(io.BytesIO(oriented)).convert("RGB")
    displayed = encode(stored.transpose(Image.Transpose.ROTATE_270), "PNG")
    assert hamming(info.phash, inspect_image(displayed, phash=NearImageSettings()).phash) <= 2
    if fmt == "PNG":   # lossless: the displayed pixels give the same key
        assert info.pixel_key == inspect_image(displayed).pixel_key


def test_sixteen_bit_png_is_accepted_and_kept_exact():
    rng = np.random.default_rng(7)
    deep = rng.integers(0, 65536, (10, 12)).astype(np.uint16)
    sixteen = Image.fromarray(deep)
    assert sixteen.mode == "I;16"
    info = inspect_image(encode(sixteen, "PNG"))
    assert (info.mode, info.width, info.height) == ("I;16", 12, 10)
    eight = inspect_image(encode(Image.fromarray((deep >> 8).astype(np.uint8)), "PNG"))
    assert eight.mode == "L" and eight.pixel_key != info.pixel_key
    # Changing one low byte changes the key: nothing is rounded to 8 bits.
    nudged = deep.copy()
    nudged[0, 0] ^= 1
    assert inspect_image(encode(Image.fromarray(nudged), "PNG")).pixel_key != info.pixel_key


def test_animated_gif_is_keyed_by_its_first_frame():
    frames = [Image.new("RGB", (9, 7), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert getattr(Image.open(io.BytesIO(gif)), "n_frames", 1) == 2
    info = inspect_image(gif)
    assert (info.format, info.width, info.height) == ("gif", 9, 7)
    assert info.pixel_key == inspect_image(encode(frames[0], "PNG")).pixel_key
    assert info.pixel_key != inspect_image(encode(frames[1], "PNG")).pixel_key


# ---------------------------------------------------------------- images: bad input

def test_zero_bytes_is_empty_file():
    assert defect_of(b"").reason is Reason.EMPTY_FILE


@pytest.mark.parametrize("data", [b"garbage, not an image" * 5, b"\x00", b"GIF89a"])
def test_garbage_is_undecodable(data):
    error = defect_of(data)
    assert error.reason is Reason.UNDECODABLE_IMAGE
    assert error.detail.startswith("not a known image format") or ":" in error.detail


def test_truncated_jpeg_scan_is_truncated_image():
    jpeg = encode(picture(8, size=(128, 96)), "JPEG", quality=90)
    error = defect_of(jpeg[: len(jpeg) * 2 // 3])
    assert error.reason is Reason.TRUNCATED_IMAGE
    assert "truncated" in error.detail


def test_truncated_png_data_is_truncated_image():
    png = encode(picture(8, size=(128, 96)), "PNG")
    error = defect_of(png[: len(png) // 2])
    assert error.reason is Reason.TRUNCATED_IMAGE


@pytest.mark.parametrize("fmt, cut", [("JPEG", 200), ("PNG", 20)])
def test_header_cut_short_is_truncated(fmt, cut):
    """Cut before the first pixel: Pillow fails while opening, and says the file is truncated."""
    data = encode(picture(8, size=(128, 96)), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    error = defect_of(data[:cut])
    assert error.reason is Reason.TRUNCATED_IMAGE
    assert "Truncated File Read" in error.detail


def test_pixel_cap_is_a_decompression_bomb():
    png = encode(picture(9, SIZE), "PNG")  # 32 x 24 = 768 pixels
    error = defect_of(png, max_pixels=767)
    assert error.reason is Reason.DECOMPRESSION_BOMB
    assert "32x24 = 768 pixels > cap 767" in error.detail
    assert inspect_image(png, max_pixels=768).width == 32  # the cap itself is allowed


@pytest.mark.parametrize("width, height", [(20000, 5000), (20000, 9000)])
def test_huge_declared_size_is_a_bomb_at_the_default_cap_without_decoding(width, height):
    """100 M pixels is over our cap; 180 M is over Pillow's own hard limit (2x its cap)."""
    error = defect_of(grey_png_without_rows(width, height))
    assert error.reason is Reason.DECOMPRESSION_BOMB
    assert str(DEFAULT_MAX_PIXELS) in error.detail


def test_raised_pixel_cap_is_honoured_above_pillows_limit():
    error = defect_of(grey_png_without_rows(20000, 9000), max_pixels=10**9)
    assert error.reason is Reason.TRUNCATED_IMAGE


def test_float_tiff_is_an_unsupported_mode():
    data = np.random.default_rng(10).random((5, 6)).astype(np.float32)
    tiff = encode(Image.fromarray(data), "TIFF")
    error = defect_of(tiff)
    assert error.reason is Reason.UNSUPPORTED_IMAGE_MODE
    assert "'F'" in error.detail
    # A policy may accept it: then it decodes.
    info = inspect_image(tiff, accepted_modes=("F",))
    assert (info.mode, info.width, info.height) == ("F", 6, 5)


def test_mode_not_in_a_narrowed_list_is_unsupported():
    png = encode(picture(11, SIZE), "PNG")
    assert defect_of(png, accepted_modes=("L",)).reason is Reason.UNSUPPORTED_IMAGE_MODE


# ---------------------------------------------------------------- validate

LIMITS = InputSettings(max_text_chars=20, max_caption_chars=10, max_image_pixels=10_000)
GOOD_IMAGE = encode(picture(12, SIZE), "PNG")


def text_record(text, **kwargs):
    return make_record(uid="u1", id="t1", kind="text", source="s.jsonl", position=3,
                       location="line 3", text=text, **kwargs)


def image_record(image=GOOD_IMAGE, caption="a kite", **kwargs):
    return make_record(uid="u2", id="i1", kind="image_text", source="s.tar", position=0,
                       location="key 'i1'", image=image, caption=caption, **kwargs)


def assert_no_keys(fingerprint: Fingerprint):
    assert (fingerprint.text_key, fingerprint.pixel_key, fingerprint.bytes_key) == (None,) * 3


def test_good_text_gets_a_text_key():
    record, fp = validate(text_record("Hello World"), LIMITS)
    assert record.defect is None
    assert fp == Fingerprint(uid="u1", id="t1", kind="text", source="s.jsonl", position=3,
                             text_key=text_key("Hello World"), pixel_key=None, bytes_key=None,
                             minhash=None, shingles=None)
    assert fp.text_key == text_key("ＨＥＬＬＯ world")


@pytest.mark.parametrize("text, reason", [
    ("", Reason.EMPTY_TEXT),
    (" \t\n\u3000 ", Reason.EMPTY_TEXT),
    (None, Reason.MISSING_TEXT),
    ("x" * 21, Reason.TEXT_TOO_LONG),
])
def test_bad_text(text, reason):
    record, fp = validate(text_record(text), LIMITS)
    assert record.defect == reason.value
    assert record.defect_detail
    assert_no_keys(fp)
    assert (fp.uid, fp.id) == ("u1", "t1")


def test_text_at_the_cap_is_kept():
    record, fp = validate(text_record("x" * 20), LIMITS)
    assert record.defect is None and fp.text_key is not None


def test_good_image_text_gets_pixel_and_bytes_keys_and_its_size():
    record, fp = validate(image_record(), LIMITS)
    assert record.defect is None
    assert (record.image_format, record.width, record.height) == ("png", 32, 24)
    assert fp.pixel_key == inspect_image(GOOD_IMAGE).pixel_key
    assert fp.bytes_key == bytes_key(GOOD_IMAGE)
    assert fp.text_key is None
    assert (fp.uid, fp.id, fp.kind, fp.position) == ("u2", "i1", "image_text", 0)


@pytest.mark.parametrize("kwargs, reason", [
    ({"image": None}, Reason.MISSING_IMAGE),
    ({"caption": None}, Reason.MISSING_CAPTION),
    ({"caption": "   "}, Reason.MISSING_CAPTION),
    ({"caption": "x" * 11}, Reason.TEXT_TOO_LONG),
    ({"image": b"not an image"}, Reason.UNDECODABLE_IMAGE),
    ({"image": b""}, Reason.EMPTY_FILE),
    ({"image": encode(picture(13, size=(101, 100)), "PNG")}, Reason.DECOMPRESSION_BOMB),
])
def test_bad_image_text(kwargs, reason):
    record, fp = validate(image_record(**kwargs), LIMITS)
    assert record.defect == reason.value
    assert_no_keys(fp)


def test_caption_at_the_cap_is_kept():
    record, _ = validate(image_record(caption="x" * 10), LIMITS)
    assert record.defect is None


def test_bad_image_is_reported_before_a_missing_caption():
    record, _ = validate(image_record(image=b"junk", caption=None), LIMITS)
    assert record.defect == Reason.UNDECODABLE_IMAGE.value


def test_a_parser_defect_passes_through_untouched():
    parsed = text_record(None, raw=b"{", defect=Reason.MALFORMED_JSON, defect_detail="line 1")
    record, fp = validate(parsed, LIMITS)
    assert record is parsed
    assert_no_keys(fp)


def test_unknown_kind_is_unsupported():
    unknown = make_record(uid="u3", id="x", kind="unknown", source="f", position=0,
                          location="file")
    record, fp = validate(unknown, LIMITS)
    assert record.defect == Reason.UNSUPPORTED_FILE.value
    assert_no_keys(fp)
