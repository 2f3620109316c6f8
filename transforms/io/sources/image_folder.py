"""A folder of images with one captions file (JSONL or CSV) naming each image.

The captions file is found at the folder's top by name (CAPTION_FILES) and maps
a path relative to the folder (the first of InputSettings.file_field present) to
a caption. Images are joined to caption rows by that relative path; the
relative path without extension is the record id.
"""

import csv
import posixpath
import re
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Union

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from detectors.strings import utf8_clean, utf8_safe
from transforms.io.sources.common import Stats, defect, oversized, parse_json, to_metadata
from transforms.io.sources.compressed import Oversized, split_lines, stripped_bom
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
    lines = split_lines(stream.read, fields.max_record_bytes)
    if source.lower().endswith(".csv"):
        rows = _csv_rows(lines, source, fields, stats)
    else:
        rows = _jsonl_rows(lines, source, fields, stats)
    for number, row in rows:
        if isinstance(row, Record):
            yield row
            continue
        location = f"line {number}"
        name_field = next((f for f in fields.file_field if f in row), None)
        name = row.pop(name_field, None) if name_field else None
        caption = row.pop(fields.caption_field, None)
        caption = caption if isinstance(caption, str) else None
        try:
            metadata = to_metadata(row)
        except ValueError as err:   # nested too deeply
            yield defect(Kind.IMAGE_TEXT, source, number, location, Reason.MALFORMED_JSON,
                         str(err), caption=caption)
            continue
        if not isinstance(name, str) or not name.strip():
            yield defect(Kind.IMAGE_TEXT, source, number, location, Reason.MISSING_IMAGE,
                         f"the row names no image (fields tried: {', '.join(fields.file_field)})",
                         caption=caption, metadata=metadata)
            continue
        yield CaptionRow(relpath=normalize_relpath(name), source=source, position=number,
                         caption=caption, metadata=metadata)


def normalize_relpath(name: str) -> str:
    """The join key of an image and its row (lone surrogates spelled out: keys are UTF-8)."""
    return utf8_safe(posixpath.normpath(name.strip().replace("\\", "/")).lstrip("/"))


def _jsonl_rows(lines, source, fields, stats):
    for number, line in enumerate(lines, start=1):
        location = f"line {number}"
        if isinstance(line, Oversized):
            yield number, oversized(Kind.IMAGE_TEXT, source, number, location, "the line",
                                    line.size, fields.max_record_bytes, "max_record_bytes",
                                    raw=line.head)
            continue
        if number == 1:
            line, bom = stripped_bom(line)
            if bom:
                stats["byte_order_marks"] += 1
        if not line.strip():
            stats["blank_lines"] += 1
            continue
        raw = line.rstrip(b"\r\n")
        try:
            row, problem = parse_json(line.decode("utf-8"))
            reason = Reason.MALFORMED_JSON
        except UnicodeDecodeError as err:
            problem, reason = str(err), Reason.INVALID_UTF8
        if not problem and not isinstance(row, dict):
            problem = "not a JSON object"
        if problem:
            yield number, defect(Kind.IMAGE_TEXT, source, number, location, reason, problem,
                                 raw=raw)
            continue
        yield number, row


_BARE_CR = re.compile("(?<=\r)(?!\n)")   # a line end of old Mac files, within our lines


class _Lines:
    """Decoded lines for the csv module; a line over the cap becomes an empty one, noted
    (the csv module cannot be told to skip it), so its row is an oversized record."""

    def __init__(self, lines):
        self.lines = iter(lines)
        self.pending: List[str] = []
        self.skipped: List[int] = []   # sizes of the lines over the cap in the current row

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pending:
            return self.pending.pop()
        line = next(self.lines)
        if isinstance(line, Oversized):
            self.skipped.append(line.size)
            return "\n"
        # surrogateescape keeps bad bytes visible so one bad row does not sink the file.
        text = line.decode("utf-8", "surrogateescape")
        if "\r" in text[:-2]:   # lines end at \r too, as a text file opened with newline=""
            *self.pending, text = reversed([part for part in _BARE_CR.split(text) if part])
        return text


def _csv_rows(lines, source, fields, stats):
    text = _Lines(_without_bom(lines, stats))
    # Process-wide, but every reader sets the same cap: cells past it raise csv.Error for
    # their row, and the reader goes on with the next line.
    csv.field_size_limit(fields.max_field_bytes)
    reader = csv.reader(text)
    header = None
    while True:
        number = reader.line_num + 1  # where the row starts; line_num is where it ended
        text.skipped = []
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "field larger than field limit" not in str(err):
                raise   # the file is not CSV: the rest of it is one record
            values = None
        location = f"line {number}"
        if text.skipped:
            yield number, oversized(Kind.IMAGE_TEXT, source, number, location, "a line of the row",
                                    max(text.skipped), fields.max_record_bytes,
                                    "max_record_bytes")
            continue
        if values is None:   # the csv module stops at the cap: the size is a lower bound
            yield number, defect(Kind.IMAGE_TEXT, source, number, location,
                                 Reason.OVERSIZED_RECORD,
                                 f"a cell is over the cap of {fields.max_field_bytes:,} bytes "
                                 "(input.max_field_bytes): not read")
            continue
        if not any(v.strip() for v in values):
            stats["blank_lines"] += 1
            continue
        if header is None:
            header = values
            continue
        if not all(utf8_clean(v) for v in values):
            raw = ",".join(values).encode("utf-8", "surrogateescape")
            yield number, defect(Kind.IMAGE_TEXT, source, number, location,
                                 Reason.INVALID_UTF8, "the row holds bytes that are not UTF-8",
                                 raw=raw)
            continue
        row = dict(zip(header, values))
        if len(values) > len(header):
            row["_extra_columns"] = values[len(header):]
        yield number, row


def _without_bom(lines, stats):
    for number, line in enumerate(lines):
        if number == 0 and not isinstance(line, Oversized):
            line, bom = stripped_bom(line)
            if bom:
                stats["byte_order_marks"] += 1
        yield line


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
