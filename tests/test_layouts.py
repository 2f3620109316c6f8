"""Layout templates: fixed-area estimation on mockups the project renders from public-domain
photos, and the whole job (template_face, template_cluster, plain backgrounds left alone)."""

import json

import numpy as np
import pytest

from detectors.layout import best_layout, estimate, face_in_fixed, information, mask_png, thumbnail
from schemas.settings import LayoutSettings
from evaluation.template_corpus import TEMPLATES, mockups
from tests.builders import write_tar
from tests.jobs import run_job

SETTINGS = LayoutSettings()
BY_NAME = {t.name: t for t in TEMPLATES}


@pytest.fixture(scope="module")
def rows():
    return mockups(designs=10, templates=[BY_NAME[n] for n in ("tee", "mug", "pillow")])


def thumbs_of(rows, name):
    return [thumbnail(data, SETTINGS.side)[0] for _, data, _, t in rows if t == name]


def test_the_fixed_area_is_the_photo_around_the_product(rows):
    [layout] = estimate(thumbs_of(rows, "tee"), SETTINGS, "tee")
    assert 0.7 < layout.fixed_fraction < 0.95 and layout.sample_members == 10
    area = BY_NAME["tee"].area   # the product area changes: not fixed
    side = SETTINGS.side
    product = layout.fixed[int(area[1] * side) + 2:int(area[3] * side) - 2,
                           int(area[0] * side) + 2:int(area[2] * side) - 2]
    assert product.mean() < 0.1
    assert layout.information > SETTINGS.min_information
    # Her face (top middle) lies in the fixed area; the product area does not.
    assert face_in_fixed([0.15, 0.34, 0.33, 0.52], layout.fixed)
    assert not face_in_fixed([area[1], area[0], area[3], area[2]], layout.fixed)
    assert mask_png(layout.fixed).startswith(b"\x89PNG")


def test_a_plain_background_holds_no_information(rows):
    [layout] = estimate(thumbs_of(rows, "pillow"), SETTINGS, "pillow")
    assert layout.fixed_fraction > 0.5 and layout.information < 0.5 < SETTINGS.min_information
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    assert information(noise, np.ones((64, 64), bool)) > 20


def test_a_mixed_group_yields_one_layout_per_photo_and_strangers_match_none(rows):
    tee, mug = thumbs_of(rows, "tee"), thumbs_of(rows, "mug")
    layouts = estimate(tee[:7] + mug, SETTINGS, "mixed")
    assert sorted(layout.sample_members for layout in layouts) == [7, 10]
    assert best_layout(tee[8], layouts, SETTINGS)[0].sample_members == 7
    stranger = np.full((64, 64, 3), 128, np.uint8)
    assert best_layout(stranger, layouts, SETTINGS) is None


def test_the_job_holds_face_templates_caps_others_and_leaves_plain_ones(rows, tmp_path):
    members = []
    for key, data, caption, _ in rows:
        members += [(f"{key}.jpg", data), (f"{key}.txt", caption.encode())]
    write_tar(tmp_path / "shop.tar", members)
    out = run_job(tmp_path / "out", [tmp_path / "shop.tar"], "--no-pii",
                  "--no-near-dedup-images", "--no-identities")
    held = {r["id"]: r for r in out.quarantine}
    kept = {r["id"]: r for r in out.cleaned_image_text}
    tees = {f"tee-{i:03d}" for i in range(10)}
    assert tees <= set(held)
    for key in tees:
        evidence = {e["reason"]: json.loads(e["detail"]) for e in held[key]["evidence"]}
        layout = evidence["template_face"]
        assert layout["cluster_size"] == 10 and layout["face_in_fixed"]
        assert layout["similarity"] >= 0.9 and 0.7 < layout["fixed_fraction"] < 0.95
    mugs_held = sorted(k for k in held if k.startswith("mug"))
    assert mugs_held == [f"mug-{i:03d}" for i in range(3, 10)]   # the first 3 are kept
    for key in ("mug-000", "mug-001", "mug-002"):
        flags = {f["reason"]: json.loads(f["detail"]) for f in kept[key]["flags"]}
        assert flags["template_cluster"]["kept"] and flags["template_cluster"]["cluster_size"] == 10
        assert flags["caption_template"]["template"] == "<*> coffee mug"
    for key in (f"pillow-{i:03d}" for i in range(10)):
        assert key in kept
        assert {f["reason"] for f in kept[key]["flags"]} == {"caption_template"}
    assert out.summary["flagged"]["template_cluster"] == 3
    assert out.summary["flagged"]["caption_template"] == 13   # 3 mugs + 10 pillows
    assert out.summary["reasons"]["template_face"] == 10
    # The riskiest cluster first: the mockups around a real person.
    top = out.summary["top_clusters"][0]
    assert top["reason"] == "template_face" and top["risk"] >= 0.8 and top["size"] == 10
    assert top["records"] == top["quarantined"] == 10
    assert top["examples"] == [f"tee-{i:03d}" for i in range(5)]
    ranked = [c["risk"] for c in out.summary["top_clusters"]]
    assert ranked == sorted(ranked, reverse=True)
    assert out.summary["conservation"]["ok"]


def test_clip_embeddings_propose_groups_of_their_own():
    from transforms.templates.layouts import CLIP_KEYS, _groups
    vector = np.random.default_rng(0).standard_normal(32).astype("<f4")
    vector /= np.linalg.norm(vector)
    keys = CLIP_KEYS.top(vector.tobytes())
    thumb = np.zeros((64, 64, 3), np.uint8).tobytes()
    groups = [g for g, _ in _groups(("n", thumb, 100, 80, None, [], keys), 64)]
    assert [g[0] for g in groups] == ["border", "clip", "clip", "clip", "clip"]
    assert {g[1:3] for g in groups} == {(100, 80)}
