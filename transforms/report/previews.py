"""What the review report shows beyond counts, found without a gather: the riskiest
quarantined records by Top.Of, cluster sizes by counting, and previews of only the few
records the report names (the top clusters' examples and the riskiest records), picked
from the decided rows and cluster memberships by a side input of their ids (the rows wait
for it in keyed state: transforms/common/waiting.py).
"""

import base64
import json
import math
import re
import threading
from typing import Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.faces import face_api, scan_faces
from schemas.settings import FaceSettings
from detectors.previews import face_boxes, masked_preview, thumbnail
from schemas.reasons import INPUT_DEFECTS, Reason
from schemas.records import ClusterMember
from transforms.common.waiting import ParDoAfterInput
from transforms.decide.rows import CLEANED, QUARANTINED

# Evidence the report shows per cluster member; the rest (face boxes, PII spans with their
# offsets, words from captions) stays in the quarantine. A caption template and a member's
# filler are shown only when every word of theirs survived PII masking in its caption.
_HIDDEN = {"faces", "spans", "filler", "template", "group"}
_CAPTION_WORDS = ("template", "filler")
_WORD = re.compile(r"\w+")
_DLIB = threading.Lock()   # the report's own face search (faces stage off)


def _masked(value: str, masked_text: Optional[str]) -> bool:
    """Whether every word of ``value`` is in ``masked_text`` (a PII span would be a
    placeholder there, so its words are not)."""
    if not masked_text:
        return False
    words = set(_WORD.findall(masked_text.lower()))
    return all(w in words for w in _WORD.findall(value.lower()))


def size_bucket(size: int) -> str:
    """Cluster sizes in powers of two: 2, 3-4, 5-8, ... (the report's histogram)."""
    top = 1 << max(1, math.ceil(math.log2(max(2, size))))
    return "2" if top == 2 else f"{top // 2 + 1}-{top}"


def _evidence(row: dict) -> List[dict]:
    return list(row.get("evidence") or row.get("flags") or [])


def cluster_details(memberships: Iterable[Tuple[str, ClusterMember]],
                    masked_text: Optional[str]) -> dict:
    """cluster id -> what this member's verdict says about its cluster (no personal data)."""
    details = {}
    for cluster, member in memberships:
        detail = json.loads(member.evidence or "{}")
        shown = {k: v for k, v in detail.items() if k not in _HIDDEN}
        shown.update({k: detail[k] for k in _CAPTION_WORDS
                      if isinstance(detail.get(k), str) and _masked(detail[k], masked_text)})
        details[cluster] = {"reason": member.reason, "action": member.action, **shown}
    return details


class _Preview(beam.DoFn):
    """(id, {row: [(destination, row)], clusters: [(cluster, ClusterMember)]}) -> (id,
    preview)."""

    def __init__(self, side: int, show_faces: bool, faces_checked: bool, pii_checked: bool):
        self.side = side
        self.show_faces = show_faces
        self.faces_checked = faces_checked
        self.pii_checked = pii_checked

    def setup(self):
        self.previews = Metrics.counter("report", "previews")
        self.failed = Metrics.counter("report", "thumbnails_failed")
        self.find_faces = not (self.show_faces or self.faces_checked)
        if self.find_faces:   # the faces stage did not run: the report finds them itself
            face_api()        # models loaded once per worker, before the first element

    def process(self, element):
        _, grouped = element
        [(destination, row)] = grouped["row"]
        self.previews.inc()
        evidence = _evidence(row)
        kind = row.get("kind") or ("image_text" if "image" in row else "text")
        field = "text" if kind == "text" else "caption"
        unreadable = any(Reason(r) in INPUT_DEFECTS for r in row.get("reasons") or ())
        text = None
        if self.pii_checked and row.get(field) and not unreadable:
            text = masked_preview(row[field], field, evidence, limit=240)
        yield row["id"], {
            "id": row["id"], "destination": destination, "kind": kind, "risk": row["risk"],
            "reasons": list(row.get("reasons") or ()),
            "flags": list(dict.fromkeys(f["reason"] for f in row.get("flags") or ())),
            "source": row["source"], "location": row["location"],
            "text": text, "thumbnail": None if unreadable else self._thumbnail(row, evidence),
            "clusters": cluster_details(grouped["clusters"], text)}

    def _thumbnail(self, row: dict, evidence: List[dict]) -> Optional[str]:
        if not row.get("image"):
            return None
        try:
            boxes = self._boxes(row["image"], evidence)
            return base64.b64encode(thumbnail(row["image"], boxes, self.side)).decode("ascii")
        except Exception:   # an image no stage could read: the report says "no preview"
            self.failed.inc()
            return None

    def _boxes(self, image: bytes, evidence: List[dict]) -> List[List[int]]:
        if self.show_faces:
            return []
        if not self.find_faces:
            return face_boxes(evidence)
        with _DLIB:   # dlib's detector is not documented as thread-safe
            return [face.box() for face in scan_faces(image, FaceSettings()).faces]


def riskiest(quarantined, count: int):
    """The ``count`` riskiest quarantined records' ids, riskiest first (Top.Of)."""
    return (quarantined
            | "RiskAndId" >> beam.Map(lambda row: (row["risk"], row["id"]))
            | "Riskiest" >> beam.combiners.Top.Of(count)
            | "Ids" >> beam.Map(lambda top: [record_id for _, record_id in top]))


def cluster_sizes(per_cluster):
    """(reason, size bucket) -> clusters, as a list of pairs."""
    return (per_cluster
            | "ReasonAndSize" >> beam.Map(lambda kv: (kv[1]["reason"], size_bucket(kv[1]["size"])))
            | "CountSizes" >> beam.combiners.Count.PerElement())


class _Wanted(beam.DoFn):
    """The elements whose id (``id_of``) the report names."""

    def __init__(self, id_of):
        self.id_of = id_of

    def process(self, element, ids):
        if self.id_of(element) in ids:
            yield element


class Previews(beam.PTransform):
    """(cleaned text rows, cleaned image rows, quarantine rows, cluster memberships, top
    clusters, riskiest ids) -> (id, preview) for every id the report names."""

    def __init__(self, side: int, show_faces: bool, faces_checked: bool, pii_checked: bool):
        super().__init__()
        self.args = (side, show_faces, faces_checked, pii_checked)

    def expand(self, inputs):
        text, image_text, quarantined, memberships, top, riskiest_ids = inputs
        wanted = beam.pvalue.AsSingleton(
            riskiest_ids
            | "Wanted" >> beam.Map(
                lambda ids, clusters: set(ids) | {
                    i for c in clusters for i in [c["kept_id"], *c["examples"]] if i},
                clusters=beam.pvalue.AsSingleton(top, default_value=[])),
            default_value=set())
        rows = (
            text | "CleanedText" >> beam.Map(lambda row: (CLEANED, row)),
            image_text | "CleanedImages" >> beam.Map(lambda row: (CLEANED, row)),
            quarantined | "Quarantined" >> beam.Map(lambda row: (QUARANTINED, row)),
        ) | "Rows" >> beam.Flatten()
        named = {
            "row": rows
            | "WantedRows" >> ParDoAfterInput(_Wanted(lambda dr: dr[1]["id"]), wanted)
            | "RowById" >> beam.Map(lambda dr: (dr[1]["id"], dr)),
            "clusters": memberships
            | "WantedMembers" >> ParDoAfterInput(_Wanted(lambda cm: cm[1].record_id), wanted)
            | "MemberById" >> beam.Map(lambda cm: (cm[1].record_id, cm)),
        }
        return (named
                | "ById" >> beam.CoGroupByKey()
                | "Preview" >> beam.ParDo(_Preview(*self.args)))
