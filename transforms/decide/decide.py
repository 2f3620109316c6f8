"""Merge every stage's verdicts per record into keep or quarantine: the DoFn and PTransform
that emit the output rows (rows.py), the tallies (tallies.py) and cluster memberships.

A record is quarantined when any verdict says so (bad input is a verdict of the input
stage); its reasons are those of the verdicts that held it back, the first in
schemas.reasons order its primary reason, and the evidence of every verdict travels with
it; every row gets a risk score (detectors/risk.py). A kept record with "redact" verdicts is
written with those spans replaced by typed placeholders, one with a "blur" verdict with the
face boxes blurred in its image, one with a "cover" verdict with the words of personal data
read in its image painted over (transforms/ocr.py); "flag", "blur" and "cover" verdicts travel with the cleaned row (its
``flags`` column). A kept image is written without the metadata the policy does not keep
(detectors/image_metadata.py: EXIF with GPS, XMP, comments, bytes after its end, ...), and
its row without the fields that carry such metadata (img2dataset's exif column). A
blur or a metadata strip that fails holds the record back (detector_error): a face the
policy says to blur, or a location in EXIF, is never written as it is. A reviewer's
decision (schemas/review.py) is applied first: reject adds a quarantine verdict, release
turns held-back verdicts into redactions, blurs and flags (review.py). Decide reads the
verdicts' typed fields, never their evidence.
"""

import json
from typing import Iterable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import headed_by
from detectors.risk import risk
from schemas.reasons import Reason
from schemas.records import QUARANTINE, ClusterMember, Record, Verdict
from schemas.review import Decision
from schemas.settings import FaceSettings, ImageMetadataSettings, OcrSettings, PiiSettings
from transforms.common.faults import error_verdict
from transforms.decide.review import review_of, reviewed
from transforms.decide.rows import (CLEANED, QUARANTINED, Decided, Scan, cleaned_image,
                                    cleaned_row, quarantine_row)
from transforms.decide.tallies import matched, tallies
from transforms.pii import shared_scanner

TALLY = "tally"
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
           faces: FaceSettings = FaceSettings(),
           metadata: ImageMetadataSettings = ImageMetadataSettings(),
           scan: Optional[Scan] = None, ocr: OcrSettings = OcrSettings()) -> Decided:
    """Where one record goes and its row, after a reviewer's decision if there is one;
    ``faces``: how kept faces are blurred; ``metadata``: what a kept image keeps; ``scan``:
    the PII scanner its image's metadata text is scanned with (patterns only without);
    ``ocr``: how printed personal data is covered."""
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
            image = (cleaned_image(record, verdicts, faces, metadata, scan, ocr)
                     if record.kind != "text" else None)
            return Decided(CLEANED, {**cleaned_row(record, public_id, verdicts, image=image),
                                     "risk": score}, verdicts, image)
        except Exception as err:   # a blur or a strip that fails: the image is not written
            verdicts.append(error_verdict(record.uid, "clean_image", err))
    return Decided(QUARANTINED, {**quarantine_row(record, public_id, verdicts, decision),
                                 "risk": score}, verdicts)


class _Decide(beam.DoFn):
    def __init__(self, faces: FaceSettings, metadata: ImageMetadataSettings,
                 pii: Optional[PiiSettings] = None, ocr: OcrSettings = OcrSettings()):
        self.faces = faces
        self.metadata = metadata
        self.pii = pii
        self.ocr = ocr

    def setup(self):
        self.scan = None
        if self.pii is not None:
            pii = self.pii

            def scan(texts):
                # The PII stage's scanner, shared in the process: loaded at the first
                # image with metadata text (most have none).
                scanner, lock = shared_scanner(pii)
                with lock:
                    return scanner.scan(texts)
            self.scan = scan
        self.cleaned = Metrics.counter("hygiene", "records_cleaned")
        self.quarantined = Metrics.counter("hygiene", "records_quarantined")
        self.orphans = Metrics.counter("hygiene", "verdicts_without_record")
        self.metadata_bytes = Metrics.counter("hygiene", "image_metadata_bytes_removed")
        self.metadata_fields = Metrics.counter("hygiene", "image_metadata_fields_removed")

    def process(self, element, decisions):
        uid, grouped = element
        records, fingerprints, found = (grouped["record"], grouped["fingerprint"],
                                        grouped["verdicts"])
        if not records:
            self.orphans.inc()  # a stage bug: say so, do not invent a record
            return
        record = records[0]
        fingerprint = fingerprints[0] if fingerprints else None
        public_id = fingerprint.id if fingerprint else record.id
        decision = None
        if decisions:
            keys = (fingerprint.text_key, fingerprint.pixel_key) if fingerprint else ()
            clusters = [v.cluster for v in found if v.cluster] + headed_by(public_id, keys)
            decision = review_of(public_id, clusters, decisions)
            for tally in matched(public_id, clusters, decisions):
                yield beam.pvalue.TaggedOutput(TALLY, tally)
        decided = decide(record, public_id, found, decision, self.faces, self.metadata,
                         self.scan, self.ocr)
        row = decided.row
        if decided.image is not None:
            self.metadata_bytes.inc(sum(size for _, size in decided.image.stripped.removed))
            self.metadata_fields.inc(len(decided.image.fields_removed))
        for tally in tallies(record.kind, decided, found, decision):
            yield beam.pvalue.TaggedOutput(TALLY, tally)
        for v in decided.verdicts:
            if v.cluster:
                yield beam.pvalue.TaggedOutput(CLUSTERS, (v.cluster, ClusterMember(
                    record_id=public_id, destination=decided.destination, risk=row["risk"],
                    reason=v.reason, action=v.action, evidence=v.evidence,
                    size=v.group_size or 0, kept_id=v.representative_id)))
        if decided.destination == CLEANED:
            self.cleaned.inc()
            yield beam.pvalue.TaggedOutput(record.kind, row)
        else:
            self.quarantined.inc()
            yield beam.pvalue.TaggedOutput(QUARANTINED, row)


class Decide(beam.PTransform):
    """Outputs tagged 'text' and 'image_text' (cleaned rows), 'quarantine', 'tally'
    ((group, name) pairs, tallies.py) and 'clusters' ((cluster id,
    schemas.records.ClusterMember) per verdict that names a cluster).

    ``decisions``: reviewers' decisions by schemas.review.key (a small dict: what people
    decided), applied to the records and clusters they name."""

    def __init__(self, decisions: Optional[dict] = None, faces: FaceSettings = FaceSettings(),
                 metadata: ImageMetadataSettings = ImageMetadataSettings(),
                 pii: Optional[PiiSettings] = None, ocr: OcrSettings = OcrSettings()):
        super().__init__()
        self.faces = faces
        self.metadata = metadata
        self.pii = pii
        self.ocr = ocr
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
                | "Decide" >> beam.ParDo(_Decide(self.faces, self.metadata, self.pii, self.ocr),
                                        beam.pvalue.AsDict(decisions)).with_outputs(
                    "text", "image_text", QUARANTINED, TALLY, CLUSTERS))
