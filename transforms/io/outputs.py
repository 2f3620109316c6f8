"""Where outputs go and how their rows are written: paths on any Beam filesystem
(local, gs://, s3://, hdfs://) and Parquet files."""

import uuid

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.options.value_provider import StaticValueProvider

from transforms.common.flatten import FlattenShared


def join_path(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)


ROW_BATCH = 256                       # rows per Arrow record batch
ROW_GROUP_BYTES = 32 * 1024 * 1024    # buffered before a row group is written


class WriteParquet(beam.PTransform):
    """Rows (dicts) to PREFIX-00000-of-000NN.parquet, zstd; the written files' paths out.

    A batch pipeline uses Beam's WriteToParquet. A streaming one (Flink with --streaming,
    README "Big local runs") cannot: its writes are stamped with the largest timestamp,
    which a streaming GroupByKey refuses; there each bundle writes a file of its own through
    fileio (ParquetFileSink) and the files take their final names when the input ends.
    """

    def __init__(self, prefix: str, schema):
        super().__init__()
        self.prefix = prefix
        self.schema = schema

    def expand(self, rows):
        if not rows.pipeline.options.view_as(StandardOptions).streaming:
            return rows | beam.io.WriteToParquet(
                file_path_prefix=self.prefix, schema=self.schema, file_name_suffix=".parquet",
                codec="zstd", record_batch_size=ROW_BATCH, row_group_buffer_size=ROW_GROUP_BYTES)
        folder, base = FileSystems.split(self.prefix)
        # beam-temp-PREFIX-*: what --overwrite may delete (pipeline/ownership.py)
        temp = join_path(folder, f"beam-temp-{base}-{uuid.uuid4().hex}")
        written = (rows
                   | fileio.WriteToFiles(
                       path=folder, sink=lambda _: ParquetFileSink(self.schema),
                       file_naming=fileio.default_file_naming(base, ".parquet"),
                       temp_directory=StaticValueProvider(str, temp))
                   | "Paths" >> beam.Map(lambda result: join_path(folder, result.file_name)))
        finished = (written
                    | "CountFiles" >> beam.combiners.Count.Globally()
                    | "Finish" >> beam.FlatMap(_finish, temp, self.prefix, self.schema))
        return (written, finished) | "AllPaths" >> FlattenShared()


def _finish(files: int, temp: str, prefix: str, schema):
    """After the last file has its name: the temporary folder removed and, as WriteToParquet
    does, one empty file written when there were no rows (readers expect a file)."""
    if FileSystems.exists(temp):
        FileSystems.delete([temp])
    if files == 0:
        path = f"{prefix}-00000-of-00001.parquet"
        with FileSystems.create(path) as fh:
            pq.ParquetWriter(fh, schema, compression="zstd").close()
        yield path


class ParquetFileSink(fileio.FileSink):
    """One Parquet file from rows: record batches of ROW_BATCH rows, a row group each
    ROW_GROUP_BYTES, as WriteToParquet writes them."""

    def __init__(self, schema):
        self.schema = schema

    def open(self, fh):
        self._writer = pq.ParquetWriter(fh, self.schema, compression="zstd")
        self._rows, self._batches, self._bytes = [], [], 0

    def write(self, record):
        self._rows.append(record)
        if len(self._rows) >= ROW_BATCH:
            self._batch()

    def _batch(self):
        if self._rows:
            batch = pa.RecordBatch.from_pylist(self._rows, schema=self.schema)
            self._rows = []
            self._batches.append(batch)
            self._bytes += batch.nbytes
        if self._bytes >= ROW_GROUP_BYTES:
            self._row_group()

    def _row_group(self):
        if self._batches:
            self._writer.write_table(pa.Table.from_batches(self._batches, schema=self.schema))
        self._batches, self._bytes = [], 0

    def flush(self):
        self._batch()
        self._row_group()
        self._writer.close()
