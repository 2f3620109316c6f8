"""Parquet: text corpora, or image-text pairs (img2dataset's parquet output, HF image columns).

The kind of a file is decided by its schema and content: a column of image bytes (binary,
or a Hugging Face Image struct with binary ``bytes``) makes it image-text, else it is text;
an ``image`` column of strings (URLs) does not, nor does one of bytes whose first values
are no image files (HTML, text, random bytes): its rows are text records. Rows are
streamed a batch at a time, a row group at a time; what a row group, a row and the whole
file may cost is capped before it is read: the row group by its footer, a row by the
lengths Arrow knows before any value is converted, the file by the bytes of the rows made
so far (a dictionary-encoded column, flat or nested, can decode to many times its size)
and, before a row group is read, by the bytes its footer says its pages decompress to (a
codec bomb costs several times its size to decompress).
"""

from typing import BinaryIO, Callable, Iterator, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from detectors.hashing import record_uid
from detectors.images import IMAGE_HEAD, looks_like_image
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from transforms.io.sources.common import (IMAGE_COLUMN_CANDIDATES, Stats, defect,
                                          file_defect, oversized, public_id, to_metadata)
from transforms.io.sources.compressed import RATIO_FLOOR
from schemas.settings import InputSettings

BATCH_ROWS = 256  # image rows can be ~100 KB each: keep a batch small
# A batch is converted whole only up to this: its rows are all held at once (a dictionary
# value shared by many rows becomes one string per row), and the caps are judged per row.
BATCH_BYTES = 4 << 20


def holds_bytes(kind: pa.DataType) -> bool:
    """A column type that can hold image bytes: binary, or a struct with binary ``bytes``."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_struct(kind):
        index = kind.get_field_index("bytes")
        return index >= 0 and holds_bytes(kind.field(index).type)
    return (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind))


def image_column(schema: pa.Schema, fields: InputSettings,
                 judge: Callable[[str], Optional[bool]] = lambda column: None,
                 ) -> Optional[str]:
    """The column of image bytes: the one named by image_field, else the first candidate
    that holds bytes (a candidate name holding strings, such as URLs, is not one) and
    whose values ``judge`` (holds_images) does not find to be something else."""
    if fields.image_field:
        return fields.image_field if fields.image_field in schema.names else None
    return next((c for c in IMAGE_COLUMN_CANDIDATES
                 if c in schema.names and holds_bytes(schema.field(c).type)
                 and judge(c) is not False), None)


SNIFFED_VALUES = 16      # non-null values of a candidate image column judged by their start
SNIFFED_ROWS = 4 * BATCH_ROWS   # rows looked at for them (a column of nulls is not read on)


def holds_images(parquet: pq.ParquetFile, column: str, fields: InputSettings) -> Optional[bool]:
    """Whether a bytes column holds image files, by how its first SNIFFED_VALUES non-null
    values begin: True once one starts like an image (one that does not then costs its own
    record, undecodable_image), False when none does; None when there is nothing to judge
    or the column cannot be read here (the rows' records will say why)."""
    judged, rows = 0, 0
    metadata = parquet.metadata
    try:
        for group in range(metadata.num_row_groups):
            if metadata.row_group(group).total_byte_size > fields.max_row_group_bytes:
                continue   # not read at all: its record says so
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group],
                                              columns=[column]):
                for head in _value_heads(batch.column(0)):
                    if head is not None:
                        if looks_like_image(head):
                            return True
                        judged += 1
                        if judged >= SNIFFED_VALUES:
                            return False
                rows += batch.num_rows
                if rows >= SNIFFED_ROWS:
                    return False if judged else None
    except Exception:
        return None
    return False if judged else None


def _value_heads(array: pa.Array) -> Iterator[Optional[bytes]]:
    """Each value's first IMAGE_HEAD bytes (None: null), nothing else of it copied."""
    for scalar in array:
        while isinstance(scalar, (pa.DictionaryScalar, pa.StructScalar)) and scalar.is_valid:
            scalar = scalar.value if isinstance(scalar, pa.DictionaryScalar) else scalar["bytes"]
        if not scalar.is_valid:
            yield None
            continue
        buffer = scalar.as_buffer()
        yield buffer.slice(0, min(IMAGE_HEAD, buffer.size)).to_pybytes()


def _dictionary_columns(metadata) -> List[str]:
    """Columns stored dictionary-encoded anywhere in the file, nested ones too (their
    paths, such as ``tags.list.element``): read as Arrow dictionaries, so a small
    dictionary repeated over many rows or list items stays small until a row is made (its
    values decoded one row at a time, under the row cap)."""
    names = set()
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for column in range(row_group.num_columns):
            chunk = row_group.column(column)
            if chunk.has_dictionary_page:
                names.add(chunk.path_in_schema)
    return sorted(names)


def parse_parquet(stream: BinaryIO, source: str, fields: InputSettings,
                  stats: Stats) -> Iterator[Record]:
    try:
        metadata = pq.ParquetFile(stream).metadata
        parquet = pq.ParquetFile(stream, metadata=metadata,
                                 read_dictionary=_dictionary_columns(metadata))
    except Exception as err:
        yield file_defect(Kind.UNKNOWN, source, Reason.UNREADABLE_FILE,
                          f"not a Parquet file: {type(err).__name__}: {err}")
        return
    schema = parquet.schema_arrow
    sniffed = {}

    def sniff(column):
        sniffed[column] = holds_images(parquet, column, fields)
        return sniffed[column]

    images = image_column(schema, fields, sniff)
    kind = Kind.IMAGE_TEXT if images else Kind.TEXT
    row_of = _image_row if images else _text_row
    not_images = [column for column, verdict in sniffed.items() if verdict is False]
    # Passed to each row: the image column, or why a text file has none.
    column_note = images or (
        f"column {not_images[0]!r} holds bytes, but none of its first values is an image "
        f"file (JPEG, PNG, GIF, WebP, BMP, TIFF): the file is read as text" if not_images
        else None)
    if not_images:
        stats["image_columns_without_images"] += len(not_images)
    key_field = fields.image_id_field if images else fields.id_field
    compressed = max(sum(metadata.row_group(g).column(c).total_compressed_size
                         for g in range(metadata.num_row_groups)
                         for c in range(metadata.row_group(g).num_columns)), 1)
    position, made = 0, 0   # rows read, bytes of the rows made
    pages = 0   # bytes the pages of the row groups read so far decompress to, as declared
    try:
        for group in range(metadata.num_row_groups):
            declared = metadata.row_group(group)
            unpacked = sum(declared.column(c).total_uncompressed_size
                           for c in range(declared.num_columns))
            if declared.total_byte_size <= fields.max_row_group_bytes and _over(
                    pages + unpacked, compressed, fields):
                # A codec bomb (the caps of a compressed file, on what the footer declares
                # the pages decompress to): Arrow decompresses a page whole, several times
                # its size in all, and rows in one page cannot be told apart without that.
                yield file_defect(
                    kind, source, Reason.DECOMPRESSION_LIMIT,
                    f"row group {group}'s pages decompress to {unpacked:,} bytes (as its "
                    f"footer says), {pages + unpacked:,} with those before, from "
                    f"{compressed:,} stored (input.max_decompressed_bytes "
                    f"{fields.max_decompressed_bytes:,}, max_decompression_ratio "
                    f"{fields.max_decompression_ratio:g}): rows from {position} on are not "
                    "read", position=position, location=f"rows {position}-")
                return
            if declared.total_byte_size > fields.max_row_group_bytes:
                # Its rows cannot be told apart without reading it: one record for all.
                last = position + declared.num_rows - 1
                yield oversized(kind, source, position, f"rows {position}-{last}",
                                f"row group {group} ({declared.num_rows:,} rows, one record "
                                "here: its rows are not told apart without reading it)",
                                declared.total_byte_size, fields.max_row_group_bytes,
                                "max_row_group_bytes")
                position += declared.num_rows
                continue
            pages += unpacked
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                sizes = row_sizes(batch)
                for index, row in enumerate(_rows(batch, sizes, fields.max_record_bytes)):
                    location = f"row {position}"
                    size = int(sizes[index])
                    made += size
                    if _over(made, compressed, fields):
                        yield file_defect(
                            kind, source, Reason.DECOMPRESSION_LIMIT,
                            f"rows decode to more than {made:,} bytes from {compressed:,} "
                            f"stored (input.max_decompressed_bytes "
                            f"{fields.max_decompressed_bytes:,}, max_decompression_ratio "
                            f"{fields.max_decompression_ratio:g}): rows from {position} on "
                            "are not read", position=position, location=f"rows {position}-")
                        return
                    if row is None:
                        yield oversized(kind, source, position, location, "the row", size,
                                        fields.max_record_bytes, "max_record_bytes",
                                        key=_cell(batch, key_field, index))
                    elif isinstance(row, Exception):
                        yield defect(kind, source, position, location, Reason.INVALID_UTF8,
                                     f"a value cannot be decoded: {row}",
                                     key=_cell(batch, key_field, index))
                    else:
                        yield row_of(row, source, position, fields, column_note)
                    position += 1
    except Exception as err:
        after = f"after row {position - 1}" if position else "before the first row"
        yield file_defect(kind, source, Reason.UNREADABLE_FILE,
                          f"the file itself is broken: stopped {after}: "
                          f"{type(err).__name__}: {err}",
                          position=position, location=f"rows {position}-")


def _over(size: int, stored: int, fields: InputSettings) -> bool:
    """Past the caps on what a compressed file may decompress to (as Decompressed judges)."""
    return size > fields.max_decompressed_bytes or (
        size > RATIO_FLOOR and size > fields.max_decompression_ratio * stored)


def row_sizes(batch: pa.RecordBatch) -> np.ndarray:
    """Bytes of each row's string and binary values (nested ones too), from Arrow's
    lengths: nothing is converted. Numbers and lists of numbers are not counted."""
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        total += _value_sizes(column)
    return total


def _value_sizes(array: pa.Array) -> np.ndarray:
    kind = array.type
    if pa.types.is_dictionary(kind):
        lengths = _value_sizes(array.dictionary)
        if not len(lengths):
            return np.zeros(len(array), dtype=np.int64)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
        # A null row holds no value: not the size of the value at index 0.
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        return np.where(valid, lengths[indices], 0)
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)):
        return pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(
            np.int64)
    if pa.types.is_fixed_size_binary(kind):
        return np.full(len(array), kind.byte_width, dtype=np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(len(array), dtype=np.int64)
        for index in range(kind.num_fields):
            total += _value_sizes(array.field(index))
        return total
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        # The whole values array (a map has no flatten): offsets index it as they are.
        inner = _value_sizes(array.values)
        offsets = np.asarray(array.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        sums = np.concatenate([[0], np.cumsum(inner)])
        return sums[offsets[1:]] - sums[offsets[:-1]]
    if pa.types.is_fixed_size_list(kind):
        width = kind.list_size
        inner = _value_sizes(array.values.slice(array.offset * width, len(array) * width))
        return inner.reshape(len(array), width).sum(axis=1) if width else np.zeros(
            len(array), dtype=np.int64)
    return np.zeros(len(array), dtype=np.int64)


def _cell(batch, column: str, index: int):
    try:
        value = batch.column(column)[index].as_py()
    except Exception:  # absent, or the bad value itself
        return None
    return value if isinstance(value, (str, int)) and len(str(value)) <= 1000 else None


def _rows(batch, sizes, max_row: int):
    """Rows as dicts; a row over ``max_row`` as None (not converted); a row that cannot be
    decoded (a non-UTF-8 string) as its exception."""
    if sizes.sum() <= min(max_row, BATCH_BYTES):
        try:
            yield from batch.to_pylist()
            return
        except Exception:
            pass  # one bad value sinks the whole batch: decode row by row
    for index in range(batch.num_rows):
        if sizes[index] > max_row:
            yield None
            continue
        try:
            yield batch.slice(index, 1).to_pylist()[0]
        except Exception as err:
            yield err


def _text_row(row: dict, source: str, position: int, fields: InputSettings,
              note: Optional[str]) -> Record:
    location = f"row {position}"
    text = row.pop(fields.text_field, None)
    key = row.pop(fields.id_field, None)
    metadata = to_metadata(row)
    if not isinstance(text, str):
        return defect(Kind.TEXT, source, position, location, Reason.MISSING_TEXT,
                      f"column {fields.text_field!r} is {type(text).__name__}"
                      + (f"; {note}" if note else ""), key=key, metadata=metadata)
    return make_record(uid=record_uid(source, location), id=public_id(key, text.encode("utf-8")),
                       kind=Kind.TEXT, source=source, position=position, location=location,
                       text=text, metadata=metadata)


def _image_row(row: dict, source: str, position: int, fields: InputSettings,
               image_field: str) -> Record:
    location = f"row {position}"
    image = row.pop(image_field, None)
    if isinstance(image, dict):  # Hugging Face Image feature: {"bytes": ..., "path": ...}
        row[f"{image_field}_path"] = image.get("path")
        image = image.get("bytes")
    caption = row.pop(fields.caption_field, None)
    key = row.pop(fields.image_id_field, None)
    if caption is not None and not isinstance(caption, str):
        caption = str(caption)
    image = bytes(image) if isinstance(image, (bytes, bytearray, memoryview)) else None
    record_id = public_id(key, image or b"", (caption or "").encode("utf-8", "replace"))
    return make_record(uid=record_uid(source, location), id=record_id, kind=Kind.IMAGE_TEXT,
                       source=source, position=position, location=location,
                       caption=caption, image=image, metadata=to_metadata(row))
