"""Peak memory of reading hostile files (issue 23 item 2): each against the same file
without its hostile record; the target is a ratio of at most 1.2x.

    .venv/bin/python -m benchmarks.hostile_memory [--big] [--only gz-line tar-sparse ...]

Each file is read in a fresh subprocess by the job's own reader (transforms/io/read.py's
parser for the format, the default InputSettings, every record validated as the job's
Validate stage does) and the child's peak RSS is reported. Default sizes are modest (about
2 minutes in all); --big uses the issue's sizes (a 300 MB line, a 1 GiB member...: building
the files takes minutes and, for Parquet, memory). `python -m benchmarks` (make bench) runs
it and records one row per kind; it exits 1 when a kind is over the target.
"""

import argparse
import bz2
import csv
import gzip
import io
import json
import pathlib
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from benchmarks.results import record

ROOT = pathlib.Path(__file__).resolve().parent.parent
MB = 1 << 20

CHILD = r"""
import collections, json, sys, time
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from detectors.validate import validate
from schemas.records import Kind
from schemas.settings import InputSettings
from transforms.io.read import _parse, detect_format, guarded
from transforms.io.sources.image_folder import caption_file_rows

path = sys.argv[1]
settings = InputSettings()
started = time.monotonic()
reasons = collections.Counter()
with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
    if path.endswith(".csv"):
        items = guarded(caption_file_rows(stream, path, settings, collections.Counter()),
                        path, Kind.IMAGE_TEXT)
    else:
        items = guarded(_parse(stream, path, detect_format(path), settings,
                               collections.Counter()), path, Kind.UNKNOWN)
    for item in items:
        if hasattr(item, "defect"):
            item, _ = validate(item, settings)
            reasons[item.defect or "cleaned"] += 1
        else:
            reasons["caption row"] += 1
        del item
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
print(json.dumps({"peak": peak, "seconds": time.monotonic() - started, "reasons": reasons}))
"""


def _good_lines(count=200):
    return b"".join(json.dumps({"id": f"g{i}", "text": f"an ordinary line number {i} " * 4})
                    .encode() + b"\n" for i in range(count))


def _huge_line(size):
    return b'{"id": "huge", "text": "' + b"x" * size + b'"}\n'


def jsonl_line(compress, suffix):
    def write(folder, size, hostile):
        data = _good_lines() + (_huge_line(size) if hostile else b"")
        path = folder / f"docs{suffix}"
        path.write_bytes(compress(data))
        return path
    return write


def _stream_gzip_tar(path, members, compress=True):
    """A tar (gzip-compressed when asked) written member by member; members: (name, size
    or bytes); sizes are written as zeros in 1 MiB chunks, never held whole."""
    import tarfile
    opener = tarfile.open(path, "w:gz" if compress else "w")
    with opener as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            if isinstance(body, int):
                info.size = body
                tar.addfile(info, _Zeros(body))
            else:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return b"\0" * n


def _good_members():
    from PIL import Image
    import numpy as np
    members = []
    for i in range(20):
        pixels = np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        members += [(f"g{i}.png", buffer.getvalue()), (f"g{i}.txt", f"caption {i}".encode())]
    return members


def targz_member(folder, size, hostile):
    path = folder / "shard.tar.gz"
    members = _good_members() + ([("huge.jpg", size), ("huge.txt", b"zeros")] if hostile else [])
    _stream_gzip_tar(path, members)
    return path


def tar_sparse(folder, size, hostile):
    from tests.hostile_corpus import _archive_end, _sparse_member
    from tests.builders import tar_bytes
    good = tar_bytes(_good_members())
    body = good[:_archive_end(good)]
    if hostile:
        body += _sparse_member("huge.jpg", size)
    path = folder / "shard.tar"
    path.write_bytes(body + b"\0" * 1024)
    return path


def parquet_dictionary(folder, size, hostile):
    """Rows sharing one 1 MiB string, dictionary-encoded: the file stays small."""
    rows = max(size // MB, 1) if hostile else 0
    good = 200
    table = pa.table({
        "id": [f"g{i}" for i in range(good)] + [f"h{i}" for i in range(rows)],
        "text": [f"an ordinary row {i}" for i in range(good)] + ["bomb row"] * rows,
        "blob": [None] * good + ["y" * MB] * rows})
    path = folder / "bomb.parquet"
    pq.write_table(table, path, use_dictionary=True, compression="zstd",
                   row_group_size=good + rows)
    return path


def parquet_row_group(folder, size, hostile):
    good = 200
    texts = [f"an ordinary row {i}" for i in range(good)] + (["z" * size] if hostile else [])
    table = pa.table({"id": [f"r{i}" for i in range(len(texts))], "text": texts})
    path = folder / "big.parquet"
    pq.write_table(table, path, compression="zstd", row_group_size=len(texts))
    return path


def csv_cell(folder, size, hostile):
    path = folder / "captions.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "caption"])
        for i in range(200):
            writer.writerow([f"g{i}.png", f"caption {i}"])
        if hostile:
            writer.writerow(["huge.png", "c" * size])
    return path


KINDS = {
    # name: (writer, default size, --big size, what the issue saw)
    "jsonl.gz line": (jsonl_line(gzip.compress, ".jsonl.gz"), 64 * MB, 300 * MB,
                      "a 300 MB line: 5.7 GB"),
    "jsonl.bz2 line": (jsonl_line(bz2.compress, ".jsonl.bz2"), 64 * MB, 1024 * MB,
                       "7 KB .bz2, 5.5 GiB line: > 16 GB"),
    "jsonl.zst line": (jsonl_line(zstandard.ZstdCompressor().compress, ".jsonl.zst"), 64 * MB,
                       1024 * MB, "182 KB .zst, 5.5 GiB line: > 16 GB"),
    # 1 MiB over max_record_bytes (as the JSONL lines are, by their newline): a member at the
    # cap is a record the caps allow, read like any image.
    "tar.gz member": (targz_member, 65 * MB, 1024 * MB, "5 MB .tar.gz, 5 GiB member"),
    "tar sparse member": (tar_sparse, 256 * MB, 2048 * MB, "10 KB tar: > 16 GB"),
    "parquet dictionary": (parquet_dictionary, 64 * MB, 1024 * MB, "1.6 KB: 15.9 GB"),
    "parquet row group": (parquet_row_group, 64 * MB, 1024 * MB, "1 GB row group: 8.2 GB"),
    "csv cell": (csv_cell, 16 * MB, 50 * MB, "a 50 MB cell"),
}


def measure(path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="the issue's sizes")
    parser.add_argument("--only", nargs="*", choices=list(KINDS), help="these kinds only")
    args = parser.parse_args(argv)
    print(f"{'kind':<20} {'payload':>9} {'file':>10} {'peak RSS':>10} {'without':>10} "
          f"{'ratio':>6}  hostile record read as")
    worst = 0.0
    for name in args.only or KINDS:
        write, small, big, _ = KINDS[name]
        size = big if args.big else small
        with tempfile.TemporaryDirectory(prefix="hostile-memory-") as tmp:
            folder = pathlib.Path(tmp)
            (folder / "h").mkdir()
            (folder / "b").mkdir()
            hostile = write(folder / "h", size, True)
            baseline = write(folder / "b", size, False)
            file_size = hostile.stat().st_size
            with_it, without = measure(hostile), measure(baseline)
        if "error" in with_it or "error" in without:
            print(f"{name:<20} {size // MB:>7}MB {file_size:>10,} "
                  f"{with_it.get('error') or without.get('error')}")
            continue
        ratio = with_it["peak"] / without["peak"]
        worst = max(worst, ratio)
        # Every count that differs, a reason missing from one side as 0 (good rows lost too).
        extra = {k: with_it["reasons"].get(k, 0)
                 for k in sorted({*with_it["reasons"], *without["reasons"]})
                 if with_it["reasons"].get(k, 0) != without["reasons"].get(k, 0)}
        print(f"{name:<20} {size // MB:>7}MB {file_size:>10,} {with_it['peak'] / MB:>8.0f}MB "
              f"{without['peak'] / MB:>8.0f}MB {ratio:>5.2f}x  {extra}", flush=True)
        record("hostile input memory", f"ours: {name}, {size // MB} MiB hostile record "
               "(reader + validate, own process)", 1, "file", None, None,
               with_it["peak"] / MB,
               f"without the hostile record {without['peak'] / MB:,.0f} MiB: {ratio:.2f}x "
               f"(target <= 1.2x); counts that differ: "
               + ", ".join(f"{k} {v}" for k, v in extra.items()))
    print(f"\nworst ratio {worst:.2f}x (target <= 1.2x)")
    return 0 if worst <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
