"""Content checks on every parsed record, and the fingerprints the global stages group by.

Records are validated in batches so the per-record detectors that gain from
batching (MinHash signatures: one datasketch bulk call per batch) get them.
"""

from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.minhash import MinHashParams, sketches, to_bytes
from detectors.phash import PHashSettings
from detectors.validate import InputLimits, validate
from schemas.reasons import Reason
from schemas.records import Kind
from transforms.common.faults import isolate


class ValidateBatch(beam.DoFn):
    """Main output: every record (defect set if bad). Tagged 'fingerprints': one per record."""

    FINGERPRINTS = "fingerprints"

    def __init__(self, limits: InputLimits, minhash: Optional[MinHashParams],
                 keep_shingles: bool = False, phash: Optional[PHashSettings] = None):
        self.limits = limits
        self.minhash = minhash
        self.keep_shingles = keep_shingles
        self.phash = phash

    def process(self, batch):
        checked = [self._validate(record) for record in batch]
        texts = [i for i, (r, _) in enumerate(checked)
                 if self.minhash and r.defect is None and r.kind == Kind.TEXT.value]
        found = isolate(texts, lambda part: sketches([checked[i][0].text for i in part],
                                                     self.minhash))
        for i, sketch, err in found:
            if err is not None:
                checked[i] = _failed(checked[i][0], "minhash", err)
                continue
            signature, shingles = sketch
            if signature is not None:
                record, fingerprint = checked[i]
                checked[i] = (record, fingerprint._replace(
                    minhash=to_bytes(signature),
                    shingles=to_bytes(shingles) if self.keep_shingles else None))
        for record, fingerprint in checked:
            if record.defect is not None:
                Metrics.counter("input", record.defect).inc()
            yield record
            yield beam.pvalue.TaggedOutput(self.FINGERPRINTS, fingerprint)


    def _validate(self, record):
        try:
            return validate(record, self.limits, self.phash)
        except Exception as err:   # a checker's bug or a decoder's crash: this record only
            return _failed(record, "validate", err)


def _failed(record, detector: str, err: Exception):
    """The record held back as detector_error (with a fingerprint without keys)."""
    record = record._replace(defect=Reason.DETECTOR_ERROR.value,
                             defect_detail=f"{detector}: {type(err).__name__}: {str(err)[:200]}")
    return validate(record, None)


class ValidateRecords(beam.PTransform):
    def __init__(self, limits: InputLimits, minhash: Optional[MinHashParams] = None,
                 keep_shingles: bool = False, phash: Optional[PHashSettings] = None):
        super().__init__()
        self.limits = limits
        self.minhash = minhash
        self.keep_shingles = keep_shingles
        self.phash = phash

    def expand(self, records):
        return (records
                | "Batch" >> beam.BatchElements(min_batch_size=8, max_batch_size=512)
                | "Check" >> beam.ParDo(ValidateBatch(self.limits, self.minhash,
                                                     self.keep_shingles,
                                                     self.phash)).with_outputs(
                    ValidateBatch.FINGERPRINTS, main="records"))
