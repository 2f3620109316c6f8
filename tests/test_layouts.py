"""Layout templates: fixed-area estimation on mockups the project renders from public-domain
photos, and the whole job (template_face, template_cluster, plain backgrounds left alone)."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from detectors.layout import best_layout, estimate, face_in_fixed, information, mask_png, thumbnail
from detectors.templates import template_id
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, FaceBox, Verdict
from schemas.settings import LayoutSettings
from evaluation.template_corpus import TEMPLATES, mockups
from tests.builders import (evidence, image_record, nodes_of, run_stage, text_record,
                            write_tar)
from tests.jobs import run_job
from transforms.templates.layouts import LayoutTemplates

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


def face_verdict(record, box):
    """A face verdict as the faces stage gives it: box (top, left, bottom, right) as
    fractions of the image, written in its pixels."""
    width, height = Image.open(io.BytesIO(record.image)).size
    top, left, bottom, right = box
    face = FaceBox(round(top * height), round(left * width), round(bottom * height),
                   round(right * width))
    return Verdict(uid=record.uid, reason="face", action="blur",
                   evidence=json.dumps({"count": 1, "faces": [{"box": list(face)}]}),
                   representative_id=None, group_size=None, faces=[face])


def caption_verdict(record, template):
    return Verdict(uid=record.uid, reason="caption_template", action=FLAG,
                   evidence=json.dumps({"template": template,
                                        "template_id": template_id(template)}),
                   representative_id=None, group_size=10,
                   cluster=template_id(template))


def test_the_stage_alone_holds_face_templates_caps_others_and_leaves_plain_ones(rows):
    records = [image_record(i, data, caption, id=key, source="shop.tar")
               for i, (key, data, caption, _) in enumerate(rows)]
    by_name = {r.id: r for r in records}
    faces = [face_verdict(by_name[f"tee-{i:03d}"], [0.15, 0.34, 0.33, 0.52]) for i in range(10)]
    templates = [caption_verdict(r, "<*> " + BY_NAME[name].product.lower())
                 for r, (_, _, _, name) in zip(records, rows)]
    others = [text_record(100, "A text has no image."),
              image_record(101, b"not an image", "validated, then the decoder fails"),
              image_record(102, rows[0][1], "held back", defect=Reason.TRUNCATED_IMAGE)]
    ran = run_stage(LayoutTemplates(SETTINGS), records + others,
                    nodes_of(records + others), faces, templates, [])
    ids = {r.uid: r.id for r in records + others}
    verdicts = {ids[v.uid]: v for v in ran.main}
    assert len(verdicts) == len(ran.main)
    error = verdicts.pop("r101")
    assert (error.reason, evidence(error)["detector"]) == ("detector_error", "layouts")
    tees = {f"tee-{i:03d}" for i in range(10)}
    mugs = {f"mug-{i:03d}" for i in range(10)}
    assert set(verdicts) == tees | mugs   # the pillows' plain background: no verdict
    for key in tees:
        v, found = verdicts[key], evidence(verdicts[key])
        assert (v.reason, v.action, v.group_size) == ("template_face", QUARANTINE, 10)
        assert found["cluster_size"] == 10 and found["face_in_fixed"] and not found["kept"]
        assert found["similarity"] >= 0.9 and 0.7 < found["fixed_fraction"] < 0.95
    kept = sorted(k for k in mugs if verdicts[k].action == FLAG)
    assert kept == ["mug-000", "mug-001", "mug-002"]   # the first 3 in input order
    for key in mugs:
        v, found = verdicts[key], evidence(verdicts[key])
        assert (v.reason, v.group_size) == ("template_cluster", 10)
        assert found["kept"] == (key in kept) and not found["face_in_fixed"]
        assert v.action == (FLAG if key in kept else QUARANTINE)
    assert len({evidence(verdicts[k])["cluster_id"] for k in tees}) == 1
    assert ran.counters("layouts")["uninformative_layouts"] == 1


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
