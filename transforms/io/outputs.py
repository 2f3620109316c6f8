"""Where outputs go and how their rows are written: paths on any Beam filesystem
(local, gs://, s3://, hdfs://) and Parquet files."""

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems


def join_path(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)


class WriteParquet(beam.PTransform):
    def __init__(self, prefix: str, schema):
        super().__init__()
        self.prefix = prefix
        self.schema = schema

    def expand(self, rows):
        return rows | beam.io.WriteToParquet(
            file_path_prefix=self.prefix, schema=self.schema, file_name_suffix=".parquet",
            codec="zstd", record_batch_size=256, row_group_buffer_size=32 * 1024 * 1024)
