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
    if source.lower().endswith(".csv"):
        watch = CellWatch(fields.max_field_bytes)
        lines = split_lines(stream.read, fields.max_record_bytes, watch)
        rows = _csv_rows(lines, source, fields, stats, watch)
    else:
        lines = split_lines(stream.read, fields.max_record_bytes)
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


class _CellOverCap(Exception):
    """A line holds a CSV cell over the field cap: its row is not read."""


class CellWatch:
    """Finds a CSV cell over ``cap`` characters in a long line as it streams in (split_lines'
    ``watch``), so the line is streamed past rather than held for the csv module to refuse.

    It follows the csv module's default dialect (comma, double quote, doubled quotes) and
    counts a lower bound of the characters a cell decodes to (UTF-8 continuation bytes and
    doubled quotes' first halves not counted): it fires only where the csv module would raise
    its field limit.
    ``quoted``: the line continues a quoted cell of the row (its characters so far are not
    counted: still a lower bound). A line with a bare CR before the cell is not watched."""
    cause = "cell"
    _SPECIAL = {1: re.compile(rb'[,\r\n]'), 2: re.compile(rb'"')}
    _CONTINUATION = bytes(range(0x80, 0xC0))

    def __init__(self, cap: int):
        self.after = self.cap = cap   # a line no longer than the cap holds no cell over it
        self.quoted = False

    def begin(self) -> None:
        # 0: a cell's start, 1: in an unquoted cell, 2: in a quoted one, 3: a quote in it
        self.state, self.cell = (2 if self.quoted else 0), 0
        self.cr = False   # the bytes so far end in a CR: bare unless a LF comes next
        self.off = False

    def _bare_cr(self, data: bytes) -> Optional[int]:
        """Where the first bare CR of ``data`` ends (_Lines makes it a line end), if any."""
        if self.cr and not data.startswith(b"\n"):
            return 0
        at = data.find(b"\r")
        while 0 <= at < len(data) - 1 and data[at + 1:at + 2] == b"\n":
            at = data.find(b"\r", at + 1)
        self.cr = at == len(data) - 1
        return at + 1 if 0 <= at < len(data) - 1 else None

    def split(self, data: bytes) -> Optional[int]:
        """After the watch fired: where the csv module's line (the rest of which it drops)
        ends within ``data``, if it does."""
        return self._bare_cr(data)

    def _count(self, data: bytes) -> bool:
        self.cell += len(data.translate(None, self._CONTINUATION))
        return self.cell > self.cap

    def feed(self, data: bytes) -> bool:
        # Lines with a bare CR are not watched (the csv module's lines are not ours there):
        # held whole, as short lines are.
        self.off = self.off or self._bare_cr(data) is not None
        if self.off:
            return False
        at, end = 0, len(data)
        while at < end:
            if self.state in (0, 3):   # a cell's first byte, or the one after a quote in one
                byte = data[at:at + 1]
                if byte == b'"':   # opens a quoted cell, or is a doubled quote in one
                    self.cell += self.state == 3
                    self.state = 2
                elif byte in (b",", b"\r", b"\n"):   # the cell (or the row) ends
                    self.state, self.cell = 0, 0
                else:
                    self.state = 1
                    continue
                at += 1
                continue
            found = self._SPECIAL[self.state].search(data, at)
            stop = found.start() if found else end
            if self._count(data[at:stop]):
                return True
            if found:   # a comma or line end ends an unquoted cell; a quote in a quoted one
                self.state, self.cell = (3, self.cell) if self.state == 2 else (0, 0)
            at = stop + 1
        return False


class _Lines:
    """Decoded lines for the csv module; a line over the cap becomes an empty one, noted
    (the csv module cannot be told to skip it), so its row is an oversized record; a line
    with a cell over the field cap is not decoded: it raises _CellOverCap."""

    def __init__(self, lines, watch: CellWatch):
        self.lines = iter(lines)
        self.watch = watch
        self.pending: List[str] = []
        self.skipped: List[int] = []   # sizes of the lines over the cap in the current row
        self.in_row = False   # a line asked for within a row continues a quoted cell
        self.count = 0   # lines given to the csv module (or refused), as its line_num

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pending:
            self.count += 1
            return self.pending.pop()
        self.watch.quoted, self.in_row = self.in_row, True
        line = next(self.lines)
        self.count += 1
        if isinstance(line, Oversized):
            if line.cause == CellWatch.cause:
                raise _CellOverCap
            self.skipped.append(line.size)
            return "\n"
        # surrogateescape keeps bad bytes visible so one bad row does not sink the file.
        text = line.decode("utf-8", "surrogateescape")
        if "\r" in text[:-2]:   # lines end at \r too, as a text file opened with newline=""
            *self.pending, text = reversed([part for part in _BARE_CR.split(text) if part])
        return text


def _csv_rows(lines, source, fields, stats, watch):
    text = _Lines(_without_bom(lines, stats), watch)
    # Process-wide, but every reader sets the same cap: cells past it raise csv.Error for
    # their row, and the reader goes on with the next line.
    csv.field_size_limit(fields.max_field_bytes)
    reader = csv.reader(text)
    header = None
    while True:
        number = text.count + 1  # where the row starts
        text.skipped, text.in_row = [], False
        try:
            values = next(reader)
        except StopIteration:
            return
        except _CellOverCap:   # as the csv module's field limit, without holding the line
            values = None
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
