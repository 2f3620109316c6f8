"""The summary's tallies: (group, name) pairs, counted over every decided record. The
group names are defined here, once; transforms/report/summary.py reads them back."""

from typing import Iterable, Iterator, List, Optional, Tuple

from schemas.reasons import Reason
from schemas.records import BLUR, COVER, Verdict
from schemas.review import CLUSTER, RECORD, Decision, key
from transforms.decide import review
from transforms.decide.rows import CLEANED, QUARANTINED, Decided

# Groups, and what they are counted by.
KEPT = "cleaned"                   # kept records, by kind
HELD = "quarantined"               # quarantined records, by kind
REASON = "reason"                  # quarantined records per reason ...
STAGE = "stage"                    # ... per stage with a reason (a record may count in several)
PRIMARY_REASON = "primary_reason"  # ... per primary reason
FLAG = "flag"                      # kept records per reason they are flagged for
REDACTED = "redacted"              # kept records with redactions, by kind
CUT = "cut"                        # kept records with repeated spans cut out, by kind
PII_ENTITY = "pii_entity"          # personal-data spans per entity type
FACES = "faces"                    # RECORDS with faces, faces FOUND, kept images BLURRED
IDENTITIES = "identities"          # RECORDS with a repeated person
OCR = "ocr"                        # RECORDS with personal data printed in the image, words
#                                    BOXED over it, kept images COVERED
OCR_ENTITY = "ocr_entity"          # personal data read in images, per entity type
REVIEW = "review"                  # records per outcome of a reviewer's decision
IMAGE_METADATA = "image_metadata"  # kept images with metadata removed (RECORDS), per kind
METADATA_PII = "metadata_pii"      # personal data in kept images' metadata text, per entity
DECISION = "decision"              # records per decision (schemas.review.key) naming them
RISK = {CLEANED: "risk_cleaned", QUARANTINED: "risk_quarantine"}   # records per risk bin
RECORDS, FOUND, BLURRED = "records", "faces", "blurred"
BOXED, COVERED = "words", "covered"

RISK_BINS = 10   # the summary's risk histogram: [0, 0.1), [0.1, 0.2), ... [0.9, 1]


def risk_bin(score: float) -> int:
    return min(RISK_BINS - 1, int(score * RISK_BINS))


def matched(public_id: str, clusters: Iterable[str],
            decisions) -> Iterator[Tuple[str, object]]:
    """The decisions whose id names this record or a cluster it belongs to, whether or
    not they are the one applied (the summary reports the decisions nothing matched)."""
    for name in (key(RECORD, public_id), *(key(CLUSTER, c) for c in sorted(set(clusters)))):
        if name in decisions:
            yield DECISION, name


def tallies(kind: str, decided: Decided, found: List[Verdict],
            decision: Optional[Decision]) -> Iterator[Tuple[str, object]]:
    """What one decided record adds to the summary: ``found`` are the stages' verdicts,
    ``decided`` its destination, row and verdicts after a reviewer's ``decision``."""
    quarantined = decided.destination == QUARANTINED
    if decision is not None:
        done = review.outcome(decision, quarantined, decided.verdicts)
        if done is not None:
            yield REVIEW, done
    for v in found:
        for span in v.spans or ():
            yield PII_ENTITY, span.entity_type
        if v.reason == Reason.FACE.value:
            yield FACES, RECORDS
            for _ in v.faces:
                yield FACES, FOUND
        elif v.reason == Reason.REPEATED_IDENTITY.value:
            yield IDENTITIES, RECORDS
        elif v.reason == Reason.PII_IN_IMAGE.value:
            yield OCR, RECORDS
            for box in v.boxes or ():
                yield OCR, BOXED
                yield OCR_ENTITY, box.entity_type
    row = decided.row
    yield RISK[decided.destination], risk_bin(row["risk"])
    if quarantined:
        yield HELD, kind
        for reason in row["reasons"]:
            yield REASON, reason
        for stage in dict.fromkeys(Reason(r).stage.value for r in row["reasons"]):
            yield STAGE, stage
        yield PRIMARY_REASON, row["primary_reason"]
    else:
        yield KEPT, kind
        if row["redactions"]:
            yield REDACTED, kind
        if row.get("removed"):
            yield CUT, kind
        if any(f["action"] == BLUR for f in row["flags"]):
            yield FACES, BLURRED
        if any(f["action"] == COVER for f in row["flags"]):
            yield OCR, COVERED
        for reason in dict.fromkeys(f["reason"] for f in row["flags"]):
            yield FLAG, reason
        if decided.image is not None:
            kinds = decided.image.stripped.kinds()
            if kinds:
                yield IMAGE_METADATA, RECORDS
            for name in kinds:
                yield IMAGE_METADATA, name
            for entity in decided.image.personal:
                yield METADATA_PII, entity
