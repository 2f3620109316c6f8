"""JSON Lines text corpora: one JSON object per line (compression handled by the caller)."""

import json
from typing import Iterable, Iterator

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from transforms.io.sources.common import Stats, defect, public_id, to_metadata
from schemas.settings import InputSettings


def parse_jsonl(lines: Iterable[bytes], source: str, fields: InputSettings,
                stats: Stats) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            stats["blank_lines"] += 1  # JSON Lines allows them; they hold no record
            continue
        location = f"line {number}"
        raw = line.rstrip(b"\r\n")

        def bad(reason, detail, **extra):
            return defect(Kind.TEXT, source, number, location, reason, detail, raw=raw, **extra)

        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            yield bad(Reason.INVALID_UTF8, f"byte {err.start}: {err.reason}")
            continue
        try:
            obj = json.loads(decoded)
        except ValueError as err:
            yield bad(Reason.MALFORMED_JSON, str(err))
            continue
        if not isinstance(obj, dict):
            yield bad(Reason.MALFORMED_JSON, f"a JSON {type(obj).__name__}, not an object")
            continue
        text = obj.pop(fields.text_field, None)
        key = obj.pop(fields.id_field, None)
        if not isinstance(text, str):
            yield bad(Reason.MISSING_TEXT,
                      f"field {fields.text_field!r} is {type(text).__name__}", key=key)
            continue
        yield make_record(uid=record_uid(source, location),
                          id=public_id(key, text.encode("utf-8", "surrogatepass")), kind=Kind.TEXT,
                          source=source, position=number, location=location, text=text,
                          metadata=to_metadata(obj))
