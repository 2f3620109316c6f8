"""PII in texts and captions: presidio finds it, the policy says redact, quarantine or ignore.

One scanner per worker (DoFn.setup loads the spaCy model), fed batches of records
bounded by their text size. Each record gets at most one verdict per (reason,
action): "redact" verdicts carry the spans (Verdict.spans) Decide replaces with
placeholders when the record is kept; "quarantine" verdicts hold the record back.
Evidence holds entity types, offsets, scores, recognizers and masked previews, never a
raw value.
"""

import collections
import functools
import json
import threading
import time
from typing import Dict, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.pii.spans import Finding, mask
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Record, Span, Verdict
from transforms.common.faults import error_verdict, isolate

FIELDS = ("text", "caption")
# The stage's CPU in the job (microseconds of its threads, model loading excluded), among
# the counters `hygiene` prints.
CPU_COUNTER = "pii_cpu_us"
KIND_REASONS = {"contact": Reason.PII_CONTACT, "name": Reason.PII_NAME,
                "government_id": Reason.PII_GOVERNMENT_ID, "financial": Reason.PII_FINANCIAL,
                "secret": Reason.SECRET}


@functools.lru_cache(maxsize=None)   # a few entity types: the import runs once per type
def reason_for(entity_type: str) -> Reason:
    # Imported here: presidio (and the torch it imports) costs ~2 s and ~250 MB per process,
    # which a job without the PII stage, importing this module through decide, never needs.
    from detectors.pii.scanner import ENTITY_KINDS
    return KIND_REASONS.get(ENTITY_KINDS.get(entity_type, ""), Reason.PII_OTHER)


def span_evidence(span: Span, text: str) -> dict:
    return {**span._asdict(), "preview": mask(text[span.start:span.end], span.entity_type)}


def pii_verdicts(record: Record, found: Dict[str, List[Finding]], policy) -> List[Verdict]:
    """The verdicts for one record from its findings per field, under ``policy`` (PiiSettings)."""
    actions = policy.actions()
    grouped = collections.defaultdict(list)
    counted = collections.Counter()
    for field, findings in found.items():
        for finding in findings:
            action = actions.get(finding.entity_type, "ignore")
            if action == "ignore":
                continue
            grouped[(reason_for(finding.entity_type), action)].append(
                Span(field, finding.entity_type, finding.start, finding.end, finding.score,
                     finding.recognizer))
            if finding.entity_type not in policy.max_spans_exempt:
                counted[finding.entity_type] += 1
    verdicts = [_verdict(record.uid, reason, action, {
        "entities": dict(sorted(collections.Counter(s.entity_type for s in spans).items())),
        "spans": [span_evidence(s, getattr(record, s.field)) for s in spans]}, spans)
        for (reason, action), spans in sorted(grouped.items())]
    if sum(counted.values()) > policy.max_spans:
        verdicts.append(_verdict(record.uid, Reason.PII_DENSE, QUARANTINE, {
            "spans": sum(counted.values()), "max_spans": policy.max_spans,
            "entities": dict(sorted(counted.items())),
            "not_counted": list(policy.max_spans_exempt)}))
    return verdicts


def _verdict(uid: str, reason: Reason, action: str, evidence: dict,
             spans: Optional[List[Span]] = None) -> Verdict:
    return Verdict(uid=uid, reason=reason.value, action=action,
                   evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                   representative_id=None, group_size=None, spans=spans)


_SCANNERS: Dict[object, Tuple[object, threading.Lock]] = {}
_SCANNERS_LOCK = threading.Lock()


def shared_scanner(settings):
    """(scanner, lock): one per process and settings.

    The spaCy model loads once per worker process, not once per DoFn instance
    (Beam runs several in a process, one per thread) nor per job of a process
    that runs many. spaCy does not promise thread safety, so threads take turns.
    """
    with _SCANNERS_LOCK:
        if settings not in _SCANNERS:
            from detectors.pii.scanner import PiiScanner
            _SCANNERS[settings] = (PiiScanner(settings), threading.Lock())
        return _SCANNERS[settings]


def scanned_size(record: Record) -> int:
    """A batch's weight: one per KB of text, so a batch holds ~1 MB, not 256 long documents."""
    return 1 + sum(len(getattr(record, f) or "") for f in FIELDS) // 1000


class ScanPii(beam.DoFn):
    def __init__(self, policy):
        self.policy = policy

    def setup(self):
        self.scanner, self.lock = shared_scanner(self.policy)
        self.scanned = Metrics.counter("pii", "records_scanned")
        self.characters = Metrics.counter("pii", "characters_scanned")
        self.cpu = Metrics.counter("hygiene", CPU_COUNTER)

    def process(self, batch: List[Record]):
        # This thread's CPU, up to the yields: a yielded verdict runs the steps fused
        # after this one in the same thread. The model loaded in setup, not here.
        started = time.thread_time_ns()
        verdicts = list(self._verdicts(batch))
        self.cpu.inc((time.thread_time_ns() - started) // 1_000)
        yield from verdicts

    def _verdicts(self, batch: List[Record]):
        jobs = [(i, field, getattr(record, field)) for i, record in enumerate(batch)
                for field in FIELDS if getattr(record, field)]
        with self.lock:
            scanned = isolate(jobs, lambda part: self.scanner.scan([t for _, _, t in part]))
        found: List[Dict[str, List[Finding]]] = [{} for _ in batch]
        failed = {}
        for (i, field, text), fs, err in scanned:
            if err is not None:
                failed.setdefault(i, err)
                continue
            found[i][field] = fs
            self.characters.inc(len(text))
            for finding in fs:
                Metrics.counter("pii", finding.entity_type).inc()
        for i, (record, per_field) in enumerate(zip(batch, found)):
            self.scanned.inc()
            if i in failed:
                Metrics.counter("pii", "scan_errors").inc()
                yield error_verdict(record.uid, "pii", failed[i])
                continue
            for verdict in pii_verdicts(record, per_field, self.policy):
                Metrics.counter("pii", f"{verdict.reason}:{verdict.action}").inc()
                yield verdict


class DetectPii(beam.PTransform):
    """Valid records with a text or caption -> Verdicts of the pii stage."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def expand(self, records):
        return (records
                | "WithText" >> beam.Filter(
                    lambda r: r.defect is None and bool(r.text or r.caption))
                | "Batch" >> beam.BatchElements(min_batch_size=8, max_batch_size=1000,
                                                element_size_fn=scanned_size)
                | "Scan" >> beam.ParDo(ScanPii(self.policy)))
