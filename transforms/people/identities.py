"""Repeated identities: one person's face across many records.

Steps (counters in namespace identities):
  Pairs       face encodings keyed by random-hyperplane LSH (detectors/hyperplanes.py,
              centred on a typical encoding, with multi-probe keys), buckets compared in
              numpy, pairs within ``max_distance`` (0.6: face_recognition's same person) kept
              (transforms.common.buckets.BucketPairs: hot buckets split, never gathered).
  Components  ConnectedComponents over face pairs: an identity is a component.
  Records     an identity's records (a record with the person twice counts once),
              counted by a combiner; its first ``cap`` records (input order) by
              Top.Smallest, a bounded combiner, so no step holds an identity's members.
  Verdicts    every record of an identity seen in ``min_records`` records or more gets
              repeated_identity with the identity's id and record count: cap keeps the
              first ``cap`` (flagged) and quarantines the rest; quarantine holds all;
              keep flags all.
"""

import json

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from detectors.clusters import person_cluster
from detectors.face_center import FACE_CENTER
from detectors.faces import ENCODING_DIMS, encoding_array
from detectors.hyperplanes import HyperplaneLsh
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, Verdict
from transforms.common.buckets import BucketPairs
from transforms.common.components import ConnectedComponents
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import (WithNodes, face_node, face_number, id_of, input_order,
                                     is_previous, previous_node, record_of, uid_of)
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "identities"


class EncodingKeys:
    """LSH keys of an encoding (little-endian float32 bytes)."""

    def __init__(self, bands: int, bits: int, levels: int, seed: int, probes: int = 0):
        self.lsh = HyperplaneLsh(ENCODING_DIMS, bands, bits, levels, seed, FACE_CENTER, probes)

    def top(self, encoding: bytes):
        return self.lsh.top(encoding_array(encoding))

    def below(self, key, encoding: bytes):
        return self.lsh.below(key, encoding_array(encoding))


class EuclideanMetric:
    def stack(self, encodings):
        return np.frombuffer(b"".join(encodings), "<f4").reshape(len(encodings), -1)

    def row(self, matrix, i):
        return np.linalg.norm(matrix[i + 1:] - matrix[i], axis=1)

    def distance(self, a, b):
        return float(np.linalg.norm(encoding_array(a) - encoding_array(b)))


def previous_face(row: dict):
    """A faces part's row as this stage takes an earlier run's face: (face node, encoding).
    The face node is named after its identity's root, so the first of several earlier
    faces in one identity tonight is the root's (transforms.common.nodes.previous_node)."""
    return face_node(previous_node(row["id"], row["root_id"], row["order"]),
                     row["root_face"]), row["encoding"]


def earlier_identity(row: dict):
    """(the earlier identity a faces part's row is in, its record): to count its records."""
    return (row["root_id"], row["root_face"]), row["id"]


def identity_of(face):
    """An earlier run's face node -> the earlier identity it is in (root record, face)."""
    return id_of(record_of(face)), face_number(face)


def _is_earlier_face(face) -> bool:
    return is_previous(record_of(face))


def face_row(run: str):
    """(face, {encoding, root}) of tonight's face -> its row in the running index."""
    def row(element):
        face, grouped = element
        if grouped["encoding"]:   # else an earlier run's face: carried as it was
            root = grouped["root"][0] if grouped["root"] else face
            yield {"id": id_of(record_of(face)), "face": face_number(face),
                   "encoding": grouped["encoding"][0], "root_id": id_of(record_of(root)),
                   "root_face": face_number(root), "order": input_order(run, record_of(root))}
    return row


class _IdentityVerdicts(beam.DoFn):
    """An identity's records: tonight's (streamed), its record count over all runs, the
    first ``cap`` of tonight's, and how many records earlier runs saw in it, which come
    first in input order."""

    def __init__(self, min_records: int, action: str, cap: int):
        self.min_records = min_records
        self.action = action
        self.cap = cap

    def setup(self):
        self.identities = Metrics.counter(NAMESPACE, "repeated_identities")
        self.flagged = Metrics.counter(NAMESPACE, "records_flagged")
        self.held = Metrics.counter(NAMESPACE, "records_quarantined")
        self.sizes = Metrics.distribution(NAMESPACE, "identity_records")

    def process(self, element):
        root, grouped = element
        earlier = sum(grouped.get("earlier", ()))
        count = sum(grouped["count"]) + earlier
        if count < self.min_records or not grouped["count"]:
            return
        self.identities.inc()
        self.sizes.update(count)
        first = sorted(next(iter(grouped["first"]), []))
        earliest = None if earlier else min(first, default=None)
        first = set(first[:max(0, self.cap - earlier)])
        identity = person_cluster(id_of(record_of(root)), face_number(root))
        for record in grouped["records"]:   # streamed: never held as a list
            uid = uid_of(record)
            kept = self.action == "keep" or (self.action == "cap" and record in first)
            (self.flagged if kept else self.held).inc()
            evidence = {"identity_id": identity, "identity_records": count,
                        "action": self.action, "cap": self.cap if self.action == "cap" else None,
                        "kept": kept, "first_record": record == earliest}
            yield Verdict(uid=uid, reason=Reason.REPEATED_IDENTITY.value,
                          action=FLAG if kept else QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=None, group_size=count, cluster=identity)


class RepeatedIdentities(beam.PTransform):
    """((uid, (face number, encoding)) pairs, (uid, node) pairs) in; repeated_identity
    verdicts out; with ``index``, a dict of them (VERDICTS) and tonight's faces as rows of
    the running index (INDEX): every face with the identity it is in.

    Across runs, ``previous``: earlier runs' faces part rows. Their faces join tonight's
    pairs (two earlier faces' pair is not looked for again: its identity was found then);
    an identity's record count adds the records earlier runs saw in it, and those come
    first, so a person capped at ``cap`` records stays capped over all nights, as one run
    over all of them decides. ``run``: when tonight's run started."""

    def __init__(self, policy, previous=None, index: bool = False, run: str = ""):
        super().__init__()
        self.policy = policy
        self.previous = previous
        self.index = index
        self.run = run

    def expand(self, inputs):
        p = self.policy
        tonight = (inputs
                   | "WithNodes" >> WithNodes()
                   | "FaceNodes" >> beam.MapTuple(
                       lambda node, face: (face_node(node, face[0]), face[1])))
        encodings = tonight
        if self.previous is not None:
            earlier_faces = self.previous | "EarlierFaces" >> beam.Map(previous_face)
            encodings = (tonight, earlier_faces) | "WithEarlierRuns" >> FlattenShared()
        pairs = (encodings
                 | "Pairs" >> BucketPairs(
                     EncodingKeys(p.bands, p.bits, p.levels, p.seed, p.probes),
                     EuclideanMetric(), p.max_distance, p.max_bucket, p.levels, NAMESPACE)
                 | "TonightsPairs" >> beam.Filter(lambda kv: not (
                     _is_earlier_face(kv[0][0]) and _is_earlier_face(kv[0][1]))))
        roots = (pairs
                 | "Edges" >> beam.Keys()
                 | "Components" >> ConnectedComponents(p.rounds, namespace=NAMESPACE))
        members = (roots
                   | "RecordOfFace" >> beam.MapTuple(lambda face, root: (root, record_of(face)))
                   | "OncePerRecord" >> beam.Distinct())
        tonights = members | "Tonights" >> beam.Filter(lambda kv: not is_previous(kv[1]))
        counts = tonights | "Count" >> beam.combiners.Count.PerKey()
        first = tonights | "First" >> beam.combiners.Top.SmallestPerKey(p.cap)
        grouped = {"records": tonights, "count": counts, "first": first}
        if self.previous is not None:
            grouped["earlier"] = self._earlier_records(roots)
        verdicts = (grouped
                    | "ByIdentity" >> beam.CoGroupByKey()
                    | "Verdicts" >> beam.ParDo(_IdentityVerdicts(p.min_records, p.action,
                                                                 p.cap)))
        if not self.index:
            return verdicts
        rows = ({"encoding": tonight, "root": roots}
                | "WithRoots" >> beam.CoGroupByKey()
                | "IndexRows" >> beam.FlatMap(face_row(self.run)))
        return {VERDICTS: verdicts, INDEX: rows}

    def _earlier_records(self, roots):
        """(root, records an earlier identity in its component holds) per such identity:
        counted over the whole faces part, by a combiner."""
        sizes = (self.previous
                 | "EarlierRecords" >> beam.Map(earlier_identity)
                 | "OnceEach" >> beam.Distinct()
                 | "EarlierSize" >> beam.combiners.Count.PerKey())
        joined = (roots
                  | "EarlierFacesIn" >> beam.Filter(lambda kv: _is_earlier_face(kv[0]))
                  | "EarlierIdentity" >> beam.MapTuple(lambda face, root: (
                      identity_of(face), root))
                  | "OnceAnIdentity" >> beam.Distinct())
        return ({"root": joined, "size": sizes}
                | "JoinSize" >> beam.CoGroupByKey()
                | "SizeOfRoot" >> beam.FlatMap(lambda kv: (
                    (root, size) for root in kv[1]["root"] for size in kv[1]["size"])))
