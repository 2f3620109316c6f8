"""Repeated spans: our stage against datatrove's SentenceDedup, on one corpus, in one run.

    .venv/bin/python -m benchmarks.spans [--docs 10000] [--repeats 3]
    .venv/bin/python -m benchmarks.spans --memory 10000 100000   # peak RSS at two sizes

Corpus (under .bench/spans/, ignored by git): documents of 160-180 words made of real
sentences drawn at random (seeded) from evaluation.corpora (the Lee corpus and a Wikipedia
sample), as benchmarks/text_near_dups.py builds them, with the boilerplate of
evaluation/spans.py planted in a fixed share of them (navigation lines at the start, a
disclaimer and a newsletter line between two sentences, a cookie notice, a copyright footer
and an e-mail signature at the end) and one footer per "site" (a site: 50 documents in a
row, its footer names it), so the repeated spans grow with the corpus as a crawl's do.

Methods, each in a subprocess of its own, taking turns per repetition:

  ours: job, stage on     `hygiene --repeated-spans --no-pii --no-exact-dedup-text
                          --no-near-dedup-text` (DirectRunner, one process): read, validate,
                          the stage, decide, write Parquet, report
  ours: job, stage off    the same with --no-repeated-spans; the stage alone is
                          docs / (t_on - t_off)
  datatrove               0.10.1's SentenceDedupSignature, SentenceFindDedups and
                          SentenceDedupFilter (3 sentences, its defaults) with
                          LocalPipelineExecutor(tasks=1, workers=1), reading the same JSONL and
                          writing JSONL (benchmarks/datatrove_sentences.py, in its own
                          virtualenv .bench/datatrove-venv)

docs/s: wall clock of the subprocess (interpreter start, imports, reading, writing included);
docs per CPU-second: docs / (user + system) of the subprocess and its children; peak RSS:
the largest single process (/usr/bin/time -v). What each removed: planted copies gone from
the kept text (recall against "every copy but the first"), documents cut, documents dropped
(ours: quarantined as mostly_repeated; datatrove: under min_doc_words once cut), and the
share of characters removed.
"""

import argparse
import collections
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
from typing import Dict, List, Optional

from benchmarks import peers
from benchmarks.results import record
from benchmarks.text_near_dups import (BENCH, MAX_SENTENCE_WORDS, OFFLINE, ROOT, code_version,
                                       machine, measured, original_document)

WORK = BENCH / "spans"
DT_DRIVER = ROOT / "benchmarks" / "datatrove_sentences.py"
SITE_DOCS = 50          # documents per site footer
# Share of documents holding each planted block (evaluation/spans.py's BLOCKS).
SHARES = {"navigation": 0.02, "cookies": 0.05, "disclaimer": 0.01, "footer": 0.03,
          "newsletter": 0.02, "signature": 0.005}
SITE_FOOTER = ("{site} is published by {site} Media Ltd. Registered office: {number} Harbour "
               "Road. Registered in England and Wales, company number {number}.")


def _blocks():
    from evaluation.spans import BLOCKS
    return BLOCKS


def _compose(own: List[str], planted: Dict[str, str]) -> str:
    blocks = _blocks()
    start = [blocks[b][1] for b, where in planted.items() if where == "start"]
    middle = [blocks[b][1] for b, where in planted.items() if where == "middle"]
    end = [blocks[b][1] if b in blocks else b for b, where in planted.items() if where == "end"]
    half = len(own) // 2
    return " ".join([*start, *own[:half], *middle, *own[half:], *end])


def site_footer(i: int) -> str:
    """The footer of document i's site (SITE_DOCS documents a site)."""
    site = i // SITE_DOCS
    return SITE_FOOTER.format(site=f"The {site:05d} Courier", number=100000 + site)


def draw_blocks(i: int, rng: random.Random) -> Dict[str, str]:
    """Document i's planted blocks (name or footer text -> where), each block with its share's
    chance and the site footer with one in two: build_corpus's shares without holding a
    draw for every document, for corpora written as they are generated."""
    blocks = _blocks()
    planted = {name: blocks[name][0] for name, share in SHARES.items() if rng.random() < share}
    if rng.random() < 0.5:
        planted[site_footer(i)] = "end"
    return planted


def with_blocks(text: str, planted: Dict[str, str]) -> str:
    return _compose(_split(text), planted)


def build_corpus(n_docs: int, seed: int, folder: pathlib.Path) -> dict:
    """Write folder/corpus.jsonl ({"id", "text"}) and folder/planted.jsonl (per document, the
    planted blocks' texts); return its description."""
    from evaluation.corpora import lee_documents, sentences, wiki_documents
    meta_path = folder / "corpus.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("docs") == n_docs and meta.get("seed") == seed and meta.get("v") == 2:
            return meta
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = sorted(set(sentences(lee_documents() + wiki_documents())))
    # evaluation.corpora.sentences ends every sentence with "." even when it had one: "..",
    # which spaCy's sentencizer (datatrove's) does not split at. Written as found.
    pool = sorted({s[:-1] if s[-2:] in ("..", "!.", "?.") else s for s in pool
                   if len(s.split()) <= MAX_SENTENCE_WORDS})
    blocks = _blocks()
    planted = [dict() for _ in range(n_docs)]
    for name, share in SHARES.items():
        for i in rng.sample(range(n_docs), max(2, round(n_docs * share))):
            planted[i][name] = blocks[name][0]
    for i in range(n_docs):
        if rng.random() < 0.5:   # half the documents come from a site with its own footer
            planted[i][site_footer(i)] = "end"
    total_bytes = 0
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f, \
            open(folder / "planted.jsonl", "w", encoding="utf-8") as p:
        for i in range(n_docs):
            text = with_blocks(original_document(rng, pool), planted[i])
            total_bytes += len(text.encode("utf-8"))
            f.write(json.dumps({"id": f"d{i:06d}", "text": text}, ensure_ascii=False) + "\n")
            p.write(json.dumps([blocks[b][1] if b in blocks else b for b in planted[i]],
                               ensure_ascii=False) + "\n")
    meta = {"docs": n_docs, "seed": seed, "v": 2, "shares": SHARES, "site_docs": SITE_DOCS,
            "planted": sum(len(p) for p in planted), "sentence_pool": len(pool),
            "mean_bytes": total_bytes / n_docs}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def _split(text: str) -> List[str]:
    import re
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


# ----------------------------------------------------------------------------- what each removed

def _norm(text: str) -> str:
    return " ".join(text.split())


def removal_summary(corpus: pathlib.Path, kept: Dict[str, str], dropped: set) -> dict:
    """Against the corpus as written: planted copies to remove (every copy but the first in
    input order; both methods run without personal-data detection, so the signature's first
    copy stays too) and those gone; documents cut, dropped; the share of characters removed
    (a dropped document counts whole)."""
    first_seen, to_remove, gone = set(), 0, 0
    kinds = {_norm(text): name for name, (_, text) in _blocks().items()}
    per_kind = collections.defaultdict(lambda: [0, 0])   # kind -> [to remove, removed]
    cut = chars = removed_chars = 0
    with open(corpus / "corpus.jsonl", encoding="utf-8") as f, \
            open(corpus / "planted.jsonl", encoding="utf-8") as p:
        for line, planted_line in zip(f, p):
            row = json.loads(line)
            original = row["text"]
            chars += len(original)
            if row["id"] in dropped:
                removed_chars += len(original)
            text = kept.get(row["id"])
            for block in json.loads(planted_line):
                block = _norm(block)
                if block not in first_seen:
                    first_seen.add(block)
                    continue
                to_remove += 1
                kind = per_kind[kinds.get(block, "site footer")]
                kind[0] += 1
                if row["id"] in dropped or (text is not None and block not in _norm(text)):
                    gone += 1
                    kind[1] += 1
            if text is not None and row["id"] not in dropped:
                if _norm(text) != _norm(original):
                    cut += 1
                removed_chars += max(0, len(_norm(original)) - len(_norm(text)))
    return {"to_remove": to_remove, "removed": gone, "recall": gone / to_remove if to_remove
            else 1.0, "documents_cut": cut, "documents_dropped": len(dropped),
            "share_removed": removed_chars / chars if chars else 0.0,
            "per_kind": {k: f"{v[1]}/{v[0]}" for k, v in sorted(per_kind.items())}}


def ours_removed(out: pathlib.Path) -> dict:
    import pyarrow.dataset as ds
    kept = {}
    for row in ds.dataset(str(out / "cleaned" / "text"), format="parquet").to_table(
            columns=["id", "text"]).to_pylist():
        kept[row["id"]] = row["text"]
    dropped = set()
    if (out / "quarantine").exists():
        table = ds.dataset(str(out / "quarantine"), format="parquet").to_table(
            columns=["id", "primary_reason"]).to_pylist()
        dropped = {r["id"] for r in table}
    return {"kept": kept, "dropped": dropped}


def _read_jsonl(folder: pathlib.Path) -> Dict[str, str]:
    import gzip
    found = {}
    for path in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    found[row["id"]] = row["text"]
    return found


# ----------------------------------------------------------------------------- runs

def stage_child(corpus: str, out: str) -> None:
    """The stage's transforms alone on the DirectRunner, in this process: JSONL lines read
    (beam.io.ReadFromText), made records and nodes (the position from the corpus's ids,
    d000123, which number the lines), RepeatedSpans with its default settings (the PII
    stage off: no personal ranges), its verdicts written as JSON lines and its summary."""
    import apache_beam as beam
    from schemas.records import make_record
    from schemas.settings import SpanSettings
    from transforms.common.nodes import node_of
    from transforms.dedup.spans import SUMMARY, VERDICTS, RepeatedSpans

    def record(line):
        row = json.loads(line)
        position = int(row["id"][1:])   # d000123: the line number, as the readers count
        return make_record(uid=f"u{position:08d}", id=row["id"], kind="text",
                           source="corpus.jsonl", position=position,
                           location=f"line {position + 1}", text=row["text"])

    def node(r):   # what the graph's Nodes step makes of a record's fingerprint
        from schemas.records import Fingerprint
        return r.uid, node_of(Fingerprint(uid=r.uid, id=r.id, kind=r.kind, source=r.source,
                                          position=r.position, text_key=None, pixel_key=None,
                                          bytes_key=None, minhash=None, shingles=None,
                                          phash=None))

    with beam.Pipeline("DirectRunner") as p:
        records = p | "Lines" >> beam.io.ReadFromText(corpus) | "Records" >> beam.Map(record)
        nodes = records | "Nodes" >> beam.Map(node)
        pii = p | "NoPii" >> beam.Create([])
        found = (records, nodes, pii) | RepeatedSpans(SpanSettings(enabled=True))
        found[VERDICTS] | "Json" >> beam.Map(lambda v: json.dumps(v._asdict())) | \
            beam.io.WriteToText(f"{out}/verdicts", file_name_suffix=".jsonl")
        found[SUMMARY] | "SummaryJson" >> beam.Map(json.dumps) | "WriteSummary" >> \
            beam.io.WriteToText(f"{out}/summary", file_name_suffix=".json")


def hygiene(corpus: pathlib.Path, out: pathlib.Path, on: bool) -> List[str]:
    # beam_runner.py, not the installed `hygiene` script: this checkout's code is measured.
    cmd = [sys.executable, str(ROOT / "beam_runner.py"), "--input",
           str(corpus / "corpus.jsonl"), "--output", str(out), "--overwrite", "--no-pii",
           "--no-exact-dedup-text", "--no-near-dedup-text"]
    return cmd + (["--repeated-spans"] if on else ["--no-repeated-spans"])


def datatrove_version() -> str:
    check = [str(peers.ensure("datatrove")), "-c",
             "import importlib.metadata as m, datatrove; print(m.version('datatrove'))"]
    return subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip()


def datatrove(corpus: pathlib.Path, work: pathlib.Path, k: int) -> dict:
    result = work / "datatrove-result.json"
    run = measured([str(peers.python("datatrove")), str(DT_DRIVER), str(corpus),
                    str(work / "datatrove"), str(result)], env=OFFLINE,
                   label=f"datatrove #{k + 1}")
    run["result"] = json.loads(result.read_text())
    return run


def measure(n: int, repeats: int, seed: int) -> dict:
    corpus = WORK / f"docs-{n}" / "corpus"
    meta = build_corpus(n, seed, corpus)
    work = WORK / f"docs-{n}" / f"run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    runs = collections.defaultdict(list)
    try:
        for k in range(repeats):
            runs["off"].append(measured(hygiene(corpus, work / "off", False),
                                        label=f"ours off #{k + 1}"))
            runs["on"].append(measured(hygiene(corpus, work / "on", True),
                                       label=f"ours on #{k + 1}"))
            runs["datatrove"].append(datatrove(corpus, work, k))
            runs["stage"].append(measured(
                [sys.executable, "-m", "benchmarks.spans", "--stage-child",
                 str(corpus / "corpus.jsonl"), str(work / "stage")],
                label=f"ours stage alone #{k + 1}"))
        found = ours_removed(work / "on")
        ours = removal_summary(corpus, found["kept"], found["dropped"])
        summary = json.loads((work / "on" / "summary.json").read_text())
        ours["stage"] = {k: v for k, v in summary["repeated_spans"].items() if k != "top_spans"}
        ours["conservation_ok"] = summary["conservation"]["ok"]
        dt_kept = _read_jsonl(work / "datatrove" / "output")
        dt_dropped = set(_read_jsonl(work / "datatrove" / "removed"))
        theirs = removal_summary(corpus, dt_kept, dt_dropped)
        theirs["result"] = {k: v for k, v in runs["datatrove"][0]["result"].items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"corpus": meta, "runs": dict(runs), "ours": ours, "datatrove": theirs}


def med(runs: List[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _walls(runs: List[dict]) -> str:
    return "/".join(f"{x['wall']:.1f}" for x in runs)


def report(sizes: Dict[int, dict], version: str, load_before: str, load_after: str,
           code: str, command: str) -> str:
    lines = ["| method | docs | docs/s | docs per CPU-second | peak RSS MiB | planted copies "
             "removed | docs cut | docs dropped | share of text removed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for n, m in sizes.items():
        r, ours, theirs = m["runs"], m["ours"], m["datatrove"]

        def removal(q):
            return (f"{q['removed']:,}/{q['to_remove']:,} | {q['documents_cut']:,} | "
                    f"{q['documents_dropped']:,} | {q['share_removed']:.2%}")
        blank = "— | — | — | —"
        on_w, off_w, dt_w = med(r["on"], "wall"), med(r["off"], "wall"), med(r["datatrove"],
                                                                             "wall")
        on_c, off_c, dt_c = med(r["on"], "cpu"), med(r["off"], "cpu"), med(r["datatrove"], "cpu")
        lines.append(f"| ours: job with the stage (DirectRunner, 1 process) | {n:,} | "
                     f"{n / on_w:,.0f} | {n / on_c:,.0f} | {med(r['on'], 'rss_mib'):,.0f} | "
                     f"{removal(ours)} |")
        lines.append(f"| ours: job without it | {n:,} | {n / off_w:,.0f} | {n / off_c:,.0f} | "
                     f"{med(r['off'], 'rss_mib'):,.0f} | {blank} |")
        stage_w, stage_c = on_w - off_w, on_c - off_c
        lines.append(f"| ours: the stage alone = docs / (t_on − t_off) | {n:,} | "
                     f"{n / stage_w if stage_w > 0 else float('nan'):,.0f} | "
                     f"{n / stage_c if stage_c > 0 else float('nan'):,.0f} | "
                     f"+{med(r['on'], 'rss_mib') - med(r['off'], 'rss_mib'):,.0f} | {blank} |")
        lines.append(f"| ours: the stage's transforms alone (DirectRunner, 1 process) | {n:,} | "
                     f"{n / med(r['stage'], 'wall'):,.0f} | {n / med(r['stage'], 'cpu'):,.0f} | "
                     f"{med(r['stage'], 'rss_mib'):,.0f} | {blank} |")
        lines.append(f"| datatrove {version} SentenceDedup, 3 steps (workers=1) | {n:,} | "
                     f"{n / dt_w:,.0f} | {n / dt_c:,.0f} | {med(r['datatrove'], 'rss_mib'):,.0f} "
                     f"| {removal(theirs)} |")
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in
                          theirs["result"]["stage_seconds"].items())
        notes.append(
            f"- {n:,} docs: per CPU-second, our stage's transforms alone / datatrove = "
            f"{dt_c / med(r['stage'], 'cpu'):.2f}x (wall {dt_w / med(r['stage'], 'wall'):.2f}x), "
            f"ours whole job / datatrove = "
            f"{dt_c / on_c:.2f}x, our stage alone / datatrove = "
            f"{(dt_c / stage_c) if stage_c > 0 else float('nan'):.2f}x; wall: "
            f"{dt_w / on_w:.2f}x and {(dt_w / stage_w) if stage_w > 0 else float('nan'):.2f}x. "
            f"Runs, wall s: on {_walls(r['on'])}, off {_walls(r['off'])}, datatrove "
            f"{_walls(r['datatrove'])}, stage alone {_walls(r['stage'])} (datatrove's steps, first run: {steps}).")
        notes.append(f"- {n:,} docs, planted copies removed per block: ours "
                     f"{json.dumps(ours['per_kind'])}; datatrove "
                     f"{json.dumps(theirs['per_kind'])}.")
        notes.append(f"- {n:,} docs, ours: {json.dumps(ours['stage'])}; conservation "
                     f"{'ok' if ours['conservation_ok'] else 'VIOLATED'}.")
        c = m["corpus"]
        notes.append(f"- corpus {n:,}: {c['planted']:,} planted blocks, mean "
                     f"{c['mean_bytes']:.0f} bytes/doc, sentence pool {c['sentence_pool']:,}, "
                     f"seed {c['seed']}.")
    notes.append(f"- datatrove config: {sizes[max(sizes)]['datatrove']['result']['config']}")
    notes.append(f"- code: {code}")
    notes.append(f"- machine: {machine()}; load average before {load_before}, after "
                 f"{load_after}.")
    notes.append(f"- command: `{command}`")
    return "\n".join(lines + [""] + notes)


def record_results(sizes: Dict[int, dict], version: str) -> None:
    stage = "repeated spans"
    for n, m in sizes.items():
        r, ours, theirs = m["runs"], m["ours"], m["datatrove"]
        on_w, off_w = med(r["on"], "wall"), med(r["off"], "wall")
        on_c, off_c = med(r["on"], "cpu"), med(r["off"], "cpu")
        dt_w, dt_c = med(r["datatrove"], "wall"), med(r["datatrove"], "cpu")
        record(stage, "ours: whole job on the text, stage on (1 process)", n, "docs",
               n / on_w, n / on_c, med(r["on"], "rss_mib"),
               f"recall {ours['recall']:.3f}, {ours['share_removed']:.2%} of text removed")
        st_w, st_c = med(r["stage"], "wall"), med(r["stage"], "cpu")
        record(stage, "ours: the stage's transforms alone (DirectRunner, 1 process)", n, "docs",
               n / st_w, n / st_c, med(r["stage"], "rss_mib"),
               f"per CPU-s / datatrove {dt_c / st_c:.2f}x")
        record(stage, "ours: the stage in the job = docs / (t_on − t_off)", n, "docs",
               n / (on_w - off_w) if on_w > off_w else None,
               n / (on_c - off_c) if on_c > off_c else None, None,
               f"job without it: {med(r['off'], 'rss_mib'):,.0f} MiB")
        record(stage, f"peer: datatrove {version} SentenceDedup, 3 steps (workers=1)", n,
               "docs", n / dt_w, n / dt_c, med(r["datatrove"], "rss_mib"),
               f"recall {theirs['recall']:.3f}, {theirs['share_removed']:.2%} of text removed; "
               f"per CPU-s ours whole job / datatrove {dt_c / on_c:.2f}x")


def memory(sizes: List[int], seed: int) -> str:
    """Peak RSS of the stage's transforms alone on the DirectRunner at each size (one run
    each), and the growth from the smallest to the largest."""
    rows = ["| docs | wall s | CPU s | docs per CPU-second | peak RSS MiB |",
            "|---:|---:|---:|---:|---:|"]
    found = {}
    for n in sorted(set(sizes)):
        corpus = WORK / f"docs-{n}" / "corpus"
        build_corpus(n, seed, corpus)
        out = WORK / f"docs-{n}" / f"stage-{os.getpid()}"
        try:
            run = measured([sys.executable, "-m", "benchmarks.spans", "--stage-child",
                            str(corpus / "corpus.jsonl"), str(out)], label=f"stage {n:,}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        found[n] = run
        rows.append(f"| {n:,} | {run['wall']:.1f} | {run['cpu']:.1f} | {n / run['cpu']:,.0f} | "
                    f"{run['rss_mib']:,.0f} |")
        record("repeated spans", "ours: the stage's transforms alone, memory run", n, "docs",
               n / run["wall"], n / run["cpu"], run["rss_mib"])
    low, high = min(found), max(found)
    rows.append(f"\npeak RSS {high:,} / {low:,} docs: "
                f"{found[high]['rss_mib'] / found[low]['rss_mib']:.2f}x (DirectRunner)")
    return "\n".join(rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000],
                        help="corpus sizes (documents)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", type=int, nargs="+", metavar="DOCS",
                        help="only the stage's peak memory at these corpus sizes")
    parser.add_argument("--stage-child", nargs=2, metavar=("CORPUS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage_child:
        stage_child(*args.stage_child)
        return 0
    if args.memory:
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        code = code_version()   # before the runs: the code they measure
        text = memory(args.memory, args.seed)
        print(text + f"\n- code: {code}\n- machine: {machine()}; load average "
              f"before {load_before}, after "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        return 0
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    code = code_version()
    version = datatrove_version()
    sizes = {n: measure(n, args.repeats, args.seed) for n in sorted(set(args.docs))}
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    command = ".venv/bin/python -m benchmarks.spans " + " ".join(
        argv if argv is not None else sys.argv[1:])
    text = report(sizes, version, load_before, load_after, code, command.strip())
    print(text)
    record_results(sizes, version)
    (WORK / "report.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
