"""Merge every stage's verdicts per record into keep or quarantine, and build output rows.

A record is quarantined when any verdict says so (bad input is a verdict of
the input stage); its reasons are those of the verdicts that held it back, the
first in schemas.reasons order its primary reason, and the evidence of every
verdict travels with it; every row gets a risk score (detectors/risk.py). A kept record with "redact" verdicts is written with
those spans replaced by typed placeholders, one with a "blur" verdict with the face
boxes blurred in its image; "flag" and "blur" verdicts travel with the cleaned row
(its ``flags`` column). A blur that fails holds the record back (detector_error): a
face the policy says to blur is never written as it is.
"""

import json
from typing import Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.faces import blur_faces
from detectors.pii.spans import redact
from detectors.risk import cluster_of, risk
from detectors.strings import utf8_safe
from schemas.reasons import Reason, Stage, primary
from schemas.records import QUARANTINE, REDACT, Record, Verdict
from transforms.faces import BLUR, error_verdict
from transforms.pii import redaction_spans

CLEANED = "cleaned"
QUARANTINED = "quarantine"
TALLY = "tally"
INDEX = "index"
CLUSTERS = "clusters"


def input_verdict(record: Record) -> Optional[Verdict]:
    if record.defect is None:
        return None
    evidence = {"detail": record.defect_detail or ""}
    return Verdict(uid=record.uid, reason=record.defect, action=QUARANTINE,
                   evidence=json.dumps(evidence, ensure_ascii=False), representative_id=None,
                   group_size=None)


def decide(record: Record, public_id: str, verdicts: Iterable[Verdict]) -> Tuple[str, dict]:
    """(destination, row) for one record."""
    verdicts = sorted(verdicts, key=lambda v: (Reason(v.reason).rank, v.evidence))
    own = input_verdict(record)
    if own is not None:
        verdicts.insert(0, own)
    held = [v for v in verdicts if v.action == QUARANTINE]
    score = risk((v.reason, v.action, v.evidence, v.group_size) for v in verdicts)
    if not held:
        try:
            return CLEANED, {**cleaned_row(record, public_id, verdicts), "risk": score}
        except Exception as err:   # a blur that fails: the face must not be written
            verdicts.append(error_verdict(record.uid, "blur", err))
    return QUARANTINED, {**quarantine_row(record, public_id, verdicts), "risk": score}


def evidence_item(v: Verdict) -> dict:
    return {"reason": v.reason, "stage": Reason(v.reason).stage.value, "action": v.action,
            "detail": v.evidence}


def cleaned_row(record: Record, public_id: str, verdicts: List[Verdict] = ()) -> dict:
    redactions = [v for v in verdicts if v.action == REDACT]
    row = {"id": public_id, "source": utf8_safe(record.source),
           "location": utf8_safe(record.location), "metadata": record.metadata,
           "redactions": [], "flags": [evidence_item(v) for v in verdicts
                                       if v.action not in (QUARANTINE, REDACT)]}
    fields = {"text": record.text} if record.kind == "text" else {"caption": record.caption}
    for field, findings in redaction_spans(redactions).items():
        fields[field], placed = redact(fields[field], findings)
        row["redactions"].extend({"field": field, **f._asdict()} for f in placed)
    row.update(fields)
    if record.kind != "text":
        row.update(image=record.image, image_format=record.image_format, width=record.width,
                   height=record.height)
        boxes = [face["box"] for v in verdicts if v.action == BLUR
                 for face in json.loads(v.evidence)["faces"]]
        if boxes:
            row["image"], row["image_format"] = blur_faces(record.image, boxes)
    return row


def quarantine_row(record: Record, public_id: str, verdicts: List[Verdict]) -> dict:
    reasons = list(dict.fromkeys(v.reason for v in verdicts if v.action == QUARANTINE))
    # The latest stage groups most broadly (a near-duplicate cluster contains the
    # exact-duplicate group): its representative is the one that is kept.
    grouped = next((v for v in reversed(verdicts) if v.representative_id is not None), None)
    return {
        "id": public_id, "kind": record.kind,
        "primary_reason": primary(reasons).value, "reasons": reasons,
        "evidence": [evidence_item(v) for v in verdicts],
        "kept_id": grouped.representative_id if grouped else None,
        "group_size": grouped.group_size if grouped else None,
        # Bad input may hold lone surrogates: spelled out, so the row can be written.
        "text": utf8_safe(record.text), "caption": utf8_safe(record.caption),
        "image": record.image, "image_format": record.image_format, "width": record.width,
        "height": record.height, "raw": record.raw, "source": utf8_safe(record.source),
        "location": utf8_safe(record.location),
        "metadata": record.metadata,
        "review_status": None, "review_note": None, "reviewer": None, "reviewed_at": None,
    }


def pii_entities(verdicts: Iterable[Verdict]):
    """The entity type of every PII span found in a record (for the summary's counts)."""
    for v in verdicts:
        if Reason(v.reason).stage is Stage.PII and v.reason != Reason.PII_DENSE.value:
            for span in json.loads(v.evidence)["spans"]:
                yield span["entity_type"]


def face_tallies(verdicts: Iterable[Verdict]):
    """("faces", records/faces) per face verdict; ("identities", records) per
    repeated_identity verdict and ("identities", people) for each identity's first record."""
    for v in verdicts:
        if v.reason == Reason.FACE.value:
            yield "faces", "records"
            for _ in json.loads(v.evidence)["faces"]:
                yield "faces", "faces"
        elif v.reason == Reason.REPEATED_IDENTITY.value:
            yield "identities", "records"
            if json.loads(v.evidence)["first_record"]:
                yield "identities", "people"


class _Decide(beam.DoFn):
    def setup(self):
        self.cleaned = Metrics.counter("hygiene", "records_cleaned")
        self.quarantined = Metrics.counter("hygiene", "records_quarantined")
        self.orphans = Metrics.counter("hygiene", "verdicts_without_record")

    def process(self, element):
        uid, grouped = element
        records, fingerprints = grouped["record"], grouped["fingerprint"]
        if not records:
            self.orphans.inc()  # a stage bug: say so, do not invent a record
            return
        record = records[0]
        fingerprint = fingerprints[0] if fingerprints else None
        public_id = fingerprint.id if fingerprint else record.id
        destination, row = decide(record, public_id, grouped["verdicts"])
        for entity in pii_entities(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, ("pii_entity", entity))
        for tally in face_tallies(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, tally)
        for v in grouped["verdicts"]:
            cluster = cluster_of(v.reason, v.evidence)
            if cluster is not None:
                yield beam.pvalue.TaggedOutput(CLUSTERS, (cluster, (
                    v.reason, v.group_size or 0, row["risk"], public_id, destination)))
        if destination == CLEANED:
            self.cleaned.inc()
            yield beam.pvalue.TaggedOutput(record.kind, row)
            yield beam.pvalue.TaggedOutput(TALLY, ("cleaned", record.kind))
            if row["redactions"]:
                yield beam.pvalue.TaggedOutput(TALLY, ("redacted", record.kind))
            if any(f["action"] == BLUR for f in row["flags"]):
                yield beam.pvalue.TaggedOutput(TALLY, ("faces", "blurred"))
            for reason in dict.fromkeys(f["reason"] for f in row["flags"]):
                yield beam.pvalue.TaggedOutput(TALLY, ("flag", reason))
            if fingerprint is not None and fingerprint.minhash is not None:
                yield beam.pvalue.TaggedOutput(INDEX, {
                    "id": public_id, "minhash": fingerprint.minhash,
                    "source": row["source"], "location": row["location"]})
        else:
            self.quarantined.inc()
            yield beam.pvalue.TaggedOutput(QUARANTINED, row)
            yield beam.pvalue.TaggedOutput(TALLY, ("quarantined", record.kind))
            for reason in row["reasons"]:
                yield beam.pvalue.TaggedOutput(TALLY, ("reason", reason))
            yield beam.pvalue.TaggedOutput(TALLY, ("primary_reason", row["primary_reason"]))


class Decide(beam.PTransform):
    """Outputs tagged 'text' and 'image_text' (cleaned rows), 'quarantine', 'tally',
    'index' (signatures of the kept texts, for the next run's --index-in) and 'clusters'
    ((cluster id, (reason, size, risk, record id, destination)) per clustered record)."""

    def expand(self, inputs):
        records, fingerprints, verdicts = inputs
        return ({"record": records | "RecordByUid" >> beam.Map(lambda r: (r.uid, r)),
                 "fingerprint": fingerprints | "FingerprintByUid" >> beam.Map(
                     lambda fp: (fp.uid, fp)),
                 "verdicts": verdicts | "VerdictByUid" >> beam.Map(lambda v: (v.uid, v))}
                | "ByRecord" >> beam.CoGroupByKey()
                | "Decide" >> beam.ParDo(_Decide()).with_outputs(
                    "text", "image_text", QUARANTINED, TALLY, INDEX, CLUSTERS))
