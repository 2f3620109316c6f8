"""The input stages alone on the DirectRunner: ValidateRecords (transforms/io/validate.py:
every record checked, one fingerprint each, the keys the enabled stages compare) and
AssignIds (transforms/io/ids.py: public ids unique, the first claimant keeps its id)."""

from schemas.reasons import Reason
from schemas.settings import InputSettings, NearImageSettings, NearTextSettings
from tests.builders import encode, fingerprint, image_record, picture, run_stage, text_record
from transforms.io.ids import AssignIds
from transforms.io.validate import ValidateRecords

LIMITS = InputSettings(max_text_chars=60)
GOOD = "A good document about rivers and bread."


def records():
    png = encode(picture(1))
    return [text_record(0, GOOD), text_record(1, "   "), text_record(2, "long " * 20),
            text_record(3, None, defect=Reason.MALFORMED_JSON, raw=b'{"id": ',
                        defect_detail="a parser's finding"),
            image_record(4, png, "a kite"), image_record(5, b"\x00garbage", "undecodable"),
            image_record(6, png, None)]


def validated(near_text=NearTextSettings(), near_images=NearImageSettings()):
    ran = run_stage(ValidateRecords(LIMITS, near_text, near_images), records(),
                    tags=("records", "fingerprints"))
    return ({r.uid: r for r in ran["records"]}, {fp.uid: fp for fp in ran["fingerprints"]},
            len(ran["records"]), len(ran["fingerprints"]))


def test_every_record_is_checked_and_gets_one_fingerprint():
    checked, fingerprints, n_records, n_fingerprints = validated()
    assert n_records == n_fingerprints == len(checked) == len(fingerprints) == 7
    assert set(checked) == set(fingerprints) == {r.uid for r in records()}
    defects = {r.id: r.defect for r in checked.values()}
    assert defects == {"r0": None, "r1": "empty_text", "r2": "text_too_long",
                       "r3": "malformed_json", "r4": None, "r5": "undecodable_image",
                       "r6": "missing_caption"}
    assert all(checked[u].defect_detail for u in checked if checked[u].defect)
    assert checked["u0003"].defect_detail == "a parser's finding"   # kept as it came
    text, image = fingerprints["u0000"], fingerprints["u0004"]
    assert text.text_key and text.minhash and text.shingles   # verify="exact" keeps shingles
    assert (text.pixel_key, text.phash) == (None, None)
    assert image.pixel_key and image.bytes_key and len(image.phash) == 8
    assert (checked["u0004"].width, checked["u0004"].height) == (64, 48)
    # Bad records have fingerprints without keys: nothing compares them.
    for uid in ("u0001", "u0002", "u0003", "u0005", "u0006"):
        fp = fingerprints[uid]
        assert (fp.text_key, fp.pixel_key, fp.bytes_key, fp.minhash, fp.phash) == (None,) * 5


def test_signatures_only_for_the_stages_that_compare_them():
    _, fingerprints, _, _ = validated(NearTextSettings(verify="estimate"),
                                      NearImageSettings(enabled=False))
    text, image = fingerprints["u0000"], fingerprints["u0004"]
    assert text.minhash and text.shingles is None
    assert image.pixel_key and image.phash is None
    _, fingerprints, _, _ = validated(NearTextSettings(enabled=False))
    assert fingerprints["u0000"].text_key and fingerprints["u0000"].minhash is None


def test_the_first_claimant_keeps_its_id_and_the_others_are_renamed_stably():
    claims = [fingerprint(0, id="7", source="b.jsonl", position=0),
              fingerprint(1, id="7", source="a.jsonl", position=3),
              fingerprint(2, id="7", source="a.jsonl", position=9),
              fingerprint(3, id="x", source="a.jsonl", position=4)]
    ran = run_stage(AssignIds(), claims)
    ids = {fp.uid: fp.id for fp in ran.main}
    assert ids == {"u0001": "7", "u0000": "7~u0000", "u0002": "7~u0002", "u0003": "x"}
    assert ran.counters("ids") == {"renamed_to_unique": 2}
    assert {fp.uid: fp._replace(id=None) for fp in ran.main} == {
        fp.uid: fp._replace(id=None) for fp in claims}   # only the id changes
    # The same claims in another order: the same ids.
    again = run_stage(AssignIds(), claims[::-1]).main
    assert {fp.uid: fp.id for fp in again} == ids
