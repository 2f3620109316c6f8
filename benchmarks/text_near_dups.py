"""Near-duplicate text: our MinHash stage against datatrove's, on one planted corpus.

    .venv/bin/python -m benchmarks.text_near_dups [--docs 100000] [--small 10000]

Prints one markdown table, for a small and a large corpus built the same way:

  ours, signatures only   detectors.minhash.signatures(texts, NearTextSettings()) in batches of
                          512, in a child process pinned to one core (median of 3 passes)
  ours, pipeline          `hygiene --no-exact-dedup-text --no-pii` end to end, DirectRunner,
                          one process, in a subprocess, with the near-duplicate stage on and
                          (baseline) off;
                          the stage's own rate is docs / (t_on - t_off)
  datatrove MinHash       datatrove 0.10's four stages (signature, buckets, cluster, filter)
                          with LocalPipelineExecutor(workers=1), in a subprocess of its own
                          virtualenv (.bench/datatrove-venv, benchmarks/peers.py builds it)

Corpus: documents of 160-180 words (about 1 KB) made of real sentences drawn at random
(seeded) from evaluation.corpora (the Lee corpus and a Wikipedia sample), so they are mostly
unrelated; then, for a tenth as many of them, a planted near copy (one word in 200
substituted, or a few boilerplate words added around it), each checked to have word 5-gram
Jaccard >= 0.9 with its original, appended after all originals. Ids: d000123 for an
original, d000123-dup1 for its copy. A method is right to remove a document iff it is a
planted copy: precision, recall and F1 are computed against that.

docs/s is wall clock of the whole subprocess (interpreter start, imports, reading the JSONL,
writing the outputs). docs/s per core divides by the CPU time (user + system) the
subprocess and its children used, so it is docs per CPU-second. Peak RSS is the largest
resident set of the subprocess or any one of its children (/usr/bin/time -v, or
getrusage(RUSAGE_CHILDREN) in a fresh child when that is missing). Each repetition runs
every method once, in turn (the machine may be shared: a slow spell then hits all methods),
and repeated measurements report medians. Everything is written under .bench/text_near_dups/ (ignored by git).
"""

import argparse
import json
import os
import pathlib
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from benchmarks import peers
from benchmarks.results import record

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
WORK = BENCH / "text_near_dups"
DT_DRIVER = ROOT / "benchmarks" / "datatrove_minhash.py"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

BATCH = 512
MIN_WORDS, MAX_WORDS = 160, 180
MAX_SENTENCE_WORDS = 40      # longer "sentences" are unsplit lists (disambiguation pages): two
# documents built around the same one would be near duplicates nobody planted
COPY_SHARE = 1 / 11         # of all documents: one copy for every ten originals
MIN_COPY_JACCARD = 0.9
SIGNATURE_SLICE = 20_000     # signatures are timed on a slice when a full pass is too slow
SLOW_PASS_SECONDS = 120


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- corpus

def original_document(rng: random.Random, pool: List[str]) -> str:
    """Sentences drawn from ``pool`` up to MIN_WORDS..MAX_WORDS words (about 1 KB)."""
    parts, words = [], 0
    while words < MIN_WORDS:
        sentence = rng.choice(pool)
        length = len(sentence.split())
        if words + length <= MAX_WORDS:
            parts.append(sentence)
            words += length
    return " ".join(parts)


def build_corpus(n_docs: int, seed: int, folder: pathlib.Path) -> dict:
    """Write folder/corpus.jsonl (originals, then planted copies); return its description."""
    from detectors.minhash import exact_jaccard
    from evaluation.corpora import edit_text, lee_documents, sentences, wiki_documents

    path = folder / "corpus.jsonl"
    meta_path = folder / "corpus.json"
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta == dict(meta, docs=n_docs, seed=seed, max_sentence_words=MAX_SENTENCE_WORDS):
            return meta
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = sorted(set(sentences(lee_documents() + wiki_documents())))
    pool = [s for s in pool if len(s.split()) <= MAX_SENTENCE_WORDS]
    vocabulary = sorted({w for s in pool for w in s.split()})

    n_copies = round(n_docs * COPY_SHARE)
    n_originals = n_docs - n_copies
    originals = []
    for _ in range(n_originals):
        originals.append(original_document(rng, pool))

    copies, jaccards, edits = [], [], {"substitute": 0, "header": 0}
    for k, i in enumerate(sorted(rng.sample(range(n_originals), n_copies))):
        edit = "substitute" if k % 2 == 0 else "header"
        for _ in range(100):
            text = edit_text(originals[i], edit, 0.005, rng, vocabulary)  # 1 word in 200
            jaccard = exact_jaccard(originals[i], text, 5)
            if jaccard >= MIN_COPY_JACCARD:
                break
        else:
            raise RuntimeError(f"could not plant a copy of d{i:06d} at Jaccard >= 0.9")
        copies.append((f"d{i:06d}-dup1", text))
        jaccards.append(jaccard)
        edits[edit] += 1

    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # another run may be writing the same one
    total_bytes = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for doc_id, text in [(f"d{i:06d}", t) for i, t in enumerate(originals)] + copies:
            total_bytes += len(text.encode("utf-8"))
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    tmp.rename(path)
    meta = {"docs": n_docs, "seed": seed, "max_sentence_words": MAX_SENTENCE_WORDS,
            "originals": n_originals, "copies": n_copies,
            "edits": edits, "sentence_pool": len(pool),
            "mean_bytes": total_bytes / n_docs, "file_bytes": path.stat().st_size,
            "copy_jaccard_min": min(jaccards) if jaccards else None,
            "copy_jaccard_median": statistics.median(jaccards) if jaccards else None}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def truth_of(corpus: pathlib.Path) -> set:
    with open(corpus, encoding="utf-8") as f:
        ids = (json.loads(line)["id"] for line in f)
        return {doc_id for doc_id in ids if "-dup" in doc_id}


def scores(removed: List[str], truth: set) -> dict:
    removed = set(removed)
    tp = len(removed & truth)
    fp, fn = len(removed - truth), len(truth - removed)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


# ----------------------------------------------------------------------------- measuring

def measured(cmd: List[str], env: Optional[dict] = None, label: str = "") -> dict:
    """Run cmd to completion; wall seconds, CPU seconds, peak RSS (MiB) and output."""
    env = dict(os.environ, **(env or {}))
    with tempfile.NamedTemporaryFile("r", suffix=".rusage", delete=False) as stats:
        stats_path = stats.name
    if os.path.exists("/usr/bin/time"):
        wrapped = ["/usr/bin/time", "-v", "-o", stats_path] + cmd
    else:  # a fresh child per run, so RUSAGE_CHILDREN covers this command only
        probe = ("import json,resource,subprocess,sys;"
                 "rc=subprocess.call(sys.argv[2:]);"
                 "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
                 "json.dump({'rc':rc,'user':u.ru_utime,'sys':u.ru_stime,'maxrss_kb':u.ru_maxrss},"
                 "open(sys.argv[1],'w'));sys.exit(rc)")
        wrapped = [sys.executable, "-c", probe, stats_path] + cmd
    log(f"run {label}: {shlex.join(cmd)}")
    started = time.perf_counter()
    proc = subprocess.run(wrapped, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    text = pathlib.Path(stats_path).read_text()
    os.unlink(stats_path)
    if wrapped[0] == "/usr/bin/time":
        fields = {}
        for line in text.splitlines():
            key, _, value = line.strip().rpartition(": ")
            fields[key] = value
        user = float(fields["User time (seconds)"])
        system = float(fields["System time (seconds)"])
        maxrss_kb = int(fields["Maximum resident set size (kbytes)"])
    else:
        data = json.loads(text)
        user, system, maxrss_kb = data["user"], data["sys"], data["maxrss_kb"]
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{label} failed with status {proc.returncode}")
    log(f"    {label}: {wall:.1f} s wall, {user + system:.1f} s CPU, {maxrss_kb / 1024:.0f} MiB")
    return {"wall": wall, "cpu": user + system, "rss_mib": maxrss_kb / 1024,
            "stdout": proc.stdout, "stderr": proc.stderr}


def median_of(runs: List[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


# ----------------------------------------------------------------------------- ours

def signatures_child(corpus: str, passes: int) -> None:
    """In a child pinned to one core: time passes of signatures() over the corpus texts."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from detectors.minhash import banding, signatures
    from schemas.settings import NearTextSettings
    params = NearTextSettings()
    with open(corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    probe = texts[:4 * BATCH]
    t0 = time.perf_counter()
    for i in range(0, len(probe), BATCH):
        signatures(probe[i:i + BATCH], params)
    projected = (time.perf_counter() - t0) / max(len(probe), 1) * len(texts)
    if projected > SLOW_PASS_SECONDS and len(texts) > SIGNATURE_SLICE:
        texts = texts[:SIGNATURE_SLICE]
    seconds, cpu = [], []
    for _ in range(passes):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), BATCH):
            signatures(texts[i:i + BATCH], params)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"docs": len(texts), "seconds": seconds, "cpu": cpu,
                      "params": {"num_perm": params.num_perm, "ngram": params.ngram,
                                 "bands": banding(params)[0], "rows": banding(params)[1]}}))


def run_signatures(corpus: pathlib.Path, passes: int) -> dict:
    run = measured([sys.executable, "-m", "benchmarks.text_near_dups", "--signatures-child",
                    str(corpus), "--passes", str(passes)], label="signatures")
    result = json.loads(run["stdout"].strip().splitlines()[-1])
    docs = result["docs"]
    return {"docs": docs, "rate": docs / statistics.median(result["seconds"]),
            "rate_per_core": docs / statistics.median(result["cpu"]),
            "rss_mib": run["rss_mib"], "params": result["params"],
            "passes": result["seconds"]}


def hygiene_command(corpus: pathlib.Path, out: pathlib.Path, near: bool) -> List[str]:
    hygiene = pathlib.Path(sys.executable).parent / "hygiene"
    # The PII stage off: the job is then the near-duplicate step datatrove's four stages are
    # (read, signatures, buckets, clusters, filter, write), plus validation and the report.
    cmd = [str(hygiene), "--input", str(corpus), "--output", str(out), "--overwrite",
           "--no-exact-dedup-text", "--no-pii"]
    return cmd + ([] if near else ["--no-near-dedup-text"])


def pipeline_removed(out: pathlib.Path) -> dict:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    quarantine = out / "quarantine"
    if not quarantine.exists():
        return {"removed": [], "other_quarantined": 0}
    table = ds.dataset(str(quarantine), format="parquet").to_table(
        columns=["id", "primary_reason"])
    near = pc.equal(table["primary_reason"], "near_duplicate_text")
    return {"removed": table.filter(near)["id"].to_pylist(),
            "other_quarantined": table.num_rows - pc.sum(near).as_py()}


def run_pipeline(corpus: pathlib.Path, size_dir: pathlib.Path, near: bool, k: int) -> dict:
    out = size_dir / ("out-near" if near else "out-baseline")
    run = measured(hygiene_command(corpus, out, near),
                   label=f"pipeline near={'on' if near else 'off'} #{k + 1}")
    run["out"] = out
    return run


def pipeline_quality(out: pathlib.Path, truth: set) -> dict:
    found = pipeline_removed(out)
    quality = scores(found["removed"], truth)
    quality["other_quarantined"] = found["other_quarantined"]
    summary = json.loads((out / "summary.json").read_text())
    quality["conservation_ok"] = summary["conservation"]["ok"]
    return quality


# ----------------------------------------------------------------------------- datatrove

def datatrove_version() -> str:
    """datatrove's own virtualenv (built when missing); returns the installed version."""
    check = [str(peers.ensure("datatrove")), "-c", "import importlib.metadata as m, datatrove, "
             "spacy, regex, tokenizers, orjson, xxhash; "
             "assert int(xxhash.VERSION.split('.')[0]) < 4; print(m.version('datatrove'))"]
    return subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip()


def run_datatrove(corpus: pathlib.Path, size_dir: pathlib.Path, config: dict, k: int) -> dict:
    result_path = size_dir / "datatrove-result.json"
    cmd = [str(peers.python("datatrove")), str(DT_DRIVER), str(corpus.parent),
           str(size_dir / "datatrove"), str(result_path), "--config", json.dumps(config)]
    run = measured(cmd, env=OFFLINE, label=f"datatrove #{k + 1}")
    run["result"] = json.loads(result_path.read_text())
    return run


def datatrove_summary(runs: List[dict], truth: set) -> dict:
    results = [r["result"] for r in runs]
    stages = {name: statistics.median(r["stage_seconds"][name] for r in results)
              for name in results[0]["stage_seconds"]}
    downloads = [line for run in runs for line in (run["stdout"] + run["stderr"]).splitlines()
                 if "download" in line.lower()]
    return {"runs": runs, "stages": stages, "inner_seconds": median_of(results, "seconds"),
            "quality": scores(results[0]["removed"], truth), "kept": results[0]["kept"],
            "version": results[0]["version"], "config": results[0]["config"],
            "config_repr": results[0]["config_repr"], "download_lines": downloads[:5]}


def measure_size(corpus: pathlib.Path, size_dir: pathlib.Path, repeats: int, truth: set,
                 args) -> dict:
    """Each repetition runs every method once, in turn, so a slow spell of the machine
    (it is shared) lands on all of them rather than on whichever ran then."""
    size_dir.mkdir(parents=True, exist_ok=True)
    signatures_result = run_signatures(corpus, args.repeats)
    on, off, datatrove = [], [], []
    for k in range(repeats):
        off.append(run_pipeline(corpus, size_dir, False, k))
        on.append(run_pipeline(corpus, size_dir, True, k))
        if k == 0:
            quality = pipeline_quality(on[0]["out"], truth)
        datatrove.append(run_datatrove(corpus, size_dir, args.datatrove_config_dict, k))
    return {"signatures": signatures_result,
            "pipeline": {"on": on, "off": off, "quality": quality},
            "datatrove": datatrove_summary(datatrove, truth)}


# ----------------------------------------------------------------------------- report

def machine() -> str:
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 ** 2:.0f} GiB RAM"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{os.cpu_count()} cores ({usable} usable), {model}{memory}; "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def code_version() -> str:
    """The commit measured, and the files that differed from it when the run started."""
    def git(*argv):
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    head = git("log", "-1", "--format=%h %s")
    if not head:
        return "not a git checkout"
    dirty = [line.split(maxsplit=1)[1]
             for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return head + (f" (uncommitted changes in {', '.join(dirty)})" if dirty else "")


def fmt_rate(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_score(value) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:.4f}"


def row(method, docs, rate, per_core, rss, quality=None) -> str:
    rss_text = rss if isinstance(rss, str) else f"{rss:,.0f}"
    q = quality or {}
    return (f"| {method} | {docs:,} | {fmt_rate(rate)} | {fmt_rate(per_core)} | {rss_text} | "
            f"{fmt_score(q.get('precision'))} | {fmt_score(q.get('recall'))} | "
            f"{fmt_score(q.get('f1'))} |")


def report(sizes: Dict[int, dict], args, dt_version: str, started_load, ended_load,
           code: str) -> str:
    lines = ["| method | corpus size (docs) | docs/s | docs/s per core | peak RSS MiB | "
             "precision | recall | F1 |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n, m in sizes.items():
        s = m["signatures"]
        lines.append(row(f"ours: signatures only (batches of {BATCH}, 1 core"
                         + (f", {s['docs']:,}-doc slice" if s["docs"] != n else "") + ")",
                         n, s["rate"], s["rate_per_core"], s["rss_mib"]))
        p = m["pipeline"]
        on_wall, off_wall = median_of(p["on"], "wall"), median_of(p["off"], "wall")
        on_cpu, off_cpu = median_of(p["on"], "cpu"), median_of(p["off"], "cpu")
        on_rss, off_rss = median_of(p["on"], "rss_mib"), median_of(p["off"], "rss_mib")
        lines.append(row("ours: pipeline end to end, near-dup on (DirectRunner, 1 process)", n,
                         n / on_wall, n / on_cpu, on_rss, p["quality"]))
        lines.append(row("ours: pipeline end to end, near-dup off (baseline)", n,
                         n / off_wall, n / off_cpu, off_rss))
        stage_wall, stage_cpu = on_wall - off_wall, on_cpu - off_cpu
        lines.append(row("ours: near-dup stage alone = docs / (t_on − t_off)", n,
                         n / stage_wall if stage_wall > 0 else None,
                         n / stage_cpu if stage_cpu > 0 else None,
                         f"+{on_rss - off_rss:,.0f}", p["quality"]))
        d = m["datatrove"]
        lines.append(row(f"datatrove {dt_version} MinHash, 4 stages (workers=1)", n,
                         n / median_of(d["runs"], "wall"), n / median_of(d["runs"], "cpu"),
                         median_of(d["runs"], "rss_mib"), d["quality"]))
    out = ["\n".join(lines), ""]

    large = max(sizes)
    for n, m in sizes.items():
        p, d = m["pipeline"], m["datatrove"]
        ours = n / median_of(p["on"], "wall")
        stage = n / (median_of(p["on"], "wall") - median_of(p["off"], "wall"))
        theirs = n / median_of(d["runs"], "wall")
        prefix = "**" if n == large else ""
        out.append(f"- {prefix}{n:,} docs: ours/datatrove docs/s for the whole near-dup step = "
                   f"{ours / theirs:.2f}{prefix} (ours end to end with the stage on "
                   f"{ours:,.0f} docs/s vs datatrove's 4 stages {theirs:,.0f} docs/s); "
                   f"our stage alone {stage:,.0f} docs/s = {stage / theirs:.2f}x datatrove.")
    for n, m in sizes.items():
        d, p = m["datatrove"], m["pipeline"]
        stages = ", ".join(f"{k.split(' ', 1)[1]} {v:.1f} s" for k, v in d["stages"].items())
        out.append(f"- datatrove stages at {n:,} docs (median): {stages}; sum "
                   f"{d['inner_seconds']:.1f} s of {median_of(d['runs'], 'wall'):.1f} s "
                   f"wall; tp/fp/fn {d['quality']['tp']}/{d['quality']['fp']}/"
                   f"{d['quality']['fn']}. Ours: pipeline on {median_of(p['on'], 'wall'):.1f} s, "
                   f"off {median_of(p['off'], 'wall'):.1f} s; tp/fp/fn "
                   f"{p['quality']['tp']}/{p['quality']['fp']}/{p['quality']['fn']}, other "
                   f"quarantined {p['quality']['other_quarantined']}, conservation "
                   f"{'ok' if p['quality']['conservation_ok'] else 'VIOLATED'}.")
    for n, mm in sizes.items():
        walls = lambda runs: "/".join(f"{r['wall']:.1f}" for r in runs)  # noqa: E731
        passes = "/".join(f"{t:.1f}" for t in mm["signatures"]["passes"])
        out.append(f"- every run at {n:,} docs, wall s: signature passes {passes}; pipeline on "
                   f"{walls(mm['pipeline']['on'])}, off {walls(mm['pipeline']['off'])}; "
                   f"datatrove {walls(mm['datatrove']['runs'])}.")
    m = sizes[large]
    out.append(f"- datatrove config: {m['datatrove']['config_repr']} "
               f"({'default MinhashConfig()' if not args.datatrove_config_dict else 'overrides ' + json.dumps(args.datatrove_config_dict)}); "
               "English word tokenizer spacy.blank('en'), HF_HUB_OFFLINE=1; stage 2 runs "
               "num_buckets tasks one after another (datatrove requires tasks % num_buckets "
               "== 0), stages 1, 3, 4 one task.")
    if any(mm["datatrove"]["download_lines"] for mm in sizes.values()):
        out.append("- datatrove printed lines mentioning 'download': "
                   + " | ".join(mm["datatrove"]["download_lines"][0] for mm in sizes.values()
                                if mm["datatrove"]["download_lines"]))
    s = m["signatures"]["params"]
    from pipeline.policy import load_policy
    near = load_policy(None, {}).near_dedup_text
    out.append(f"- ours: NearTextSettings() = {s['ngram']}-word shingles, {s['num_perm']} "
               f"permutations, {s['bands']} bands x {s['rows']} rows; the pipeline's default "
               f"policy verifies candidates at Jaccard {near.threshold} by {near.verify!r} "
               "(exact: on the shingle sets; estimate: on the signatures); run with "
               "--no-exact-dedup-text --no-pii.")
    for n, mm in sizes.items():
        c = mm["corpus"]
        out.append(f"- corpus {n:,}: {c['originals']:,} originals + {c['copies']:,} copies "
                   f"({c['edits']['substitute']:,} one-word substitutions, "
                   f"{c['edits']['header']:,} boilerplate headers), mean "
                   f"{c['mean_bytes']:.0f} bytes/doc, copy 5-gram Jaccard min "
                   f"{c['copy_jaccard_min']:.3f} median {c['copy_jaccard_median']:.3f}, "
                   f"sentence pool {c['sentence_pool']:,} (<= {c['max_sentence_words']} words), "
                   f"seed {c['seed']}.")
    out.append(f"- repeats: signatures {args.repeats} passes; pipeline and datatrove "
               f"{args.repeats}x at {args.small:,} docs, {args.large_repeats}x at "
               f"{args.docs:,} docs (medians). docs/s per core = docs / CPU seconds "
               "(user + system) of the subprocess.")
    out.append(f"- code: {code}")
    out.append(f"- machine: {machine()}; load average before {started_load}, after "
               f"{ended_load}.")
    command = f".venv/bin/python -m benchmarks.text_near_dups {shlex.join(sys.argv[1:])}".strip()
    out.append(f"- command: `{command}`")
    return "\n".join(out)


def record_results(sizes: Dict[int, dict], dt_version: str) -> None:
    """The headline rows for `python -m benchmarks`."""
    stage = "near-duplicate text"
    for n, m in sizes.items():
        s, p, d = m["signatures"], m["pipeline"], m["datatrove"]
        record(stage, f"ours: MinHash signatures alone (batches of {BATCH}, 1 core)", s["docs"],
               "docs", s["rate"], s["rate_per_core"], s["rss_mib"])
        on_wall, off_wall = median_of(p["on"], "wall"), median_of(p["off"], "wall")
        on_cpu, off_cpu = median_of(p["on"], "cpu"), median_of(p["off"], "cpu")
        f1 = f"F1 {p['quality']['f1']:.3f}"
        record(stage, "ours: whole job on the text, stage on (1 process)", n, "docs",
               n / on_wall, n / on_cpu, median_of(p["on"], "rss_mib"), f1)
        record(stage, "ours: the stage alone = docs / (t_on − t_off)", n, "docs",
               n / (on_wall - off_wall) if on_wall > off_wall else None,
               n / (on_cpu - off_cpu) if on_cpu > off_cpu else None, None,
               f"job without it: {median_of(p['off'], 'rss_mib'):,.0f} MiB")
        theirs = n / median_of(d["runs"], "wall")
        record(stage, f"peer: datatrove {dt_version} MinHash, 4 stages (workers=1)", n, "docs",
               theirs, n / median_of(d["runs"], "cpu"), median_of(d["runs"], "rss_mib"),
               f"F1 {d['quality']['f1']:.3f}; ours whole job / datatrove "
               f"{n / on_wall / theirs:.2f}x")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="large corpus (documents)")
    parser.add_argument("--small", type=int, default=10_000, help="small corpus (documents)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3,
                        help="signature passes, and runs of each method on the small corpus")
    parser.add_argument("--large-repeats", type=int, default=1,
                        help="runs of the pipeline and datatrove on the large corpus")
    parser.add_argument("--datatrove-config", default="{}",
                        help="MinhashConfig overrides as JSON (default: datatrove's defaults)")
    parser.add_argument("--signatures-child", metavar="CORPUS", help=argparse.SUPPRESS)
    parser.add_argument("--passes", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.signatures_child:
        signatures_child(args.signatures_child, args.passes)
        return 0
    args.datatrove_config_dict = json.loads(args.datatrove_config)

    started_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    code = code_version()
    dt_version = datatrove_version()
    sizes = {}
    for n, repeats in sorted({args.small: args.repeats, args.docs: args.large_repeats}.items()):
        log(f"corpus of {n:,} documents")
        corpus_meta = build_corpus(n, args.seed, WORK / f"docs-{n}" / "corpus")
        corpus = WORK / f"docs-{n}" / "corpus" / "corpus.jsonl"
        truth = truth_of(corpus)
        # Outputs in a folder of this process's own: two runs at once must not share one.
        run_dir = WORK / f"docs-{n}" / f"run-{os.getpid()}"
        try:
            sizes[n] = {"corpus": corpus_meta,
                        **measure_size(corpus, run_dir, repeats, truth, args)}
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    ended_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(sizes, args, dt_version, started_load, ended_load, code)
    print(text)
    record_results(sizes, dt_version)
    (WORK / f"report-{args.small}-{args.docs}.md").write_text(text + "\n")
    raw = {n: {"corpus": m["corpus"], "signatures": m["signatures"],
               "pipeline": {"quality": m["pipeline"]["quality"],
                            **{side: [{k: r[k] for k in ("wall", "cpu", "rss_mib")}
                                      for r in m["pipeline"][side]] for side in ("on", "off")}},
               "datatrove": {k: v for k, v in m["datatrove"].items() if k != "runs"}
               | {"runs": [{k: r[k] for k in ("wall", "cpu", "rss_mib")}
                           for r in m["datatrove"]["runs"]]}}
           for n, m in sizes.items()}
    (WORK / f"results-{args.small}-{args.docs}.json").write_text(
        json.dumps({"code": code, "machine": machine(), "sizes": raw}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
