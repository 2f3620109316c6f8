"""The running index (--index-in / --index-out): its size per million records, part by part,
and what reading it costs a night.

    .venv/bin/python -m benchmarks.index [--records 4000] [--image-share 0.25]

Three nights over the whole job's corpus (benchmarks/pipeline.py: real sentences with planted
near copies, photos cropped and re-encoded, templated captions), default policy but with
repeated spans on: night one over one half writes the index, night two over the other half
reads it and writes the running index, night three reads night two's files again (a re-read
must not grow what keeps one row per value). Sizes are the Parquet files' bytes on disk per
part after night two, per record of the two nights: bytes per record = MB per million. The
cost of reading: night two run with and without --index-in (both writing --index-out), CPU
seconds of the process (/usr/bin/time), and the read alone (every part through ReadIndex,
DirectRunner, in one process), per million rows. Each figure is the median of --repeats.
"""

import argparse
import json
import pathlib
import shutil
import statistics
import sys

import pyarrow.parquet as pq

from benchmarks.pipeline import build
from benchmarks.results import record
from benchmarks.text_near_dups import BENCH, ROOT, measured

WORK = BENCH / "index"


def night(inputs, out: pathlib.Path, index_in=None, index_out=None) -> dict:
    cmd = [sys.executable, str(ROOT / "beam_runner.py"), "--input", *map(str, inputs),
           "--output", str(out), "--overwrite", "--repeated-spans", "--no-report"]
    if index_in:
        cmd += ["--index-in", str(index_in)]
    if index_out:
        shutil.rmtree(index_out, ignore_errors=True)
        cmd += ["--index-out", str(index_out)]
    result = measured(cmd, label=out.name)
    result["records_in"] = json.loads((out / "summary.json").read_text())["records_in"]
    return result


def part_sizes(index: pathlib.Path) -> dict:
    """Per part: (rows, bytes on disk)."""
    from transforms.io.index import PARTS
    sizes = {}
    for part, spec in PARTS.items():
        files = sorted((index / spec.folder).glob("*.parquet"))
        if files:
            sizes[part] = (sum(pq.ParquetFile(f).metadata.num_rows for f in files),
                           sum(f.stat().st_size for f in files))
    return sizes


def read_seconds(index: pathlib.Path) -> float:
    """CPU seconds of reading every part of ``index`` through ReadIndex and counting it."""
    import resource

    import apache_beam as beam

    from transforms.io.index import PARTS, ReadIndex, part_files
    before = resource.getrusage(resource.RUSAGE_SELF)
    with beam.Pipeline() as pipeline:
        for part in PARTS:
            files = part_files([str(index)], part)
            if files:
                (pipeline | f"Read{part}" >> ReadIndex(files, part)
                 | f"Count{part}" >> beam.combiners.Count.Globally())
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--image-share", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    halves = [WORK / f"night-{n}-{args.records}" for n in (1, 2)]
    for seed, folder in enumerate(halves):
        if not (folder / "pairs.tar").exists():
            build(folder, args.records // 2, args.image_share, seed=seed)
    inputs = [[f / "text" / "corpus.jsonl", f / "pairs.tar"] for f in halves]
    first = night(inputs[0], WORK / "out-1", index_out=WORK / "index-1")
    with_index, without = [], []
    for _ in range(args.repeats):
        without.append(night(inputs[1], WORK / "out-2-alone", index_out=WORK / "index-alone"))
        with_index.append(night(inputs[1], WORK / "out-2", WORK / "index-1", WORK / "index-2"))
    night(inputs[1], WORK / "out-3", WORK / "index-2", WORK / "index-3")
    records = first["records_in"] + without[0]["records_in"]
    one, two, three = (part_sizes(WORK / f"index-{n}") for n in (1, 2, 3))
    print(f"\nThe running index after two nights, {records:,} records in all "
          f"({args.image_share:.0%} images), default policy and repeated spans\n")
    print("| part | rows after night 1 | after night 2 | after night 3 (a re-read) | "
          "bytes after night 2 | bytes per record (MB per million) |")
    print("|---|---:|---:|---:|---:|---:|")
    total = 0
    for part, (rows, size) in two.items():
        total += size
        print(f"| {part} | {one.get(part, (0, 0))[0]:,} | {rows:,} | "
              f"{three.get(part, (0, 0))[0]:,} | {size:,} | {size / records:,.0f} |")
    print(f"| all | | | | {total:,} | {total / records:,.0f} |")
    reads = [read_seconds(WORK / "index-2") for _ in range(max(3, args.repeats))]
    rows = sum(r for r, _ in two.values())
    cpu_with = statistics.median(r["cpu"] for r in with_index)
    cpu_without = statistics.median(r["cpu"] for r in without)
    extra = cpu_with - cpu_without
    print("\n| what | value |\n|---|---|")
    print(f"| night two, CPU s, without --index-in | {cpu_without:.1f} |")
    print(f"| night two, CPU s, with --index-in ({rows:,} rows) | {cpu_with:.1f} |")
    print(f"| the index's share of night two's CPU | {extra / cpu_with:.0%} |")
    print(f"| reading every part alone, CPU s (median of {len(reads)}) | "
          f"{statistics.median(reads):.2f} |")
    print(f"| reading alone, CPU s per million rows | "
          f"{statistics.median(reads) / rows * 1e6:,.0f} |")
    record("index", "ours: running index, bytes per record (all parts)", records, "records",
           None, None, note=f"{total / records:,.0f} B a record; {args.image_share:.0%} images")
    record("index", "ours: reading the running index (every part, ReadIndex)", rows, "rows",
           None, rows / statistics.median(reads), note="rows per CPU-second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
