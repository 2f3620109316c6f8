"""A record's memorization and privacy risk in [0, 1], from every stage's verdicts.

Each verdict gives one signal s in [0, 1]; the record's risk is 1 - prod(1 - s): any
strong signal makes it high, and weak ones add up without passing 1. Repetition counts
on a log scale, saturating at 100 (memorized training images were mostly duplicated 100
times or more: Carlini et al. 2023):

  duplicates (exact, near, semantic, previous run)   0.9 * reps(group size)
  template_face                            max(0.8, reps(cluster size))
  template_cluster                         0.6 * reps(cluster size)
  repeated_identity                        0.8 * reps(records of the person)
  caption_template                         0.2 * reps(template records)
  repeated_span                            0.5 * reps(documents holding it), 0.8 * with
                                           personal data in it; half when it was removed
  mostly_repeated                          0.5 * reps(documents of its most repeated span)
  face (one image)                         0.2
  secret                                   1.0
  government id, financial                 0.9
  dense personal data                      0.8
  contact data, a name, other PII          0.3 (0.15 when it was only redacted)
  personal data printed in an image        0.9 when it quarantines (a government id, card,
                                           secret), else 0.3 (0.15 when covered)
  bad input, detector errors               0
  reps(n) = min(1, log10(n) / 2): 0 for one copy, 0.5 for 10, 1 for 100 or more.

A cluster's risk (for ranking clusters) is its members' highest (the report's ClusterSummary).
"""

import json
import math
from typing import Iterable, Tuple

from schemas.reasons import Reason

_PII = {Reason.SECRET: 1.0, Reason.PII_GOVERNMENT_ID: 0.9, Reason.PII_FINANCIAL: 0.9,
        Reason.PII_DENSE: 0.8, Reason.PII_CONTACT: 0.3, Reason.PII_NAME: 0.3,
        Reason.PII_OTHER: 0.3}
_DUPLICATES = {Reason.EXACT_DUPLICATE_TEXT, Reason.EXACT_DUPLICATE_IMAGE,
               Reason.NEAR_DUPLICATE_TEXT, Reason.NEAR_DUPLICATE_IMAGE,
               Reason.NEAR_DUPLICATE_PREVIOUS_RUN, Reason.SEMANTIC_DUPLICATE_IMAGE}


def reps(count) -> float:
    return min(1.0, math.log10(count) / 2) if count and count > 1 else 0.0


def signal(reason: str, action: str, evidence: str, group_size) -> float:
    reason = Reason(reason)
    if reason in _DUPLICATES:
        return 0.9 * reps(group_size or 2)
    if reason in _PII:
        return _PII[reason] / (2 if action == "redact" and _PII[reason] < 0.5 else 1)
    if reason is Reason.PII_IN_IMAGE:
        return 0.9 if action == "quarantine" else 0.15 if action == "cover" else 0.3
    detail = json.loads(evidence or "{}")
    if reason is Reason.TEMPLATE_FACE:
        return max(0.8, reps(detail.get("cluster_size")))
    if reason is Reason.TEMPLATE_CLUSTER:
        return 0.6 * reps(detail.get("cluster_size"))
    if reason is Reason.REPEATED_IDENTITY:
        return 0.8 * reps(detail.get("identity_records"))
    if reason is Reason.CAPTION_TEMPLATE:
        return 0.2 * reps(detail.get("template_records"))
    if reason is Reason.REPEATED_SPAN:
        weight = 0.8 if detail.get("personal") else 0.5
        return weight * reps(group_size) / (2 if action == "remove" else 1)
    if reason is Reason.MOSTLY_REPEATED:
        return 0.5 * reps(detail.get("documents"))
    if reason is Reason.FACE:
        return 0.2
    return 0.0


def risk(verdicts: Iterable[Tuple[str, str, str, object]]) -> float:
    """(reason, action, evidence JSON, group size) of one record's verdicts -> risk."""
    keep = 1.0
    for reason, action, evidence, group_size in verdicts:
        keep *= 1.0 - signal(reason, action, evidence, group_size)
    return round(1.0 - keep, 4)
