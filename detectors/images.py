"""Decode and check one image, and hash its pixels.

The pixel key is a hash of the decoded pixels as they are displayed (EXIF
orientation applied, first frame only), so a lossless re-encode of the same
picture (PNG to WebP-lossless, a different PNG compression level, metadata
stripped) gets the same key while the byte hash differs.
"""

import io
import threading
import warnings
from typing import NamedTuple, Optional

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from detectors.defects import InputDefect
from detectors.hashing import digest
from detectors.phash import PHashSettings, phashes
from schemas.reasons import Reason

# Photo-like modes we can turn into RGB without guessing a value range.
# 32-bit integer ("I") and float ("F") images are depth maps and scientific
# data, not pictures: quarantined unless a policy accepts them.
DEFAULT_ACCEPTED_MODES = (
    "1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK",
    "YCbCr", "LAB", "HSV", "I;16", "I;16L", "I;16B", "I;16N",
)
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default bomb limit


class ImageInfo(NamedTuple):
    format: str
    width: int
    height: int
    mode: str
    pixel_key: str
    phash: Optional[bytes] = None


def inspect_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
                  accepted_modes=DEFAULT_ACCEPTED_MODES,
                  phash: Optional[PHashSettings] = None) -> ImageInfo:
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
    try:
        image.load()
        pixels = ImageOps.exif_transpose(image)
    except Exception as err:
        raise _decode_defect(err) from None
    return ImageInfo(format=(image.format or "unknown").lower(), width=pixels.width,
                     height=pixels.height, mode=image.mode, pixel_key=pixel_key(pixels),
                     phash=phashes(pixels, phash) if phash else None)


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


def pixel_key(image: Image.Image) -> str:
    """Hash of canonical pixels: RGB, or RGBA when any pixel is not opaque; 16-bit kept exact."""
    if image.mode in SIXTEEN_BIT_MODES:
        array = np.asarray(image).astype("<u2")
        tag = b"I16"
    else:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        rgba = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
        if has_alpha and rgba[..., 3].min() == 255:
            rgba = rgba[..., :3]
        array = np.ascontiguousarray(rgba)
        tag = b"RGBA" if array.shape[-1] == 4 else b"RGB"
    header = tag + b"%dx%d" % (array.shape[1], array.shape[0])
    return digest(header + array.tobytes(), 16)
