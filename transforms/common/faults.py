"""Per-record faults: a detector that raises on one record quarantines that record
(detector_error, with the detector and the exception type), never the bundle, so Beam's
bundle retries only ever replay deterministic work and one bad record cannot fail a night.
"""

import json
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar

from schemas.reasons import Reason
from schemas.records import QUARANTINE, Verdict

T = TypeVar("T")
R = TypeVar("R")


def error_verdict(uid: str, detector: str, err: Exception) -> Verdict:
    evidence = {"detector": detector, "error": type(err).__name__, "message": str(err)[:200]}
    return Verdict(uid=uid, reason=Reason.DETECTOR_ERROR.value, action=QUARANTINE,
                   evidence=json.dumps(evidence, sort_keys=True), representative_id=None,
                   group_size=None)


def isolate(items: Sequence[T], run: Callable[[List[T]], Sequence[R]]
            ) -> List[Tuple[T, Optional[R], Optional[Exception]]]:
    """(item, result, error) per item: ``run`` on the whole batch, and only when that raises,
    on each item alone, so the one that raises is found and the rest keep their results."""
    items = list(items)
    try:
        results = list(run(items))
        if len(results) == len(items):
            return [(item, result, None) for item, result in zip(items, results)]
    except Exception:
        pass
    isolated = []
    for item in items:
        try:
            isolated.append((item, list(run([item]))[0], None))
        except Exception as err:
            isolated.append((item, None, err))
    return isolated
