"""Near-duplicate text: the stage alone (clusters, keep rule, verification, hot buckets, an
earlier run's index) and the whole job (decisions, the index across two nights)."""

import json
import random

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from detectors.clusters import TEXT, duplicate_cluster
from detectors.minhash import estimated_jaccard, exact_jaccard, signature_format
from pipeline.launch import main
from schemas.arrow import index_schema
from schemas.records import QUARANTINE
from schemas.settings import NearTextSettings
from tests.builders import checked, document, edit, evidence, run_stage, text_record, write_jsonl
from tests.jobs import run_job
from transforms.dedup.near_text import NearDuplicateText
from tests.nights import index_rows
from transforms.io.index import ReadIndex, previous_sketch


def row_evidence(row):
    return json.loads(next(e["detail"] for e in row["evidence"]
                           if e["reason"].startswith("near_duplicate")))


class WithIndex(beam.PTransform):
    """NearDuplicateText with an earlier run's index (Parquet, as a run writes it) read by
    ReadIndex: the graph's wiring of --index-in."""

    def __init__(self, settings, index_files):
        super().__init__()
        self.settings, self.index_files = settings, index_files

    def expand(self, fingerprints):
        previous = (fingerprints.pipeline | "PreviousRuns" >> ReadIndex(self.index_files, "text")
                    | beam.Map(previous_sketch))
        return fingerprints | NearDuplicateText(self.settings, previous=previous)


def write_index(path, kept, settings):
    """An earlier run's index of its kept documents (id, text)."""
    _, fingerprints = checked([text_record(i, t, id=k) for i, (k, t) in enumerate(kept)],
                              near_text=settings)
    rows = [{"id": fp.id, "minhash": fp.minhash, "root": fp.id, "order": f"0\x00{fp.id}"}
            for fp in fingerprints]
    pq.write_table(pa.Table.from_pylist(rows, schema=index_schema(signature_format(settings))),
                   path)
    return {fp.id: fp.minhash for fp in fingerprints}


def test_the_stage_alone_keeps_the_first_and_what_an_earlier_run_kept(tmp_path):
    rng = random.Random(10)
    originals = [document(rng) for _ in range(8)]
    night_one = [("n1-3", document(rng)), ("n1-7", document(rng))]
    solo = document(rng)
    docs = [(f"orig-{i}", t) for i, t in enumerate(originals)] + [("solo", solo)]
    # Later in input order: three edited copies of orig-0 (Jaccard ~0.95); a chain (orig-5
    # edited into five-a, five-a into five-b: five-b may be far from orig-5, not from
    # five-a); a copy of solo with 4 edits; copies of what night one kept.
    five_a = edit(rng, originals[5], 2)
    later = [(f"copy-{k}", edit(rng, originals[0], 1)) for k in range(3)]
    later += [("five-a", five_a), ("five-b", edit(rng, five_a, 2)),
              ("solo-copy", edit(rng, solo, 4)),
              ("again-3", edit(rng, night_one[0][1], 2)), ("again-7", night_one[1][1])]
    records = [text_record(i, t, id=k, source="a.jsonl") for i, (k, t) in enumerate(docs)]
    records += [text_record(100 + i, t, id=k, source="b.jsonl", position=i)
                for i, (k, t) in enumerate(later)]
    _, fingerprints = checked(records)
    settings = NearTextSettings()
    signatures = write_index(tmp_path / "index.parquet", night_one, settings)
    signatures.update({fp.id: fp.minhash for fp in fingerprints})
    ids = {fp.uid: fp.id for fp in fingerprints}

    ran = run_stage(WithIndex(settings, [str(tmp_path / "index.parquet")]), fingerprints)
    verdicts = {ids[v.uid]: v for v in ran.main}
    assert len(verdicts) == len(ran.main)
    assert set(verdicts) == {"copy-0", "copy-1", "copy-2", "five-a", "five-b", "solo-copy",
                             "again-3", "again-7"}   # night one's documents never re-emitted
    kept = {name: v.representative_id for name, v in verdicts.items()}
    assert kept == {"copy-0": "orig-0", "copy-1": "orig-0", "copy-2": "orig-0",
                    "five-a": "orig-5", "five-b": "orig-5", "solo-copy": "solo",
                    "again-3": "n1-3", "again-7": "n1-7"}
    for name, v in verdicts.items():
        found = evidence(v)
        assert v.action == QUARANTINE and found["kept_id"] == v.representative_id
        assert found["cluster_size"] == v.group_size and found["similarity"] >= 0.8
        assert found["cluster_id"] == duplicate_cluster(TEXT, v.representative_id)
        previous = name.startswith("again")
        assert v.reason == ("near_duplicate_previous_run" if previous else "near_duplicate_text")
    assert {verdicts[f"copy-{k}"].group_size for k in range(3)} == {4}
    assert verdicts["five-b"].group_size == 3 and verdicts["again-3"].group_size == 2
    # Tonight's pair is verified on its shingle sets, an indexed document by its signature.
    assert evidence(verdicts["solo-copy"])["similarity"] == round(
        exact_jaccard(solo, later[5][1], settings.ngram), 4)
    assert evidence(verdicts["again-3"])["similarity"] == round(
        estimated_jaccard(signatures["n1-3"], signatures["again-3"]), 4)
    assert evidence(verdicts["again-7"])["similarity"] == 1.0


def test_a_hot_bucket_of_boilerplate_is_one_cluster():
    rng = random.Random(11)
    boilerplate = document(rng, 300)
    docs = [(f"page-{i:04d}", boilerplate + f" page {i}") for i in range(1500)]
    docs += [(f"other-{i}", document(rng)) for i in range(20)]
    _, fingerprints = checked([text_record(i, t, id=k) for i, (k, t) in enumerate(docs)])
    ids = {fp.uid: fp.id for fp in fingerprints}
    ran = run_stage(NearDuplicateText(NearTextSettings()), fingerprints)
    removed = {ids[v.uid] for v in ran.main}
    kept = {fp.id for fp in fingerprints} - removed
    assert kept == {"page-0000"} | {f"other-{i}" for i in range(20)}
    assert len(ran.main) == 1499
    assert {v.representative_id for v in ran.main} == {"page-0000"}
    assert {v.group_size for v in ran.main} == {1500}
    counters = ran.counters("near_dedup_text")
    assert counters["clusters"] == 1 and counters["removed"] == 1499


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
        found = row_evidence(row)
        assert found["cluster_size"] == 4 and found["kept_id"] == "orig-0"
        assert found["similarity"] >= 0.8
    clusters = {row_evidence(removed[n])["cluster_id"] for n in ("copy-0", "copy-1", "copy-2")}
    assert len(clusters) == 1
    assert row_evidence(removed["five-b"])["kept_id"] == "orig-5"
    assert out.summary["reasons"] == {"near_duplicate_text": 5}


def test_second_run_removes_near_duplicates_of_what_the_first_kept(tmp_path):
    rng = random.Random(12)
    night_one = [(f"n1-{i}", document(rng)) for i in range(20)]
    night_one.append(("n1-copy", edit(rng, night_one[0][1], 1)))  # removed on night one
    write_jsonl(tmp_path / "night1.jsonl", night_one)
    near_only = "--no-exact-dedup-text"   # exact copies: tests/test_nights.py
    first = run_job(tmp_path / "out1", [tmp_path / "night1.jsonl"], near_only,
                    "--index-out", str(tmp_path / "index1"))
    assert {r["id"] for r in first.quarantine} == {"n1-copy"}

    night_two = [(f"n2-{i}", document(rng)) for i in range(10)]
    night_two += [("n2-again-3", edit(rng, night_one[3][1], 2)),
                  ("n2-again-7", night_one[7][1]),
                  ("n2-copy-of-removed", night_one[20][1])]  # near n1-0, kept on night one
    write_jsonl(tmp_path / "night2.jsonl", night_two)
    second = run_job(tmp_path / "out2", [tmp_path / "night2.jsonl"], near_only,
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
    # Night one's documents are never written again; night two's index is the running one,
    # both nights' texts, so night three reads it alone.
    assert {r["id"] for r in second.cleaned_text} == {f"n2-{i}" for i in range(10)}
    assert second.summary["records_in"] == 13
    # Every text, each with the cluster it is in (its root: itself when none), but exact
    # copies in one cluster: one row stands for them (n1-7 for n2-again-7, n1-copy for
    # n2-copy-of-removed).
    roots = {r["id"]: r["root"] for r in index_rows(tmp_path / "index2", "text")}
    assert set(roots) == {k for k, _ in night_one + night_two} - {"n2-again-7",
                                                                  "n2-copy-of-removed"}
    assert (roots["n1-copy"], roots["n2-again-3"]) == ("n1-0", "n1-3")
    assert roots["n1-5"] == "n1-5" and roots["n2-4"] == "n2-4"


def test_an_index_with_other_signature_settings_is_refused(tmp_path, capsys):
    rng = random.Random(13)
    write_jsonl(tmp_path / "d.jsonl", [("a", document(rng))])
    assert main(["--input", str(tmp_path / "d.jsonl"), "--output", str(tmp_path / "o1"),
                 "--index-out", str(tmp_path / "idx"), "--minhash-num-perm", "128"]) == 0
    assert main(["--input", str(tmp_path / "d.jsonl"), "--output", str(tmp_path / "o2"),
                 "--index-in", str(tmp_path / "idx")]) == 2
    assert "num_perm=128 (this run: 256)" in capsys.readouterr().err
