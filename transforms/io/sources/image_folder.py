"""A folder of images with one captions file (JSONL or CSV) naming each image.

The captions file is found at the folder's top by name (CAPTION_FILES) and maps
a path relative to the folder (the first of InputSettings.file_field present) to
a caption. Images are joined to caption rows by that relative path; the
relative path without extension is the record id.
"""

import csv
import posixpath
import re
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Tuple, Union

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
    if source.lower().endswith(".csv"):
        # Quotes are counted in lines streamed past: where a quoted cell ends.
        rows = _csv_rows(split_lines(stream.read, fields.max_record_bytes, count=b'"'),
                         source, fields, stats)
    else:
        rows = _jsonl_rows(split_lines(stream.read, fields.max_record_bytes), source, fields,
                           stats)
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


_BARE_CR = re.compile(b"(?<=\r)(?!\n)")   # a line end of old Mac files, within our lines
_QUOTE, _COMMA = ord('"'), ord(",")


def _pieces(lines):
    """Lines ending at \n, \r\n or a bare \r (as a text file opened with newline="")."""
    for line in lines:
        if isinstance(line, Oversized) or line.find(b"\r", 0, len(line) - 2) < 0:  # no copy
            yield line
        else:
            yield from (part for part in _BARE_CR.split(line) if part)


def _scan(line: bytes, quoted: bool) -> Tuple[bool, Optional[int], Optional[int]]:
    """The csv module's default dialect (``,`` and ``"``, quotes doubled inside quotes) over
    one line, quote and comma only (both ASCII: UTF-8 never hides them): whether the line
    ends inside a quoted cell, where the cell open at its start (``quoted``) closes, and
    where the cell open at its end began (after its quote) when it began on this line."""
    i, n = 0, len(line)
    closed_at, opened_at, first = None, None, quoted
    while True:
        if quoted:
            j = line.find(b'"', i)
            if j < 0:
                return True, closed_at, opened_at
            if j + 1 < n and line[j + 1] == _QUOTE:   # a doubled quote: part of the cell
                i = j + 2
                continue
            if first:
                closed_at, first = j, False
            quoted, opened_at, i = False, None, j + 1
            if not (i < n and line[i] == _COMMA):   # text after the quote: the cell goes on
                i = line.find(b",", i)
                if i < 0:
                    return False, closed_at, None
            i += 1
        if i < n and line[i] == _QUOTE:   # a cell starts with a quote: a quoted cell
            quoted, opened_at, i = True, i + 1, i + 1
            continue
        i = line.find(b",", i)   # an unquoted cell: quotes in it are plain characters
        if i < 0:
            return False, closed_at, None
        i += 1


def _longest_cell(line: bytes, quoted: bool) -> int:
    """The most bytes of one cell within ``line``, in _scan's dialect (a cell open at the
    line's start, ``quoted``, counts from there; one open at its end, to there)."""
    longest, start, i, n = 0, 0, 0, len(line)
    while i < n:
        if quoted:
            j = line.find(b'"', i)
            if j < 0:
                break
            if j + 1 < n and line[j + 1] == _QUOTE:   # a doubled quote: part of the cell
                i = j + 2
                continue
            quoted, i = False, j + 1
            continue
        if i == start and line[i] == _QUOTE:   # a cell starts with a quote
            quoted, i = True, i + 1
            continue
        j = line.find(b",", i)
        if j < 0:
            break
        longest, start, i = max(longest, j - start), j + 1, j + 1
    end = n - line.endswith(b"\n") - line.endswith(b"\r\n")   # (rstrip would copy it)
    return max(longest, end - start)


class _Row(NamedTuple):
    number: int                  # its first line
    lines: Optional[List[str]]   # None: over a cap, streamed past
    too_big: str = ""            # why not


def _csv_records(lines, max_field: int, max_row: int) -> Iterator[_Row]:
    """The lines of each CSV row (a quoted cell may span lines), a row at a time. A cell
    over ``max_field`` or a row over ``max_row`` bytes is streamed past to the row's end,
    its lines not kept; a line over the line cap (Oversized) costs its row."""
    number, quoted = 0, False
    held: List[str] = []
    start, size, cell, too_big = 0, 0, 0, ""
    for line in lines:
        number += 1
        if not quoted:   # a row starts
            held, start, size, cell, too_big = [], number, 0, 0, ""
        was_quoted = quoted
        if isinstance(line, Oversized):
            # Its quotes say whether a quoted cell ends in it (odd: one opens or closes).
            quoted = quoted != bool(line.counted % 2)
            too_big = too_big or (f"a line of the row is {line.size:,} bytes, over the cap "
                                  "(input.max_record_bytes)")
            cell = 0
        else:
            quoted, closed_at, opened_at = _scan(line, quoted)
            size += len(line)
            if was_quoted:
                cell += len(line) if closed_at is None else closed_at
            if not too_big and (cell > max_field or size > max_row):
                what, length, cap, setting = (
                    ("a cell", cell, max_field, "max_field_bytes") if cell > max_field
                    else ("the row", size, max_row, "max_record_bytes"))
                too_big = (f"{what} spanning lines is over {length:,} bytes, over the cap of "
                           f"{cap:,} (input.{setting})")
            cell = len(line) - opened_at if opened_at is not None else (
                cell if quoted else 0)
            if not too_big and cell > max_field:
                too_big = (f"a cell spanning lines is over {cell:,} bytes, over the cap of "
                           f"{max_field:,} (input.max_field_bytes)")
            # A cell within the line, measured before it is decoded for the csv module.
            longest = _longest_cell(line, was_quoted) if len(line) > max_field else 0
            if not too_big and longest > max_field:
                too_big = (f"a cell is {longest:,} bytes, over the cap of {max_field:,} "
                           "(input.max_field_bytes)")
            if not too_big:
                # surrogateescape keeps bad bytes visible so one bad row does not sink the file.
                held.append(line.decode("utf-8", "surrogateescape"))
        if too_big:
            held = []   # streamed past: nothing of it kept
        if not quoted:
            yield _Row(start, None if too_big else held, too_big)
    if quoted:   # the file ends inside a quoted cell: the row as the csv module reads it
        yield _Row(start, None if too_big else held, too_big)


def _csv_rows(lines, source, fields, stats):
    # Process-wide, but every reader sets the same cap: a cell past it raises csv.Error
    # for its row only (each row is read on its own).
    csv.field_size_limit(fields.max_field_bytes)
    header = None
    for number, row_lines, too_big in _csv_records(_pieces(_without_bom(lines, stats)),
                                                   fields.max_field_bytes,
                                                   fields.max_record_bytes):
        location = f"line {number}"
        if row_lines is None:
            yield number, defect(Kind.IMAGE_TEXT, source, number, location,
                                 Reason.OVERSIZED_RECORD, f"{too_big}: not read")
            continue
        try:
            values = next(csv.reader(row_lines), [])
        except csv.Error as err:
            if "field larger than field limit" not in str(err):
                raise   # the file is not CSV: the rest of it is one record
            # The csv module stops at the cap: the size is a lower bound.
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
