"""make bench: every stage's benchmark and the whole job, then one table.

Rates per core and peak memory of each stage and of the whole job (two corpus sizes, 1 and 2
local workers), with the peers (datatrove's MinHash and SentenceDedup, imagededup, a plain
presidio loop) in the same run;
then the readers' peak memory on hostile files against the same files without their hostile
record (issue 23: at most 1.2x).

    .venv/bin/python -m benchmarks [--quick] [--sizes 1000 4000] [--text-docs 10000 40000]
                                   [--span-docs 5000] [--span-memory-docs 10000 100000]
                                   [--flink-docs 10000 100000] [--index-records 4000]
                                   [--only text spans spans-memory pii images image-index
                                           templates clip job index hostile-memory
                                           flink-memory]

Each benchmark runs in a process of its own (they pin themselves to one core; the whole job
must not inherit that) and prints its detailed table as it goes; each records its headline
rows (benchmarks/results.py), printed together at the end with the machine, the commit and
this command. Corpora are generated (benchmarks/text_near_dups.py, benchmarks/pipeline.py,
evaluation/template_corpus.py) at the sizes given; the image benchmarks use the photos of
../shared/eval-data when present, and scikit-image's. A benchmark with a peer builds the
peer's virtualenv when missing (benchmarks/peers.py) before it times anything.
"""

import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from benchmarks.results import RESULTS_FILE, read, table
from benchmarks.text_near_dups import ROOT, code_version, machine


def runs(args):
    """(name, module, arguments) of every benchmark, in the order they run."""
    repeats = ["--repeats", str(args.repeats)]
    return [
        ("text", "benchmarks.text_near_dups",
         ["--small", str(args.text_docs[0]), "--docs", str(args.text_docs[1]), *repeats,
          "--large-repeats", "1"]),
        ("spans", "benchmarks.spans", ["--docs", str(args.span_docs), *repeats]),
        ("spans-memory", "benchmarks.spans", ["--memory", *map(str, args.span_memory_docs)]),
        ("pii", "benchmarks.pii", ["--docs", str(args.pii_docs), *repeats]),
        ("images", "benchmarks.images", [*repeats, "--face-images", str(args.face_images)]),
        ("image-index", "benchmarks.image_near_dups",
         ["--images", str(args.hashes), "--buckets", "256"]),
        ("templates", "benchmarks.templates", ["--designs", str(args.designs), *repeats]),
        ("clip", "benchmarks.clip", ["--cpu-images", str(args.clip_images), *repeats]),
        ("job", "benchmarks.pipeline",
         ["--sizes", *map(str, args.sizes), "--workers", "1", "2"]),
        ("index", "benchmarks.index", ["--records", str(args.index_records), *repeats]),
        ("hostile-memory", "benchmarks.hostile_memory",
         ["--only", *args.hostile_kinds] if args.hostile_kinds != ["all"] else []),
        # Needs `make flink` (make bench fetches it).
        ("flink-memory", "benchmarks.flink_memory",
         ["--sizes", *map(str, args.flink_docs)]),
    ]


FULL = {"sizes": [1000, 4000], "text_docs": [10000, 40000], "repeats": 3, "span_docs": 5000,
        "span_memory_docs": [10000, 100000], "pii_docs": 600,
        "face_images": 40, "hashes": 20000, "designs": 100, "clip_images": 64,
        "hostile_kinds": ["all"], "flink_docs": [20000, 200000], "index_records": 4000}
# --quick: one hostile kind per reader (JSONL, captions CSV, tar, Parquet), same sizes.
QUICK = {"sizes": [500, 2000], "text_docs": [2000, 10000], "repeats": 1, "span_docs": 1000,
         "span_memory_docs": [2000, 20000], "pii_docs": 200,
         "face_images": 10, "hashes": 5000, "designs": 20, "clip_images": 16,
         "hostile_kinds": ["jsonl.gz line", "csv cell", "tar.gz member", "parquet row group"],
         "flink_docs": [2000, 20000], "index_records": 1000}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small corpora, one repetition")
    parser.add_argument("--sizes", type=int, nargs=2,
                        help="records of the whole job's two corpora")
    parser.add_argument("--text-docs", type=int, nargs=2,
                        help="documents of the near-duplicate text benchmark's two corpora")
    parser.add_argument("--repeats", type=int, help="repetitions of each stage benchmark")
    parser.add_argument("--span-docs", type=int,
                        help="documents of the repeated-spans benchmark against datatrove")
    parser.add_argument("--span-memory-docs", type=int, nargs=2,
                        help="documents of the repeated-spans memory benchmark's two corpora")
    parser.add_argument("--pii-docs", type=int)
    parser.add_argument("--face-images", type=int)
    parser.add_argument("--hashes", type=int, help="pHashes for the near-duplicate index")
    parser.add_argument("--designs", type=int, help="mockups per template")
    parser.add_argument("--clip-images", type=int, help="images per CPU pass")
    parser.add_argument("--hostile-kinds", nargs="+", metavar="KIND",
                        help="kinds of the hostile-input memory benchmark (all: every one)")
    parser.add_argument("--index-records", type=int,
                        help="records of the running-index benchmark's two nights")
    parser.add_argument("--flink-docs", type=int, nargs=2,
                        help="documents of the Flink memory benchmark's two corpora")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these: " + " ".join(
        name for name, _, _ in runs(argparse.Namespace(**FULL))))
    parser.add_argument("--quiet", action="store_true", help="only the summary table")
    parser.epilog = ("defaults: " + ", ".join(f"{k} {v}" for k, v in FULL.items())
                     + "; --quick: " + ", ".join(f"{k} {v}" for k, v in QUICK.items()))
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
    chosen = [run for run in runs(args) if not args.only or run[0] in args.only]
    if args.only and len(chosen) != len(set(args.only)):
        parser.error(f"--only: unknown name in {args.only}")

    started_at = time.strftime("%Y-%m-%d %H:%M")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    failed, seconds = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        results_file = pathlib.Path(tmp) / "results.jsonl"
        env = dict(os.environ, **{RESULTS_FILE: str(results_file)})
        for name, module, run_args in chosen:
            print(f"\n# {name}: python -m {module} {shlex.join(run_args)}\n", flush=True)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", module, *run_args], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL if args.quiet else None)
            seconds[name] = time.perf_counter() - started
            if done.returncode:
                failed.append(name)
            print(f"({name}: {seconds[name]:.0f} s, exit {done.returncode})", flush=True)
        results = read(str(results_file))
    print(f"\n# Summary: {command}\n")
    print(f"- machine: {machine()}")
    print(f"- code: {code_version()}")
    print(f"- started {started_at}; load average before {load_before}, after "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("- time per benchmark: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    print("- per second: wall clock; per core: per CPU-second of the process and its workers "
          "(one-core benchmarks pin themselves: the two are equal); peak RSS: the largest "
          "single process, where the method ran in a process of its own\n")
    print(table(results))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
