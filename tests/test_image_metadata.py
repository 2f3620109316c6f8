"""Cleaned images carry no hidden data (issue 23, item 4): EXIF with GPS, an e-mail in EXIF
Artist, XMP, an SSN in a PNG text chunk or a JPEG comment and bytes after the image's end
are removed; the ICC profile is kept, the EXIF orientation applied to the pixels, and the
pixels are copied bit for bit where no orientation needs applying.

Every image is made here with Pillow, carrying the metadata a camera or an editor writes;
what survives is read back twice: by walking the file's own segments or chunks, and by
Pillow."""

import io
import json
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from detectors.image_metadata import strip_metadata, strip_metadata_fields
from pipeline.policy import PolicyError, load_policy
from schemas.records import make_record
from schemas.settings import ImageMetadataSettings, PiiSettings
from tests.builders import sample
from tests.jobs import assert_conserved, run_job
from transforms.decide.rows import cleaned_image, metadata_findings

EMAIL = "jane.doe@example.com"
SSN = "536-22-1425"
SECRETS = (EMAIL.encode(), SSN.encode(), b"Jane", b"TRAILING", b"52.5", b"xmpmeta")
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
GPS = {1: "N", 2: (52.0, 30.0, 0.0), 3: "E", 4: (13.0, 24.0, 0.0)}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Jane</dc:creator></x:xmpmeta>'


def picture(size=(96, 64)) -> Image.Image:
    """Not symmetric, so a missed or wrong turn shows."""
    image = sample("coffee").resize(size)
    image.paste((255, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    return image


def exif(orientation: int = 1) -> Image.Exif:
    tags = Image.Exif()
    tags[0x013B] = EMAIL                          # Artist
    tags[0x010E] = f"SSN {SSN}"                   # ImageDescription
    tags[0x0112] = orientation
    tags[0x8825] = GPS
    return tags


def camera_jpeg(orientation: int = 1) -> bytes:
    buffer = io.BytesIO()
    picture().save(buffer, "JPEG", quality=90, exif=exif(orientation), icc_profile=ICC,
                   comment=f"owner {EMAIL}".encode(), xmp=XMP)
    return buffer.getvalue() + b"TRAILING " + SSN.encode()


def jpeg_markers(data: bytes):
    """(marker, segment) of the header segments, up to the first scan."""
    assert data[:2] == b"\xff\xd8"
    found, i = [], 2
    while data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        found.append((data[i + 1], data[i + 4:i + 2 + length]))
        i += 2 + length
    return found


def png_chunks(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, i = [], 8
    while i < len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        found.append(data[i + 4:i + 8])
        i += 12 + length
    return found


def webp_chunks(data: bytes):
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert struct.unpack("<I", data[4:8])[0] + 8 == len(data)
    found, i = [], 12
    while i < len(data):
        size = struct.unpack("<I", data[i + 4:i + 8])[0]
        found.append((data[i:i + 4], data[i + 8:i + 8 + size]))
        i += 8 + size + (size & 1)
    return found


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def assert_nothing_hidden(data: bytes):
    for secret in SECRETS:
        assert secret not in data, secret
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    for key in ("exif", "comment", "xmp", "XML:com.adobe.xmp", "photoshop"):
        assert key not in image.info, key
    assert image.info.get("icc_profile") == ICC


# ------------------------------------------------------------------ JPEG


def test_jpeg_loses_exif_gps_xmp_comment_and_trailing_bytes_with_its_pixels_untouched():
    original = camera_jpeg()
    assert EMAIL.encode() in original and SSN.encode() in original
    stripped = strip_metadata(original)
    assert_nothing_hidden(stripped.data)
    markers = [m for m, _ in jpeg_markers(stripped.data)]
    assert not {0xE1, 0xED, 0xFE} & set(markers)          # no EXIF/XMP, IPTC, comment
    assert 0xE2 in markers                                # the ICC profile
    assert stripped.data.endswith(b"\xff\xd9")
    assert not stripped.reencoded
    assert (pixels(stripped.data) == pixels(original)).all()
    kinds = stripped.kinds()
    assert {"exif", "gps", "xmp", "comment", "trailing"} <= set(kinds)
    assert dict(stripped.removed)["trailing"] == len(b"TRAILING " + SSN.encode())
    fields = {field: text for _, field, text in stripped.texts}
    assert fields["EXIF Artist"] == EMAIL and SSN in fields["EXIF ImageDescription"]
    assert EMAIL in fields["jpeg comment"] and "Jane" in fields["xmp"]


def test_jpeg_orientation_is_applied_to_the_pixels_when_exif_goes():
    original = camera_jpeg(orientation=6)
    stripped = strip_metadata(original)
    assert_nothing_hidden(stripped.data)
    assert stripped.reencoded   # Pillow has no lossless JPEG transpose
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(original))).convert("RGB")
    out = Image.open(io.BytesIO(stripped.data))
    assert out.size == upright.size == (64, 96)
    assert np.abs(pixels(stripped.data) - np.asarray(upright, dtype=np.int16)).mean() < 3
    # wrong turns are far off
    for turn in (Image.Transpose.ROTATE_90, Image.Transpose.TRANSPOSE):
        wrong = np.asarray(Image.open(io.BytesIO(original)).convert("RGB").transpose(turn),
                           dtype=np.int16)
        assert np.abs(pixels(stripped.data) - wrong).mean() > 10


def test_kept_kinds_survive_and_the_rest_goes():
    stripped = strip_metadata(camera_jpeg(), keep=("icc", "exif", "comment"))
    image = Image.open(io.BytesIO(stripped.data))
    assert image.getexif()[0x013B] == EMAIL and image.info["comment"]
    assert b"xmpmeta" not in stripped.data and b"TRAILING" not in stripped.data
    assert set(stripped.kinds()) == {"xmp", "trailing"}
    nothing_kept = strip_metadata(camera_jpeg(), keep=())
    assert "icc_profile" not in Image.open(io.BytesIO(nothing_kept.data)).info
    # a turned JPEG re-encoded keeps its kept comment, not its orientation
    turned = strip_metadata(camera_jpeg(orientation=6), keep=("icc", "comment"))
    assert Image.open(io.BytesIO(turned.data)).info["comment"] == f"owner {EMAIL}".encode()
    assert not Image.open(io.BytesIO(turned.data)).getexif()


def test_a_kept_kind_with_personal_data_is_removed_all_the_same():
    record = make_record(uid="u", id="cup", source="s.tar", position=0, location="member 0",
                         kind="image_text", caption="a cup", image=camera_jpeg())
    cleaned = cleaned_image(record, metadata=ImageMetadataSettings(keep=("icc", "exif")))
    assert_nothing_hidden(cleaned.image)
    assert {"EMAIL_ADDRESS", "US_SSN"} <= set(cleaned.personal)


@pytest.fixture(scope="module")
def pii_scan():
    """The PII stage's scanner (spaCy loads once for the module)."""
    from transforms.pii import shared_scanner
    scanner, _ = shared_scanner(PiiSettings())
    return scanner.scan


def test_a_name_in_kept_metadata_is_found_by_the_pii_scanner_and_removed(pii_scan):
    exif = Image.Exif()
    exif[0x013B] = "Margaret Thompson"   # Artist: a name, which no pattern finds
    buffer = io.BytesIO()
    picture().save(buffer, "JPEG", exif=exif.tobytes())
    record = make_record(uid="u", id="cup", source="s.tar", position=0, location="member 0",
                         kind="image_text", caption="a cup", image=buffer.getvalue())
    keep = ImageMetadataSettings(keep=("icc", "exif"))
    patterns_only = cleaned_image(record, metadata=keep)
    assert b"Margaret" in patterns_only.image and not patterns_only.personal
    scanned = cleaned_image(record, metadata=keep, scan=pii_scan)
    assert b"Margaret" not in scanned.image and scanned.personal == ("PERSON",)


def test_metadata_findings_join_the_patterns_and_the_scanner_once(pii_scan):
    found = metadata_findings(["mail jane.roe@example.net", "by Margaret Thompson"], pii_scan)
    assert [[f.entity_type for f in fs] for fs in found] == [["EMAIL_ADDRESS"], ["PERSON"]]


def test_a_jfif_thumbnail_is_dropped():
    buffer = io.BytesIO()
    picture().save(buffer, "JPEG")
    data = buffer.getvalue()
    # a JFIF header with a 2x1 RGB thumbnail
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x02\x01" + b"\x11\x22\x33" * 2
    data = (data[:2] + b"\xff\xe0" + struct.pack(">H", len(jfif) + 2) + jfif
            + data[2 + 2 + struct.unpack(">H", data[4:6])[0]:])
    stripped = strip_metadata(data)
    assert b"\x11\x22\x33" not in stripped.data and "thumbnail" in stripped.kinds()
    assert (pixels(stripped.data) == pixels(data)).all()


def test_a_multi_picture_jpeg_keeps_its_first_picture_only():
    buffer = io.BytesIO()
    first, second = picture(), sample("astronaut").resize((96, 64))
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=exif())
    original = buffer.getvalue()
    assert Image.open(io.BytesIO(original)).format == "MPO"
    stripped = strip_metadata(original)
    assert stripped.format == "jpeg"
    out = Image.open(io.BytesIO(stripped.data))
    assert out.format == "JPEG" and getattr(out, "n_frames", 1) == 1
    assert (pixels(stripped.data) == pixels(original)).all()   # the first picture, as it was
    assert {"thumbnail", "trailing", "exif"} <= set(stripped.kinds())
    assert stripped.data.count(b"\xff\xd8") == 1


# ------------------------------------------------------------------ PNG


def png_with_text(orientation: int = 1, mode: str = "RGB") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"SSN {SSN}")
    info.add_text("Author", EMAIL, zip=True)
    info.add_itxt("Description", f"Jane {EMAIL}", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05")
    buffer = io.BytesIO()
    picture().convert(mode).save(buffer, "PNG", pnginfo=info, exif=exif(orientation),
                                 icc_profile=ICC)
    return buffer.getvalue() + b"TRAILING"


def test_png_loses_text_chunks_exif_time_and_trailing_bytes_losslessly():
    original = png_with_text()
    stripped = strip_metadata(original)
    assert_nothing_hidden(stripped.data)
    assert png_chunks(stripped.data) == [b"IHDR", b"iCCP", b"IDAT", b"IEND"]
    assert not stripped.reencoded
    assert (pixels(stripped.data) == pixels(original)).all()
    assert {"text", "xmp", "exif", "gps", "other", "trailing"} <= set(stripped.kinds())
    texts = " ".join(text for _, _, text in stripped.texts)
    assert SSN in texts and EMAIL in texts and "Jane" in texts


def test_png_orientation_is_applied_losslessly():
    original = png_with_text(orientation=6, mode="RGBA")
    stripped = strip_metadata(original)
    assert_nothing_hidden(stripped.data)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(original)))
    out = Image.open(io.BytesIO(stripped.data))
    assert out.mode == "RGBA" and out.size == (64, 96)
    assert np.array_equal(np.asarray(out), np.asarray(upright))


# ------------------------------------------------------------------ WebP, GIF, TIFF


@pytest.mark.parametrize("lossless", [True, False])
def test_webp_loses_exif_xmp_and_trailing_bytes_and_keeps_its_icc(lossless):
    buffer = io.BytesIO()
    picture().save(buffer, "WEBP", lossless=lossless, quality=90, exif=exif(), xmp=XMP,
                   icc_profile=ICC)
    original = buffer.getvalue() + b"TRAILING"
    stripped = strip_metadata(original)
    assert_nothing_hidden(stripped.data)
    chunks = webp_chunks(stripped.data)
    assert [c for c, _ in chunks] == [b"VP8X", b"ICCP", b"VP8L" if lossless else b"VP8 "]
    assert chunks[0][1][0] & 0x0C == 0 and chunks[0][1][0] & 0x20   # flags: no EXIF/XMP, ICC
    assert (pixels(stripped.data) == pixels(original)).all()
    assert {"exif", "gps", "xmp", "trailing"} <= set(stripped.kinds())


def test_gif_loses_its_comment_and_trailing_bytes():
    buffer = io.BytesIO()
    picture().convert("P").save(buffer, "GIF", comment=f"SSN {SSN}".encode())
    original = buffer.getvalue() + b"TRAILING"
    stripped = strip_metadata(original)
    assert SSN.encode() not in stripped.data and b"TRAILING" not in stripped.data
    assert stripped.data.endswith(b";")
    assert (pixels(stripped.data) == pixels(original)).all()
    assert set(stripped.kinds()) == {"comment", "trailing"}


def test_other_formats_are_written_again_without_metadata():
    buffer = io.BytesIO()
    picture().save(buffer, "TIFF", tiffinfo={270: f"SSN {SSN}", 315: EMAIL})
    original = buffer.getvalue()
    stripped = strip_metadata(original)
    assert SSN.encode() not in stripped.data and EMAIL.encode() not in stripped.data
    assert stripped.format == "tiff" and stripped.reencoded
    assert (pixels(stripped.data) == pixels(original)).all()
    assert "exif" in stripped.kinds()


def test_a_container_that_does_not_parse_is_written_again():
    original = camera_jpeg()
    # a stray restart marker before the first scan: libjpeg passes over it, the segment
    # walk does not, and the image is written again from its pixels
    broken = original[:2] + b"\xff\xd0" + original[2:]
    Image.open(io.BytesIO(broken)).load()
    stripped = strip_metadata(broken)
    assert stripped.reencoded
    assert_nothing_hidden(stripped.data)
    assert {"exif", "gps", "comment"} <= set(stripped.kinds())
    assert np.abs(pixels(stripped.data) - pixels(original)).mean() < 3


# ------------------------------------------------------------------ a row's own fields

EXIF_COLUMN = json.dumps({"Image Make": "Canon", "Image Artist": "Jane Roe",
                          "GPS GPSLatitude": "[51, 30, 12]", "EXIF DateTimeOriginal": "x"})


def test_a_rows_exif_fields_go_unless_exif_is_kept():
    metadata = json.dumps({
        "exif": EXIF_COLUMN, "width": 96, "status": "success",
        "metadata": json.dumps({"GPS GPSLongitude": "[0, 7, 39]", "title": "a cup"}),
        "json": {"xmp": "<x:xmpmeta/>", "url": "https://example.org/a.jpg"}}, sort_keys=True)
    cleaned, removed = strip_metadata_fields(metadata)
    assert json.loads(cleaned) == {"width": 96, "status": "success",
                                   "metadata": json.dumps({"title": "a cup"}),
                                   "json": {"url": "https://example.org/a.jpg"}}
    assert sorted(removed) == ["exif", "json.xmp", "metadata.GPS GPSLongitude"]
    kept, removed = strip_metadata_fields(metadata, keep=("icc", "exif"))
    assert json.loads(kept)["exif"] == EXIF_COLUMN and removed == ("json.xmp",)
    assert strip_metadata_fields('{"width": 3}') == ('{"width": 3}', ())


def test_cleaned_image_text_rows_carry_no_exif_column():
    from transforms.decide.rows import cleaned_row
    record = make_record(uid="u", id="k", kind="image_text", source="s.parquet", position=0,
                         location="row 0", caption="a cup", image=_plain_png(),
                         metadata=json.dumps({"exif": EXIF_COLUMN, "width": 40}))
    row = cleaned_row(record, "k", image=cleaned_image(record))
    assert json.loads(row["metadata"]) == {"width": 40}
    keeping = ImageMetadataSettings(keep=("icc", "exif"))
    row = cleaned_row(record, "k", image=cleaned_image(record, metadata=keeping))
    assert json.loads(row["metadata"])["exif"] == EXIF_COLUMN


# ------------------------------------------------------------------ the policy


def test_the_policy_names_kinds_it_knows(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("image_metadata:\n  keep: [ICC, exif]\n")
    assert load_policy(str(path)).image_metadata.keep == ("icc", "exif")
    path.write_text("image_metadata:\n  keep: [gps]\n")
    with pytest.raises(PolicyError, match="gps"):
        load_policy(str(path))


# ------------------------------------------------------------------ the job


def test_the_job_writes_cleaned_images_without_hidden_data(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cup.jpg").write_bytes(camera_jpeg(orientation=6))
    (folder / "note.png").write_bytes(png_with_text())
    (folder / "plain.png").write_bytes(_plain_png())
    (folder / "cut.jpg").write_bytes(camera_jpeg()[:3000])   # bad input: quarantined
    (folder / "captions.jsonl").write_text("".join(
        f'{{"file_name": "{name}", "caption": "a cup of coffee"}}\n'
        for name in ("cup.jpg", "note.png", "plain.png", "cut.jpg")))
    out = run_job(tmp_path / "out", [str(folder) + "/"], "--no-pii", "--no-faces",
                  "--no-layouts", "--no-caption-templates", "--no-near-dedup-images")
    assert_conserved(out)
    kept = {row["id"]: row for row in out.cleaned_image_text}
    assert set(kept) == {"cup", "note", "plain"}
    assert [row["id"] for row in out.quarantine] == ["cut"]
    for name in ("cup", "note"):
        assert_nothing_hidden(kept[name]["image"])
    cup = Image.open(io.BytesIO(kept["cup"]["image"]))
    assert cup.size == (64, 96) == (kept["cup"]["width"], kept["cup"]["height"])
    assert kept["plain"]["image"] == _plain_png()   # nothing to remove: byte for byte
    meta = out.summary["image_metadata"]
    assert meta["cleaned_images_stripped"] == 2
    assert meta["removed"]["exif"] == 2 and meta["removed"]["gps"] == 2
    assert meta["removed"]["trailing"] == 2 and meta["removed"]["text"] == 1
    assert meta["personal_data_found"]["EMAIL_ADDRESS"] >= 2
    assert meta["personal_data_found"]["US_SSN"] >= 2
    assert out.counters["image_metadata_bytes_removed"] > 0


def _plain_png() -> bytes:
    buffer = io.BytesIO()
    picture((40, 30)).save(buffer, "PNG")
    return buffer.getvalue()
