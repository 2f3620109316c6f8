"""The cross-run indexes: read earlier runs' kept signatures (near-duplicate text) and the
spans their texts held (repeated spans, in each index folder's spans/), check their format."""

import json
from typing import List

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from schemas.arrow import INDEX_FORMAT_KEY, INDEX_VERSION, SPANS_FOLDER
from transforms.common.nodes import previous_node


def parquet_files(patterns: List[str]) -> List[str]:
    """The Parquet files of one or several locations (a folder or a glob each)."""
    files = []
    for pattern in patterns:
        if not any(c in pattern for c in "*?[") and not pattern.endswith(".parquet"):
            pattern = FileSystems.join(pattern, "*.parquet")
        files += [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    return sorted(files)


def format_problems(files: List[str], expected: dict) -> List[str]:
    """Why each index file cannot be compared with this run's signatures (empty: all fine)."""
    problems = []
    wanted = {"version": INDEX_VERSION, **expected}
    for path in files:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            metadata = pq.read_schema(f).metadata or {}
        found = json.loads(metadata.get(INDEX_FORMAT_KEY, b"{}") or b"{}")
        differ = sorted(k for k in wanted if found.get(k) != wanted[k])
        if differ:
            problems.append(f"{path}: " + ", ".join(
                f"{k}={found.get(k)!r} (this run: {wanted[k]!r})" for k in differ))
    return problems


def read_rows(pbegin, files: List[str], columns: List[str]):
    """The rows (dicts of ``columns``) of index files, read in parallel by file."""
    return (pbegin
            | "Files" >> beam.Create(files)
            | "Read" >> beam.io.ReadAllFromParquet(columns=columns))


class ReadIndex(beam.PTransform):
    """Earlier runs' kept documents as (node, (signature, None)): nodes that sort before
    tonight's; the index keeps no shingles, so their edges are verified by estimate."""

    def __init__(self, files: List[str]):
        super().__init__()
        self.files = list(files)

    def expand(self, pbegin):
        return (read_rows(pbegin, self.files, ["id", "minhash"])
                | "ByNode" >> beam.Map(
                    lambda row: (previous_node(row["id"]), (row["minhash"], None))))


def span_index_files(folders: List[str]) -> List[str]:
    """The span index files of earlier runs' index folders (FOLDER/spans/*.parquet); a
    night that ran without the repeated-spans stage has none."""
    return parquet_files([FileSystems.join(f, SPANS_FOLDER) for f in folders
                          if not any(c in f for c in "*?[") and not f.endswith(".parquet")])


class ReadSpanIndex(beam.PTransform):
    """Earlier runs' span index rows ({"span", "documents", "keys", "personal"})."""

    def __init__(self, files: List[str]):
        super().__init__()
        self.files = list(files)

    def expand(self, pbegin):
        return read_rows(pbegin, self.files, ["span", "documents", "keys", "personal"])
