"""Decode and check one image, and key its pixels.

Every image is decoded to the end (a truncated or corrupt file is found here), but a
JPEG only at the resolution the caller needs: Pillow's draft mode lets libjpeg scale
by 1/2, 1/4 or 1/8 in the DCT, several times cheaper than a full decode and resize.

The pixel key says "the same picture as displayed" (EXIF orientation applied, first
frame only), so a copy whose bytes differ only in how they are stored gets the same key:
- lossless formats: a hash of the decoded pixels (PNG to WebP-lossless, another PNG
  compression level, metadata stripped);
- JPEG: a hash of the segments that define the pixels (quantization and Huffman tables,
  frame header, Adobe colour transform, the scans) and the orientation, so metadata
  stripped or changed keeps the key without a full decode. A JPEG re-saved as PNG gets
  another key; the near-duplicate stage finds it at distance 0.
"""

import hashlib
import io
import threading
import warnings
from typing import NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from detectors.defects import InputDefect
from detectors.hashing import digest
from detectors.phash import FINE_SIDE, fine_hashes, greyscale, ground_level, phashes
from schemas.reasons import Reason
from schemas.settings import DEFAULT_ACCEPTED_MODES, DEFAULT_MAX_PIXELS, NearImageSettings

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


# What a pHash needs: its 4 x hash_size square, from at least twice that many pixels.
PHASH_DECODE_FACTOR = 8


class ImageInfo(NamedTuple):
    format: str
    width: int
    height: int
    mode: str
    pixel_key: str
    phash: Optional[bytes] = None
    phash_fine: Optional[bytes] = None   # plain-ground pictures only (detectors.phash)


def inspect_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
                  accepted_modes=DEFAULT_ACCEPTED_MODES,
                  phash: Optional[NearImageSettings] = None) -> ImageInfo:
    """Decode ``data`` fully; raise InputDefect with the specific reason if it is bad.

    Width and height are those displayed, after EXIF orientation; so are the pHashes,
    when asked for.
    """
    if not data:
        raise InputDefect(Reason.EMPTY_FILE, "zero bytes")
    try:
        image = _open_header(data)
    except Image.DecompressionBombError as err:
        raise InputDefect(Reason.DECOMPRESSION_BOMB,
                          f"more pixels than the cap of {max_pixels} ({err})") from None
    except UnidentifiedImageError:
        raise InputDefect(Reason.UNDECODABLE_IMAGE,
                          f"not a known image format (starts with {data[:8]!r})") from None
    except Exception as err:  # Pillow raises many types for corrupt headers
        raise _decode_defect(err) from None
    width, height = image.size
    if width * height > max_pixels:
        raise InputDefect(Reason.DECOMPRESSION_BOMB,
                          f"{width}x{height} = {width * height} pixels > cap {max_pixels}")
    if image.mode not in accepted_modes:
        raise InputDefect(Reason.UNSUPPORTED_IMAGE_MODE,
                          f"mode {image.mode!r} is not accepted ({image.format})")
    orientation = exif_orientation(image)
    width, height = displayed_size(image, orientation)
    key = jpeg_stream_key(data, orientation) if image.format == "JPEG" else None
    side = PHASH_DECODE_FACTOR * phash.hash_size if phash else 1
    try:
        # A JPEG keyed by its stream only needs the pHash's pixels (or, without a pHash,
        # the smallest scale: it is still decoded to the end).
        pixels = load_displayed(image, side if key else None, grey=bool(phash))
    except Exception as err:
        raise _decode_defect(err) from None
    grey = greyscale(pixels) if phash else None   # once, for both hashes
    return ImageInfo(format=(image.format or "unknown").lower(), width=width, height=height,
                     mode=image.mode, pixel_key=key or pixel_key(pixels),
                     phash=phashes(grey, phash) if phash else None,
                     phash_fine=_fine(data, grey, phash) if phash else None)


def _fine(data: bytes, grey: Image.Image, settings: NearImageSettings) -> Optional[bytes]:
    """The fine pHashes of a plain-ground picture. Whether it is one is read from the
    pixels at hand; only then is a JPEG that draft mode shrank below the fine hash's square
    decoded again, larger (a photo pays nothing more, and its coarse hash sees the pixels
    it always saw)."""
    if not settings.fine_check or ground_level(grey, settings) is None:
        return None
    if min(grey.size) < FINE_SIDE:
        image = _open_header(data)
        if image.format == "JPEG":
            grey = greyscale(load_displayed(image, FINE_SIDE, grey=True))
    return fine_hashes(grey, settings)


# How the formats the pipeline reads begin: a value that starts with none of these is not
# an image file (a column of such values is not an image column).
IMAGE_HEAD = 32


def looks_like_image(head: bytes) -> bool:
    """Whether ``head`` (a value's first IMAGE_HEAD bytes) starts like a JPEG, PNG, GIF,
    WebP, BMP or TIFF file."""
    return (head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a",
                             b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            # "BM" alone begins text too: a BMP's info header size follows at byte 14.
            or (head[:2] == b"BM" and len(head) >= 18
                and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124)))


def open_image(data: bytes) -> Image.Image:
    """The image's header (nothing decoded yet), for callers that already validated it."""
    return _open_header(data)


def load_displayed(image: Image.Image, min_side: Optional[int] = None,
                   grey: bool = False) -> Image.Image:
    """Decode ``image`` (fresh from open_image) as displayed; a JPEG at the smallest DCT
    scale whose sides stay at least ``min_side`` (None: full size), in grey when
    ``grey`` and the file allows it."""
    if min_side is not None and image.format == "JPEG":
        image.draft("L" if grey else image.mode, (min_side, min_side))
    image.load()
    return ImageOps.exif_transpose(image)


def exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:   # a corrupt EXIF block says nothing about orientation
        return 1


def displayed_size(image: Image.Image, orientation: Optional[int] = None) -> Tuple[int, int]:
    """(width, height) as displayed: a quarter turn in the EXIF orientation swaps them.
    Read from the header, before any draft shrinks the image."""
    orientation = exif_orientation(image) if orientation is None else orientation
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


_PILLOW_CAP = threading.Lock()


def _open_header(data: bytes) -> Image.Image:
    """Image.open (header only) with Pillow's own bomb check off: the caller applies its cap
    before any pixel is decoded, so a policy may raise the cap above Pillow's limit."""
    with _PILLOW_CAP, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _decode_defect(err: Exception) -> InputDefect:
    message = f"{type(err).__name__}: {err}"
    if "truncated" in message.lower():
        return InputDefect(Reason.TRUNCATED_IMAGE, message)
    return InputDefect(Reason.UNDECODABLE_IMAGE, message)


def has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def eight_bit(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency, in 8 bits: 16-bit samples are scaled
    (Pillow's convert clips them, so a 16-bit photo would turn white)."""
    if image.mode in SIXTEEN_BIT_MODES:
        return Image.fromarray((np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
                               ).convert("RGB")
    return image.convert("RGBA" if has_alpha(image) else "RGB")


def on_white(image: Image.Image) -> Image.Image:
    """8-bit RGB as a viewer shows it: transparency laid over white."""
    picture = eight_bit(image)
    if picture.mode == "RGBA":
        white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, picture).convert("RGB")
    return picture


# JPEG markers that carry no length, and those whose segments do not change the pixels
# (APP0-APP15 and comments; APP14 "Adobe" does: it says whether to undo a colour transform).
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}
_METADATA = frozenset(range(0xE0, 0xF0)) | {0xFE}
_SOS = 0xDA


def jpeg_stream_key(data: bytes, orientation: int = 1) -> Optional[str]:
    """Hash of what defines a JPEG's pixels, or None when the marker structure cannot be
    walked (the caller then keys the decoded pixels)."""
    key = hashlib.blake2b(b"JPEG" + bytes([orientation & 0xFF]), digest_size=16)
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:   # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        segment = data[i:i + 2 + length]
        if marker == _SOS:
            end = data.rfind(b"\xff\xd9", i)   # trailing bytes after the image do not count
            key.update(memoryview(data)[i:end + 2 if end >= 0 else len(data)])
            return key.hexdigest()
        if marker not in _METADATA or segment[4:9] == b"Adobe":
            key.update(segment)
        i += 2 + length
    return None


def pixel_key(image: Image.Image) -> str:
    """Hash of canonical pixels: RGB, or RGBA when any pixel is not opaque; 16-bit kept exact."""
    if image.mode in SIXTEEN_BIT_MODES:
        array = np.asarray(image).astype("<u2")
        tag = b"I16"
    else:
        alpha = has_alpha(image)
        rgba = np.asarray(image.convert("RGBA" if alpha else "RGB"))
        if alpha and rgba[..., 3].min() == 255:
            rgba = rgba[..., :3]
        array = np.ascontiguousarray(rgba)
        tag = b"RGBA" if array.shape[-1] == 4 else b"RGB"
    header = tag + b"%dx%d" % (array.shape[1], array.shape[0])
    return digest(header + array.tobytes(), 16)
