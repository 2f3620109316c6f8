"""The cross-run index: one folder, one part per stage that remembers earlier runs.

  text   (the folder itself) every text's signature and its cluster (near-duplicate text)
  spans  (spans/)  per span hash the documents that held it (repeated spans)
  exact  (exact/)  per text and pixel key the record kept and how many held it
  images (images/) every image's pHashes and its cluster (near-duplicate images)
  clip   (clip/)   every image's CLIP embedding and its cluster (semantic duplicates)
  faces  (faces/)  every encoded face and its identity (repeated identities)
  templates (templates/) per caption template and filler, the records (caption templates)
  layouts (layouts/) every image's thumbnail and what groups it (layout templates)
  ids    (ids/)    every record's public id (ids are unique over the nights)

A run reads its --index-in parts as PCollections (by file, in parallel) and writes to
--index-out the running index: every part holds earlier runs' rows and tonight's, merged
by key, so the next night reads one index, not one per night. Each file carries in its
Parquet metadata how its keys were made; a run checks it before reading (format_problems).
"""

import json
from typing import Dict, List, NamedTuple, Optional, Tuple

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from schemas.arrow import (CLIP_FOLDER, EXACT_FOLDER, FACES_FOLDER, IDS_FOLDER, IMAGES_FOLDER,
                           INDEX_FORMAT_KEY, INDEX_VERSION, LAYOUTS_FOLDER, SPANS_FOLDER,
                           TEMPLATES_FOLDER)
from transforms.common.nodes import previous_node


class IndexPart(NamedTuple):
    folder: str            # under the index folder ("": the folder itself)
    columns: List[str]     # what a run reads back
    # The column that starts with the night its row's cluster began (transforms/common/
    # nodes.py input_order; exact: the run that first saw the key), for retention; None:
    # counts, not records (they grow with distinct spans and fillers, not with nights).
    since: Optional[str] = "order"
    # Columns that make rows equal for a later run (the same value in the same cluster): the
    # running index keeps one row of each, so it grows with distinct content, not with
    # copies or nights. Empty: every row counts (faces and layouts count their records).
    same: Tuple[str, ...] = ()


PARTS = {
    "text": IndexPart("", ["id", "minhash", "root", "order"], same=("minhash", "root")),
    "spans": IndexPart(SPANS_FOLDER, ["span", "documents", "keys", "personal"], None),
    "exact": IndexPart(EXACT_FOLDER, ["kind", "key", "id", "records", "run"], "run"),
    "images": IndexPart(IMAGES_FOLDER, ["id", "phash", "phash_fine", "root", "order"],
                        same=("phash", "phash_fine", "root")),
    "clip": IndexPart(CLIP_FOLDER, ["id", "embedding", "root", "order"],
                      same=("embedding", "root")),
    "faces": IndexPart(FACES_FOLDER, ["id", "face", "encoding", "root_id", "root_face",
                                      "order"]),
    "templates": IndexPart(TEMPLATES_FOLDER, ["template", "filler", "records"], None),
    "ids": IndexPart(IDS_FOLDER, ["id", "run"], "run"),
    "layouts": IndexPart(LAYOUTS_FOLDER, ["id", "order", "thumb", "width", "height",
                                          "template", "faces", "clip_keys"]),
}


def parquet_files(patterns: List[str]) -> List[str]:
    """The Parquet files of one or several locations (a folder or a glob each)."""
    files = []
    for pattern in patterns:
        if not any(c in pattern for c in "*?[") and not pattern.endswith(".parquet"):
            pattern = FileSystems.join(pattern, "*.parquet")
        files += [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    return sorted(files)


def part_files(locations: List[str], part: str) -> List[str]:
    """The files of one part of the --index-in locations. The text part also takes globs
    and single files (its files lie in the folder itself); the others are found in the
    folders' subfolders, and a night that ran without their stage has none."""
    folder = PARTS[part].folder
    if not folder:
        return parquet_files(locations)
    return parquet_files([FileSystems.join(f, folder) for f in locations
                          if not any(c in f for c in "*?[") and not f.endswith(".parquet")])


def file_schema(path: str):
    """An index file's Arrow schema, its format in the metadata."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return pq.read_schema(f)


def format_problems(files: List[str], expected: dict) -> List[str]:
    """Why each index file cannot be compared with this run's keys (empty: all fine)."""
    problems = []
    wanted = {"version": INDEX_VERSION, **expected}
    for path in files:
        metadata = file_schema(path).metadata or {}
        found = json.loads(metadata.get(INDEX_FORMAT_KEY, b"{}") or b"{}")
        differ = sorted(k for k in wanted if found.get(k) != wanted[k])
        if differ:
            problems.append(f"{path}: " + ", ".join(
                f"{k}={found.get(k)!r} (this run: {wanted[k]!r})" for k in differ))
    return problems


class ReadIndex(beam.PTransform):
    """The rows (dicts of the part's columns) of one part's files, read in parallel by
    file; with ``since`` (a run's started_at), only the rows of clusters that began on a
    night from then on (retention: an older cluster is forgotten whole, its members with
    it, so no row names a root the index no longer holds)."""

    def __init__(self, files: List[str], part: str, since: str = ""):
        super().__init__()
        self.files = list(files)
        self.columns = PARTS[part].columns
        self.column = PARTS[part].since if since else None
        self.since = since

    def expand(self, pbegin):
        rows = (pbegin
                | "Files" >> beam.Create(self.files)
                | "Read" >> beam.io.ReadAllFromParquet(columns=self.columns))
        if self.column is None:
            return rows
        column, since = self.column, self.since
        return rows | "Retained" >> beam.Filter(
            lambda row: row[column].split("\x00", 1)[0] >= since)


class Compact(beam.PTransform):
    """A part's rows with one row (the smallest id) of each set that is the same for a later
    run (IndexPart.same); the rows as they are for a part without such columns."""

    def __init__(self, part: str):
        super().__init__()
        self.same = PARTS[part].same

    def expand(self, rows):
        if not self.same:
            return rows
        same = self.same
        return (rows
                | "BySame" >> beam.Map(lambda row: (tuple(row[c] for c in same), row))
                | "First" >> beam.CombinePerKey(lambda found: min(found, key=lambda r: r["id"]))
                | "Rows" >> beam.Values())


def previous_sketch(row: dict):
    """A text part's row as near-duplicate text takes an earlier run's text: (node,
    (signature, None)), a node that sorts before tonight's, named after its cluster's root
    (transforms.common.nodes.previous_node); the index keeps no shingles, so its edges are
    verified by estimate."""
    return previous_node(row["id"], row["root"], row["order"]), (row["minhash"], None)


def previous_image(row: dict):
    """An image part's row as near-duplicate images take an earlier run's image: (node,
    (pHashes, fine pHashes)), the node as previous_sketch makes it."""
    return previous_node(row["id"], row["root"], row["order"]), (row["phash"],
                                                                  row["phash_fine"])


def previous_embedding(row: dict):
    """A CLIP part's row as semantic dedup takes an earlier run's image: (node, embedding)."""
    return previous_node(row["id"], row["root"], row["order"]), row["embedding"]


# What a stage that remembers earlier runs returns with --index-out (a dict): its verdicts
# and its part's rows for the running index.
VERDICTS, INDEX = "verdicts", "index"

IndexFiles = Dict[str, List[str]]   # part -> its files, for the parts a run reads
