"""Decide (transforms/decide/decide.py) alone on the DirectRunner: records, fingerprints and
every stage's verdicts in; cleaned rows (redacted, blurred, flagged), quarantine rows (reasons,
kept id, group size, clusters), tallies and clusters out."""

import collections
import io
import json

import pytest
from PIL import Image

from detectors.clusters import TEXT, duplicate_cluster, exact_cluster
from detectors.faces import scan_faces
from detectors.pii.spans import Finding
from pipeline.policy import load_policy
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, Verdict
from schemas.review import CLUSTER, RECORD, REJECT, RELEASE, Decision, key
from schemas.settings import FaceSettings
from tests.builders import HOPPER, checked, image_record, jpeg, run_stage, sample, text_record
from transforms.decide.decide import CLUSTERS, QUARANTINED, TALLY, Decide
from transforms.people.faces import face_verdict
from transforms.pii import pii_verdicts

EMAIL = "maria.lopez@example.com"
TAGS = ("text", "image_text", QUARANTINED, TALLY, CLUSTERS)


def duplicate(uid, reason, kept, size, cluster, **evidence):
    return Verdict(uid=uid, reason=reason, action=QUARANTINE,
                   evidence=json.dumps({"kept_id": kept, "group_size": size, **evidence}),
                   representative_id=kept, group_size=size, cluster=cluster)


def decision(scope, id, value):
    return Decision(scope=scope, id=id, decision=value, reviewer="ana", note="looked at it",
                    reviewed_at="2025-01-02T03:04:05Z", source="review.csv:2")


@pytest.fixture(scope="module")
def decided(hopper_scan):
    coffee = jpeg(sample("coffee"))
    records, fingerprints = checked([
        text_record(0, "The ferry timetable changes on the first of the month.", id="clean"),
        text_record(1, f"Write to {EMAIL} about the order.", id="contact"),
        text_record(2, "The ferry timetable changes on the first of the month!", id="dup"),
        text_record(3, None, id="bad", defect=Reason.MALFORMED_JSON, raw=b'{"id": "bad", ',
                    defect_detail="line 4: Expecting value"),
        text_record(4, "A note a reviewer rejected.", id="reviewed"),
        text_record(5, "A copy a reviewer released.", id="released"),
        image_record(6, HOPPER, "Grace Hopper", id="blurred"),
        image_record(7, coffee, "coffee, flagged", id="flagged"),
        image_record(8, coffee, "coffee, held", id="held"),
    ])
    uid = {r.id: r.uid for r in records}
    # AssignIds renamed one public id: the rows carry the fingerprint's id.
    fingerprints = [fp._replace(id="clean~1") if fp.id == "clean" else fp for fp in fingerprints]
    contact = next(r for r in records if r.id == "contact")
    start = contact.text.index(EMAIL)
    faces, scan = load_policy().faces, hopper_scan
    near = duplicate_cluster(TEXT, "clean~1")
    verdicts = (
        pii_verdicts(contact, {"text": [Finding("EMAIL_ADDRESS", start, start + len(EMAIL), 1.0,
                                                "OfflineEmailRecognizer")]}, load_policy().pii)
        + [duplicate(uid["dup"], "exact_duplicate_text", "clean~1", 2, exact_cluster("ab" * 16),
                     key="ab" * 16),
           duplicate(uid["dup"], "near_duplicate_text", "clean~1", 3, near, cluster_id=near,
                     similarity=0.9),
           duplicate(uid["released"], "exact_duplicate_text", "clean~1", 2,
                     exact_cluster("cd" * 16), key="cd" * 16),
           face_verdict(uid["blurred"], scan, faces),
           face_verdict(uid["flagged"], scan, FaceSettings(action="keep")),
           face_verdict(uid["held"], scan, FaceSettings(action="quarantine")),
           duplicate("nobody", "exact_duplicate_text", "clean~1", 2, exact_cluster("ef" * 16),
                     key="ef" * 16)])
    decisions = {key(RECORD, "reviewed"): decision(RECORD, "reviewed", REJECT),
                 key(CLUSTER, exact_cluster("cd" * 16)): decision(
                     CLUSTER, exact_cluster("cd" * 16), RELEASE)}
    ran = run_stage(Decide(decisions, faces), records, fingerprints, verdicts, tags=TAGS)
    return ran, {fp.id: fp for fp in fingerprints}


def rows_by_id(ran, tag):
    rows = {r["id"]: r for r in ran[tag]}
    assert len(rows) == len(ran[tag])
    return rows


def test_every_record_leaves_once_and_orphan_verdicts_are_counted(decided):
    ran, _ = decided
    text, images, held = (rows_by_id(ran, t) for t in ("text", "image_text", QUARANTINED))
    assert set(text) == {"clean~1", "contact", "released"}
    assert set(images) == {"blurred", "flagged"}
    assert set(held) == {"dup", "bad", "reviewed", "held"}
    # the portrait's JPEG comment (72 bytes) is stripped from its kept, blurred copy
    assert ran.counters("hygiene") == {"records_cleaned": 5, "records_quarantined": 4,
                                       "verdicts_without_record": 1,
                                       "image_metadata_bytes_removed": 72,
                                       "image_metadata_fields_removed": 0}
    tally = collections.Counter(ran[TALLY])
    assert tally[("cleaned", "text")] == 3 and tally[("cleaned", "image_text")] == 2
    assert tally[("quarantined", "text")] == 3 and tally[("quarantined", "image_text")] == 1
    assert tally[("primary_reason", "exact_duplicate_text")] == 1
    assert tally[("redacted", "text")] == 1 and tally[("faces", "blurred")] == 1
    assert tally[("review", "rejected")] == tally[("review", "released")] == 1
    # Records each decision names (the summary's unmatched decisions are those with none).
    assert tally[("decision", key(RECORD, "reviewed"))] == 1
    assert tally[("decision", key(CLUSTER, exact_cluster("cd" * 16)))] >= 1
    assert tally[("pii_entity", "EMAIL_ADDRESS")] == 1


def test_kept_records_are_redacted_blurred_and_flagged(decided):
    ran, _ = decided
    text, images = rows_by_id(ran, "text"), rows_by_id(ran, "image_text")
    assert text["clean~1"]["flags"] == [] and text["clean~1"]["redactions"] == []
    contact = text["contact"]
    assert contact["text"] == "Write to <EMAIL_ADDRESS> about the order."
    [redaction] = contact["redactions"]
    assert redaction["entity_type"] == "EMAIL_ADDRESS" and redaction["field"] == "text"
    assert contact["text"][redaction["start"]:redaction["end"]] == "<EMAIL_ADDRESS>"
    blurred = images["blurred"]
    assert [(f["reason"], f["action"]) for f in blurred["flags"]] == [("face", "blur")]
    assert blurred["image"] != HOPPER and blurred["image_format"] == "jpeg"
    assert scan_faces(blurred["image"], FaceSettings()).faces == []
    assert Image.open(io.BytesIO(blurred["image"])).size == (512, 600)
    flagged = images["flagged"]
    assert [(f["reason"], f["action"]) for f in flagged["flags"]] == [("face", FLAG)]
    assert flagged["image"] == jpeg(sample("coffee"))   # kept as it was
    released = text["released"]
    assert [(f["reason"], f["action"]) for f in released["flags"]] == [
        ("exact_duplicate_text", FLAG), ("review_released", FLAG)]
    assert all(0 <= r["risk"] <= 1 for r in list(text.values()) + list(images.values()))


def test_held_records_carry_their_reasons_evidence_and_kept_id(decided):
    ran, _ = decided
    held = rows_by_id(ran, QUARANTINED)
    dup = held["dup"]
    assert dup["reasons"] == ["exact_duplicate_text", "near_duplicate_text"]
    assert dup["primary_reason"] == "exact_duplicate_text"
    # The latest stage groups most broadly: its kept id and size.
    assert (dup["kept_id"], dup["group_size"]) == ("clean~1", 3)
    assert dup["clusters"] == sorted([exact_cluster("ab" * 16), duplicate_cluster(TEXT, "clean~1")])
    assert [e["stage"] for e in dup["evidence"]] == ["exact_dedup", "near_dedup_text"]
    bad = held["bad"]
    assert bad["primary_reason"] == "malformed_json" and bad["raw"] == b'{"id": "bad", '
    assert json.loads(bad["evidence"][0]["detail"])["detail"] == "line 4: Expecting value"
    reviewed = held["reviewed"]
    assert reviewed["reasons"] == ["review_rejected"] and reviewed["review_status"] == "rejected"
    assert reviewed["reviewer"] == "ana" and reviewed["review_note"] == "looked at it"
    assert held["held"]["reasons"] == ["face"] and held["held"]["image"] == jpeg(sample("coffee"))
    assert all(r["review_status"] is None for k, r in held.items() if k != "reviewed")


def test_clustered_records_are_listed(decided):
    ran, _ = decided
    clusters = collections.defaultdict(set)
    for cluster, member in ran[CLUSTERS]:
        clusters[cluster].add((member.reason, member.size, member.record_id, member.destination,
                               member.kept_id))
    assert clusters[duplicate_cluster(TEXT, "clean~1")] == {
        ("near_duplicate_text", 3, "dup", QUARANTINED, "clean~1")}
    assert clusters[exact_cluster("cd" * 16)] == {
        ("exact_duplicate_text", 2, "released", "cleaned", "clean~1")}
