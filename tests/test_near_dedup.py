"""Near-duplicate text on the DirectRunner: clusters, keep rule, hot buckets, cross-run index."""

import json
import random

from detectors.clusters import TEXT, duplicate_cluster
from pipeline.launch import main
from detectors.minhash import exact_jaccard
from tests.jobs import run_job
from tests.builders import document, edit, write_jsonl


def evidence(row):
    return json.loads(next(e["detail"] for e in row["evidence"]
                           if e["reason"].startswith("near_duplicate")))


def test_near_duplicates_are_clustered_and_the_first_is_kept(tmp_path):
    rng = random.Random(10)
    originals = [document(rng) for _ in range(30)]
    docs = [(f"orig-{i}", t) for i, t in enumerate(originals)]
    # Three edited copies of doc 0 (one word in 200 changed: Jaccard ~0.95), in a later file.
    copies = [(f"copy-{k}", edit(rng, originals[0], 1)) for k in range(3)]
    # A chain: 5 is edited into 5a, 5a into 5b (5b may be far from 5, but not from 5a).
    five_a = edit(rng, originals[5], 2)
    chain = [("five-a", five_a), ("five-b", edit(rng, five_a, 2))]
    write_jsonl(tmp_path / "a.jsonl", docs)
    write_jsonl(tmp_path / "b.jsonl", copies + chain)
    out = run_job(tmp_path / "out", [tmp_path / "*.jsonl"])

    kept = {r["id"] for r in out.cleaned_text}
    assert kept == {f"orig-{i}" for i in range(30)}
    removed = {r["id"]: r for r in out.quarantine}
    assert set(removed) == {"copy-0", "copy-1", "copy-2", "five-a", "five-b"}
    for name in ("copy-0", "copy-1", "copy-2"):
        row = removed[name]
        assert row["primary_reason"] == "near_duplicate_text"
        assert row["kept_id"] == "orig-0" and row["group_size"] == 4
        found = evidence(row)
        assert found["cluster_size"] == 4 and found["kept_id"] == "orig-0"
        assert found["similarity"] >= 0.8
    clusters = {evidence(removed[n])["cluster_id"] for n in ("copy-0", "copy-1", "copy-2")}
    assert len(clusters) == 1
    assert evidence(removed["five-b"])["kept_id"] == "orig-5"
    assert out.summary["reasons"] == {"near_duplicate_text": 5}


def test_exact_verification_compares_the_shingle_sets(tmp_path):
    rng = random.Random(14)
    original = document(rng)
    copy = edit(rng, original, 4)
    write_jsonl(tmp_path / "d.jsonl", [("a", original), ("b", copy), ("c", document(rng))])
    out = run_job(tmp_path / "out", [tmp_path / "d.jsonl"], "--minhash-verify", "exact")
    (row,) = out.quarantine
    assert row["id"] == "b" and row["kept_id"] == "a"
    assert evidence(row)["similarity"] == round(exact_jaccard(original, copy, 5), 4)


def test_a_hot_bucket_of_boilerplate_is_one_cluster(tmp_path):
    rng = random.Random(11)
    boilerplate = document(rng, 300)
    docs = [(f"page-{i:04d}", boilerplate + f" page {i}") for i in range(1500)]
    docs += [(f"other-{i}", document(rng)) for i in range(20)]
    write_jsonl(tmp_path / "pages.jsonl", docs)
    out = run_job(tmp_path / "out", [tmp_path / "pages.jsonl"], "--no-pii")  # dedup only
    assert {r["id"] for r in out.cleaned_text} == {"page-0000"} | {f"other-{i}" for i in range(20)}
    assert len(out.quarantine) == 1499
    assert {r["kept_id"] for r in out.quarantine} == {"page-0000"}
    assert {r["group_size"] for r in out.quarantine} == {1500}
    assert out.counters.get("records_in") == 1520


def test_second_run_removes_near_duplicates_of_what_the_first_kept(tmp_path):
    rng = random.Random(12)
    night_one = [(f"n1-{i}", document(rng)) for i in range(20)]
    night_one.append(("n1-copy", edit(rng, night_one[0][1], 1)))  # removed on night one
    write_jsonl(tmp_path / "night1.jsonl", night_one)
    first = run_job(tmp_path / "out1", [tmp_path / "night1.jsonl"],
                    "--index-out", str(tmp_path / "index1"))
    assert {r["id"] for r in first.quarantine} == {"n1-copy"}

    night_two = [(f"n2-{i}", document(rng)) for i in range(10)]
    night_two += [("n2-again-3", edit(rng, night_one[3][1], 2)),
                  ("n2-again-7", night_one[7][1]),
                  ("n2-copy-of-removed", night_one[20][1])]  # near n1-0, kept on night one
    write_jsonl(tmp_path / "night2.jsonl", night_two)
    second = run_job(tmp_path / "out2", [tmp_path / "night2.jsonl"],
                     "--index-in", str(tmp_path / "index1"),
                     "--index-out", str(tmp_path / "index2"))

    removed = {r["id"]: r for r in second.quarantine}
    assert set(removed) == {"n2-again-3", "n2-again-7", "n2-copy-of-removed"}
    assert {r["primary_reason"] for r in removed.values()} == {"near_duplicate_previous_run"}
    assert removed["n2-again-3"]["kept_id"] == "n1-3"
    assert removed["n2-again-7"]["kept_id"] == "n1-7"
    assert removed["n2-copy-of-removed"]["kept_id"] == "n1-0"
    # Night two's copy joins the cluster night one named after n1-0, so a reviewer's
    # decision on that cluster reaches it (the review loop).
    night_one_cluster = first.quarantine[0]["clusters"]
    assert removed["n2-copy-of-removed"]["clusters"] == night_one_cluster == [
        duplicate_cluster(TEXT, "n1-0")]
    # Night one's documents are never written again; night two's index holds night two only.
    assert {r["id"] for r in second.cleaned_text} == {f"n2-{i}" for i in range(10)}
    assert second.summary["records_in"] == 13
    index_two = second.table("..", "index2")
    assert {r["id"] for r in index_two} == {f"n2-{i}" for i in range(10)}


def test_an_index_with_other_signature_settings_is_refused(tmp_path, capsys):
    rng = random.Random(13)
    write_jsonl(tmp_path / "d.jsonl", [("a", document(rng))])
    assert main(["--input", str(tmp_path / "d.jsonl"), "--output", str(tmp_path / "o1"),
                 "--index-out", str(tmp_path / "idx"), "--minhash-num-perm", "128"]) == 0
    assert main(["--input", str(tmp_path / "d.jsonl"), "--output", str(tmp_path / "o2"),
                 "--index-in", str(tmp_path / "idx")]) == 2
    assert "num_perm=128 (this run: 256)" in capsys.readouterr().err
