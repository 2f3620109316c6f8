"""Exact duplicates: text by normalized-text hash, images by decoded-pixel hash.

Keep rule (deterministic, independent of runner and bundling): in each group
the record that comes first in input order, i.e. the smallest (source path,
position in file, id), is kept; every other member is quarantined with the
kept record's id and the group size. A caption does not make an image unique:
image-text pairs with the same pixels and different captions are duplicates.

Steps: one GroupByKey per key, its members read twice (transforms.common.groups):
the representative, then verdicts for everyone else.
"""

import json

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import exact_cluster
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Fingerprint, Verdict
from schemas.settings import ExactDedupSettings
from transforms.common.groups import first_and_size


def _order(fp: Fingerprint):
    return (fp.source, fp.position, fp.id)


class _Verdicts(beam.DoFn):
    def __init__(self, reason: Reason):
        self.reason = reason

    def setup(self):
        self.groups = Metrics.counter("exact_dedup", f"{self.reason.value}_groups")
        self.removed = Metrics.counter("exact_dedup", f"{self.reason.value}_removed")

    def process(self, element):
        key, members = element
        kept, size = first_and_size(members, _order)
        if size > 1:
            self.groups.inc()
            for member in members:
                if member.uid != kept.uid:
                    self.removed.inc()
                    yield self._verdict(member, kept, size, key)

    def _verdict(self, member, kept, size, key):
        evidence = {"kept_id": kept.id, "group_size": size, "key": key}
        if self.reason is Reason.EXACT_DUPLICATE_IMAGE:
            same_bytes = member.bytes_key == kept.bytes_key
            evidence["match"] = "identical_bytes" if same_bytes else "identical_pixels"
        return Verdict(uid=member.uid, reason=self.reason.value, action=QUARANTINE,
                       evidence=json.dumps(evidence, sort_keys=True),
                       representative_id=kept.id, group_size=size, cluster=exact_cluster(key))


class DuplicateGroups(beam.PTransform):
    """Verdicts for every member but the representative of each group sharing a key."""

    def __init__(self, key_field: str, reason: Reason):
        super().__init__()
        self.key_field = key_field
        self.reason = reason

    def expand(self, fingerprints):
        field = self.key_field
        return (fingerprints
                | "HasKey" >> beam.Filter(lambda fp: getattr(fp, field) is not None)
                | "ByKey" >> beam.Map(lambda fp: (getattr(fp, field), fp))
                | "Group" >> beam.GroupByKey()
                | "Verdicts" >> beam.ParDo(_Verdicts(self.reason)))


class ExactDedup(beam.PTransform):
    """Fingerprints in; exact-duplicate verdicts for texts and images, as ``settings`` say."""

    def __init__(self, settings: ExactDedupSettings):
        super().__init__()
        self.settings = settings

    def expand(self, fingerprints):
        parts = []
        if self.settings.text:
            parts.append(fingerprints
                         | "Text" >> DuplicateGroups("text_key", Reason.EXACT_DUPLICATE_TEXT))
        if self.settings.images:
            parts.append(fingerprints
                         | "Images" >> DuplicateGroups("pixel_key", Reason.EXACT_DUPLICATE_IMAGE))
        if not parts:
            return fingerprints.pipeline | "NoVerdicts" >> beam.Create([])
        return tuple(parts) | "AllVerdicts" >> beam.Flatten()
