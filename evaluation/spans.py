"""Quality of repeated-span removal, through the real pipeline on the DirectRunner.

    python -m evaluation.spans [--seed 0] [--hosts 2000] [--copies 2 5 20 100 300 1000] [--no-pii]

Real text (gensim's Lee news corpus and Wikipedia pages, evaluation/corpora.py), cut into
host documents of four sentences (60 words or more; 4,872 of them, 2,000 used by default). Boilerplate blocks
of the kinds that repeat across the web are planted in them, each block in its own number
of hosts (``--copies``: 2 to 1,000) at the start, the end or between two sentences: a
navigation menu, a cookie notice, a disclaimer, a copyright footer, a newsletter line, and
an e-mail signature with a person's name, address and phone number. The job runs with
``--repeated-spans`` (and the PII stage, unless ``--no-pii``) and everything else that
could hold a host back off, so only this stage acts.

Expected: every planted copy but the first in input order is removed; the signature, which
carries personal data, is removed from its first host too. Measured:
- recall: planted copies to remove that are gone from the cleaned text;
- precision: of the sentences removed, the share that some other document also holds
  (removing a sentence that only one document has is an error);
- intact: hosts whose cleaned text is their own text plus the blocks they keep, exactly
  (whitespace where a block was cut aside);
- natural: what the stage removes that was not planted (the Lee corpus repeats some
  stories), with a few examples.
"""

import argparse
import collections
import json
import pathlib
import random
import re
import tempfile
from typing import Dict, List, NamedTuple

import pyarrow.dataset as ds

from detectors.hashing import normalize_text
from detectors.spans import merge, remove, units
from evaluation.corpora import lee_documents, wiki_documents
from evaluation.scores import record
from pipeline.launch import run

HOST_SENTENCES = 4
HOST_MIN_WORDS = 60

# Boilerplate as it comes in scraped pages (written for this evaluation); where it goes.
BLOCKS = {
    "navigation": ("start", "Home | News | Sport | Business | Culture | Contact us\n"
                            "Subscribe to our newsletter\nFollow us on social media\n"),
    "cookies": ("end", "We use cookies to improve your experience on our site. By continuing "
                       "to browse you agree to our use of cookies. Read our cookie policy to "
                       "learn more about how we use them."),
    "disclaimer": ("middle", "This article is for general information only. It is not "
                             "financial, legal or medical advice. Always consult a qualified "
                             "professional before acting on anything you read here."),
    "footer": ("end", "Copyright 2024 Harbour Media Group. All rights reserved. Reproduction "
                      "in whole or in part without written permission is prohibited."),
    "newsletter": ("middle", "Want more stories like this one? Sign up for our free morning "
                             "briefing. It lands in your inbox at six every weekday."),
    "signature": ("end", "\nKind regards,\nDaniel Okafor\nSenior Partner, Okafor & Reyes LLP\n"
                         "daniel.okafor@okafor-reyes.com | +1 415 555 0142\n"),
}
PERSONAL = {"signature"}


class Host(NamedTuple):
    id: str
    own: List[str]              # its sentences
    blocks: Dict[str, str]      # block name -> where (start, middle, end)


def hosts(count: int, rng: random.Random) -> List[List[str]]:
    """Runs of HOST_SENTENCES sentences of one real document each, 60 words or more."""
    found = []
    for text in lee_documents() + wiki_documents(max_words=1_000_000):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        for i in range(0, len(sentences) - HOST_SENTENCES + 1, HOST_SENTENCES):
            run_ = sentences[i:i + HOST_SENTENCES]
            if len(" ".join(run_).split()) >= HOST_MIN_WORDS:
                found.append(run_)
    rng.shuffle(found)
    if len(found) < count:
        raise SystemExit(f"only {len(found)} hosts of real text for {count} copies")
    return found


def compose(host: Host, keep: set) -> str:
    """The host's text with its blocks; ``keep``: the blocks left in (the others cut)."""
    start = [BLOCKS[b][1] for b, where in host.blocks.items() if where == "start" and b in keep]
    middle = [BLOCKS[b][1] for b, where in host.blocks.items() if where == "middle" and b in keep]
    end = [BLOCKS[b][1] for b, where in host.blocks.items() if where == "end" and b in keep]
    half = len(host.own) // 2
    return " ".join([*start, *host.own[:half], *middle, *host.own[half:], *end])


def build(copies: List[int], seed: int, count: int):
    rng = random.Random(seed)
    runs = hosts(max(count, max(copies)), rng)[:max(count, max(copies))]
    docs = [Host(f"host-{i:05d}", run_, {}) for i, run_ in enumerate(runs)]
    for (name, _), count in zip(BLOCKS.items(), copies):
        for i in sorted(rng.sample(range(len(docs)), count)):
            docs[i].blocks[name] = BLOCKS[name][0]
    return docs


def _clean(text: str) -> str:
    return " ".join(text.split())


def evaluate(docs: List[Host], pii: bool, workdir: pathlib.Path) -> dict:
    corpus = workdir / "hosts.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps({"id": doc.id, "text": compose(doc, set(doc.blocks))}) + "\n")
    out = workdir / "out"
    flags = ["--repeated-spans", "--no-near-dedup-text", "--no-exact-dedup-text"]
    if not pii:
        flags.append("--no-pii")
    run(["--input", str(corpus), "--output", str(out), *flags])
    cleaned = {r["id"]: r for r in ds.dataset(str(out / "cleaned" / "text"),
                                               format="parquet").to_table().to_pylist()}
    quarantined = {r["id"]: r for r in ds.dataset(str(out / "quarantine"),
                                                  format="parquet").to_table().to_pylist()}

    first = {}   # block -> the first host holding it, in input order
    for doc in docs:
        for name in doc.blocks:
            first.setdefault(name, doc.id)
    holders = collections.Counter()  # normalized sentence -> documents holding it
    for doc in docs:
        text = compose(doc, set(doc.blocks))
        holders.update({normalize_text(text[u.start:u.end]) for u in units(text)})

    to_remove = removed = intact = hosts_checked = 0
    per_block = collections.defaultdict(lambda: [0, 0])   # block -> [to remove, removed]
    removed_units = unique_removed = 0
    natural, broken = [], []
    for doc in docs:
        row = cleaned.get(doc.id)
        if row is None:
            continue
        original = compose(doc, set(doc.blocks))
        kept = {b for b in doc.blocks if first[b] == doc.id and not (pii and b in PERSONAL)}
        # The text as read less the row's removed ranges: what the stage cut, apart from the
        # PII stage's placeholders (names in news, the signature's name in a kept copy).
        text = _clean(remove(original, merge((r["start"], r["end"]) for r in row["removed"])))
        for name in doc.blocks:
            if name in kept:
                continue
            to_remove += 1
            per_block[name][0] += 1
            if _clean(BLOCKS[name][1]) not in text:
                removed += 1
                per_block[name][1] += 1
        hosts_checked += 1
        if text == _clean(compose(doc, kept)):
            intact += 1
        else:
            broken.append(doc.id)
        planted = [(original.find(BLOCKS[b][1].strip()),
                    original.find(BLOCKS[b][1].strip()) + len(BLOCKS[b][1].strip()))
                   for b in doc.blocks]
        for cut in row["removed"]:
            for u in units(original[cut["start"]:cut["end"]]):
                removed_units += 1
                sentence = original[cut["start"] + u.start:cut["start"] + u.end]
                unique_removed += holders[normalize_text(sentence)] < 2
            inside = [(cut["start"] + u.start, cut["start"] + u.end)
                      for u in units(original[cut["start"]:cut["end"]])]
            if not all(any(s <= a and b <= e for s, e in planted) for a, b in inside):
                natural.append((doc.id, original[cut["start"]:cut["end"]].strip(),
                                cut["documents"]))
    return {"documents": len(docs), "planted": sum(len(d.blocks) for d in docs),
            "to_remove": to_remove, "removed": removed, "per_block": dict(per_block),
            "hosts_checked": hosts_checked, "intact": intact, "not_intact": broken,
            "quarantined": sorted(quarantined), "removed_units": removed_units,
            "unique_removed": unique_removed, "natural": natural,
            "summary": json.loads((out / "summary.json").read_text()).get("repeated_spans")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copies", type=int, nargs=len(BLOCKS),
                        default=[2, 5, 20, 100, 300, 1000], metavar="N",
                        help=f"copies of each block ({', '.join(BLOCKS)})")
    parser.add_argument("--hosts", type=int, default=2000, help="host documents")
    parser.add_argument("--no-pii", action="store_true")
    args = parser.parse_args(argv)
    docs = build(args.copies, args.seed, args.hosts)
    with tempfile.TemporaryDirectory() as tmp:
        found = evaluate(docs, not args.no_pii, pathlib.Path(tmp))
    recall = found["removed"] / found["to_remove"] if found["to_remove"] else 1.0
    units_removed = found["removed_units"]
    precision = (1 - found["unique_removed"] / units_removed) if units_removed else 1.0
    print(f"{found['documents']} hosts of real text, {found['planted']} planted blocks, "
          f"{found['to_remove']} copies to remove")
    print("| block | copies | to remove | removed |\n|---|---|---|---|")
    for (name, _), count in zip(BLOCKS.items(), args.copies):
        todo, done = found["per_block"].get(name, [0, 0])
        print(f"| {name}{' (personal)' if name in PERSONAL else ''} | {count} | {todo} | {done} |")
    print(f"\nrecall {recall:.4f} ({found['removed']}/{found['to_remove']}); precision "
          f"{precision:.4f} ({units_removed - found['unique_removed']}/{units_removed} "
          f"sentences removed are held by another document too)")
    print(f"hosts intact: {found['intact']}/{found['hosts_checked']} (not: "
          f"{' '.join(found['not_intact'][:10])}); quarantined (mostly_repeated): "
          f"{len(found['quarantined'])} ({' '.join(found['quarantined'][:10])})")
    print(f"natural repeats removed (not planted): {len(found['natural'])}")
    for doc_id, text, documents in found["natural"][:5]:
        print(f"  {doc_id} ({documents} documents): {text[:160]!r}")
    print("stage summary:", json.dumps({k: v for k, v in (found["summary"] or {}).items()
                                        if k != "top_spans"}))
    record("repeated spans", "real text + planted boilerplate", precision, recall,
           f"{found['to_remove']:,} copies")
    return 0 if recall >= 0.99 and precision >= 0.99 else 1


if __name__ == "__main__":
    raise SystemExit(main())
