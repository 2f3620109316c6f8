"""What every parser shares: field names, record construction, metadata encoding."""

import collections
import json
from typing import Any, Optional, Tuple

from detectors.hashing import content_id, record_uid
from detectors.strings import json_safe, utf8_safe
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff")
# Where img2dataset and Hugging Face datasets keep image bytes, in order of preference.
IMAGE_COLUMN_CANDIDATES = ("jpg", "png", "webp", "image", "image_bytes", "img")


Stats = collections.Counter  # parsers count what they skip on purpose (blank lines, directories)


def public_id(key, *content: bytes) -> str:
    if key is not None and not isinstance(key, (dict, list)) and str(key).strip():
        return utf8_safe(str(key).strip())
    return content_id(*content)


def to_metadata(fields: dict) -> str:
    """Strict JSON object of uninterpreted fields; values JSON cannot hold become strings."""
    return json.dumps(json_safe(fields), ensure_ascii=False, sort_keys=True, allow_nan=False,
                      default=_jsonable)


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


def defect(kind: Kind, source: str, position: int, location: str, reason: Reason,
           detail: str, raw: Optional[bytes] = None, key=None, **fields) -> Record:
    return make_record(uid=record_uid(source, location),
                       id=public_id(key, raw or b"", source.encode("utf-8", "surrogatepass"),
                                        location.encode("utf-8", "surrogatepass")),
                       kind=kind, source=source, position=position, location=location,
                       raw=raw, defect=reason, defect_detail=detail, **fields)


def oversized(kind: Kind, source: str, position: int, location: str, what: str, size: int,
              cap: int, setting: str, raw: Optional[bytes] = None, **fields) -> Record:
    """A record over a byte cap, streamed past (``raw``: at most its first bytes)."""
    return defect(kind, source, position, location, Reason.OVERSIZED_RECORD,
                  f"{what} is {size:,} bytes, over the cap of {cap:,} (input.{setting}): "
                  "not read", raw=raw, **fields)


def parse_json(text: str) -> Tuple[Any, Optional[str]]:
    """(value, None), or (None, why not) for text that is not JSON, nests deeper than
    the interpreter's recursion limit or holds a number too long to convert."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply to parse"
    except ValueError as err:   # UnicodeDecodeError and int digit limits are ValueErrors too
        return None, str(err)[:500]


def file_defect(kind: Kind, source: str, reason: Reason, detail: str,
                position: int = 0, location: str = "file") -> Record:
    """A record standing for a whole file (or the unread rest of one)."""
    return defect(kind, source, position, location, reason, detail)
