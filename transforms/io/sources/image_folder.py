"""A folder of images with one captions file (JSONL or CSV) naming each image.

The captions file is found at the folder's top by name (CAPTION_FILES) and maps
a path relative to the folder (the first of InputSettings.file_field present) to
a caption. Images are joined to caption rows by that relative path; the
relative path without extension is the record id.
"""

import csv
import io
import json
import posixpath
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Union

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from detectors.strings import utf8_clean
from transforms.io.sources.common import Stats, defect, to_metadata
from schemas.settings import InputSettings

CAPTION_FILES = ("captions.jsonl", "captions.csv", "metadata.jsonl", "metadata.csv")


class CaptionRow(NamedTuple):
    relpath: str
    source: str
    position: int
    caption: Optional[str]
    metadata: str


def caption_file_rows(stream: BinaryIO, source: str, fields: InputSettings,
                      stats: Stats) -> Iterator[Union[CaptionRow, Record]]:
    """Rows of a captions file; a row that names no image is a defect record."""
    if source.lower().endswith(".csv"):
        rows = _csv_rows(stream, source, stats)
    else:
        rows = _jsonl_rows(iter(stream.readline, b""), source, stats)
    for number, row in rows:
        if isinstance(row, Record):
            yield row
            continue
        location = f"line {number}"
        name_field = next((f for f in fields.file_field if f in row), None)
        name = row.pop(name_field, None) if name_field else None
        caption = row.pop(fields.caption_field, None)
        if not isinstance(name, str) or not name.strip():
            yield defect(Kind.IMAGE_TEXT, source, number, location, Reason.MISSING_IMAGE,
                         f"the row names no image (fields tried: {', '.join(fields.file_field)})",
                         caption=caption if isinstance(caption, str) else None,
                         metadata=to_metadata(row))
            continue
        yield CaptionRow(relpath=normalize_relpath(name), source=source, position=number,
                         caption=caption if isinstance(caption, str) else None,
                         metadata=to_metadata(row))


def normalize_relpath(name: str) -> str:
    return posixpath.normpath(name.strip().replace("\\", "/")).lstrip("/")


def _jsonl_rows(lines, source, stats):
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            stats["blank_lines"] += 1
            continue
        location = f"line {number}"
        try:
            row = json.loads(line.decode("utf-8"))
        except ValueError as err:
            reason = Reason.INVALID_UTF8 if isinstance(err, UnicodeDecodeError) else Reason.MALFORMED_JSON
            yield number, defect(Kind.IMAGE_TEXT, source, number, location, reason, str(err),
                                 raw=line.rstrip(b"\r\n"))
            continue
        if not isinstance(row, dict):
            yield number, defect(Kind.IMAGE_TEXT, source, number, location,
                                 Reason.MALFORMED_JSON, "not a JSON object", raw=line.rstrip(b"\r\n"))
            continue
        yield number, row


def _csv_rows(stream, source, stats):
    # newline="" lets the csv module handle quoted captions that span lines;
    # surrogateescape keeps bad bytes visible so one bad row does not sink the file.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    header = None
    while True:
        number = reader.line_num + 1  # where the row starts; line_num is where it ended
        try:
            values = next(reader)
        except StopIteration:
            return
        if not any(v.strip() for v in values):
            stats["blank_lines"] += 1
            continue
        if header is None:
            header = values
            continue
        if not all(utf8_clean(v) for v in values):
            raw = ",".join(values).encode("utf-8", "surrogateescape")
            yield number, defect(Kind.IMAGE_TEXT, source, number, f"line {number}",
                                 Reason.INVALID_UTF8, "the row holds bytes that are not UTF-8",
                                 raw=raw)
            continue
        row = dict(zip(header, values))
        if len(values) > len(header):
            row["_extra_columns"] = values[len(header):]
        yield number, row


def join_image(folder: str, relpath: str, image_paths: List[str], image_data: List[bytes],
               rows: List[CaptionRow]) -> Iterator[Record]:
    """Records for one relative path: the image with its first caption row, and the rest."""
    rows = sorted(rows, key=lambda r: (r.source, r.position))
    key = posixpath.splitext(relpath)[0]
    if image_paths:
        path, data = image_paths[0], image_data[0]
        first = rows[0] if rows else None
        location = f"file {relpath}"
        yield make_record(uid=record_uid(path, location), id=key, kind=Kind.IMAGE_TEXT,
                          source=path, position=0, location=location, image=data,
                          caption=first.caption if first else None,
                          metadata=first.metadata if first else "{}")
        extra_rows = rows[1:]
    else:
        extra_rows = rows
    for row in extra_rows:
        location = f"line {row.position}"
        reason, detail = (
            (Reason.DUPLICATE_CAPTION_ROW, f"{relpath} already has a caption row")
            if image_paths else
            (Reason.MISSING_IMAGE, f"no image {relpath!r} in {folder}"))
        # A second caption row must not claim the image's id; an orphan row may.
        yield defect(Kind.IMAGE_TEXT, row.source, row.position, location, reason, detail,
                     key=None if image_paths else key, caption=row.caption,
                     metadata=row.metadata)
