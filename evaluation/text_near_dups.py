"""Quality of near-duplicate text removal, through the real pipeline on the DirectRunner.

    python -m evaluation.text_near_dups [--threshold 0.8] [--seed 0]

Datasets:
- planted: real text (gensim's Lee news corpus and Wikipedia pages, see
  evaluation/corpora.py) with edited copies planted at known rates (word
  substitutions, insertions, deletions, swaps, boilerplate around the text).
  A copy should be removed when its true Jaccard similarity of word 5-grams
  with its original is at least the threshold; originals come first in input
  order, so they are the ones to keep.
- data-juicer: ../shared/eval-data/text-dups (when present): the English and
  Chinese sets of data-juicer's MinHash deduplicator test, whose expected
  survivors the test lists (data-juicer's settings: Jaccard 0.7, punctuation
  ignored for English, characters as tokens for Chinese).

Printed per dataset: per-document precision, recall and F1 of removal, the
adjusted Rand index of the clusters, and the issue's two targets: recall on
copies with true Jaccard >= 0.85, and precision on unrelated documents of one
topic (how many removals did not remove an unrelated document).
"""

import argparse
import ast
import collections
import json
import pathlib
import tempfile
from math import comb
from typing import Dict, List

import pyarrow.dataset as ds

from evaluation.scores import record
from evaluation.corpora import lee_documents, plant, unrelated, wiki_documents
from pipeline.launch import run

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "text-dups"
NEAR = ("near_duplicate_text", "exact_duplicate_text")


def adjusted_rand_index(truth: Dict[str, str], predicted: Dict[str, str]) -> float:
    """ARI of two clusterings given as item -> cluster label (same items)."""
    items = list(truth)
    pairs = collections.Counter((truth[i], predicted[i]) for i in items)
    a = collections.Counter(truth[i] for i in items)
    b = collections.Counter(predicted[i] for i in items)
    index = sum(comb(n, 2) for n in pairs.values())
    sum_a, sum_b = sum(comb(n, 2) for n in a.values()), sum(comb(n, 2) for n in b.values())
    expected = sum_a * sum_b / comb(len(items), 2)
    maximum = (sum_a + sum_b) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


FLAGS = ()  # pipeline flags every evaluation run gets (set from the command line)


def dedup(documents: List[dict], *flags) -> Dict[str, str]:
    """Run the pipeline; return removed id -> kept id."""
    flags = (*FLAGS, *flags)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents))
        run(["--input", str(corpus), "--output", str(pathlib.Path(tmp) / "out"), *flags])
        rows = ds.dataset(str(pathlib.Path(tmp) / "out" / "quarantine"),
                          format="parquet").to_table(columns=["id", "reasons", "kept_id"]).to_pylist()
    return {r["id"]: r["kept_id"] for r in rows if set(r["reasons"]) & set(NEAR)}


def scores(should_remove: set, removed: set) -> dict:
    true_positive = len(should_remove & removed)
    precision = true_positive / len(removed) if removed else 1.0
    recall = true_positive / len(should_remove) if should_remove else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def evaluate_planted(threshold: float, seed: int) -> dict:
    originals, natural = unrelated(lee_documents() + wiki_documents())
    planted = plant(originals, share=0.5, variants=3, seed=seed)
    removed = dedup([{"id": p.id, "text": p.text} for p in planted],
                    "--minhash-threshold", str(threshold))
    copies = [p for p in planted if p.original]
    should = {p.id for p in copies if p.jaccard >= threshold}
    result = scores(should, set(removed))
    # Copies just under the threshold are the S-curve's uncertain zone, not mistakes of kind.
    near_miss = {p.id for p in copies if threshold - 0.05 <= p.jaccard < threshold}
    result["precision_zone"] = scores(should | near_miss, set(removed))["precision"]
    # Clusters: a copy at or above the threshold belongs with its original.
    truth = {p.id: (p.original if p.original and p.jaccard >= threshold else p.id) for p in planted}
    predicted = {p.id: removed.get(p.id, p.id) for p in planted}
    result["ari"] = adjusted_rand_index(truth, predicted)
    high = [p for p in copies if p.jaccard >= 0.85]
    result["recall_j085"] = sum(p.id in removed for p in high) / len(high)
    # Unrelated documents of one topic: the Lee originals. A removal that took one of them,
    # or that kept a document other than the copy's own original, is a false merge.
    of = {p.id: p.original for p in copies}
    false_merges = sum(1 for r, k in removed.items() if of.get(r) != k)
    result["precision_unrelated"] = 1 - false_merges / len(removed) if removed else 1.0
    result["documents"] = len(planted)
    result["natural_duplicates"] = len(natural)
    result["should_remove"] = len(should)
    result["by_edit"] = _by_edit(copies, removed, threshold)
    return result


def _by_edit(copies, removed, threshold):
    rows = collections.defaultdict(list)
    for p in copies:
        rows[(p.edit, p.rate)].append(p)
    return [(edit, rate, len(ps), sum(p.jaccard for p in ps) / len(ps),
             sum(p.jaccard >= threshold for p in ps), sum(p.id in removed for p in ps))
            for (edit, rate), ps in sorted(rows.items())]


def data_juicer_sets():
    """(name, documents, expected survivor texts, flags) from data-juicer's test file."""
    test = SHARED / "test_document_minhash_deduplicator.py"
    if not test.exists():
        return []
    tree = ast.parse(test.read_text())
    found = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        lists = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in ("ds_list", "tgt_list"):
                lists[node.targets[0].id] = [d["text"] for d in ast.literal_eval(node.value)]
        if len(lists) == 2:
            found.append((function.name.replace("test_", ""), lists["ds_list"], lists["tgt_list"]))
    return found


def evaluate_data_juicer(name, texts, survivors, threshold) -> dict:
    documents = [{"id": f"{name}-{i:03d}", "text": t} for i, t in enumerate(texts)]
    removed = set(dedup(documents, "--minhash-threshold", str(threshold)))
    remaining = collections.Counter(survivors)
    should = set()
    for document in documents:  # the first copy of a survivor's text survives
        if remaining[document["text"]] > 0:
            remaining[document["text"]] -= 1
        else:
            should.add(document["id"])
    result = scores(should, removed)
    result.update(documents=len(documents), should_remove=len(should))
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify", choices=("estimate", "exact"), default="exact",
                        help="how candidates are verified (the pipeline's --minhash-verify)")
    args = parser.parse_args(argv)
    global FLAGS
    FLAGS = ("--minhash-verify", args.verify)

    planted = evaluate_planted(args.threshold, args.seed)
    print(f"Near-duplicate text, threshold {args.threshold}, verify {args.verify} "
          f"(pipeline defaults otherwise)\n")
    print("| dataset | documents | to remove | precision | recall | F1 | ARI |")
    print("|---|---|---|---|---|---|---|")
    print(f"| planted (Lee news + Wikipedia) | {planted['documents']} | "
          f"{planted['should_remove']} | {planted['precision']:.3f} | {planted['recall']:.3f} | "
          f"{planted['f1']:.3f} | {planted['ari']:.3f} |")
    record("near_duplicate_text", "planted (Lee news + Wikipedia)", planted["precision"],
           planted["recall"], f"{planted['should_remove']:,} of {planted['documents']:,} docs")
    print(f"| planted, copies within 0.05 under the threshold not counted as errors | | | "
          f"{planted['precision_zone']:.3f} | | | |")
    for name, texts, survivors in data_juicer_sets():
        for threshold in sorted({args.threshold, 0.7}):
            r = evaluate_data_juicer(name, texts, survivors, threshold)
            print(f"| data-juicer {name} (threshold {threshold}) | {r['documents']} | "
                  f"{r['should_remove']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                  f"{r['f1']:.3f} | n/a |")
            record("near_duplicate_text", f"data-juicer {name} (threshold {threshold})",
                   r["precision"], r["recall"],
                   f"{r['should_remove']:,} of {r['documents']:,} docs")
    print(f"\n(The planted set starts from documents with no pair above Jaccard 0.5: "
          f"{planted['natural_duplicates']} near duplicates the Lee corpus holds were set aside.)")
    print(f"\nTargets on the planted set: recall on copies with true Jaccard >= 0.85: "
          f"{planted['recall_j085']:.3f} (target 0.95); precision on unrelated documents of "
          f"one topic: {planted['precision_unrelated']:.4f} (target 0.99)\n")
    print("| edit | rate | copies | mean true Jaccard | at/above threshold | removed |")
    print("|---|---|---|---|---|---|")
    for edit, rate, n, jaccard, above, removed in planted["by_edit"]:
        print(f"| {edit} | {rate:.3f} | {n} | {jaccard:.3f} | {above} | {removed} |")


if __name__ == "__main__":
    main()
