"""The PII stage alone (DetectPii on the DirectRunner: verdicts, offsets, policy, chunks) and
in the whole job (redaction, quarantine, no raw PII in any output or log)."""

import collections
import json
import logging
import time

import pytest

from pipeline.policy import load_policy
from schemas.reasons import Reason
from schemas.records import QUARANTINE, REDACT
from tests.builders import (encode, evidence, image_record, picture, run_stage, text_record,
                            write_tar)
from tests.jobs import assert_conserved, run_job
from transforms.pii import CPU_COUNTER, DetectPii, shared_scanner

# Raw values that must never leave the quarantined record itself.
EMAIL = "maria.lopez@example.com"
SSN = "536-22-1425"
CARD = "4111 1111 1111 1111"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
RAW = (EMAIL, SSN, CARD, AWS_KEY, "Maria Lopez", "Tom Baker", "ana.silva@example.com")

DOCS = {
    "contact": f"Hi, this is Maria Lopez from the bakery. Write to {EMAIL} about the order.",
    # Wide and astral characters before the entities: offsets are code points.
    "unicode": f"Grüße 🍞🥐 日本語のテキスト — Tom Baker wrote from {EMAIL} again.",
    "ssn": f"New hire paperwork for Tom Baker: SSN {SSN}, start date Monday.",
    "card": f"Please charge the Visa {CARD} for the renewal.",
    "secret": f"[default]\naws_access_key_id = {AWS_KEY}\nregion = eu-west-1\n",
    "dense": "Newsletter export:\n" + "\n".join(
        f"member{i}@example.com, +1 202 555 01{i:02d}" for i in range(30)),
    "clean": "The ferry timetable changes on the first of the month.",
}


CAPTIONS = {"k1": "A tabby cat, photo by Ana Silva (ana.silva@example.com)",
            "k2": f"Scan of a card: {CARD}"}


def write_corpus(root):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "docs.jsonl", "w", encoding="utf-8") as f:
        for key, text in DOCS.items():
            f.write(json.dumps({"id": key, "text": text}, ensure_ascii=False) + "\n")
    write_tar(root / "pairs.tar", [
        ("k1.png", encode(picture(21))),
        ("k1.txt", CAPTIONS["k1"].encode()),
        ("k2.png", encode(picture(22))),
        ("k2.txt", CAPTIONS["k2"].encode())])
    return [root / "docs.jsonl", root / "pairs.tar"]


def records(*keys):
    """The corpus as records: DOCS as texts, CAPTIONS as image-text pairs."""
    found = [text_record(i, DOCS[k], id=k) for i, k in enumerate(DOCS) if k in keys]
    found += [image_record(100 + i, b"not looked at", CAPTIONS[k], id=k)
              for i, k in enumerate(CAPTIONS) if k in keys]
    return found


def scanned(settings, records):
    """(public id -> {(reason, action): evidence}, the pii counters) of DetectPii alone."""
    ran = run_stage(DetectPii(settings), records)
    ids = {r.uid: r.id for r in records}
    found = collections.defaultdict(dict)
    for v in ran.main:
        assert (v.reason, v.action) not in found[ids[v.uid]], "one verdict per reason and action"
        found[ids[v.uid]][(v.reason, v.action)] = evidence(v)
    return found, ran.counters("pii")


def test_the_stage_counts_its_own_cpu_without_the_model_loading():
    settings = load_policy().pii
    shared_scanner(settings)   # the model, loaded before the clock starts
    started = time.process_time()
    ran = run_stage(DetectPii(settings), records(*DOCS) * 20)
    spent = time.process_time() - started
    stage = ran.counters("hygiene")[CPU_COUNTER] / 1e6
    # The scan of 120 texts takes some CPU; it is a part of what the whole run took.
    assert 0.05 < stage < spent, (stage, spent)


def spans(found, entity_type):
    return [s for e in found.values() for s in e.get("spans", [])
            if s["entity_type"] == entity_type]


def test_the_stage_alone_finds_each_kind_with_exact_offsets_and_no_raw_values():
    bad = text_record(50, f"Broken line with {EMAIL}", id="bad", defect=Reason.MALFORMED_JSON)
    found, counters = scanned(load_policy().pii, records(*DOCS, *CAPTIONS) + [bad])
    assert set(found) == {"contact", "unicode", "ssn", "card", "secret", "dense", "k1", "k2"}
    assert counters["records_scanned"] == 9   # the bad record is not scanned
    assert set(found["contact"]) == {("pii_name", REDACT), ("pii_contact", REDACT)}
    assert set(found["unicode"]) == {("pii_name", REDACT), ("pii_contact", REDACT)}
    # Offsets are code points of the field, wide and astral characters before them included.
    for key, entity, value in (("contact", "EMAIL_ADDRESS", EMAIL), ("contact", "PERSON", "Maria Lopez"),
                               ("unicode", "EMAIL_ADDRESS", EMAIL), ("unicode", "PERSON", "Tom Baker"),
                               ("ssn", "US_SSN", SSN), ("card", "CREDIT_CARD", CARD)):
        [span] = spans(found[key], entity)
        assert span["field"] == "text" and DOCS[key][span["start"]:span["end"]] == value
        assert span["recognizer"] and 0.5 <= span["score"] <= 1.0
    assert set(found["ssn"]) == {("pii_government_id", QUARANTINE), ("pii_name", REDACT)}
    assert spans(found["ssn"], "US_SSN")[0]["preview"] == "***-***-***"
    assert found["ssn"][("pii_government_id", QUARANTINE)]["entities"] == {"US_SSN": 1}
    assert set(found["card"]) == {("pii_financial", QUARANTINE)}
    assert set(found["secret"]) == {("secret", QUARANTINE)}
    dense = found["dense"][("pii_dense", QUARANTINE)]
    assert dense["spans"] > dense["max_spans"] == 25
    # Captions go through the same stage, their spans in the caption's offsets.
    assert set(found["k1"]) == {("pii_name", REDACT), ("pii_contact", REDACT)}
    [email] = spans(found["k1"], "EMAIL_ADDRESS")
    assert email["field"] == "caption"
    assert CAPTIONS["k1"][email["start"]:email["end"]] == "ana.silva@example.com"
    assert set(found["k2"]) == {("pii_financial", QUARANTINE)}
    text = json.dumps([list(f.values()) for f in found.values()])
    for value in RAW:
        assert value not in text, value


def test_policy_turns_entities_to_quarantine_or_ignore_and_long_texts_are_chunked():
    filler = "The harbour wall was rebuilt with the same stones after the winter storm. "
    emails = [f"writer{i}@example.com" for i in range(4)]
    # 4 addresses spread over ~120,000 characters, one right at a 20,000-character boundary.
    parts = [filler * 100, emails[0], " ", filler * 167, emails[1], " ", filler * 600,
             emails[2], " ", filler * 700, emails[3], "."]
    long = text_record(200, "".join(parts), id="long")
    policy = load_policy(overrides={"pii": {
        "entities": {"EMAIL_ADDRESS": "quarantine", "PERSON": "ignore"},
        "allow_list": ["ana.silva@example.com"], "chunk_chars": 20000, "chunk_overlap": 200}}).pii
    found, _ = scanned(policy, records("contact", "clean", "k1") + [long])
    assert set(found["contact"]) == {("pii_contact", QUARANTINE)}   # the name is ignored
    assert "clean" not in found and "k1" not in found   # an allowed address, an ignored name
    [(key, long_found)] = found["long"].items()
    assert key == ("pii_contact", QUARANTINE) and long_found["entities"] == {"EMAIL_ADDRESS": 4}
    assert sorted(long.text[s["start"]:s["end"]] for s in long_found["spans"]) == emails


@pytest.fixture(scope="module")
def pii_run(tmp_path_factory):
    """The run, and every log line: ours and presidio's at DEBUG, the rest at INFO.

    (Beam's own DEBUG logging prints elements, raw text included: never turn it on
    for a corpus with personal data.)
    """
    root = tmp_path_factory.mktemp("pii")
    inputs = write_corpus(root / "in")
    records = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage())
    loggers = {logging.getLogger(): logging.INFO, logging.getLogger("hygiene"): logging.DEBUG,
               logging.getLogger("presidio-analyzer"): logging.DEBUG}
    previous = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)
    logging.getLogger().addHandler(handler)
    try:
        out = run_job(root / "out", inputs)
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level in previous.items():
            logger.setLevel(level)
    return out, "\n".join(records)


def by_id(rows):
    return {r["id"]: r for r in rows}


def test_contact_data_and_names_are_redacted_with_exact_offsets(pii_run):
    out, _ = pii_run
    cleaned = by_id(out.cleaned_text)
    assert set(cleaned) == {"contact", "unicode", "clean"}
    assert cleaned["contact"]["text"] == (
        "Hi, this is <PERSON> from the bakery. Write to <EMAIL_ADDRESS> about the order.")
    assert cleaned["unicode"]["text"].startswith("Grüße 🍞🥐 日本語のテキスト — <PERSON> wrote from "
                                                 "<EMAIL_ADDRESS> again.")
    for row in cleaned.values():
        for r in row["redactions"]:
            assert row[r["field"]][r["start"]:r["end"]] == f"<{r['entity_type']}>"
    assert cleaned["clean"]["redactions"] == [] and cleaned["clean"]["text"] == DOCS["clean"]


def test_captions_go_through_the_same_stage(pii_run):
    out, _ = pii_run
    kept = by_id(out.cleaned_image_text)
    assert kept["k1"]["caption"] == "A tabby cat, photo by <PERSON> (<EMAIL_ADDRESS>)"
    assert [r["field"] for r in kept["k1"]["redactions"]] == ["caption", "caption"]
    held = by_id(out.quarantine)
    assert held["k2"]["reasons"] == ["pii_financial"]


def test_ids_finance_secrets_and_dense_records_are_quarantined(pii_run):
    out, _ = pii_run
    held = by_id(out.quarantine)
    assert held["ssn"]["primary_reason"] == "pii_government_id"
    assert held["card"]["reasons"] == ["pii_financial"]
    assert held["secret"]["reasons"] == ["secret"]
    assert held["dense"]["primary_reason"] == "pii_dense"
    dense = next(json.loads(e["detail"]) for e in held["dense"]["evidence"]
                 if e["reason"] == "pii_dense")
    assert dense["spans"] > dense["max_spans"] == 25
    # The quarantined record keeps its raw text (a reviewer needs it) ...
    assert SSN in held["ssn"]["text"]
    # ... and its evidence lists every finding, redactions included, with what was done.
    ssn = {e["reason"]: e for e in held["ssn"]["evidence"]}
    assert ssn["pii_government_id"]["action"] == "quarantine"
    assert ssn["pii_name"]["action"] == "redact"
    span = json.loads(ssn["pii_government_id"]["detail"])["spans"][0]
    assert (span["entity_type"], span["preview"]) == ("US_SSN", "***-***-***")
    assert DOCS["ssn"][span["start"]:span["end"]] == SSN
    assert span["recognizer"] and 0.5 <= span["score"] <= 1.0
    assert_conserved(out)


def test_no_raw_pii_in_evidence_summary_manifest_or_logs(pii_run):
    out, logs = pii_run
    evidence = json.dumps([r["evidence"] for r in out.quarantine])
    summary = (out.path / "summary.json").read_text()
    manifest = (out.path / "manifest.json").read_text()
    for value in RAW:
        assert value not in evidence, value
        assert value not in summary and value not in manifest, value
        assert value not in logs, value
    assert "m***@e***.com" in evidence  # member0@example.com in the dense record's evidence
    assert out.summary["pii"]["entities_found"]["EMAIL_ADDRESS"] >= 33
    assert out.summary["pii"]["cleaned_records_redacted"] == {"image_text": 1, "text": 2}


def test_pii_stage_can_be_turned_off(tmp_path):
    inputs = write_corpus(tmp_path / "in")
    out = run_job(tmp_path / "out", inputs, "--no-pii")
    assert by_id(out.cleaned_text)["ssn"]["text"] == DOCS["ssn"]
    assert out.summary["pii"]["entities_found"] == {}


def test_verdicts_group_spans_by_reason_and_action_and_count_dense_records():
    from detectors.pii.spans import Finding
    from pipeline.policy import load_policy
    from schemas.records import make_record
    from transforms.pii import pii_verdicts
    text = "Ann Lee, ann@example.com, bob@example.com, 1.2.3.4 and url example.org"
    record = make_record(uid="u1", id="r1", kind="text", source="s", position=0,
                         location="line 1", text=text)
    found = {"text": [Finding("PERSON", 0, 7, 0.85, "SpacyRecognizer"),
                      Finding("EMAIL_ADDRESS", 9, 24, 1.0, "OfflineEmailRecognizer"),
                      Finding("EMAIL_ADDRESS", 26, 41, 1.0, "OfflineEmailRecognizer"),
                      Finding("IP_ADDRESS", 43, 50, 0.95, "IpRecognizer"),
                      Finding("URL", 59, 70, 0.5, "BoundedUrlRecognizer")]}
    policy = load_policy(overrides={"pii": {"max_spans": 2,
                                            "entities": {"IP_ADDRESS": "quarantine"}}}).pii
    verdicts = {(v.reason, v.action): json.loads(v.evidence)
                for v in pii_verdicts(record, found, policy)}
    assert set(verdicts) == {("pii_name", "redact"), ("pii_contact", "redact"),
                             ("pii_contact", "quarantine"), ("pii_dense", "quarantine")}
    assert verdicts[("pii_contact", "redact")]["entities"] == {"EMAIL_ADDRESS": 2}
    # Names are exempt from the count; the ignored URL is neither counted nor reported.
    assert verdicts[("pii_dense", "quarantine")]["spans"] == 3
    assert verdicts[("pii_contact", "quarantine")]["spans"][0]["preview"] == "***.***.***.***"
    evidence = json.dumps(list(verdicts.values()))
    assert "example.org" not in evidence and "Ann Lee" not in evidence
