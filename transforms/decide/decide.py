"""Merge every stage's verdicts per record into keep or quarantine, and build output rows.

A record is quarantined when any verdict says so (bad input is a verdict of the input
stage); its reasons are those of the verdicts that held it back, the first in
schemas.reasons order its primary reason, and the evidence of every verdict travels with
it; every row gets a risk score (detectors/risk.py). A kept record with "redact" verdicts is
written with those spans replaced by typed placeholders, one with a "blur" verdict with the
face boxes blurred in its image; "flag" and "blur" verdicts travel with the cleaned row (its
``flags`` column). A blur that fails holds the record back (detector_error): a face the
policy says to blur is never written as it is. A reviewer's decision (schemas/review.py)
is applied first: reject adds a quarantine verdict, release turns held-back verdicts into
redactions, blurs and flags.
"""

import datetime
import json
from typing import Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.faces import blur_faces
from detectors.pii.spans import redact
from detectors.clusters import cluster_of, headed_by
from detectors.risk import risk
from detectors.strings import utf8_safe
from schemas.reasons import INPUT_DEFECTS, Reason, Stage, primary
from schemas.records import FLAG, QUARANTINE, REDACT, Record, Verdict
from schemas.review import CLUSTER, RECORD, REJECT, RELEASE, Decision, key
from schemas.settings import FaceSettings
from transforms.people.faces import BLUR
from transforms.common.faults import error_verdict
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


def review_of(public_id: str, clusters: Iterable[str], decisions) -> Optional[Decision]:
    """The decision that applies to a record: its own, else a decision on a cluster it
    belongs to, reject before release (a record in a rejected cluster stays out)."""
    own = decisions.get(key(RECORD, public_id))
    if own is not None:
        return own
    found = [decisions[key(CLUSTER, c)] for c in sorted(set(clusters))
             if key(CLUSTER, c) in decisions]
    return min(found, key=lambda d: (d.decision != REJECT, d.id), default=None)


def _released(v: Verdict) -> Verdict:
    """A held-back verdict once a reviewer released the record: personal data redacted
    (dense PII is only a count, its spans have verdicts of their own), faces blurred,
    the rest noted."""
    if v.action != QUARANTINE:
        return v
    reason = Reason(v.reason)
    if reason.stage is Stage.PII and reason is not Reason.PII_DENSE:
        return v._replace(action=REDACT)
    return v._replace(action=BLUR if reason is Reason.FACE else FLAG)


def reviewed(record: Record, verdicts: List[Verdict], decision: Decision) -> List[Verdict]:
    """The verdicts after a reviewer's decision, with the decision as evidence."""
    evidence = {"decision": decision.decision, "scope": decision.scope, "id": decision.id,
                "reviewer": decision.reviewer, "note": decision.note,
                "reviewed_at": decision.reviewed_at, "source": decision.source}
    if decision.decision == REJECT:
        return verdicts + [_review_verdict(record, Reason.REVIEW_REJECTED, QUARANTINE, evidence)]
    if not any(v.action == QUARANTINE for v in verdicts):
        return verdicts   # nothing held it back (a cluster's kept copy): nothing to release
    if any(Reason(v.reason) in INPUT_DEFECTS for v in verdicts):
        evidence["refused"] = "bad input and detector errors cannot be released: unchecked"
        return verdicts + [_review_verdict(record, Reason.REVIEW_RELEASED, FLAG, evidence)]
    return ([_released(v) for v in verdicts]
            + [_review_verdict(record, Reason.REVIEW_RELEASED, FLAG, evidence)])


def _review_verdict(record: Record, reason: Reason, action: str, evidence: dict) -> Verdict:
    return Verdict(uid=record.uid, reason=reason.value, action=action,
                   evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                   representative_id=None, group_size=None)


def decide(record: Record, public_id: str, verdicts: Iterable[Verdict],
           decision: Optional[Decision] = None,
           faces: FaceSettings = FaceSettings()) -> Tuple[str, dict]:
    """(destination, row) for one record, after a reviewer's decision if there is one;
    ``faces``: how kept faces are blurred."""
    verdicts = sorted(verdicts, key=lambda v: (Reason(v.reason).rank, v.evidence))
    own = input_verdict(record)
    if own is not None:
        verdicts.insert(0, own)
    if decision is not None:
        verdicts = reviewed(record, verdicts, decision)
    held = [v for v in verdicts if v.action == QUARANTINE]
    score = risk((v.reason, v.action, v.evidence, v.group_size) for v in verdicts)
    if not held:
        try:
            return CLEANED, {**cleaned_row(record, public_id, verdicts, faces), "risk": score}
        except Exception as err:   # a blur that fails: the face must not be written
            verdicts.append(error_verdict(record.uid, "blur", err))
    return QUARANTINED, {**quarantine_row(record, public_id, verdicts, decision), "risk": score}


def evidence_item(v: Verdict) -> dict:
    return {"reason": v.reason, "stage": Reason(v.reason).stage.value, "action": v.action,
            "detail": v.evidence}


def cleaned_row(record: Record, public_id: str, verdicts: List[Verdict] = (),
                faces: FaceSettings = FaceSettings()) -> dict:
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
            row["image"], row["image_format"] = blur_faces(record.image, boxes,
                                                           faces.blur_margin)
    return row


def quarantine_row(record: Record, public_id: str, verdicts: List[Verdict],
                   decision: Optional[Decision] = None) -> dict:
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
        "clusters": sorted({c for c in map(cluster_of, (v.evidence for v in verdicts)) if c}),
        **review_columns(decision, verdicts),
    }


def review_columns(decision: Optional[Decision], verdicts: List[Verdict]) -> dict:
    """The quarantine's review columns: empty until a decision reaches the record."""
    if decision is None:
        return {"review_status": None, "review_note": None, "reviewer": None,
                "reviewed_at": None}
    refused = decision.decision == RELEASE   # a release that still ended here
    return {"review_status": "release_refused" if refused else "rejected",
            "review_note": decision.note or None, "reviewer": decision.reviewer or None,
            "reviewed_at": _timestamp(decision.reviewed_at)}


def _timestamp(text: Optional[str]):
    if not text:
        return None
    stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)


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


RISK_BINS = 10   # the summary's risk histogram: [0, 0.1), [0.1, 0.2), ... [0.9, 1]


def risk_bin(score: float) -> int:
    return min(RISK_BINS - 1, int(score * RISK_BINS))


class _Decide(beam.DoFn):
    def __init__(self, faces: FaceSettings):
        self.faces = faces

    def setup(self):
        self.cleaned = Metrics.counter("hygiene", "records_cleaned")
        self.quarantined = Metrics.counter("hygiene", "records_quarantined")
        self.orphans = Metrics.counter("hygiene", "verdicts_without_record")

    def process(self, element, decisions):
        uid, grouped = element
        records, fingerprints = grouped["record"], grouped["fingerprint"]
        if not records:
            self.orphans.inc()  # a stage bug: say so, do not invent a record
            return
        record = records[0]
        fingerprint = fingerprints[0] if fingerprints else None
        public_id = fingerprint.id if fingerprint else record.id
        # (verdict, cluster it names), its evidence parsed once for the review and the report.
        named = [(v, c) for v in grouped["verdicts"] for c in [cluster_of(v.evidence)] if c]
        decision = None
        if decisions:
            keys = (fingerprint.text_key, fingerprint.pixel_key) if fingerprint else ()
            decision = review_of(public_id, [c for _, c in named] + headed_by(public_id, keys),
                                 decisions)
        destination, row = decide(record, public_id, grouped["verdicts"], decision,
                                   self.faces)
        if decision is not None:
            yield from self._review_tally(decision, destination, row)
        for entity in pii_entities(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, ("pii_entity", entity))
        for tally in face_tallies(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, tally)
        for v, cluster in named:
            yield beam.pvalue.TaggedOutput(CLUSTERS, (cluster, (
                v.reason, v.group_size or 0, row["risk"], public_id, destination,
                v.representative_id)))
        yield beam.pvalue.TaggedOutput(TALLY, (f"risk_{destination}", risk_bin(row["risk"])))
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
            for stage in dict.fromkeys(Reason(r).stage.value for r in row["reasons"]):
                yield beam.pvalue.TaggedOutput(TALLY, ("stage", stage))
            yield beam.pvalue.TaggedOutput(TALLY, ("primary_reason", row["primary_reason"]))


    @staticmethod
    def _review_tally(decision: Decision, destination: str, row: dict):
        if decision.decision == REJECT:
            outcome = "rejected"
        elif destination == QUARANTINED:
            outcome = "release_refused"
        elif any(f["reason"] == Reason.REVIEW_RELEASED.value for f in row["flags"]):
            outcome = "released"
        else:
            return   # released, but nothing had held it back
        yield beam.pvalue.TaggedOutput(TALLY, ("review", outcome))


class Decide(beam.PTransform):
    """Outputs tagged 'text' and 'image_text' (cleaned rows), 'quarantine', 'tally',
    'index' (signatures of the kept texts, for the next run's --index-in) and 'clusters'
    ((cluster id, (reason, size, risk, record id, destination, kept id or None)) per
    clustered record).

    ``decisions``: reviewers' decisions by schemas.review.key (a small dict: what people
    decided), applied to the records and clusters they name."""

    def __init__(self, decisions: Optional[dict] = None, faces: FaceSettings = FaceSettings()):
        super().__init__()
        self.faces = faces
        self.decisions = sorted((decisions or {}).items())

    def expand(self, inputs):
        records, fingerprints, verdicts = inputs
        decisions = (records.pipeline
                     | "Decisions" >> beam.Create(self.decisions, reshuffle=False))
        return ({"record": records | "RecordByUid" >> beam.Map(lambda r: (r.uid, r)),
                 "fingerprint": fingerprints | "FingerprintByUid" >> beam.Map(
                     lambda fp: (fp.uid, fp)),
                 "verdicts": verdicts | "VerdictByUid" >> beam.Map(lambda v: (v.uid, v))}
                | "ByRecord" >> beam.CoGroupByKey()
                | "Decide" >> beam.ParDo(_Decide(self.faces), beam.pvalue.AsDict(decisions)).with_outputs(
                    "text", "image_text", QUARANTINED, TALLY, INDEX, CLUSTERS))
