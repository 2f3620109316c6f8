"""JSON Lines text corpora: one JSON object per line (decompression and line caps are the
caller's: transforms.io.sources.compressed)."""

from typing import Iterable, Iterator, Union

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from transforms.io.sources.common import (Stats, defect, oversized, parse_json, public_id,
                                          to_metadata)
from transforms.io.sources.compressed import Oversized, stripped_bom
from schemas.settings import InputSettings


def parse_jsonl(lines: Iterable[Union[bytes, Oversized]], source: str, fields: InputSettings,
                stats: Stats) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        location = f"line {number}"
        if isinstance(line, Oversized):
            yield oversized(Kind.TEXT, source, number, location, "the line", line.size,
                            fields.max_record_bytes, "max_record_bytes", raw=line.head)
            continue
        if number == 1:
            line, bom = stripped_bom(line)
            if bom:   # not part of the first record: it would cost that line
                stats["byte_order_marks"] += 1
        if not line.strip():
            stats["blank_lines"] += 1  # JSON Lines allows them; they hold no record
            continue
        raw = line.rstrip(b"\r\n")

        def bad(reason, detail, **extra):
            return defect(Kind.TEXT, source, number, location, reason, detail, raw=raw, **extra)

        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            yield bad(Reason.INVALID_UTF8, f"byte {err.start}: {err.reason}")
            continue
        obj, problem = parse_json(decoded)
        if problem:
            yield bad(Reason.MALFORMED_JSON, problem)
            continue
        if not isinstance(obj, dict):
            yield bad(Reason.MALFORMED_JSON, f"a JSON {type(obj).__name__}, not an object")
            continue
        text = obj.pop(fields.text_field, None)
        key = obj.pop(fields.id_field, None)
        try:
            metadata = to_metadata(obj)
        except ValueError as err:   # nested too deeply
            yield bad(Reason.MALFORMED_JSON, str(err), key=key)
            continue
        if not isinstance(text, str):
            yield bad(Reason.MISSING_TEXT,
                      f"field {fields.text_field!r} is {type(text).__name__}", key=key)
            continue
        yield make_record(uid=record_uid(source, location),
                          id=public_id(key, text.encode("utf-8", "surrogatepass")), kind=Kind.TEXT,
                          source=source, position=number, location=location, text=text,
                          metadata=metadata)
