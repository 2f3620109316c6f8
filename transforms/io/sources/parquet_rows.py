"""Parquet: text corpora, or image-text pairs (img2dataset's parquet output, HF image columns).

The kind of a file is decided by its schema: a column of image bytes makes it
image-text, else it is text. Rows are streamed a batch at a time.
"""

from typing import BinaryIO, Iterator, Optional

import pyarrow.parquet as pq

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from transforms.io.sources.common import (IMAGE_COLUMN_CANDIDATES, Stats, defect,
                                       file_defect, public_id, to_metadata)
from schemas.settings import InputSettings

BATCH_ROWS = 256  # image rows can be ~100 KB each: keep a batch small


def image_column(names, fields: InputSettings) -> Optional[str]:
    if fields.image_field:
        return fields.image_field if fields.image_field in names else None
    return next((c for c in IMAGE_COLUMN_CANDIDATES if c in names), None)


def parse_parquet(stream: BinaryIO, source: str, fields: InputSettings,
                  stats: Stats) -> Iterator[Record]:
    try:
        parquet = pq.ParquetFile(stream)
    except Exception as err:
        yield file_defect(Kind.UNKNOWN, source, Reason.UNREADABLE_FILE,
                          f"not a Parquet file: {type(err).__name__}: {err}")
        return
    names = parquet.schema_arrow.names
    images = image_column(names, fields)
    kind = Kind.IMAGE_TEXT if images else Kind.TEXT
    row_of = _image_row if images else _text_row
    key_field = fields.image_id_field if images else fields.id_field
    position = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            for index, row in enumerate(_rows(batch)):
                if isinstance(row, Exception):
                    yield defect(kind, source, position, f"row {position}", Reason.INVALID_UTF8,
                                 f"a value cannot be decoded: {row}",
                                 key=_cell(batch, key_field, index))
                else:
                    yield row_of(row, source, position, fields, images)
                position += 1
    except Exception as err:
        after = f"after row {position - 1}" if position else "before the first row"
        yield file_defect(kind, source, Reason.UNREADABLE_FILE,
                          f"stopped {after}: {type(err).__name__}: {err}",
                          position=position, location=f"rows {position}-")


def _cell(batch, column: str, index: int):
    try:
        return batch.column(column)[index].as_py()
    except Exception:  # absent, or the bad value itself
        return None


def _rows(batch):
    """Rows as dicts; a row that cannot be decoded (a non-UTF-8 string) as its exception."""
    try:
        yield from batch.to_pylist()
        return
    except Exception:
        pass  # one bad value sinks the whole batch: decode row by row
    for index in range(batch.num_rows):
        try:
            yield batch.slice(index, 1).to_pylist()[0]
        except Exception as err:
            yield err


def _text_row(row: dict, source: str, position: int, fields: InputSettings, _) -> Record:
    location = f"row {position}"
    text = row.pop(fields.text_field, None)
    key = row.pop(fields.id_field, None)
    metadata = to_metadata(row)
    if not isinstance(text, str):
        return defect(Kind.TEXT, source, position, location, Reason.MISSING_TEXT,
                      f"column {fields.text_field!r} is {type(text).__name__}", key=key,
                      metadata=metadata)
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
