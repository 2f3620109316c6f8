"""Content checks on every parsed record, and the fingerprints the global stages group by.

Records are validated in batches so the per-record detectors that gain from
batching (MinHash signatures: one datasketch bulk call per batch) get them.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.minhash import sketches, to_bytes
from detectors.strings import utf8_safe
from detectors.validate import validate
from schemas.reasons import Reason
from schemas.records import Kind
from schemas.settings import InputSettings, NearImageSettings, NearTextSettings
from transforms.common.faults import isolate


class ValidateBatch(beam.DoFn):
    """Main output: every record (defect set if bad). Tagged 'fingerprints': one per record."""

    FINGERPRINTS = "fingerprints"

    def __init__(self, limits: InputSettings, near_text: NearTextSettings,
                 near_images: NearImageSettings):
        self.limits = limits
        # Signatures and pHashes only for the stages that compare them.
        self.minhash = near_text if near_text.enabled else None
        self.keep_shingles = near_text.verify == "exact"
        self.phash = near_images if near_images.enabled else None

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
                             defect_detail=utf8_safe(
                                 f"{detector}: {type(err).__name__}: {str(err)[:200]}"))
    return validate(record, None)


class ValidateRecords(beam.PTransform):
    """Records in; checked records (main) and their fingerprints ('fingerprints') out."""

    def __init__(self, limits: InputSettings, near_text: NearTextSettings = NearTextSettings(),
                 near_images: NearImageSettings = NearImageSettings()):
        super().__init__()
        self.limits = limits
        self.near_text = near_text
        self.near_images = near_images

    def expand(self, records):
        return (records
                | "Batch" >> beam.BatchElements(min_batch_size=8, max_batch_size=512)
                | "Check" >> beam.ParDo(ValidateBatch(self.limits, self.near_text,
                                                     self.near_images)).with_outputs(
                    ValidateBatch.FINGERPRINTS, main="records"))
