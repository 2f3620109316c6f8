"""Reviewers' decisions (schemas/review.py) applied to a record: which decision reaches it,
the verdicts after it, and the quarantine's review columns."""

import datetime
import json
from typing import Iterable, List, Optional

from schemas.reasons import INPUT_DEFECTS, Reason, Stage
from schemas.records import BLUR, COVER, FLAG, QUARANTINE, REDACT, Record, Verdict
from schemas.review import (CLUSTER, RECORD, REJECT, REJECTED, RELEASE, RELEASE_REFUSED,
                            RELEASED, Decision, key)


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
    personal data printed in the image covered, the rest noted."""
    if v.action != QUARANTINE:
        return v
    reason = Reason(v.reason)
    if reason is Reason.PII_IN_IMAGE:
        return v._replace(action=COVER)
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


def review_columns(decision: Optional[Decision], verdicts: List[Verdict]) -> dict:
    """The quarantine's review columns: empty until a decision reaches the record."""
    if decision is None:
        return {"review_status": None, "review_note": None, "reviewer": None,
                "reviewed_at": None}
    refused = decision.decision == RELEASE   # a release that still ended here
    return {"review_status": RELEASE_REFUSED if refused else REJECTED,
            "review_note": decision.note or None, "reviewer": decision.reviewer or None,
            "reviewed_at": _timestamp(decision.reviewed_at)}


def _timestamp(text: Optional[str]):
    if not text:
        return None
    stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)


def outcome(decision: Decision, quarantined: bool, verdicts: List[Verdict]) -> Optional[str]:
    """What the decision did to the record (schemas.review.OUTCOMES), from where it went and
    its verdicts after the decision; None when released with nothing holding it back."""
    if decision.decision == REJECT:
        return REJECTED
    if quarantined:
        return RELEASE_REFUSED
    if any(v.reason == Reason.REVIEW_RELEASED.value for v in verdicts):
        return RELEASED
    return None
