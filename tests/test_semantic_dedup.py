"""Semantic near-duplicates: the LSH + verification + clusters on planted embeddings, and
the whole job with a tiny random-weight CLIP (mechanics only: random weights mean nothing)."""

import collections
import json
import pathlib

import numpy as np
import pytest

from detectors.clusters import IMAGE, SEMANTIC, duplicate_cluster
from detectors.hashing import digest
from schemas.reasons import Reason
from schemas.records import QUARANTINE
from schemas.settings import ClipSettings
from tests.jobs import run_job
from tests.builders import (TINY_CLIP, evidence, fingerprint, image_record, jpeg, record_nodes,
                            run_stage, sample, text_record, union_find_labels, write_tar)
from transforms.dedup.semantic import Embed, SemanticDuplicates


def planted(seed=0, originals=60, dims=32):
    """(uid, embedding) of 3 close copies of each of ``originals`` random vectors."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(originals):
        base = rng.standard_normal(dims)
        for j in range(3):
            vector = base + (0.15 * rng.standard_normal(dims) if j else 0)
            vector /= np.linalg.norm(vector)
            items.append((f"u{len(items):04d}", vector.astype("<f4").tobytes()))
    return items


def brute_force(items, threshold):
    """uid -> (kept id, cluster size) of every member but each cluster's first (uids sort
    in input order)."""
    vectors = np.stack([np.frombuffer(v, "<f4") for _, v in items])
    similar = vectors @ vectors.T
    edges = [(items[a][0], items[b][0]) for a in range(len(items))
             for b in range(a + 1, len(items)) if similar[a, b] >= threshold]
    labels = union_find_labels(edges)
    fps = {fp.uid: fp for fp in map(fingerprint, range(len(items)))}
    sizes = collections.Counter(labels.values())
    return {uid: (fps[root].id, sizes[root]) for uid, root in labels.items() if uid != root}


@pytest.mark.parametrize("bits, max_bucket", [(12, 256), (2, 4)])
def test_clusters_match_brute_force(bits, max_bucket):
    items = planted()
    expected = brute_force(items, 0.95)
    assert expected   # copies exist on both sides of the threshold
    verdicts = run_stage(SemanticDuplicates(ClipSettings(
        threshold=0.95, bands=32, bits=bits, levels=2, seed=1, max_bucket=max_bucket,
        rounds=10)), items, record_nodes(len(items))).main
    assert sorted(v.uid for v in verdicts) == sorted(expected)
    assert {v.uid: (v.representative_id, v.group_size) for v in verdicts} == expected
    assert {(v.reason, v.action) for v in verdicts} == {("semantic_duplicate_image", QUARANTINE)}
    for v in verdicts:
        found = evidence(v)
        assert (found["kept_id"], found["cluster_size"]) == expected[v.uid]
        assert found["cosine_similarity"] >= 0.95


def test_the_embed_stage_alone_embeds_valid_images_and_holds_back_what_fails():
    from detectors.clip import ClipEncoder
    settings = ClipSettings(enabled=True, model=TINY_CLIP, pretrained=None, device="cpu",
                            batch_size=3)
    images = [jpeg(sample("astronaut")), jpeg(sample("coffee"))]
    records = [image_record(0, images[0]), image_record(1, images[1]),
               text_record(2, "A text has no image."),
               image_record(3, images[0], defect=Reason.TRUNCATED_IMAGE),
               image_record(4, b"not an image")]
    ran = run_stage(Embed(settings), records, tags=("embeddings", "errors"))
    vectors = dict(ran["embeddings"])
    assert len(vectors) == len(ran["embeddings"]) == 2
    expected = ClipEncoder.shared(settings).embed_images(images)
    for record, vector in zip(records, expected):
        found = np.frombuffer(vectors[record.uid], "<f4")
        assert found.shape == (32,) and np.allclose(found, vector, atol=1e-5)
    [error] = ran["errors"]
    assert (error.uid, error.reason, error.action) == ("u0004", "detector_error", QUARANTINE)
    assert evidence(error)["detector"] == "clip"
    assert ran.counters("semantic_dedup") == {"images_embedded": 2, "embed_errors": 1}


def test_the_job_quarantines_a_re_encoded_copy(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n"
                      "  device: cpu\n  threshold: 0.999\n")
    members = [("a.jpg", jpeg(sample("astronaut"), quality=90)), ("a.txt", b"astronaut"),
               ("b.jpg", jpeg(sample("astronaut"), quality=40)), ("b.txt", b"astronaut, again"),
               ("c.jpg", jpeg(sample("coffee"))), ("c.txt", b"coffee"),
               ("d.jpg", jpeg(sample("rocket"))), ("d.txt", b"rocket")]
    write_tar(tmp_path / "s.tar", members)
    # Layouts run too: the embeddings also propose layout groups (none is found here).
    out = run_job(tmp_path / "out", [tmp_path / "s.tar"], "--config", str(policy), "--no-pii",
                  "--no-near-dedup-images", "--no-faces")
    held = {r["id"]: r for r in out.quarantine}
    assert set(held) == {"b"}
    detail = json.loads(held["b"]["evidence"][0]["detail"])
    assert held["b"]["reasons"] == ["semantic_duplicate_image"] and detail["kept_id"] == "a"
    assert detail["cosine_similarity"] >= 0.999 and detail["cluster_size"] == 2
    assert out.summary["conservation"]["ok"]


def test_missing_weights_stop_the_run_before_it_starts(tmp_path):
    from pipeline.launch import UsageError, run
    with pytest.raises(UsageError, match="clip: .*not in the Hugging Face cache"):
        run(["--input", str(pathlib.Path(__file__)), "--output", str(tmp_path / "o"),
             "--clip", "--clip-device", "cpu"])


def test_a_renamed_record_heads_its_clusters_under_its_public_id(tmp_path):
    # Two files claim the id "x": the second claimant is written as "x~<8 hex>" and is the
    # first copy of a picture that "y" repeats. Every stage must name it by that public id.
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n"
                      "  device: cpu\n  threshold: 0.999\nidentities:\n  min_records: 2\n")
    write_tar(tmp_path / "a.tar", [("x.jpg", jpeg(sample("coffee"))), ("x.txt", b"coffee")])
    write_tar(tmp_path / "b.tar", [("x.jpg", jpeg(sample("astronaut"), quality=90)),
                                   ("x.txt", b"astronaut"),
                                   ("y.jpg", jpeg(sample("astronaut"), quality=40)),
                                   ("y.txt", b"astronaut, again")])
    out = run_job(tmp_path / "out", [tmp_path / "a.tar", tmp_path / "b.tar"], "--config",
                  str(policy), "--no-pii")
    kept = {r["id"] for r in out.cleaned_image_text}
    [renamed] = [i for i in kept if i.startswith("x~")]
    assert kept == {"x", renamed}
    [held] = out.quarantine
    assert held["id"] == "y" and held["kept_id"] == renamed
    details = {e["reason"]: json.loads(e["detail"]) for e in held["evidence"]}
    assert {details[r]["kept_id"] for r in ("near_duplicate_image",
                                            "semantic_duplicate_image")} == {renamed}
    person = "person-" + digest(f"{renamed}/000".encode(), 8)
    assert held["clusters"] == sorted([duplicate_cluster(IMAGE, renamed),
                                       duplicate_cluster(SEMANTIC, renamed), person])
    assert {c["cluster_id"] for c in out.summary["top_clusters"]} == set(held["clusters"])
