"""Postal addresses on evaluation/address_corpus.py's set: recall per country and form, language
and layout; false alarms per kind of hard negative; every entity type found.

    python -m evaluation.addresses [--n 800] [--seed 5] [--misses 10]

The whole scanner runs with the policy's settings and every entity type, as the pipeline
would. Matching by characters: a labelled address is found when LOCATION findings cover at
least 80% of its characters (the issue's measure; the NER's towns count, as they are masked
too); a finding of detectors/pii/addresses.py is correct when at least 80% of its characters
lie in labelled addresses. A hard negative counts as a false alarm when a finding of the
address recognizer touches it. Findings of other types are listed too: the NER's LOCATION on
a sentence naming a city is right as a LOCATION, though no address.

Then the address recognizer alone on real prose (evaluation/corpora.py: 300 Lee news articles
and the Wikipedia pages), where street addresses are rare: every finding is listed, to read.
"""

import argparse
import collections
import time
from typing import Dict, Sequence

from detectors.pii.addresses import AddressRecognizer
from detectors.pii.scanner import PiiScanner
from evaluation import corpora
from evaluation.address_corpus import AddressDoc, generate
from evaluation.phones import SetReport, _covered, report
from evaluation.pii import ADDRESS_RECOGNIZER
from evaluation.scores import record
from pipeline.policy import Policy

MATCH = 0.8
TARGET = 0.9


def score(docs: Sequence[AddressDoc], found: Sequence[list]) -> Dict:
    by = collections.defaultdict(collections.Counter)
    negatives = collections.defaultdict(collections.Counter)
    types = collections.defaultdict(collections.Counter)
    misses, alarms = [], []
    for doc, findings in zip(docs, found):
        addresses = [(i.start, i.end) for i in doc.items if i.kind == "ADDRESS"]
        located = [(f.start, f.end) for f in findings if f.entity_type == "LOCATION"]
        ours = [(f.start, f.end) for f in findings if f.recognizer == ADDRESS_RECOGNIZER]
        for item in doc.items:
            if item.kind == "ADDRESS":
                hit = _covered(item.start, item.end, located) >= MATCH * (item.end - item.start)
                for axis, value in (("all", "ADDRESS"), ("form", item.form),
                                    ("country", item.form.split()[0]), ("language", doc.language),
                                    ("layout", doc.layout)):
                    by[axis, value]["labelled"] += 1
                    by[axis, value]["found"] += hit
                if not hit:
                    misses.append((doc.text[item.start:item.end], doc.text))
            else:
                touched = any(s < item.end and item.start < e for s, e in ours)
                negatives[item.form]["count"] += 1
                negatives[item.form]["alarms"] += touched
                if touched:
                    alarms.append((doc.text[item.start:item.end], item.form))
        for f in findings:
            name = "STREET_ADDRESS" if f.recognizer == ADDRESS_RECOGNIZER else f.entity_type
            t = types[name]
            t["predicted"] += 1
            if name == "STREET_ADDRESS":
                right = _covered(f.start, f.end, addresses) >= MATCH * (f.end - f.start)
                t["correct"] += right
                if not right:
                    alarms.append((doc.text[f.start:f.end], "finding"))
        types["STREET_ADDRESS"]["labelled"] += len(addresses)
    types["STREET_ADDRESS"]["recalled"] = by["all", "ADDRESS"]["found"]
    return {"by": by, "negatives": negatives, "types": types, "misses": misses, "alarms": alarms}


ADDRESSES = SetReport("addresses", "evaluation/address_corpus.py", "STREET_ADDRESS",
                      ("country", "form", "language", "layout"),
                      "hard negatives touched by an address finding", "addresses")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--seed", type=int, default=5)
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
    print("\n".join(report(s, len(docs), len(docs) / elapsed, args.misses, ADDRESSES)))
    ours = s["types"]["STREET_ADDRESS"]
    precision = ours["correct"] / ours["predicted"] if ours["predicted"] else None
    recall = ours["recalled"] / ours["labelled"]
    negatives = sum(c["count"] for c in s["negatives"].values())
    alarms = sum(c["alarms"] for c in s["negatives"].values())
    record("pii STREET_ADDRESS", "addresses", precision, recall,
           f"{ours['labelled']:,} addresses, {negatives:,} negatives ({alarms} touched)")
    # No other personal data in the set: a finding of another type is a false alarm, but for
    # the NER's LOCATION on a town or country, right as a place, though no address.
    for entity, c in sorted(s["types"].items()):
        if entity != "STREET_ADDRESS" and c["predicted"]:
            record(f"pii {entity}", "addresses", None if entity == "LOCATION" else 0.0, None,
                   f"{c['predicted']:,} findings, none labelled" +
                   (" (towns and countries: not scored)" if entity == "LOCATION" else " (false alarms)"))
    prose = corpora.lee_documents() + corpora.wiki_documents()
    recognizer, shown = AddressRecognizer(), []
    for text in prose:
        shown += [text[r.start:r.end] for r in recognizer.analyze(text, ["LOCATION"])]
    print(f"\naddress findings on real prose ({len(prose)} news articles and Wikipedia pages, "
          f"{sum(map(len, prose)):,} characters): {len(shown)}")
    print("\n".join(f"  {value!r}" for value in shown))
    record("pii STREET_ADDRESS (findings on prose)", "Lee news + Wikipedia", None, None,
           f"{len(prose)} documents, {len(shown)} findings")
    return 0 if recall >= TARGET and (precision or 0) >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
