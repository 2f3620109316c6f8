"""Content checks on every parsed record; fingerprints for the global stages."""

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.validate import InputLimits, validate


class ValidateRecords(beam.DoFn):
    """Main output: every record (defect set if bad). Tagged 'fingerprints': one per record."""

    FINGERPRINTS = "fingerprints"

    def __init__(self, limits: InputLimits):
        self.limits = limits

    def process(self, record):
        record, fingerprint = validate(record, self.limits)
        if record.defect is not None:
            Metrics.counter("input", record.defect).inc()
        yield record
        yield beam.pvalue.TaggedOutput(self.FINGERPRINTS, fingerprint)

