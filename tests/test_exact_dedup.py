"""Exact duplicates (transforms/dedup/exact.py) alone on the DirectRunner: texts by their
normalized text, images by their decoded pixels, the first in input order kept."""

from schemas.records import QUARANTINE
from schemas.settings import ExactDedupSettings
from tests.builders import checked, encode, evidence, image_record, picture, run_stage, text_record
from transforms.dedup.exact import ExactDedup


def corpus():
    """Fingerprints as the validate stage makes them. Input order is (source, position), not
    the order listed: "first" comes first as a.jsonl sorts before b.jsonl."""
    png = encode(picture(11))
    records = [
        text_record(0, "the same text", id="second", source="b.jsonl", position=0),
        text_record(1, "The Same  text", id="first", source="a.jsonl", position=5),
        text_record(2, "\uff34he same\ttext ", id="third", source="b.jsonl", position=1),
        text_record(3, "different text", id="other", source="a.jsonl", position=6),
        image_record(4, encode(picture(11), "WEBP", lossless=True), "another caption", id="k2",
                     position=3),
        image_record(5, png, "one caption", id="k1", position=0),
        image_record(6, png, "third", id="k3", position=4),
        image_record(7, encode(picture(12)), "unrelated", id="k4", position=5),
    ]
    fingerprints = checked(records)[1]
    return fingerprints, {fp.uid: fp.id for fp in fingerprints}


def test_duplicates_keep_the_first_in_input_order_whatever_the_caption():
    fingerprints, ids = corpus()
    ran = run_stage(ExactDedup(ExactDedupSettings()), fingerprints)
    verdicts = {ids[v.uid]: v for v in ran.main}
    assert len(verdicts) == len(ran.main)   # one verdict per duplicate
    assert set(verdicts) == {"second", "third", "k2", "k3"}
    assert {v.action for v in verdicts.values()} == {QUARANTINE}
    for name in ("second", "third"):
        v = verdicts[name]
        assert v.reason == "exact_duplicate_text"
        assert (v.representative_id, v.group_size) == ("first", 3)
        assert (evidence(v)["kept_id"], evidence(v)["group_size"]) == ("first", 3)
    for name, match in (("k2", "identical_pixels"), ("k3", "identical_bytes")):
        v = verdicts[name]
        assert v.reason == "exact_duplicate_image"
        assert (v.representative_id, v.group_size) == ("k1", 3)
        assert (evidence(v)["kept_id"], evidence(v)["match"]) == ("k1", match)
    assert ran.counters("exact_dedup") == {
        "exact_duplicate_text_groups": 1, "exact_duplicate_text_removed": 2,
        "exact_duplicate_image_groups": 1, "exact_duplicate_image_removed": 2}


def test_each_kind_can_be_turned_off():
    fingerprints, ids = corpus()
    texts_only = run_stage(ExactDedup(ExactDedupSettings(images=False)), fingerprints).main
    assert sorted(ids[v.uid] for v in texts_only) == ["second", "third"]
    assert run_stage(ExactDedup(ExactDedupSettings(text=False, images=False)),
                     fingerprints).main == []
