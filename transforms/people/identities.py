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
from transforms.common.nodes import (WithNodes, face_node, face_number, id_of, record_of,
                                     uid_of)

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


class _IdentityVerdicts(beam.DoFn):
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
        count = sum(grouped["count"])
        if count < self.min_records:
            return
        self.identities.inc()
        self.sizes.update(count)
        first = next(iter(grouped["first"]), [])
        earliest, first = min(first, default=None), set(first)
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
    verdicts out."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def expand(self, inputs):
        p = self.policy
        encodings = (inputs
                     | "WithNodes" >> WithNodes()
                     | "FaceNodes" >> beam.MapTuple(
                         lambda node, face: (face_node(node, face[0]), face[1])))
        pairs = encodings | "Pairs" >> BucketPairs(
            EncodingKeys(p.bands, p.bits, p.levels, p.seed, p.probes), EuclideanMetric(),
            p.max_distance, p.max_bucket, p.levels, NAMESPACE)
        members = (pairs
                   | "Edges" >> beam.Keys()
                   | "Components" >> ConnectedComponents(p.rounds, namespace=NAMESPACE)
                   | "RecordOfFace" >> beam.MapTuple(lambda face, root: (root, record_of(face)))
                   | "OncePerRecord" >> beam.Distinct())
        counts = members | "Count" >> beam.combiners.Count.PerKey()
        first = members | "First" >> beam.combiners.Top.SmallestPerKey(p.cap)
        return ({"records": members, "count": counts, "first": first}
                | "ByIdentity" >> beam.CoGroupByKey()
                | "Verdicts" >> beam.ParDo(_IdentityVerdicts(p.min_records, p.action, p.cap)))
