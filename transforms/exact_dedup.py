"""Exact duplicates: text by normalized-text hash, images by decoded-pixel hash.

Keep rule (deterministic, independent of runner and bundling): in each group
the record that comes first in input order, i.e. the smallest (source path,
position in file, id), is kept; every other member is quarantined with the
kept record's id and the group size. A caption does not make an image unique:
image-text pairs with the same pixels and different captions are duplicates.

Steps: key -> representative per key (a combiner, so hot keys are cheap) ->
join members with their representative -> verdicts for the non-representatives.
"""

import json
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.reasons import Reason
from schemas.records import QUARANTINE, Fingerprint, Verdict


class Member(NamedTuple):
    source: str
    position: int
    id: str
    uid: str
    bytes_key: Optional[str]


class Representative(beam.CombineFn):
    """(first member in input order, group size)."""

    def create_accumulator(self):
        return (None, 0)

    def add_input(self, acc, member):
        best, count = acc
        return (member if best is None or member < best else best, count + 1)

    def merge_accumulators(self, accs):
        best, total = None, 0
        for member, count in accs:
            total += count
            if member is not None and (best is None or member < best):
                best = member
        return (best, total)

    def extract_output(self, acc):
        return acc


def _member(fp: Fingerprint) -> Member:
    return Member(fp.source, fp.position, fp.id, fp.uid, fp.bytes_key)


class _Verdicts(beam.DoFn):
    def __init__(self, reason: Reason):
        self.reason = reason

    def setup(self):
        self.groups = Metrics.counter("exact_dedup", f"{self.reason.value}_groups")
        self.removed = Metrics.counter("exact_dedup", f"{self.reason.value}_removed")

    def process(self, element):
        key, grouped = element
        kept, size = grouped["representative"][0]
        if size < 2:
            return
        self.groups.inc()
        for member in grouped["members"]:
            if member.uid == kept.uid:
                continue
            self.removed.inc()
            evidence = {"kept_id": kept.id, "group_size": size, "key": key}
            if self.reason is Reason.EXACT_DUPLICATE_IMAGE:
                same_bytes = member.bytes_key == kept.bytes_key
                evidence["match"] = "identical_bytes" if same_bytes else "identical_pixels"
            yield Verdict(uid=member.uid, reason=self.reason.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept.id, group_size=size)


class DuplicateGroups(beam.PTransform):
    """Verdicts for every member but the representative of each group sharing a key."""

    def __init__(self, key_field: str, reason: Reason):
        super().__init__()
        self.key_field = key_field
        self.reason = reason

    def expand(self, fingerprints):
        field = self.key_field
        members = (fingerprints
                   | "HasKey" >> beam.Filter(lambda fp: getattr(fp, field) is not None)
                   | "ByKey" >> beam.Map(lambda fp: (getattr(fp, field), _member(fp))))
        representatives = members | "Representative" >> beam.CombinePerKey(Representative())
        return ({"members": members, "representative": representatives}
                | "Join" >> beam.CoGroupByKey()
                | "Verdicts" >> beam.ParDo(_Verdicts(self.reason)))


class ExactDedup(beam.PTransform):
    def __init__(self, text: bool = True, images: bool = True):
        super().__init__()
        self.text = text
        self.images = images

    def expand(self, fingerprints):
        parts = []
        if self.text:
            parts.append(fingerprints
                         | "Text" >> DuplicateGroups("text_key", Reason.EXACT_DUPLICATE_TEXT))
        if self.images:
            parts.append(fingerprints
                         | "Images" >> DuplicateGroups("pixel_key", Reason.EXACT_DUPLICATE_IMAGE))
        if not parts:
            return fingerprints.pipeline | "NoVerdicts" >> beam.Create([])
        return tuple(parts) | "AllVerdicts" >> beam.Flatten()
