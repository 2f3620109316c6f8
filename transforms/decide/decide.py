"""Merge every stage's verdicts per record into keep or quarantine: the DoFn and PTransform
that emit the output rows (rows.py), the tallies (tallies.py) and cluster memberships.

A record is quarantined when any verdict says so (bad input is a verdict of the input
stage); its reasons are those of the verdicts that held it back, the first in
schemas.reasons order its primary reason, and the evidence of every verdict travels with
it; every row gets a risk score (detectors/risk.py). A kept record with "redact" verdicts is
written with those spans replaced by typed placeholders, one with a "blur" verdict with the
face boxes blurred in its image; "flag" and "blur" verdicts travel with the cleaned row (its
``flags`` column). A blur that fails holds the record back (detector_error): a face the
policy says to blur is never written as it is. A reviewer's decision (schemas/review.py)
is applied first: reject adds a quarantine verdict, release turns held-back verdicts into
redactions, blurs and flags (review.py). Decide reads the verdicts' typed fields, never
their evidence.
"""

import json
from typing import Iterable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import headed_by
from detectors.risk import risk
from schemas.reasons import Reason
from schemas.records import BLUR, QUARANTINE, ClusterMember, Record, Verdict
from schemas.review import REJECT, Decision
from schemas.settings import FaceSettings
from transforms.common.faults import error_verdict
from transforms.decide.review import review_of, reviewed
from transforms.decide.rows import CLEANED, QUARANTINED, Decided, cleaned_row, quarantine_row
from transforms.decide.tallies import face_tallies, pii_entities, risk_bin

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


def decide(record: Record, public_id: str, verdicts: Iterable[Verdict],
           decision: Optional[Decision] = None,
           faces: FaceSettings = FaceSettings()) -> Decided:
    """Where one record goes and its row, after a reviewer's decision if there is one;
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
            return Decided(CLEANED, {**cleaned_row(record, public_id, verdicts, faces),
                                     "risk": score}, verdicts)
        except Exception as err:   # a blur that fails: the face must not be written
            verdicts.append(error_verdict(record.uid, "blur", err))
    return Decided(QUARANTINED, {**quarantine_row(record, public_id, verdicts, decision),
                                 "risk": score}, verdicts)


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
        decision = None
        if decisions:
            keys = (fingerprint.text_key, fingerprint.pixel_key) if fingerprint else ()
            clusters = [v.cluster for v in grouped["verdicts"] if v.cluster]
            decision = review_of(public_id, clusters + headed_by(public_id, keys), decisions)
        destination, row, verdicts = decide(record, public_id, grouped["verdicts"], decision,
                                             self.faces)
        if decision is not None:
            yield from self._review_tally(decision, destination, row)
        for entity in pii_entities(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, ("pii_entity", entity))
        for tally in face_tallies(grouped["verdicts"]):
            yield beam.pvalue.TaggedOutput(TALLY, tally)
        for v in verdicts:   # after the decision: the report shows what it did
            if v.cluster:
                yield beam.pvalue.TaggedOutput(CLUSTERS, (v.cluster, ClusterMember(
                    record_id=public_id, destination=destination, risk=row["risk"],
                    reason=v.reason, action=v.action, evidence=v.evidence,
                    size=v.group_size or 0, kept_id=v.representative_id)))
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
    ((cluster id, schemas.records.ClusterMember) per verdict that names a cluster).

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
                | "Decide" >> beam.ParDo(_Decide(self.faces),
                                        beam.pvalue.AsDict(decisions)).with_outputs(
                    "text", "image_text", QUARANTINED, TALLY, INDEX, CLUSTERS))
