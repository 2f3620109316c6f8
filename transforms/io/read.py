"""Read every input into Records: files by format, image folders by a join on path.

Files go through Beam's filesystems (local, gs://, s3://, hdfs://, glob
patterns). A file is parsed by one worker, streamed, so parallelism is per
file: shard large corpora (img2dataset and most dumps already are).
"""

import collections
import logging
import os
import time
from typing import Iterable, Iterator, Optional

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from detectors.display import for_display
from schemas.reasons import Reason
from schemas.records import Kind, Record
from transforms.common.flatten import FlattenShared
from transforms.common.progress import ProgressLog
from transforms.io.sources.compressed import DecompressionLimit, iter_lines
from transforms.io.sources.common import IMAGE_EXTENSIONS, file_defect
from transforms.io.sources.image_folder import (CAPTION_FILES, CaptionRow, caption_file_rows,
                                                  join_image, normalize_relpath)
from transforms.io.sources.jsonl import parse_jsonl
from transforms.io.sources.parquet_rows import parse_parquet
from transforms.io.sources.webdataset import parse_webdataset
from schemas.settings import INPUT_FORMATS, InputSettings

LOG = logging.getLogger("hygiene")
_COMPRESSED = ("", ".gz", ".zst", ".zstd", ".bz2", ".xz")
_SUFFIXES = {
    "jsonl": tuple(base + c for base in (".jsonl", ".ndjson") for c in _COMPRESSED),
    "parquet": (".parquet", ".pq"),
    "webdataset": tuple(".tar" + c for c in _COMPRESSED) + (".tgz",),
}
_KIND_OF_FORMAT = {"jsonl": Kind.TEXT, "parquet": Kind.UNKNOWN, "webdataset": Kind.IMAGE_TEXT}


def detect_format(path: str) -> Optional[str]:
    lower = path.lower()
    return next((fmt for fmt, suffixes in _SUFFIXES.items() if lower.endswith(suffixes)), None)


def is_folder_input(pattern: str, input_format: str) -> bool:
    if input_format == "image-folder":
        return True
    return input_format == "auto" and (pattern.endswith("/") or os.path.isdir(pattern))


def _open(path: str):
    # Raw bytes: JSONL decompression is ours (it fails loudly on truncation),
    # tar handles its own, and Parquet must seek.
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _parse(stream, path: str, fmt: str, fields: InputSettings, stats) -> Iterator[Record]:
    if fmt == "jsonl":
        return parse_jsonl(iter_lines(stream, path, fields), path, fields, stats)
    if fmt == "parquet":
        return parse_parquet(stream, path, fields, stats)
    return parse_webdataset(stream, path, fields, stats)


def guarded(records: Iterable[Record], path: str, kind: Kind) -> Iterator[Record]:
    """Turn an error in the middle of a file into a record for the unread rest of it."""
    last = None
    try:
        for last in records:
            yield last
    except Exception as err:  # corrupt compression, I/O errors: the file is bad, not the job
        after = f"after {last.location}" if last is not None else "before the first record"
        reason = (Reason.DECOMPRESSION_LIMIT if isinstance(err, DecompressionLimit)
                  else Reason.UNREADABLE_FILE)
        yield file_defect(kind, path, reason,
                          f"the file itself is broken: stopped {after}: "
                          f"{type(err).__name__}: {err}",
                          position=(last.position + 1) if last is not None else 0,
                          location=f"rest {after}")


class ParseFile(beam.DoFn):
    def __init__(self, settings: InputSettings):
        self.settings = settings

    def setup(self):
        self.progress = ProgressLog("read")
        self.files = Metrics.counter("read", "files")

    def process(self, metadata: FileMetadata) -> Iterator[Record]:
        path = metadata.path
        fmt = self.settings.format if self.settings.format != "auto" else detect_format(path)
        kind = _KIND_OF_FORMAT.get(fmt, Kind.UNKNOWN)
        self.files.inc()
        if fmt not in _KIND_OF_FORMAT:
            yield file_defect(kind, path, Reason.UNSUPPORTED_FILE,
                              f"no reader for this file name (formats: {', '.join(INPUT_FORMATS)})")
            return
        if metadata.size_in_bytes == 0:
            yield file_defect(kind, path, Reason.EMPTY_FILE, "zero bytes")
            return
        stats = collections.Counter()
        try:
            stream = _open(path)
        except Exception as err:
            yield file_defect(kind, path, Reason.UNREADABLE_FILE, f"{type(err).__name__}: {err}")
            return
        started, count = time.monotonic(), 0
        with stream:
            for record in guarded(_parse(stream, path, fmt, self.settings, stats), path, kind):
                self.progress.tick()
                count += 1
                yield record
        for name, value in stats.items():
            Metrics.counter("read", name).inc(value)
        seconds = time.monotonic() - started
        LOG.info("read %s: %s records in %.1f s (%s records/s)", for_display(path),
                 f"{count:,}", seconds, f"{count / max(seconds, 1e-6):,.0f}")


def real_path(path: str) -> str:
    """Where a local file really is (links resolved); a remote path as it is."""
    return os.path.realpath(path) if FileSystems.get_scheme(path) is None else path


class _Once(beam.DoFn):
    """One FileMetadata per real path: a file matched by two patterns is read once."""

    def process(self, element):
        _, matches = element   # keyed by the real path's bytes (a file name may not be UTF-8)
        matches = sorted(matches, key=lambda m: m.path)
        if len(matches) > 1:
            Metrics.counter("read", "files_matched_twice").inc(len(matches) - 1)
            LOG.warning("%r matched %d times by the inputs: read once", matches[0].path,
                        len(matches))
        yield matches[0]


@beam.ptransform_fn
def ReadFiles(pbegin, patterns, settings: InputSettings):
    """Files by format: (Records, FileMetadata of every distinct matched file)."""
    matched = (pbegin
               | "Patterns" >> beam.Create(list(patterns))
               | "Match" >> fileio.MatchAll()
               | "ByRealPath" >> beam.Map(lambda m: (
                   real_path(m.path).encode("utf-8", "surrogatepass"), m))
               | "Group" >> beam.GroupByKey()
               | "Once" >> beam.ParDo(_Once()))
    records = (matched
               | "Spread" >> beam.Reshuffle()
               | "Parse" >> beam.ParDo(ParseFile(settings)))
    return records, matched


def _folder_prefix(folder: str) -> str:
    return folder if folder.endswith("/") else folder + "/"


class _ReadCaptionFile(beam.DoFn):
    def __init__(self, fields: InputSettings):
        self.fields = fields

    def process(self, metadata: FileMetadata):
        stats = collections.Counter()
        with FileSystems.open(metadata.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            rows = caption_file_rows(f, metadata.path, self.fields, stats)
            for item in guarded(rows, metadata.path, Kind.IMAGE_TEXT):
                if isinstance(item, CaptionRow):
                    yield beam.pvalue.TaggedOutput("rows", (item.relpath, item))
                else:
                    yield item


class _JoinImage(beam.DoFn):
    def __init__(self, folder: str, fields: InputSettings):
        self.folder = folder
        self.fields = fields

    def setup(self):
        self.progress = ProgressLog("read images")

    def process(self, element):
        relpath, grouped = element
        images = sorted(grouped["image"], key=lambda m: m.path)
        paths = [m.path for m in images]
        data = []
        cap = self.fields.max_record_bytes
        too_big = images[0].size_in_bytes if images and images[0].size_in_bytes > cap else None
        for path in paths[:1]:
            if too_big is not None:   # not read: its record (with its caption) says why
                data.append(None)
                continue
            try:
                with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                    data.append(f.read())
            except Exception as err:
                yield file_defect(Kind.IMAGE_TEXT, path, Reason.UNREADABLE_FILE,
                                  f"{type(err).__name__}: {err}")
                paths = []
        for index, record in enumerate(join_image(self.folder, relpath, paths, data,
                                                  list(grouped["caption"]))):
            if index == 0 and too_big is not None and paths:
                record = record._replace(
                    defect=Reason.OVERSIZED_RECORD.value,
                    defect_detail=f"the image file is {too_big:,} bytes, over the cap of "
                                  f"{cap:,} (input.max_record_bytes): not read")
            self.progress.tick()
            yield record


class ReadImageFolder(beam.PTransform):
    """Images under a folder joined with its captions file by relative path."""

    def __init__(self, folder: str, fields: InputSettings):
        super().__init__()
        self.prefix = _folder_prefix(folder)
        self.fields = fields

    def expand(self, pbegin):
        prefix = self.prefix
        caption_paths = {prefix + name for name in CAPTION_FILES}

        def relpath(path: str) -> str:
            return normalize_relpath(path[len(prefix):].replace(os.sep, "/"))

        matched = (pbegin
                   | "Pattern" >> beam.Create([prefix + "**"])
                   | "Match" >> fileio.MatchAll())
        files = matched | "NotCaptions" >> beam.Filter(lambda m: m.path not in caption_paths)
        images = (files
                  | "Images" >> beam.Filter(lambda m: _is_image(m.path))
                  | "ByPath" >> beam.Map(lambda m: (relpath(m.path), m)))
        strays = (files
                  | "Others" >> beam.Filter(lambda m: not _is_image(m.path))
                  | "Stray" >> beam.Map(lambda m: file_defect(
                      Kind.IMAGE_TEXT, m.path, Reason.UNSUPPORTED_FILE,
                      "not an image and not the folder's captions file")))
        captions = (pbegin
                    | "CaptionFiles" >> beam.Create(sorted(caption_paths))
                    | "MatchCaptions" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
                    | "ReadCaptions" >> beam.ParDo(_ReadCaptionFile(self.fields))
                    .with_outputs("rows", main="defects"))
        joined = ({"image": images, "caption": captions.rows}
                  | "Join" >> beam.CoGroupByKey()
                  | "Records" >> beam.ParDo(_JoinImage(prefix, self.fields)))
        return (joined, captions.defects, strays) | "All" >> beam.Flatten(), matched


def _is_image(path: str) -> bool:
    return path.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS


class ReadCorpus(beam.PTransform):
    """Every input pattern, whatever its format: (Records, FileMetadata of every matched file)."""

    def __init__(self, patterns, settings: InputSettings):
        super().__init__()
        self.patterns = list(patterns)
        self.settings = settings

    def expand(self, pbegin):
        folders, seen = [], set()
        for pattern in self.patterns:   # a folder given twice is read once
            if is_folder_input(pattern, self.settings.format):
                if real_path(pattern.rstrip("/")) in seen:
                    LOG.warning("%s given twice: read once", pattern)
                else:
                    seen.add(real_path(pattern.rstrip("/")))
                    folders.append(pattern)
        files = [p for p in self.patterns if not is_folder_input(p, self.settings.format)]
        parts = []
        if files:
            parts.append(pbegin | "Files" >> ReadFiles(files, self.settings))
        for index, folder in enumerate(folders):
            parts.append(pbegin | f"Folder{index}" >> ReadImageFolder(folder, self.settings))
        records = tuple(r for r, _ in parts) | "AllRecords" >> beam.Flatten()
        matched = tuple(m for _, m in parts) | "AllFiles" >> FlattenShared()
        return records, matched
