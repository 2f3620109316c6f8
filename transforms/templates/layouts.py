"""Layout templates across the corpus: mockups that share one fixed picture.

Steps (counters in namespace layouts):
  Thumbnails  every valid image shrunk to side x side (detectors/layout.py), joined by
              record with its node (transforms/common/nodes.py), its caption template
              (caption_template verdicts) and its face boxes (face verdicts), as fractions
              of the image.
  Earlier     with --index-in, earlier runs' images (the layouts part: thumbnail and
              what groups it) join tonight's, so a layout that grows by night is
              estimated and counted as one run over all nights would.
  Groups      candidates share a key: (caption template, width, height), (width,
              height, border signature), and with CLIP on, (width, height, one of 4
              coarse LSH keys of the embedding): CLIP proposes images whose captions
              share nothing.
  Layouts     per group a bounded, deterministic sample (the ``max_sample`` members with
              the smallest hash of their id, by Top.PerKey: the same over nights as in one
              run) estimates up to ``max_layouts`` layouts:
              median picture, fixed area, its information, and whether the sample's
              faces lie in the fixed area.
  Members     every member of a group (streamed) is matched to the group's layouts; an
              image matched in both of its groups keeps its caption group's match (one
              shop's mockups share a caption template even where the product reaches the
              border and changes its signature), else the better one.
  Clusters    members counted and the first ``keep`` in input order found by combiners
              per layout (earlier runs' images from --index-in counted, never decided). A layout of at least ``min_members`` images whose fixed area
              holds information is a template: template_face when faces lie in its fixed
              area (quarantine all, by default), else template_cluster (keep the first
              ``keep``, flagged; quarantine the rest). An uninformative layout (a plain
              background) is counted, not acted on.
"""

import base64
import json

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from detectors.clusters import layout_cluster
from detectors.hashing import digest
from detectors.layout import best_layout, border_key, estimate, face_in_fixed, mask_png, thumbnail
from schemas.settings import LayoutSettings
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, Verdict, valid_image
from transforms.common.faults import error_verdict
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import id_of, input_order, is_previous, previous_node, uid_of
from transforms.io.index import INDEX, VERDICTS
from transforms.dedup.semantic import CosineKeys

NAMESPACE = "layouts"
ERRORS = "errors"


class _Thumbnail(beam.DoFn):
    def __init__(self, side: int):
        self.side = side

    def setup(self):
        self.failed = Metrics.counter(NAMESPACE, "thumbnail_errors")

    def process(self, record):
        try:
            thumb, width, height = thumbnail(record.image, self.side)
        except Exception as err:   # validation decoded it: this record only, held back
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, error_verdict(record.uid, "layouts", err))
            return
        yield record.uid, (thumb.tobytes(), width, height)


# CLIP proposals: a few coarse LSH keys of the embedding (images of one layout with other
# products are close, not equal: short keys, several of them).
CLIP_KEYS = CosineKeys(bands=4, bits=8, levels=0, seed=7)


def _item(element, clip_keys):
    """(uid, joined) -> (node, thumb bytes, width, height, template id, face boxes, CLIP
    keys)."""
    uid, joined = element
    if not joined["thumb"]:
        return
    [node] = joined["node"]
    thumb, width, height = joined["thumb"][0]
    template = next((v.cluster for v in joined["template"]), None)
    boxes = [[top / height, left / width, bottom / height, right / width]
             for v in joined["faces"] for top, left, bottom, right in v.faces]
    keys = [key for vector in joined["clip"][:1] for key in clip_keys.top(vector)]
    yield node, thumb, width, height, template, boxes, keys


def layouts_format(settings: LayoutSettings) -> dict:
    """What two runs' thumbnails must share to be estimated together (kept in the index)."""
    return {"kind": "layouts", "side": settings.side}


def _index_row(item, run: str) -> dict:
    node, thumb, width, height, template, boxes, keys = item
    return {"id": id_of(node), "order": input_order(run, node), "thumb": thumb,
            "width": width, "height": height, "template": template, "faces": boxes,
            "clip_keys": [list(key) for key in keys]}


def previous_item(row: dict):
    """A layouts part's row as the stage's item: an earlier run's node (it sorts first)."""
    return (previous_node(row["id"], row["id"], row["order"]), row["thumb"], row["width"],
            row["height"], row["template"], row["faces"],
            [tuple(key) for key in row["clip_keys"]])


def _groups(item, side):
    node, thumb, width, height, template, _, clip = item
    if template is not None:
        yield ("caption", template, width, height), item
    pixels = np.frombuffer(thumb, np.uint8).reshape(side, side, 3)
    yield ("border", width, height, border_key(pixels)), item
    for band, code in clip:
        yield ("clip", width, height, band, code), item


def _group_name(group) -> str:
    return "/".join(str(part) for part in group)


class _Estimate(beam.DoFn):
    """(group, sample) -> (group, [layout summary with its arrays])."""

    def __init__(self, settings: LayoutSettings):
        self.settings = settings

    def setup(self):
        self.found = Metrics.counter(NAMESPACE, "layouts_estimated")

    def process(self, element):
        group, sample = element
        s = self.settings
        thumbs = [np.frombuffer(item[1], np.uint8).reshape(s.side, s.side, 3) for item in sample]
        layouts = estimate(thumbs, s, _group_name(group))
        if not layouts:
            return
        self.found.inc(len(layouts))
        summaries = []
        for layout in layouts:
            members = [item for item, thumb in zip(sample, thumbs)
                       if best_layout(thumb, [layout], s) is not None]
            with_face = sum(any(face_in_fixed(box, layout.fixed) for box in item[5])
                            for item in members)
            summaries.append({
                "layout": layout, "group": _group_name(group),
                "face_in_fixed": with_face * 2 >= len(members) and with_face > 0,
                "informative": layout.information >= s.min_information,
            })
        yield group, summaries


class _Match(beam.DoFn):
    def __init__(self, settings: LayoutSettings):
        self.settings = settings

    def process(self, element):
        _, grouped = element
        estimated = list(grouped["layouts"])
        if not estimated:
            return
        summaries = estimated[0]
        by_id = {s["layout"].layout_id: s for s in summaries}
        masks = {layout_id: base64.b64encode(mask_png(s["layout"].fixed)).decode("ascii")
                 for layout_id, s in by_id.items()}
        for item in grouped["members"]:   # streamed
            node, thumb = item[0], item[1]
            pixels = np.frombuffer(thumb, np.uint8).reshape(self.settings.side,
                                                            self.settings.side, 3)
            found = best_layout(pixels, [s["layout"] for s in summaries], self.settings)
            if found is None:
                continue
            layout, score = found
            summary = by_id[layout.layout_id]
            # A caption group is the stronger evidence: an image in both keeps its match.
            kind = 1 if summary["group"].startswith("caption/") else 0
            yield node, ((kind, round(score, 4)), layout.layout_id, {
                "layout_id": layout.layout_id, "group": summary["group"],
                "fixed_fraction": layout.fixed_fraction, "information": layout.information,
                "informative": summary["informative"],
                "face_in_fixed": summary["face_in_fixed"],
                "mask_png": masks[layout.layout_id]})


class _Verdicts(beam.DoFn):
    def __init__(self, settings: LayoutSettings):
        self.settings = settings

    def setup(self):
        self.clusters = Metrics.counter(NAMESPACE, "template_clusters")
        self.face_clusters = Metrics.counter(NAMESPACE, "template_face_clusters")
        self.plain = Metrics.counter(NAMESPACE, "uninformative_layouts")
        self.held = Metrics.counter(NAMESPACE, "records_quarantined")

    def process(self, element):
        layout_id, grouped = element
        size = sum(grouped["count"])
        info = next(iter(grouped["info"]), None)
        if info is None or size < self.settings.min_members:
            return
        if not info["informative"]:
            self.plain.inc()
            return
        face = info["face_in_fixed"]
        (self.face_clusters if face else self.clusters).inc()
        reason = Reason.TEMPLATE_FACE if face else Reason.TEMPLATE_CLUSTER
        action = self.settings.face_action if face else self.settings.cluster_action
        first = set(next(iter(grouped["first"]), []))
        cluster = layout_cluster(layout_id)
        for node, score in grouped["members"]:   # streamed
            if is_previous(node):   # counted above; decided by its own night
                continue
            uid = uid_of(node)
            kept = action == "keep" or (action == "cap" and node in first)
            if not kept:
                self.held.inc()
            evidence = {**{k: v for k, v in info.items() if k != "informative"},
                        "cluster_id": cluster,
                        "cluster_size": size, "similarity": score, "action": action,
                        "kept": kept}
            yield Verdict(uid=uid, reason=reason.value, action=FLAG if kept else QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=None, group_size=size, cluster=cluster)


class LayoutTemplates(beam.PTransform):
    """(records, (uid, node) pairs, face verdicts, caption-template verdicts, CLIP
    embeddings as (uid, vector)) in (the last three may be empty); template_face and
    template_cluster verdicts out, and detector_error for an image that cannot be made a
    thumbnail; with ``index``, a dict of them (VERDICTS) and tonight's images as rows of
    the running index (INDEX). ``previous``: earlier runs' rows (the layouts part);
    ``run``: when tonight's run started.

    The bound over nights: an earlier image whose caption template was mined only on a
    later night is grouped by its border and CLIP keys, not by that template (its row
    holds the template its own night knew)."""

    def __init__(self, settings: LayoutSettings, previous=None, index: bool = False,
                 run: str = ""):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index
        self.run = run

    def expand(self, inputs):
        records, nodes, faces, templates, embeddings = inputs
        s = self.settings
        made = (records
                | "Images" >> beam.Filter(valid_image)
                | "Thumbnails" >> beam.ParDo(_Thumbnail(s.side)).with_outputs(
                    ERRORS, main="thumbs"))
        thumbs = made.thumbs
        items = ({"thumb": thumbs, "node": nodes,
                  "faces": faces
                  | "FaceVerdicts" >> beam.Filter(lambda v: v.reason == Reason.FACE.value)
                  | "FaceByUid" >> beam.Map(lambda v: (v.uid, v)),
                  "template": templates
                  | "TemplateVerdicts" >> beam.Filter(
                      lambda v: v.reason == Reason.CAPTION_TEMPLATE.value)
                  | "TemplateByUid" >> beam.Map(lambda v: (v.uid, v)),
                  "clip": embeddings}
                 | "JoinByRecord" >> beam.CoGroupByKey()
                 | "Items" >> beam.FlatMap(_item, CLIP_KEYS))
        tonight = items
        if self.previous is not None:
            items = (items, self.previous | "Earlier" >> beam.Map(previous_item)
                     ) | "WithEarlier" >> FlattenShared()
        grouped = items | "Groups" >> beam.FlatMap(_groups, s.side)
        layouts = (grouped
                   | "Sample" >> beam.combiners.Top.PerKey(
                       s.max_sample, key=lambda item: digest(id_of(item[0]).encode(
                           "utf-8", "surrogatepass")), reverse=True)
                   | "Estimate" >> beam.ParDo(_Estimate(s)))
        matched = ({"members": grouped, "layouts": layouts}
                   | "ByGroup" >> beam.CoGroupByKey()
                   | "Match" >> beam.ParDo(_Match(s))
                   | "BestOfGroups" >> beam.CombinePerKey(
                       lambda matches: max(matches, key=lambda m: (m[0], m[1]))))
        by_layout = matched | "ByLayout" >> beam.MapTuple(
            lambda node, m: (m[1], (node, m[0][1], m[2])))
        members = by_layout | "Members" >> beam.MapTuple(lambda lid, m: (lid, (m[0], m[1])))
        info = (by_layout
                | "Info" >> beam.MapTuple(lambda lid, m: (lid, m[2]))
                | "OneInfo" >> beam.combiners.Sample.FixedSizePerKey(1)
                | "Unwrap" >> beam.MapTuple(lambda lid, infos: (lid, infos[0])))
        counts = members | "Count" >> beam.combiners.Count.PerKey()
        first = (members
                 | "Nodes" >> beam.MapTuple(lambda lid, m: (lid, m[0]))
                 | "First" >> beam.combiners.Top.SmallestPerKey(s.keep))
        verdicts = ({"members": members, "count": counts, "first": first, "info": info}
                    | "ByCluster" >> beam.CoGroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdicts(s)))
        verdicts = (verdicts, made[ERRORS]) | "WithErrors" >> beam.Flatten()
        if not self.index:
            return verdicts
        return {VERDICTS: verdicts,
                INDEX: tonight | "IndexRows" >> beam.Map(_index_row, self.run)}
