"""The Parquet writers: Beam's WriteToParquet in batch pipelines, fileio and ParquetFileSink in
streaming ones (Flink --streaming), run here on the DirectRunner in streaming mode."""

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.io import outputs
from transforms.io.outputs import WriteParquet

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string())])


def _write(tmp_path, rows, streaming):
    with beam.Pipeline(options=PipelineOptions(["--streaming"] if streaming else [])) as p:
        paths = p | beam.Create(rows) | WriteParquet(str(tmp_path / "part"), SCHEMA)
        paths | beam.Map(lambda path: (tmp_path / "paths.txt").open("a").write(path + "\n"))
    return sorted((tmp_path / "paths.txt").read_text().split())


@pytest.mark.parametrize("streaming", [False, True])
def test_rows_are_written_to_shards_and_their_paths_come_out(tmp_path, streaming, monkeypatch):
    monkeypatch.setattr(outputs, "ROW_GROUP_BYTES", 4096)    # several row groups
    rows = [{"id": f"r{i}", "text": "x" * (i % 50)} for i in range(3000)]
    paths = _write(tmp_path, rows, streaming)
    files = sorted(str(p) for p in tmp_path.glob("part-*-of-*.parquet"))
    assert paths == files and files
    table = pa.concat_tables(pq.read_table(f) for f in files)
    assert table.schema.equals(SCHEMA)
    assert sorted(table.column("id").to_pylist()) == sorted(r["id"] for r in rows)
    assert max(pq.ParquetFile(f).num_row_groups for f in files) > 1
    assert not list(tmp_path.glob("beam-temp-*")), "temporary files left"


@pytest.mark.parametrize("streaming", [False, True])
def test_no_rows_still_write_one_empty_file_with_the_schema(tmp_path, streaming):
    paths = _write(tmp_path, [], streaming)
    (only,) = tmp_path.glob("part-*.parquet")
    assert paths == [str(only)]
    assert pq.read_table(only).num_rows == 0 and pq.read_schema(only).equals(SCHEMA)
    assert not list(tmp_path.glob("beam-temp-*"))
