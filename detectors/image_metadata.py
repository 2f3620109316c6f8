"""Hidden data out of a cleaned image: EXIF (GPS too), XMP, IPTC, text chunks, comments,
embedded thumbnails and bytes after the image's end; the ICC profile kept (colours would
shift without it) and the EXIF orientation applied to the pixels (the tag that says how
to turn the picture goes with the rest of EXIF).

Lossless where the format allows: a JPEG's, PNG's, WebP's or GIF's metadata sits in
segments, chunks or extension blocks of its own, so those are dropped and the pixel data
is copied byte for byte. Pixels are re-encoded only when an orientation must be applied
(a JPEG at quality 95 with 4:4:4 chroma: Pillow has no lossless JPEG transpose; PNG and
lossless WebP stay lossless) and for other formats (TIFF, BMP, ...), which Pillow writes
again with no metadata. Metadata of the kinds in ``keep`` survives both paths.

The text fields of what was found (EXIF Artist, ImageDescription, UserComment, PNG text,
comments, ...) come back too, so a caller can look for personal data in them.
"""

import io
import json
import struct
import zlib
from typing import Iterable, List, NamedTuple, Tuple

from PIL import Image

from detectors.images import exif_orientation, open_image

# Kinds of metadata; the first six may be kept by the policy (image_metadata.keep).
ICC, EXIF, XMP, IPTC, TEXT, COMMENT = "icc", "exif", "xmp", "iptc", "text", "comment"
KEEPABLE = (ICC, EXIF, XMP, IPTC, TEXT, COMMENT)
GPS = "gps"              # an EXIF block with a GPS directory (counted besides "exif")
THUMBNAIL = "thumbnail"  # an embedded preview image (JFIF/JFXX, MPF): never kept
TRAILING = "trailing"    # bytes after the image's end: never kept
OTHER = "other"          # vendor segments and chunks nobody reads for the pixels: never kept


class Stripped(NamedTuple):
    data: bytes                           # the image without the metadata not kept
    format: str                           # lower-case, as image_format says it
    removed: Tuple[Tuple[str, int], ...]  # (kind, bytes) per removed part, in file order
    texts: Tuple[Tuple[str, str, str], ...]   # (kind, field, text) of each text field found
    reencoded: bool                       # pixels re-encoded (orientation or format)

    def kinds(self) -> List[str]:
        return list(dict.fromkeys(kind for kind, _ in self.removed))


def strip_metadata(data: bytes, keep: Iterable[str] = (ICC,)) -> Stripped:
    """``data`` without the metadata not in ``keep`` (see the module's docstring).

    Raises what Pillow raises for an image it cannot open; a file whose container does
    not parse (segments running past the end, ...) is re-encoded whole instead.
    """
    keep = frozenset(keep)
    image = open_image(data)
    fmt = (image.format or "").upper()
    # A camera's multi-picture JPEG: its first picture is written, the rest is hidden data.
    fmt = "JPEG" if fmt == "MPO" else fmt
    texts = _exif_texts(image)
    gps = [(GPS, 0)] if _has_gps(image) else []
    strip = _STRIPPERS.get(fmt)
    if strip is not None:
        try:
            clean, removed, found = strip(data, keep)
        except _Malformed:
            pass
        else:
            removed += gps if EXIF not in keep else []
            # A kept EXIF block still says how to turn the picture; an animation is left as is.
            orientation = 1 if EXIF in keep or _animated(image) else exif_orientation(image)
            if orientation == 1:
                return Stripped(clean, fmt.lower(), tuple(removed), tuple(texts + found),
                                False)
            clean = _reencoded(clean, fmt, keep, orientation, carry=True)
            return Stripped(clean, fmt.lower(), tuple(removed), tuple(texts + found), True)
    # Other formats (and containers that do not parse): only the ICC profile survives.
    removed = [(kind, size) for kind, size in _pillow_metadata(image)
               if kind != ICC or ICC not in keep] + gps
    clean = _reencoded(data, fmt, keep, exif_orientation(image), carry=False)
    out_fmt = fmt if fmt in _WRITABLE else "PNG"
    return Stripped(clean, out_fmt.lower(), tuple(removed), tuple(texts), True)


class _Malformed(ValueError):
    """The container does not parse: the image is re-encoded instead."""


# ------------------------------------------------------------------ metadata fields of a row

# A record's own fields can carry what an image's metadata holds: img2dataset writes an
# ``exif`` column (exifread's tags as JSON: "GPS GPSLatitude", "Image Artist", ...), and a
# KEY.json or a ``metadata``/``json`` blob may hold the same. Such a field goes with its kind.
_FIELD_KINDS = {"exif": EXIF, "exif_data": EXIF, "exifdata": EXIF, "gps": EXIF, "xmp": XMP,
                "iptc": IPTC}
# exifread's tag groups, as img2dataset's exif column names them ("GPS GPSLatitude").
_EXIFREAD_GROUPS = ("gps", "exif ", "image ", "thumbnail ", "makernote ", "interoperability ")
BLOB_CHARS = 1 << 20   # a string field parsed as JSON to look inside it, at most


def field_kind(name: str) -> str:
    """The image-metadata kind a record field of this name carries ("" for none)."""
    lower = name.strip().lower()
    return _FIELD_KINDS.get(lower) or (EXIF if lower.startswith(_EXIFREAD_GROUPS) else "")


def strip_metadata_fields(metadata: str,
                          keep: Iterable[str] = (ICC,)) -> Tuple[str, Tuple[str, ...]]:
    """A record's metadata (a JSON object) without the fields carrying image metadata of a
    kind not in ``keep`` (EXIF with GPS, XMP, IPTC), looked for in nested objects and in
    strings that hold a JSON object too; and the removed fields' paths. Unchanged when
    nothing is removed."""
    keep = frozenset(keep)
    try:
        value = json.loads(metadata)
    except (ValueError, RecursionError):
        return metadata, ()
    removed: List[str] = []
    cleaned = _without_kinds(value, keep, "", removed)
    if not removed:
        return metadata, ()
    return (json.dumps(cleaned, ensure_ascii=False, sort_keys=True, allow_nan=False),
            tuple(removed))


def _without_kinds(value, keep, path: str, removed: List[str]):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            kind = field_kind(str(key))
            if kind and kind not in keep:
                removed.append(where)
            else:
                out[key] = _without_kinds(item, keep, where, removed)
        return out
    if isinstance(value, list):
        return [_without_kinds(item, keep, f"{path}[{i}]", removed)
                for i, item in enumerate(value)]
    if isinstance(value, str) and value.lstrip().startswith("{") and len(value) <= BLOB_CHARS:
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return value
        before = len(removed)
        cleaned = _without_kinds(inner, keep, path, removed)
        if len(removed) > before:
            return json.dumps(cleaned, ensure_ascii=False, sort_keys=True)
    return value


# ------------------------------------------------------------------ re-encoding

_WRITABLE = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"}
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _reencoded(data: bytes, fmt: str, keep, orientation: int, carry: bool) -> bytes:
    """The first frame's pixels turned by ``orientation``, written again with the ICC
    profile when kept and nothing else; with ``carry``, the other kept segments of
    ``data`` (already stripped of the rest) are carried over."""
    image = open_image(data)
    icc = image.info.get("icc_profile") if ICC in keep else None
    lossless = image.format == "WEBP" and image.info.get("lossless", False)
    transparency = image.info.get("transparency")
    image.load()
    turn = _TRANSPOSE.get(orientation)
    picture = image.transpose(turn) if turn is not None else image.copy()
    picture.info = {}
    out_fmt = fmt if fmt in _WRITABLE else "PNG"
    options = {"icc_profile": icc} if icc else {}
    if out_fmt == "JPEG":
        if picture.mode not in ("RGB", "L", "CMYK"):
            picture = picture.convert("RGB")
        options.update(quality=95, subsampling=0)
    elif out_fmt == "WEBP":
        options.update({"lossless": True} if lossless else {"quality": 95})
    elif out_fmt == "BMP" and picture.mode in ("RGBA", "LA", "PA"):
        picture = picture.convert("RGB")
    elif out_fmt in ("PNG", "GIF") and transparency is not None and picture.mode in (
            "P", "L", "RGB"):
        options["transparency"] = transparency
    buffer = io.BytesIO()
    picture.save(buffer, out_fmt, **options)
    clean = buffer.getvalue()
    return _carry_kept(data, clean, out_fmt, keep - {ICC}) if carry else clean


def _carry_kept(source: bytes, target: bytes, fmt: str, kinds) -> bytes:
    if not kinds:
        return target
    if fmt == "JPEG":
        segments = [seg for seg, kind in _jpeg_header(source)[0] if kind in kinds]
        head, _ = _jpeg_header(target)
        at = next((i for i, (_, kind) in enumerate(head) if kind != "jfif"), 0)
        body = target[2 + sum(len(s) for s, _ in head):]
        parts = [s for s, _ in head[:at]] + segments + [s for s, _ in head[at:]]
        return b"\xff\xd8" + b"".join(parts) + body
    if fmt == "PNG":
        chunks = [c for c, kind in _png_chunks(source)[0] if kind in kinds]
        out, _ = _png_chunks(target)
        return _PNG_SIGNATURE + b"".join([out[0][0], *chunks, *(c for c, _ in out[1:])])
    return target   # WebP: the kept EXIF/XMP would need VP8X flags set again; dropped


def _pillow_metadata(image: Image.Image) -> List[Tuple[str, int]]:
    """What a format without a parser here carries, as Pillow reads it."""
    found = []
    for key, kind in (("icc_profile", ICC), ("exif", EXIF), ("xmp", XMP),
                      ("XML:com.adobe.xmp", XMP), ("comment", COMMENT), ("photoshop", IPTC)):
        value = image.info.get(key)
        if value:
            found.append((kind, len(value) if isinstance(value, (bytes, str)) else 0))
    tags = getattr(image, "tag_v2", None)
    if tags is not None and not any(kind == EXIF for kind, _ in found):
        described = {0x010E, 0x013B, 0x8298, 0x8769, 0x8825, 0x02BC, 0x83BB}
        if described & set(tags.keys()):
            found.append((EXIF, 0))
    return found


# ------------------------------------------------------------------ EXIF text

# Tags whose values are free text a person wrote (or a camera owner's name).
_EXIF_TEXT = {0x010E: "ImageDescription", 0x013B: "Artist", 0x8298: "Copyright",
              0x010D: "DocumentName", 0x9C9B: "XPTitle", 0x9C9C: "XPComment",
              0x9C9D: "XPAuthor", 0x9C9E: "XPKeywords", 0x9C9F: "XPSubject"}
_EXIF_IFD_TEXT = {0x9286: "UserComment", 0xA430: "CameraOwnerName",
                  0xA431: "BodySerialNumber", 0xA420: "ImageUniqueID"}


def _exif_texts(image: Image.Image) -> List[Tuple[str, str, str]]:
    try:
        exif = image.getexif()
        found = [(EXIF, f"EXIF {name}", _text(exif.get(tag))) for tag, name in _EXIF_TEXT.items()]
        ifd = exif.get_ifd(0x8769)
        found += [(EXIF, f"EXIF {name}", _text(ifd.get(tag)))
                  for tag, name in _EXIF_IFD_TEXT.items()]
    except Exception:   # a corrupt EXIF block: stripped all the same, nothing to read
        return []
    return _nonempty(found)


def _nonempty(texts):
    return [(kind, field, text) for kind, field, text in texts if text]


def _has_gps(image: Image.Image) -> bool:
    try:
        return bool(image.getexif().get_ifd(0x8825))
    except Exception:
        return False


def _animated(image: Image.Image) -> bool:
    return getattr(image, "n_frames", 1) > 1


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):   # XP* tags as Pillow may give them: UTF-16LE byte values
        value = bytes(value)
    if isinstance(value, bytes):
        if value[:8] in (b"ASCII\0\0\0", b"UNICODE\0", b"JIS\0\0\0\0\0", b"\0" * 8):
            codec = "utf-16" if value[:8] == b"UNICODE\0" else "latin-1"
            value = value[8:].decode(codec, "replace")
        elif len(value) > 1 and value[1:2] == b"\0":
            value = value.decode("utf-16-le", "replace")
        else:
            value = value.decode("utf-8", "replace")
    return str(value).replace("\0", " ").strip()


# ------------------------------------------------------------------ JPEG

_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA


def _jpeg_kind(marker: int, segment: bytes) -> str:
    """What a header segment holds: a metadata kind, or "" for what the pixels need."""
    body = segment[4:]
    if marker == 0xE0:
        if body.startswith(b"JFIF\0"):
            return "jfif"
        return THUMBNAIL if body.startswith(b"JFXX\0") else OTHER
    if marker == 0xE1:
        if body.startswith(b"Exif\0"):
            return EXIF
        return XMP if body.startswith((b"http://ns.adobe.com/xap/1.0/\0",
                                       b"http://ns.adobe.com/xmp/extension/\0")) else OTHER
    if marker == 0xE2:
        return ICC if body.startswith(b"ICC_PROFILE\0") else (
            THUMBNAIL if body.startswith(b"MPF\0") else OTHER)
    if marker == 0xED:
        return IPTC if body.startswith(b"Photoshop 3.0\0") else OTHER
    if marker == 0xEE and body.startswith(b"Adobe"):
        return ""   # the colour transform: needed to decode
    if 0xE0 <= marker <= 0xEF:
        return OTHER
    return COMMENT if marker == 0xFE else ""


def _marker_at(data: bytes, i: int) -> Tuple[int, int]:
    """The marker at ``i`` (fill bytes 0xFF skipped) and where it starts."""
    while True:
        if i + 2 > len(data) or data[i] != 0xFF:
            raise _Malformed(f"no marker at {i}")
        if data[i + 1] != 0xFF:
            return data[i + 1], i
        i += 1


def _segment_at(data: bytes, i: int) -> Tuple[bytes, int]:
    """The marker segment at ``i`` (its length counts itself, not the marker) and where it
    ends."""
    end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
    if i + 4 > len(data) or end > len(data):
        raise _Malformed("segment past the end")
    return data[i:end], end


def _jpeg_header(data: bytes) -> Tuple[List[Tuple[bytes, str]], int]:
    """The segments between SOI and the first scan, with their kinds, and where the first
    scan starts."""
    if data[:2] != b"\xff\xd8":
        raise _Malformed("no SOI")
    segments, i = [], 2
    while True:
        marker, i = _marker_at(data, i)
        if marker == _SOS:
            return segments, i
        if marker in _STANDALONE or marker in (_SOI, _EOI):
            raise _Malformed(f"marker {marker:#x} before the first scan")
        segment, i = _segment_at(data, i)
        segments.append((segment, _jpeg_kind(marker, segment)))


def _jpeg_body(data: bytes, i: int) -> Tuple[List[Tuple[bytes, str]], int]:
    """From the first scan to EOI: scans copied, segments between progressive scans with
    their kinds; and where EOI ends."""
    pieces = []
    while True:
        marker, i = _marker_at(data, i)
        if marker == _EOI:
            return pieces, i + 2
        if marker in _STANDALONE:
            raise _Malformed(f"marker {marker:#x} outside a scan")
        segment, end = _segment_at(data, i)
        if marker != _SOS:
            pieces.append((segment, _jpeg_kind(marker, segment)))
            i = end
            continue
        # entropy-coded data runs to the next marker that is not a stuffed byte or RSTn
        j = end
        while True:
            j = data.find(b"\xff", j)
            if j < 0 or j + 1 >= len(data):
                # no EOI: a decoder stops at the end too (Pillow accepted it); nothing trails
                pieces.append((data[i:], ""))
                return pieces, len(data)
            following = data[j + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                j += 1 if following == 0xFF else 2
                continue
            break
        pieces.append((data[i:j], ""))
        i = j


def _strip_jpeg(data: bytes, keep) -> Tuple[bytes, List[Tuple[str, int]], List[Tuple[str, str]]]:
    head, start = _jpeg_header(data)
    body, end = _jpeg_body(data, start)
    out, removed, texts = [b"\xff\xd8"], [], []
    for segment, kind in head + body:
        if kind == "jfif" and len(segment) > 18 and segment[16] * segment[17]:
            removed.append((THUMBNAIL, len(segment) - 18))
            segment = b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"
        if kind == COMMENT:
            texts.append((COMMENT, "jpeg comment", _text(segment[4:])))
        elif kind == XMP:
            texts.append((XMP, "xmp", segment[4:].partition(b"\0")[2].decode("utf-8", "replace")))
        if kind in ("", "jfif") or kind in keep:
            out.append(segment)
        else:
            removed.append((kind, len(segment)))
    out.append(b"\xff\xd9")
    if end < len(data):
        removed.append((TRAILING, len(data) - end))
    return b"".join(out), removed, _nonempty(texts)


# ------------------------------------------------------------------ PNG

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that say how to show the pixels (colour, transparency, animation).
_PNG_DISPLAY = {b"cHRM", b"gAMA", b"sRGB", b"sBIT", b"bKGD", b"hIST", b"tRNS", b"pHYs",
                b"sPLT", b"cICP", b"mDCV", b"cLLI", b"acTL", b"fcTL", b"fdAT"}
_PNG_KINDS = {b"iCCP": ICC, b"eXIf": EXIF, b"tEXt": TEXT, b"zTXt": TEXT, b"iTXt": TEXT,
              b"tIME": OTHER}


def _png_chunks(data: bytes) -> Tuple[List[Tuple[bytes, str]], int]:
    if not data.startswith(_PNG_SIGNATURE):
        raise _Malformed("no PNG signature")
    chunks, i = [], len(_PNG_SIGNATURE)
    while True:
        if i + 12 > len(data):
            raise _Malformed("chunk past the end")
        length = int.from_bytes(data[i:i + 4], "big")
        ctype = data[i + 4:i + 8]
        end = i + 12 + length
        if end > len(data):
            raise _Malformed("chunk past the end")
        chunk = data[i:end]
        if ctype == b"iTXt" and chunk[8:].startswith(b"XML:com.adobe.xmp\0"):
            kind = XMP
        elif ctype in _PNG_KINDS:
            kind = _PNG_KINDS[ctype]
        elif ctype[:1].isupper() or ctype in _PNG_DISPLAY:   # critical, or for display
            kind = ""
        else:
            kind = OTHER
        chunks.append((chunk, kind))
        i = end
        if ctype == b"IEND":
            return chunks, i


def _png_text(chunk: bytes) -> Tuple[str, str]:
    ctype, body = chunk[4:8], chunk[8:-4]
    keyword, _, rest = body.partition(b"\0")
    try:
        if ctype == b"tEXt":
            text = rest.decode("latin-1")
        elif ctype == b"zTXt":
            text = _inflate(rest[1:]).decode("latin-1")
        else:   # iTXt: flag, method, language\0, translated keyword\0, text
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")
            _, _, rest = rest.partition(b"\0")
            text = (_inflate(rest) if compressed else rest).decode("utf-8", "replace")
    except Exception:   # a broken chunk: removed all the same
        text = ""
    return f"png {keyword.decode('latin-1')}", text


def _inflate(data: bytes, limit: int = 1 << 20) -> bytes:
    """At most ``limit`` bytes: a text chunk may be a decompression bomb."""
    return zlib.decompressobj().decompress(data, limit)


def _strip_png(data: bytes, keep):
    chunks, end = _png_chunks(data)
    out, removed, texts = [_PNG_SIGNATURE], [], []
    for chunk, kind in chunks:
        if kind in (TEXT, XMP):
            texts.append((kind, *_png_text(chunk)))
        if kind == "" or kind in keep:
            out.append(chunk)
        else:
            removed.append((kind, len(chunk)))
    if end < len(data):
        removed.append((TRAILING, len(data) - end))
    return b"".join(out), removed, _nonempty(texts)


# ------------------------------------------------------------------ WebP

_WEBP_KINDS = {b"ICCP": ICC, b"EXIF": EXIF, b"XMP ": XMP}
_WEBP_IMAGE = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
_VP8X_FLAGS = {ICC: 0x20, EXIF: 0x08, XMP: 0x04}


def _strip_webp(data: bytes, keep):
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Malformed("no RIFF WEBP header")
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise _Malformed("RIFF size past the end")
    chunks, removed, texts, i = [], [], [], 12
    while i + 8 <= end:
        fourcc, size = data[i:i + 4], int.from_bytes(data[i + 4:i + 8], "little")
        stop = i + 8 + size + (size & 1)
        if i + 8 + size > end:
            raise _Malformed("chunk past the RIFF end")
        chunk = data[i:min(stop, end)]
        kind = _WEBP_KINDS.get(fourcc, "" if fourcc in _WEBP_IMAGE else OTHER)
        if kind == XMP:
            texts.append((XMP, "xmp", chunk[8:8 + size].decode("utf-8", "replace")))
        if kind == "" or kind in keep:
            chunks.append(chunk)
        else:
            removed.append((kind, len(chunk)))
        i = stop
    kept = {kind for kind in _VP8X_FLAGS if kind in keep}
    if chunks and chunks[0][:4] == b"VP8X":
        flags = chunks[0][8]
        for kind, bit in _VP8X_FLAGS.items():
            if kind not in kept or not any(c[:4] == {ICC: b"ICCP", EXIF: b"EXIF",
                                                     XMP: b"XMP "}[kind] for c in chunks):
                flags &= ~bit
        chunks[0] = chunks[0][:8] + bytes([flags]) + chunks[0][9:]
    body = b"WEBP" + b"".join(chunks)
    if len(data) > end:
        removed.append((TRAILING, len(data) - end))
    return b"RIFF" + struct.pack("<I", len(body)) + body, removed, _nonempty(texts)


# ------------------------------------------------------------------ GIF

# Application extensions that drive an animation (loop count); the rest (XMP DataXMP, ...)
# are metadata.
_GIF_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _gif_blocks(data: bytes, i: int) -> int:
    """Where the data sub-blocks starting at ``i`` end."""
    while True:
        if i >= len(data):
            raise _Malformed("sub-blocks past the end")
        size = data[i]
        i += 1 + size
        if size == 0:
            return i


def _strip_gif(data: bytes, keep):
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise _Malformed("no GIF header")
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    out, removed, texts = [data[:i]], [], []
    while True:
        if i >= len(data):
            raise _Malformed("no trailer")
        block = data[i]
        if block == 0x3B:
            out.append(b";")
            i += 1
            break
        if block == 0x2C:   # image: descriptor, local colour table, LZW data
            if i + 10 > len(data):
                raise _Malformed("image descriptor past the end")
            local = data[i + 9]
            start = i
            i += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            i = _gif_blocks(data, i + 1)
            out.append(data[start:i])
            continue
        if block != 0x21 or i + 2 > len(data):
            raise _Malformed(f"block {block:#x} at {i}")
        label, start = data[i + 1], i
        i = _gif_blocks(data, i + 2)
        extension = data[start:i]
        if label == 0xFE:
            kind = COMMENT
            texts.append((COMMENT, "gif comment", _text(_gif_payload(extension, 2))))
        elif label == 0xFF:
            app = extension[3:14]
            kind = "" if app in _GIF_APPS else (XMP if app == b"XMP DataXMP" else OTHER)
        else:
            kind = ""   # graphic control, plain text: how the frames are shown
        if kind == "" or kind in keep:
            out.append(extension)
        else:
            removed.append((kind, len(extension)))
    if i < len(data):
        removed.append((TRAILING, len(data) - i))
    return b"".join(out), removed, _nonempty(texts)


def _gif_payload(extension: bytes, i: int) -> bytes:
    parts = []
    while i < len(extension) and extension[i]:
        parts.append(extension[i + 1:i + 1 + extension[i]])
        i += 1 + extension[i]
    return b"".join(parts)


_STRIPPERS = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp, "GIF": _strip_gif}

