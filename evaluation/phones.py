"""Phone numbers on evaluation/phone_corpus.py's set: recall per country and form, language,
layout and context; false alarms per kind of hard negative; every entity type found.

    python -m evaluation.phones [--n 1200] [--seed 11] [--misses 10]

The whole scanner runs with the policy's settings and every entity type, as the pipeline
would. Matching by characters: a labelled number is found when PHONE_NUMBER findings
cover at least 80% of its characters (its extension included); a PHONE_NUMBER finding
is correct when at least 80% of its characters lie in labelled numbers. A hard negative
counts as a false alarm when a PHONE_NUMBER finding touches it. The set holds no other
personal data, so every finding of another type is a false alarm too.
"""

import argparse
import collections
import time
from typing import Dict, Iterable, List, NamedTuple, Sequence, Tuple

from detectors.pii.scanner import PiiScanner
from evaluation.phone_corpus import PhoneDoc, generate
from evaluation.scores import record
from pipeline.policy import Policy

MATCH = 0.8
TARGET = 0.95


def _covered(start: int, end: int, others: Iterable[Tuple[int, int]]) -> int:
    return sum(1 for i in range(start, end) if any(s <= i < e for s, e in others))


def score(docs: Sequence[PhoneDoc], found: Sequence[list]) -> Dict:
    by = collections.defaultdict(collections.Counter)   # (axis, value) -> labelled/found
    negatives = collections.defaultdict(collections.Counter)
    types = collections.defaultdict(collections.Counter)
    misses, alarms = [], []
    for doc, findings in zip(docs, found):
        phones = [(i.start, i.end) for i in doc.items if i.kind == "PHONE_NUMBER"]
        pred = [(f.start, f.end) for f in findings if f.entity_type == "PHONE_NUMBER"]
        for item in doc.items:
            if item.kind == "PHONE_NUMBER":
                hit = _covered(item.start, item.end, pred) >= MATCH * (item.end - item.start)
                for axis, value in (("all", "PHONE_NUMBER"), ("form", item.form),
                                    ("country", item.form.split()[0]), ("language", doc.language),
                                    ("layout", doc.layout), ("context", str(doc.context))):
                    by[axis, value]["labelled"] += 1
                    by[axis, value]["found"] += hit
                if not hit:
                    misses.append((doc.text[item.start:item.end], doc.text))
            else:
                touched = any(s < item.end and item.start < e for s, e in pred)
                negatives[item.form]["count"] += 1
                negatives[item.form]["alarms"] += touched
                if touched:
                    alarms.append((doc.text[item.start:item.end], item.form))
        for f in findings:
            t = types[f.entity_type]
            t["predicted"] += 1
            if f.entity_type == "PHONE_NUMBER":
                t["correct"] += _covered(f.start, f.end, phones) >= MATCH * (f.end - f.start)
                if _covered(f.start, f.end, phones) < MATCH * (f.end - f.start):
                    alarms.append((doc.text[f.start:f.end], "finding"))
            elif len(alarms) < 10_000:
                alarms.append((doc.text[f.start:f.end], f.entity_type))
        types["PHONE_NUMBER"]["labelled"] += len(phones)
    types["PHONE_NUMBER"]["recalled"] = by["all", "PHONE_NUMBER"]["found"]
    return {"by": by, "negatives": negatives, "types": types, "misses": misses, "alarms": alarms}


def _r(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "  -  "


class SetReport(NamedTuple):
    """How a generated span set's tables are titled (phones here, addresses too)."""
    name: str          # "phones"
    corpus: str        # "evaluation/phone_corpus.py"
    entity: str        # the scored type, listed first
    axes: Tuple[str, ...]
    negatives: str     # heading of the hard-negative table
    items: str         # "numbers"


PHONES = SetReport("phones", "evaluation/phone_corpus.py", "PHONE_NUMBER",
                   ("country", "form", "language", "layout", "context"),
                   "hard negatives taken for a phone number", "numbers")


def report(s: Dict, docs: int, docs_per_s: float, show: int,
           what: SetReport = PHONES) -> List[str]:
    lines = [f"\n{what.name} ({docs} documents, {what.corpus}): {docs_per_s:.1f} docs/s "
             f"on one core; match = {MATCH:.0%} of characters",
             f"{'entity':<22} {'labelled':>8} {'found':>8} {'recall':>7} {'predicted':>9} "
             f"{'precision':>9}"]
    for entity, c in sorted(s["types"].items(), key=lambda kv: kv[0] != what.entity):
        lines.append(f"{entity:<22} {c['labelled']:>8} {c['recalled']:>8} "
                     f"{_r(c['recalled'], c['labelled']):>7} {c['predicted']:>9} "
                     f"{_r(c['correct'], c['predicted']):>9}")
    for axis in what.axes:
        lines.append(f"\n{what.entity} recall by {axis}:")
        for (a, value), c in sorted(s["by"].items()):
            if a == axis:
                lines.append(f"  {value:<20} {c['found']:>5} / {c['labelled']:<5} "
                             f"{_r(c['found'], c['labelled'])}")
    lines.append(f"\n{what.negatives}:")
    for kind, c in sorted(s["negatives"].items()):
        lines.append(f"  {kind:<20} {c['alarms']:>5} / {c['count']:<5} {_r(c['alarms'], c['count'])}")
    if show:
        lines.append(f"\nfirst {show} missed {what.items}:")
        lines += [f"  {value!r} in {text[:100]!r}" for value, text in s["misses"][:show]]
        lines.append(f"first {show} false alarms:")
        lines += [f"  {value!r} ({why})" for value, why in s["alarms"][:show]]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--misses", type=int, default=10, help="show this many misses and alarms")
    args = parser.parse_args(argv)
    settings = Policy().pii
    scanner = PiiScanner(settings, settings.scanned_entities(all_entities=True))
    scanner.scan(["warm up"])
    docs = generate(args.n, args.seed)
    started = time.perf_counter()
    found = scanner.scan([d.text for d in docs])
    elapsed = time.perf_counter() - started
    s = score(docs, found)
    print("\n".join(report(s, len(docs), len(docs) / elapsed, args.misses)))
    phone = s["types"]["PHONE_NUMBER"]
    precision = phone["correct"] / phone["predicted"] if phone["predicted"] else None
    recall = phone["recalled"] / phone["labelled"]
    negatives = sum(c["count"] for c in s["negatives"].values())
    record("pii PHONE_NUMBER", "phones", precision, recall,
           f"{phone['labelled']:,} numbers, {negatives:,} negatives")
    # The set holds no other personal data: every finding of another type is a false alarm.
    for entity, c in sorted(s["types"].items()):
        if entity != "PHONE_NUMBER" and c["predicted"]:
            record(f"pii {entity}", "phones", 0.0, None,
                   f"{c['predicted']:,} findings, none labelled (false alarms)")
    return 0 if recall >= TARGET and (precision or 0) >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
