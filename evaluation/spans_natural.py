"""What the repeated-spans stage removes from real text with natural repetition (issue 19).

    python -m evaluation.spans_natural [--show N] [--pii]

Two real corpora, nothing planted, nothing downloaded:
- package descriptions: the description (the README as published on PyPI) of each
  distribution installed in the Python environment this runs in (its *.dist-info/METADATA),
  written by different authors: licence paragraphs, badges, install lines and copyright
  notices repeat across them as boilerplate does across web pages;
- package licences: the licence files of the same distributions (MIT, BSD and Apache texts
  with each project's own copyright line, many of them bundling others' licences);
- news+wiki: gensim's Lee news corpus (300 articles) and its Wikipedia sample
  (evaluation/corpora.py), where some stories are told more than once.

Each runs through the whole job with its default policy plus ``--repeated-spans``
(``--no-pii`` unless ``--pii``: the PII stage's speed on this machine; it changes only that a
span with personal data goes from every copy), so exact and near-duplicate text dedup
act first, as they would. Printed per corpus: documents, the share of text removed,
documents cut and quarantined as mostly_repeated, every removed range's sentences held by
one document only (should be none), and the most repeated spans, masked as the report
masks them (``--show N`` prints N of them unmasked, for a person to judge: never in docs).
"""

import argparse
import collections
import email.parser
import json
import pathlib
import sys
import sysconfig
import tempfile
from typing import Dict, List

import pyarrow.dataset as ds

from detectors.hashing import normalize_text
from detectors.pii.spans import mask
from detectors.spans import units
from evaluation.corpora import lee_documents, wiki_documents
from pipeline.launch import run

MIN_CHARACTERS = 200   # a licence stub or an empty description is not a document


def package_documents(part: str) -> Dict[str, str]:
    """id -> text: each installed distribution's description (``part`` "description") or
    licence files ("licence")."""
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    docs = {}
    for info in sorted(site.glob("*.dist-info")):
        name = info.name[:-len(".dist-info")]
        metadata = info / "METADATA"
        if metadata.exists():
            message = email.parser.Parser().parsestr(
                metadata.read_text(encoding="utf-8", errors="replace"))
            body = message.get_payload() or message.get("Description") or ""
            if part == "description" and len(body.strip()) >= MIN_CHARACTERS:
                docs[f"{name}/description"] = body
        for path in sorted(info.rglob("*")):
            if path.is_file() and "licen" in str(path.relative_to(info)).lower() or \
                    path.is_file() and path.name.upper().startswith(("COPYING", "NOTICE")):
                text = path.read_text(encoding="utf-8", errors="replace")
                if part == "licence" and len(text.strip()) >= MIN_CHARACTERS:
                    docs[f"{name}/{path.relative_to(info)}"] = text
    return docs


def news_documents() -> Dict[str, str]:
    docs = {f"lee-{i:03d}": t for i, t in enumerate(lee_documents())}
    docs.update({f"wiki-{i:03d}": t for i, t in enumerate(wiki_documents(max_words=1_000_000))})
    return docs


def evaluate(docs: Dict[str, str], pii: bool, workdir: pathlib.Path) -> dict:
    corpus = workdir / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for doc_id, text in docs.items():
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    out = workdir / "out"
    run(["--input", str(corpus), "--output", str(out), "--repeated-spans",
         *([] if pii else ["--no-pii"])])
    summary = json.loads((out / "summary.json").read_text())
    cleaned = ds.dataset(str(out / "cleaned" / "text"), format="parquet").to_table(
        columns=["id", "removed"]).to_pylist()
    quarantined = collections.Counter(
        r["primary_reason"] for r in ds.dataset(str(out / "quarantine"), format="parquet")
        .to_table(columns=["primary_reason"]).to_pylist()) if (out / "quarantine").exists() \
        else collections.Counter()
    holders = collections.Counter()   # normalized sentence -> documents holding it
    for text in docs.values():
        holders.update({normalize_text(text[u.start:u.end]) for u in units(text)})
    removed_units = unique = 0
    spans: Dict[str, List] = collections.defaultdict(list)   # span -> [documents, a text]
    for row in cleaned:
        text = docs[row["id"]]
        for cut in row["removed"]:
            piece = text[cut["start"]:cut["end"]]
            for u in units(piece):
                removed_units += 1
                unique += holders[normalize_text(piece[u.start:u.end])] < 2
            spans[cut["span"]] = [max(cut["documents"], spans[cut["span"]][0]
                                      if spans[cut["span"]] else 0), " ".join(piece.split())]
    return {"documents": len(docs), "summary": summary["repeated_spans"],
            "quarantined": dict(quarantined), "removed_units": removed_units,
            "unique_removed": unique, "records_in": summary["records_in"],
            "spans": sorted(spans.items(), key=lambda kv: -kv[1][0])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pii", action="store_true", help="run the PII stage too")
    parser.add_argument("--show", type=int, default=0,
                        help="print this many removed spans unmasked (to judge them)")
    corpora = {"package descriptions": lambda: package_documents("description"),
               "package licences": lambda: package_documents("licence"),
               "news+wiki": news_documents}
    parser.add_argument("--only", choices=list(corpora))
    args = parser.parse_args(argv)
    for name, build in corpora.items():
        if args.only and name != args.only:
            continue
        docs = build()
        with tempfile.TemporaryDirectory() as tmp:
            found = evaluate(docs, args.pii, pathlib.Path(tmp))
        s = found["summary"]
        print(f"\n## {name}: {found['documents']:,} documents "
              f"({s['characters_scanned']:,} characters of text scanned)\n")
        print(f"- share of text removed: {s['share_removed']:.2%} "
              f"({s['characters_removed']:,} characters); repeated spans: "
              f"{s['repeated_spans']:,}; documents cut: {s['documents_cut']:,} of "
              f"{s['texts_scanned']:,} scanned; quarantined as mostly_repeated: "
              f"{s['documents_mostly_repeated']:,}")
        print(f"- quarantined by reason (the whole job): {json.dumps(found['quarantined'])}")
        print(f"- sentences removed held by one document only: {found['unique_removed']} of "
              f"{found['removed_units']:,}")
        print("\n| documents | removed range (masked) |\n|---:|---|")
        for _, (documents, text) in found["spans"][:12]:
            print(f"| {documents} | {mask(text)} |")
        for _, (documents, text) in found["spans"][:args.show]:
            print(f"  [{documents}] {text[:300]!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
