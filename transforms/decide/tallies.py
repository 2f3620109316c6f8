"""The summary's tallies of a decided record."""

from typing import Iterable

from schemas.reasons import Reason
from schemas.records import Verdict


def pii_entities(verdicts: Iterable[Verdict]):
    """The entity type of every PII span found in a record (for the summary's counts)."""
    for v in verdicts:
        for span in v.spans or ():
            yield span.entity_type


def face_tallies(verdicts: Iterable[Verdict]):
    """("faces", records/faces) per face verdict; ("identities", records) per
    repeated_identity verdict."""
    for v in verdicts:
        if v.reason == Reason.FACE.value:
            yield "faces", "records"
            for _ in v.faces:
                yield "faces", "faces"
        elif v.reason == Reason.REPEATED_IDENTITY.value:
            yield "identities", "records"


RISK_BINS = 10   # the summary's risk histogram: [0, 0.1), [0.1, 0.2), ... [0.9, 1]


def risk_bin(score: float) -> int:
    return min(RISK_BINS - 1, int(score * RISK_BINS))
