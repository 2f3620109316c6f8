"""Make public ids unique per run without sorting any group in memory.

The first claimant of an id in input order (smallest source, position) keeps
it; every other claimant gets ``~`` and 8 hex digits of its uid appended, so
its id is stable across runs that read the same file at the same place. The
first claimant is found by a combiner, so a hot id (a million copies of one
boilerplate text all hashing to the same content id) costs linear work.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Fingerprint


def _order(fp: Fingerprint):
    return (fp.source, fp.position, fp.uid)


class _Rename(beam.DoFn):
    def setup(self):
        self.renamed = Metrics.counter("ids", "renamed_to_unique")

    def process(self, element):
        _, grouped = element
        first_uid = grouped["first"][0][2]
        for fp in grouped["claims"]:
            if fp.uid != first_uid:
                self.renamed.inc()
                fp = fp._replace(id=f"{fp.id}~{fp.uid[:8]}")
            yield fp


class AssignIds(beam.PTransform):
    """Fingerprints in, the same fingerprints out with unique public ids."""

    def expand(self, fingerprints):
        claims = fingerprints | "ById" >> beam.Map(lambda fp: (fp.id, fp))
        first = (claims
                 | "Order" >> beam.MapTuple(lambda key, fp: (key, _order(fp)))
                 | "First" >> beam.CombinePerKey(min))
        return ({"claims": claims, "first": first}
                | "Join" >> beam.CoGroupByKey()
                | "Rename" >> beam.ParDo(_Rename()))
