"""Make public ids unique per run.

The first claimant of an id in input order (smallest source, position) keeps
it; every other claimant gets ``~`` and 8 hex digits of its uid appended, so
its id is stable across runs that read the same file at the same place. One
GroupByKey by id, its values read twice (transforms.common.groups): a hot id costs
linear work and no sort.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Fingerprint
from transforms.common.groups import first_and_size


def _order(fp: Fingerprint):
    return (fp.source, fp.position, fp.uid)


class _Rename(beam.DoFn):
    def setup(self):
        self.renamed = Metrics.counter("ids", "renamed_to_unique")

    def process(self, element):
        _, claims = element
        first, size = first_and_size(claims, _order)
        for fp in claims:
            if size > 1 and fp.uid != first.uid:
                self.renamed.inc()
                fp = fp._replace(id=f"{fp.id}~{fp.uid[:8]}")
            yield fp


class AssignIds(beam.PTransform):
    """Fingerprints in, the same fingerprints out with unique public ids."""

    def expand(self, fingerprints):
        return (fingerprints
                | "ById" >> beam.Map(lambda fp: (fp.id, fp))
                | "Claims" >> beam.GroupByKey()
                | "Rename" >> beam.ParDo(_Rename()))
