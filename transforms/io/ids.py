"""Make public ids unique per run, and across nightly runs.

The first claimant of an id in input order (smallest source, position) keeps
it; every other claimant gets ``~`` and 8 hex digits of its uid appended, so
its id is stable across runs that read the same file at the same place. One
GroupByKey by id, its values read twice (transforms.common.groups): a hot id costs
linear work and no sort. With the running index, earlier runs' ids (its ids part) claim
first, as earlier nights come first in one run over all nights: tonight's record that
reuses one (a shard's keys start at 000000 every night) is renamed as that run would
rename it, so a kept id or a cluster named after a record names one record.
"""

from typing import Union

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Fingerprint
from transforms.common.groups import first_and_size


EARLIER = "earlier"   # a claim by an earlier run's record: it comes first


def _order(claim: Union[Fingerprint, str]):
    return ("",) if claim == EARLIER else (claim.source, claim.position, claim.uid)


class _Rename(beam.DoFn):
    def setup(self):
        self.renamed = Metrics.counter("ids", "renamed_to_unique")

    def process(self, element):
        _, claims = element   # tonight's fingerprints, and EARLIER
        first, size = first_and_size(claims, _order)
        for fp in claims:
            if fp == EARLIER:
                continue
            if size > 1 and fp.uid != getattr(first, "uid", None):
                self.renamed.inc()
                fp = fp._replace(id=f"{fp.id}~{fp.uid[:8]}")
            yield fp


class AssignIds(beam.PTransform):
    """Fingerprints in, the same fingerprints out with unique public ids; ``earlier``:
    the ids part's rows of earlier runs (None: no index)."""

    def __init__(self, earlier=None):
        super().__init__()
        self.earlier = earlier

    def expand(self, fingerprints):
        claims = fingerprints | "ById" >> beam.Map(lambda fp: (fp.id, fp))
        if self.earlier is not None:
            claims = (claims, self.earlier | "EarlierIds" >> beam.Map(
                lambda row: (row["id"], EARLIER))) | "WithEarlier" >> beam.Flatten()
        return (claims
                | "Claims" >> beam.GroupByKey()
                | "Rename" >> beam.ParDo(_Rename()))
