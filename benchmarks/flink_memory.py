"""Memory that stays flat: the job's text stages on Flink at two corpus sizes 10x apart, with
the DirectRunner beside it at the smaller one.

    .venv/bin/python -m benchmarks.flink_memory [--sizes 20000 200000] [--parallelism 2]
                                                [--cluster 1] [--no-streaming] [--heap 1g]
                                                [--direct-sizes 10000]

Corpus (.bench/flink_memory/corpus-N/, ignored by git; written as it is generated, in JSONL
shards of 500): documents of about 1 KB (160-180 words) of real sentences drawn at random
(seeded) from evaluation.corpora, as in benchmarks.text_near_dups; one in eleven is a planted
near copy (one word in 200 substituted, or boilerplate added; 5-gram Jaccard >= 0.9) and one
in fifty an exact copy, each of an original among the last 2,000. The originals carry
benchmarks.spans' planted boilerplate (navigation, cookie notice, disclaimer, footer,
newsletter, a signature, at its shares, and one site footer in two documents, a site every 50
documents), for the repeated-spans stage: the cookie notice is in ~5% of all documents.
Generation keeps only those 2,000 in memory, so any size can be written.

Stages: the text job with the PII stage and the image stages off (STAGES): reading, validation,
ids, exact and near-duplicate text, decide, and writing cleaned/ and quarantine/ Parquet and
the report.
PII runs at about 33 docs/s per core (docs/BENCHMARKS.md), so it would take hours at these
sizes and measure spaCy, not the runner.

Flink: Beam's Flink job server (`make flink`) submitting to a local Flink cluster of a
JobManager and `--cluster` TaskManagers (flink/cluster.yaml: each TaskManager's process
bounded by its configuration, RocksDB for the streaming state; `--cluster 0`: the job
server's embedded Flink), in streaming mode (bundles of at most --max_bundle_size elements;
`--no-streaming`: batch), and an EXTERNAL Python worker pool, started fresh for each run by
pipeline/local_engines.py exactly as the tests start them; `--parallelism` tasks. While a
run lasts, every process of it is sampled each 0.5 s (/proc: the launcher and its children,
the job server, JobManager and TaskManager JVMs, the worker pool and the SDK workers it
starts): the largest single process's peak RSS (VmHWM, the kernel's own high-water
mark) and the largest sum of their RSS at one sample. CPU seconds are those the processes
used during the run (utime + stime), so records/s per core = records / CPU seconds.
Each run checks conservation and prints the quarantine counts beside the planted copies.
"""

import argparse
import collections
import json
import os
import pathlib
import platform
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from benchmarks.results import record
from benchmarks.spans import draw_blocks, with_blocks
from benchmarks.text_near_dups import BENCH, MAX_SENTENCE_WORDS, ROOT, original_document
from pipeline import local_engines

WORK = BENCH / "flink_memory"
# Flink's streaming mode bounds a bundle by input elements, and a file is one element of the
# read: a task holds one file's records in flight (README "Big local runs"). Shards of 500
# documents (~0.5 MB), as a corpus split for streaming would be.
SHARD_DOCS = 500
RECENT = 2_000          # originals a copy may be of: all generation holds in memory
NEAR_EVERY, EXACT_EVERY = 11, 50
CORPUS_VERSION = "v2"   # v2: originals carry benchmarks.spans' planted boilerplate
# The text stages alone (see the docstring): the image stages see no record in a text corpus,
# but on Flink each of them still deploys its operators (and, in streaming mode, their timers).
STAGES = ["--no-pii", "--no-near-dedup-images", "--no-faces", "--no-identities",
          "--no-caption-templates", "--no-layouts"]
TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpus, streamed to shards
def build_corpus(n_docs: int, seed: int = 0) -> pathlib.Path:
    """Write corpus-N/part-*.jsonl unless already there; the folder."""
    from detectors.minhash import exact_jaccard
    from evaluation.corpora import edit_text, lee_documents, sentences, wiki_documents

    folder = WORK / f"corpus-{n_docs}-by-{SHARD_DOCS}-{CORPUS_VERSION}"
    meta_path = folder / "corpus.json"
    if meta_path.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.jsonl"):
        old.unlink()
    rng = random.Random(seed)
    pool = sorted(s for s in set(sentences(lee_documents() + wiki_documents()))
                  if len(s.split()) <= MAX_SENTENCE_WORDS)
    vocabulary = sorted({w for s in pool for w in s.split()})
    recent = collections.deque(maxlen=RECENT)
    counts = collections.Counter()
    total_bytes, planted, out = 0, 0, None
    started = time.perf_counter()
    for i in range(n_docs):
        if i % SHARD_DOCS == 0:
            if out:
                out.close()
            out = open(folder / f"part-{i // SHARD_DOCS:05d}.jsonl", "w", encoding="utf-8")
        if recent and i % EXACT_EVERY == EXACT_EVERY - 1:
            text, kind = rng.choice(recent), "exact"
        elif recent and i % NEAR_EVERY == NEAR_EVERY - 1:
            original = rng.choice(recent)
            for attempt in range(100):
                text = edit_text(original, ("substitute", "header")[attempt % 2], 0.005, rng,
                                 vocabulary)
                if exact_jaccard(original, text, 5) >= 0.9:
                    break
            else:
                continue      # rare: no copy close enough; the document is simply left out
            kind = "near"
        else:
            blocks = draw_blocks(i, rng)
            text, kind = with_blocks(original_document(rng, pool), blocks), "original"
            recent.append(text)
            planted += len(blocks)
        counts[kind] += 1
        line = json.dumps({"id": f"d{i:07d}", "text": text}, ensure_ascii=False) + "\n"
        total_bytes += len(line.encode("utf-8"))
        out.write(line)
    out.close()
    meta = {"docs": sum(counts.values()), "seed": seed, **counts, "planted_blocks": planted,
            "bytes": total_bytes,
            "mean_bytes": total_bytes / max(1, sum(counts.values())),
            "seconds": time.perf_counter() - started}
    meta_path.write_text(json.dumps(meta, indent=1))
    log(f"corpus {n_docs}: {meta}")
    return folder


# ---------------------------------------------------------------- process sampling
def _status(pid: int) -> Optional[dict]:
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    kib = lambda key: int(fields.get(key, "0 kB").split()[0])   # noqa: E731
    return {"ppid": int(stat[1]), "pgid": int(stat[2]),
            "cpu": (int(stat[11]) + int(stat[12])) / TICKS,
            "rss": kib("VmRSS") / 1024, "hwm": kib("VmHWM") / 1024,
            "name": fields.get("Name", "?").strip()}


class Sampler(threading.Thread):
    """Every process of a run: those in the given process groups and the launcher's
    descendants. Peak RSS per process, largest sum at one sample, CPU seconds used."""

    def __init__(self, groups: Dict[int, str], launcher: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.groups, self.launcher, self.interval = groups, launcher, interval
        self.stop_event = threading.Event()
        self.peak: Dict[int, float] = {}
        self.role: Dict[int, str] = {}
        self.cpu_first: Dict[int, float] = {}
        self.cpu_last: Dict[int, float] = {}
        self.peak_sum = 0.0

    def _processes(self) -> Dict[int, dict]:
        table = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                status = _status(int(entry))
                if status:
                    table[int(entry)] = status
        ours = {}
        for pid, status in table.items():
            if status["pgid"] in self.groups:
                ours[pid] = status
                # The worker pool's children are the SDK workers it started.
                group = self.groups[status["pgid"]]
                if pid != status["pgid"] and group == "worker pool":
                    group = "SDK worker"
                self.role.setdefault(pid, f"{group}: {status['name']}")
                continue
            ancestor, seen = pid, 0
            while ancestor > 1 and seen < 64:
                if ancestor == self.launcher:
                    ours[pid] = status
                    self.role.setdefault(pid, f"launcher: {status['name']}")
                    break
                ancestor, seen = table.get(ancestor, {"ppid": 0})["ppid"], seen + 1
        return ours

    def sample(self) -> None:
        ours = self._processes()
        for pid, status in ours.items():
            self.peak[pid] = max(self.peak.get(pid, 0.0), status["hwm"], status["rss"])
            self.cpu_first.setdefault(pid, status["cpu"])
            self.cpu_last[pid] = status["cpu"]
        self.peak_sum = max(self.peak_sum, sum(s["rss"] for s in ours.values()))

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def finish(self, baseline_cpu: Dict[int, float]) -> dict:
        self.stop_event.set()
        self.join()
        largest = max(self.peak, key=self.peak.get)
        # Services started before the run: count only the CPU they used during it.
        cpu = sum(last - baseline_cpu.get(pid, 0.0) for pid, last in self.cpu_last.items())
        by_role = collections.defaultdict(float)
        for pid, peak in self.peak.items():
            by_role[self.role[pid].split(":")[0]] = max(by_role[self.role[pid].split(":")[0]],
                                                        peak)
        return {"largest_mib": self.peak[largest], "largest": self.role[largest],
                "sum_mib": self.peak_sum, "cpu": cpu, "processes": len(self.peak),
                "by_role": dict(by_role)}


# ---------------------------------------------------------------- runs
def launch(corpus: pathlib.Path, out: pathlib.Path, runner_flags: List[str],
           groups: Dict[int, str]) -> dict:
    cmd = [sys.executable, "-m", "pipeline.launch", "--input", str(corpus / "part-*.jsonl"),
           "--output", str(out), "--overwrite", *STAGES, *runner_flags]
    log(f"run: {shlex.join(cmd)}")
    baseline = {}
    for pid in os.listdir("/proc"):
        status = _status(int(pid)) if pid.isdigit() else None
        if status and status["pgid"] in groups:
            baseline[int(pid)] = status["cpu"]
    started = time.perf_counter()
    with open(out.parent / f"{out.name}.log", "wb") as output:
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        sampler = Sampler(groups, process.pid)
        sampler.start()
        try:
            returncode = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
    wall = time.perf_counter() - started
    sampler.sample()
    measured = sampler.finish(baseline)
    if returncode != 0:
        tail = (out.parent / f"{out.name}.log").read_bytes()[-3000:].decode("utf-8", "replace")
        raise SystemExit(f"run failed with status {returncode}:\n{tail}")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conservation"]["ok"], summary["conservation"]
    measured.update(wall=wall, records=summary["records_in"],
                    reasons=summary["primary_reasons"], spans=summary["repeated_spans"])
    log(f"  {wall:.0f} s wall, {measured['cpu']:.0f} s CPU, largest {measured['largest_mib']:.0f}"
        f" MiB ({measured['largest']}), sum {measured['sum_mib']:.0f} MiB; "
        f"by role {({k: round(v) for k, v in measured['by_role'].items()})}; "
        f"quarantined {measured['reasons']}")
    return measured


def on_flink(corpus: pathlib.Path, size: int, parallelism: int, heap: str,
             streaming: bool, bundle: int, task_managers: int) -> dict:
    with local_engines.services(WORK / f"services-{size}", "flink", task_managers,
                                -(-parallelism // max(1, task_managers)), heap) as (
            cluster, jobs, pool):
        flags = local_engines.runner_flags("flink", jobs.address, parallelism, pool.address)
        flags += ["--streaming"] if streaming else []
        flags += [f"--max_bundle_size={bundle}"] if bundle else []
        groups = {jobs.pgid: "job server", pool.pgid: "worker pool"}
        if cluster:
            manager, *workers = cluster.services
            groups[manager.pgid] = "job manager"
            groups.update((worker.pgid, "task manager") for worker in workers)
        return launch(corpus, WORK / f"out-flink-{size}", flags, groups)


def on_direct(corpus: pathlib.Path, size: int) -> dict:
    return launch(corpus, WORK / f"out-direct-{size}", [], {})


def _exit_on_term(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")   # so the services are stopped too


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_term)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--heap", default="1g",
                        help="the job server JVM's -Xmx ('' for Java's default); with a "
                             "cluster it only translates and submits the job")
    parser.add_argument("--streaming", action=argparse.BooleanOptionalAction, default=True,
                        help="run Flink in streaming mode (state in RocksDB, bounded bundles); "
                             "--no-streaming: batch, whose bundle is a whole partition")
    parser.add_argument("--bundle", type=int, default=0,
                        help="--max_bundle_size for Flink (honoured in streaming mode only)")
    parser.add_argument("--cluster", type=int, default=1, metavar="TASK_MANAGERS",
                        help="run on a local Flink cluster of a JobManager and this many "
                             "TaskManagers, each a JVM (flink/cluster.yaml); 0: the job "
                             "server's embedded Flink")
    parser.add_argument("--direct-sizes", type=int, nargs="*",
                        help="DirectRunner runs (default: the smaller size)")
    args = parser.parse_args(argv)
    missing = local_engines.missing("flink")
    if missing:
        print(f"benchmarks.flink_memory: skipped: {missing}", file=sys.stderr)
        return 1
    direct_sizes = args.sizes[:1] if args.direct_sizes is None else args.direct_sizes
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    corpora = {size: build_corpus(size) for size in sorted(set(args.sizes + direct_sizes))}
    rows = []
    for size in args.sizes:
        rows.append((size, f"Flink p{args.parallelism}{' streaming' if args.streaming else ''}, "
                           + (f"cluster of {args.cluster} TaskManager(s), " if args.cluster
                              else "")
                           + "worker pool",
                     on_flink(corpora[size], size, args.parallelism, args.heap,
                              args.streaming, args.bundle, args.cluster)))
        if size in direct_sizes:
            rows.append((size, "DirectRunner", on_direct(corpora[size], size)))
    for size in direct_sizes:
        if size not in args.sizes:
            rows.append((size, "DirectRunner", on_direct(corpora[size], size)))

    cores = os.cpu_count()
    print(f"\nText stages ({' '.join(STAGES)}), ~1 KB documents, "
          f"{platform.processor() or platform.machine()}, {cores} cores; Flink: "
          + (f"a cluster of a JobManager and {args.cluster} TaskManager(s) (flink/cluster.yaml)"
             if args.cluster else "embedded")
          + f", job server -Xmx{args.heap or ' Java default'}, parallelism {args.parallelism}, "
          "EXTERNAL worker pool; "
          f"load before {load_before}, after "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
    print("| records | runner | wall s | records/s | CPU s | records/s per core | "
          "peak RSS MiB, largest process | which | peak RSS MiB, sum |")
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|")
    for size, runner, m in rows:
        print(f"| {m['records']:,} | {runner} | {m['wall']:.0f} | {m['records'] / m['wall']:,.0f}"
              f" | {m['cpu']:.0f} | {m['records'] / m['cpu']:,.0f} | {m['largest_mib']:,.0f} | "
              f"{m['largest']} | {m['sum_mib']:,.0f} |")
        record("text stages, memory", f"ours: text job without PII, {runner}", m["records"],
               "docs", m["records"] / m["wall"], m["records"] / m["cpu"], m["largest_mib"],
               note=f"largest: {m['largest']}; sum {m['sum_mib']:,.0f} MiB; "
                    f"{m['wall']:.0f} s wall")
    roles = ["job server", *(["job manager", "task manager"] if args.cluster else []),
             "worker pool", "SDK worker", "launcher"]
    print("\nPeak RSS MiB of the largest process of each kind\n")
    print("| records | runner | " + " | ".join(roles) + " |")
    print("|---:|---|" + "---:|" * len(roles))
    for size, runner, m in rows:
        print(f"| {m['records']:,} | {runner} | " + " | ".join(
            f"{m['by_role'][role]:,.0f}" if role in m["by_role"] else "—" for role in roles)
            + " |")
    flink = [m for _, runner, m in rows if runner.startswith("Flink")]
    if len(flink) == 2:
        ratio = flink[1]["largest_mib"] / flink[0]["largest_mib"]
        print(f"\nFlink, largest process at {args.sizes[1]:,} / at {args.sizes[0]:,}: "
              f"{ratio:.2f}x (target <= 1.2x); sum of processes "
              f"{flink[1]['sum_mib'] / flink[0]['sum_mib']:.2f}x; " + ", ".join(
                  f"{role} {flink[1]['by_role'][role] / flink[0]['by_role'][role]:.2f}x"
                  for role in roles if role in flink[0]["by_role"] and role in flink[1]["by_role"]))
    print("\nWhat each run found beside what was planted (repeated spans: the most repeated "
          "span's documents, documents cut, share of characters removed)\n")
    print("| records | runner | planted exact, near copies | quarantined | planted blocks | "
          "repeated spans | most repeated in | documents cut | removed |")
    print("|---:|---|---|---|---:|---:|---:|---:|---:|")
    for size, runner, m in rows:
        planted, spans = json.loads((corpora[size] / "corpus.json").read_text()), m["spans"]
        top = max((span["documents"] for span in spans["top_spans"]), default=0)
        print(f"| {m['records']:,} | {runner} | {planted.get('exact', 0):,}, "
              f"{planted.get('near', 0):,} | {m['reasons']} | {planted['planted_blocks']:,} | "
              f"{spans['repeated_spans']:,} | {top:,} | {spans['documents_cut']:,} | "
              f"{spans['share_removed']:.1%} |")
    print("command: python -m benchmarks.flink_memory "
          + shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
