"""Exact duplicates: text by normalized-text hash, images by decoded-pixel hash.

Keep rule (deterministic, independent of runner and bundling): in each group
the record that comes first in input order, i.e. the smallest (source path,
position in file, id), is kept; every other member is quarantined with the
kept record's id and the group size. A caption does not make an image unique:
image-text pairs with the same pixels and different captions are duplicates.

Across runs (--index-in / --index-out): earlier runs' keys (``previous``: rows of the
index's exact/ part) join their groups and come first, so a copy of a text or image an
earlier night saw is quarantined with the id of the record that night kept, as one run
over all nights would decide; with ``index``, one row per key (earlier runs' and
tonight's) leaves on INDEX: the running index, which grows with distinct keys, not nights.

Steps: one GroupByKey per key, its members read twice (transforms.common.groups):
the representative, then verdicts for everyone else.
"""

import json
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import exact_cluster
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Fingerprint, Verdict
from schemas.settings import ExactDedupSettings
from transforms.common.groups import first_and_size
from transforms.io.index import INDEX, VERDICTS

KINDS = {"text": ("text_key", Reason.EXACT_DUPLICATE_TEXT),
         "image": ("pixel_key", Reason.EXACT_DUPLICATE_IMAGE)}


class Earlier(NamedTuple):
    """A key an earlier run saw (a row of the exact index)."""
    id: str          # the record it kept
    records: int     # records that held the key in earlier runs
    run: str         # when the run that first saw it started


beam.coders.registry.register_coder(Earlier, beam.coders.RowCoder)


def _order(member):
    """Earlier runs first (the oldest), then tonight's records in input order."""
    if isinstance(member, Earlier):
        return (0, member.run, "", 0, member.id)
    return (1, "", member.source, member.position, member.id)


class _Verdicts(beam.DoFn):
    def __init__(self, kind: str, run: str, index: bool):
        self.kind = kind
        self.reason = KINDS[kind][1]
        self.run = run
        self.index = index

    def setup(self):
        self.groups = Metrics.counter("exact_dedup", f"{self.reason.value}_groups")
        self.removed = Metrics.counter("exact_dedup", f"{self.reason.value}_removed")
        self.earlier = Metrics.counter("exact_dedup",
                                       f"{self.reason.value}_removed_as_earlier_run")

    def process(self, element):
        key, members = element
        kept, size = first_and_size(members, _order)
        if isinstance(kept, Earlier):
            size += sum(m.records - 1 for m in members if isinstance(m, Earlier))
        if self.index:
            yield beam.pvalue.TaggedOutput(INDEX, self._index_row(key, kept, size))
        if size > 1:
            self.groups.inc()
            for member in members:
                if isinstance(member, Fingerprint) \
                        and member.uid != getattr(kept, "uid", None):
                    (self.earlier if isinstance(kept, Earlier) else self.removed).inc()
                    yield self._verdict(member, kept, size, key)

    def _index_row(self, key, kept, size):
        run = kept.run if isinstance(kept, Earlier) else self.run
        return {"kind": self.kind, "key": key, "id": kept.id, "records": size, "run": run}

    def _verdict(self, member, kept, size, key):
        evidence = {"kept_id": kept.id, "group_size": size, "key": key}
        if isinstance(kept, Earlier):
            evidence["kept_by_earlier_run"] = kept.run
        elif self.reason is Reason.EXACT_DUPLICATE_IMAGE:
            same_bytes = member.bytes_key == kept.bytes_key
            evidence["match"] = "identical_bytes" if same_bytes else "identical_pixels"
        return Verdict(uid=member.uid, reason=self.reason.value, action=QUARANTINE,
                       evidence=json.dumps(evidence, sort_keys=True),
                       representative_id=kept.id, group_size=size, cluster=exact_cluster(key))


class DuplicateGroups(beam.PTransform):
    """Verdicts for every member but the representative of each group sharing a key of
    ``kind`` (text | image); with ``previous`` (index rows), earlier runs' keys join."""

    def __init__(self, kind: str, previous=None, run: str = "", index: bool = False):
        super().__init__()
        self.kind = kind
        self.reason = KINDS[kind][1]
        self.previous = previous
        self.run = run
        self.index = index

    def expand(self, fingerprints):
        field, kind = KINDS[self.kind][0], self.kind
        keyed = (fingerprints
                 | "HasKey" >> beam.Filter(lambda fp: getattr(fp, field) is not None)
                 | "ByKey" >> beam.Map(lambda fp: (getattr(fp, field), fp)))
        if self.previous is not None:
            earlier = (self.previous
                       | "OfKind" >> beam.Filter(lambda row: row["kind"] == kind)
                       | "EarlierByKey" >> beam.Map(lambda row: (row["key"], Earlier(
                           row["id"], row["records"], row["run"]))))
            keyed = (keyed, earlier) | "WithEarlierRuns" >> beam.Flatten()
        return (keyed
                | "Group" >> beam.GroupByKey()
                | "Verdicts" >> beam.ParDo(_Verdicts(self.kind, self.run, self.index))
                .with_outputs(INDEX, main=VERDICTS))


class ExactDedup(beam.PTransform):
    """Fingerprints in; exact-duplicate verdicts for texts and images out, as ``settings``
    say; with ``index``, a dict of them (VERDICTS) and the running index's rows (INDEX).
    ``previous``: earlier runs' index rows; ``run``: when tonight's run started."""

    def __init__(self, settings: ExactDedupSettings, previous=None, run: str = "",
                 index: bool = False):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.run = run
        self.index = index

    def expand(self, fingerprints):
        kinds = [kind for kind, on in (("text", self.settings.text),
                                       ("image", self.settings.images)) if on]
        found = [fingerprints | kind.title() >> DuplicateGroups(
            kind, self.previous, self.run, self.index) for kind in kinds]
        if not found:
            nothing = fingerprints.pipeline | "NoVerdicts" >> beam.Create([])
            found = [{VERDICTS: nothing, INDEX: nothing}]
        merged = {part: tuple(f[part] for f in found) | f"All{part.title()}" >> beam.Flatten()
                  for part in (VERDICTS, INDEX)}
        return merged if self.index else merged[VERDICTS]
