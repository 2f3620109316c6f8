"""The summary's tallies of a decided record."""

import json
from typing import Iterable

from schemas.reasons import Reason, Stage
from schemas.records import Verdict


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
