"""Semantic near-duplicates: the LSH + verification + clusters on planted embeddings, and
the whole job with a tiny random-weight CLIP (mechanics only: random weights mean nothing)."""

import json
import pathlib

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from schemas.settings import ClipSettings
from tests.broken_corpus import _tar
from tests.jobs import run_job
from tests.test_clip import TINY, jpeg
from tests.test_components import union_find_labels
from transforms.dedup.semantic import SemanticDuplicates


def planted(seed=0, originals=60, dims=32):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(originals):
        base = rng.standard_normal(dims)
        for j in range(3):
            vector = base + (0.15 * rng.standard_normal(dims) if j else 0)
            vector /= np.linalg.norm(vector)
            items.append((f"1\x00s\x00{len(items):012d}\x00u{len(items):04d}\x00r{len(items)}",
                          vector.astype("<f4").tobytes()))
    return items


def brute_force(items, threshold):
    vectors = np.stack([np.frombuffer(v, "<f4") for _, v in items])
    similar = vectors @ vectors.T
    edges = [(items[a][0], items[b][0]) for a in range(len(items))
             for b in range(a + 1, len(items)) if similar[a, b] >= threshold]
    labels = union_find_labels(edges)
    return sorted(node.split("\x00")[3] for node, root in labels.items() if node != root)


@pytest.mark.parametrize("bits, max_bucket", [(12, 256), (2, 4)])
def test_clusters_match_brute_force(bits, max_bucket):
    items = planted()
    expected = brute_force(items, 0.95)
    assert expected   # copies exist on both sides of the threshold
    pipeline = beam.Pipeline("DirectRunner")
    verdicts = (pipeline | beam.Create(items)
                | SemanticDuplicates(ClipSettings(threshold=0.95, bands=32, bits=bits, levels=2,
                                                seed=1, max_bucket=max_bucket, rounds=10)))
    assert_that(verdicts | beam.Map(lambda v: v.uid), equal_to(expected))
    pipeline.run().wait_until_finish()


def test_the_job_quarantines_a_re_encoded_copy(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY}\n  pretrained: null\n"
                      "  device: cpu\n  threshold: 0.999\n")
    members = [("a.jpg", jpeg("astronaut", quality=90)), ("a.txt", b"astronaut"),
               ("b.jpg", jpeg("astronaut", quality=40)), ("b.txt", b"astronaut, again"),
               ("c.jpg", jpeg("coffee")), ("c.txt", b"coffee"),
               ("d.jpg", jpeg("rocket")), ("d.txt", b"rocket")]
    _tar(tmp_path / "s.tar", members)
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
