"""Caption templates: slot masking, candidates, the choice of a record's template, and the
mining transform on a made-up shop (templates nobody listed are found)."""

import json

from detectors.templates import candidates, choose, slot, tokens
from schemas.settings import TemplateSettings
from schemas.reasons import Reason
from schemas.records import FLAG, make_record
from tests.builders import run_stage
from transforms.templates.captions import CaptionTemplates

DESIGNS = ["Floral Pattern", "Retro Sunset", "Mountain Lake", "Abstract Waves", "Geometric Fox",
           "Vintage Rose", "Neon Cat", "Tropical Leaves", "Galaxy Swirl", "Pixel Heart",
           "Ocean Whale", "Desert Cactus"]


def test_slots_are_masked_and_titles_kept_whole():
    assert tokens('Blue "Sunset Vibes" Throw Pillow, 18x18') == \
        ["blue", "<title>", "throw", "pillow", "18x18"]
    assert [slot(t) for t in ["blue", "xl", "18x18", "12oz", "t-shirt", "<title>"]] == \
        ["<colour>", "<size>", "<number>", "<number>", "t-shirt", "<title>"]


def test_candidates_keep_a_content_word_fixed_and_a_filler_free():
    found = dict(candidates("Floral Pattern Unisex T-Shirt", TemplateSettings()))
    assert found["<*> unisex t-shirt"] == "floral pattern"
    assert found["floral <*>"] == "pattern unisex t-shirt"
    assert "<*>" not in found.values() and all("<*>" in t for t in found)
    assert list(candidates("the a", TemplateSettings())) == []   # no content word
    assert list(candidates("x " * 50, TemplateSettings())) == []  # prose length


def test_the_most_specific_template_that_keeps_the_variety_wins():
    mined = [("<*> t-shirt", 40, 30, "floral pattern unisex"),
             ("<*> unisex t-shirt", 24, 24, "floral pattern"),
             ("floral <*> unisex t-shirt", 12, 6, "pattern")]
    assert choose(mined, 0.5)[0] == "<*> unisex t-shirt"
    assert choose(mined, 0.1)[0] == "floral <*> unisex t-shirt"
    assert choose([], 0.5) is None


def shop():
    captions = [f"{d} Unisex T-Shirt" for d in DESIGNS] + \
        [f"{d} Throw Pillow 18x18" for d in DESIGNS] + \
        [f"Shower Curtain - {d}" for d in DESIGNS[:8]] + \
        ["A dog running on the beach", "Sunset over the mountains", "Portrait of a woman",
         "Two cats on a sofa", "Unisex T-Shirt"]
    return [make_record(uid=f"u{i:03d}", id=f"r{i}", kind="image_text", source="s",
                        position=i, location=str(i), caption=c, image=b"x")
            for i, c in enumerate(captions)]


def test_templates_nobody_listed_are_mined_from_the_corpus():
    settings = TemplateSettings(min_records=8, min_fillers=5)
    # Neither a text nor a bad image counts towards a template: only valid captions do.
    ignored = [make_record(uid="u900", id="t900", kind="text", source="t", position=0,
                           location="line 1", text="Zebra Stripes Unisex T-Shirt"),
               make_record(uid="u901", id="r901", kind="image_text", source="s", position=99,
                           location="99", caption="Zebra Stripes Unisex T-Shirt",
                           image=b"x", defect=Reason.UNDECODABLE_IMAGE)]
    verdicts = run_stage(CaptionTemplates(settings), shop() + ignored).main
    by_uid = {v.uid: json.loads(v.evidence) for v in verdicts}
    assert {v.action for v in verdicts} == {FLAG}
    templates = {uid: e["template"] for uid, e in by_uid.items()}
    assert set(templates[f"u{i:03d}"] for i in range(32)) == {
        "<*> unisex t-shirt", "<*> throw pillow <number>", "shower curtain <*>"}
    shirt = by_uid["u000"]
    assert shirt["filler"] == "floral pattern" and shirt["template_records"] == 12
    assert shirt["template_fillers"] == 12
    assert by_uid["u024"]["template"] == "shower curtain <*>"
    # Unrelated captions are in no template; the bare product name cannot be "<*> unisex
    # t-shirt" (no filler), and falls under the wider "<*> t-shirt".
    assert not {f"u{i:03d}" for i in range(32, 36)} & set(by_uid)
    assert templates["u036"] == "<*> t-shirt" and by_uid["u036"]["filler"] == "unisex"
    assert not {"u900", "u901"} & set(by_uid)
    assert {v.reason for v in verdicts} == {"caption_template"}
    assert all(v.group_size == by_uid[v.uid]["template_records"] for v in verdicts)
