"""Near-duplicate images: pHash multi-index blocks -> verified pairs -> components -> verdicts.

Steps (counters in namespace near_dedup_images):
  Blocks      each hash is cut into r + 1 blocks (detectors.phash); two hashes within
              Hamming distance r agree on at least one, so (block, value) keys find
              every such pair.
  Pairs       transforms.common.buckets.BucketPairs: buckets compared pairwise in numpy, pairs
              within r kept. A key held by more than ``max_bucket`` images (near-blank
              pictures share most blocks) is keyed again by the r + 1 blocks of the bits
              outside the shared block, which keeps the guarantee (the pair's
              differences all lie there), up to ``levels`` times; a key still hot after
              that holds (nearly) one picture many times (a meme, a blank frame) and is
              streamed as a star around its first member.
  Components  ConnectedComponents over the pairs (transforms.common.components).
  Verdicts    every member but the root (first in input order) is quarantined with
              the cluster id, its size, the kept image and the smallest distance to a
              cluster neighbour.
The caption plays no part: image-text pairs with one image and different captions are
duplicates of the image. With orientations 8, each image enters as 8 items (its hash under
every rotation and flip) of one node, and a pair's distance is that of its closest
orientations.
"""

import json

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from detectors.clusters import IMAGE, duplicate_cluster
from detectors.phash import hamming, level_keys
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Verdict
from transforms.common.buckets import BucketPairs
from transforms.common.components import ConnectedComponents
from transforms.common.nodes import id_of, node_of, uid_of

NAMESPACE = "near_dedup_images"


class HammingBlocks:
    """Keys of a hash: multi-index blocks of the bits a key above leaves free."""

    def __init__(self, radius: int):
        self.radius = radius

    def top(self, hash_bytes):
        return level_keys(hash_bytes, (), self.radius)

    def below(self, path, hash_bytes):
        return level_keys(hash_bytes, path, self.radius)


class HammingMetric:
    def stack(self, hashes):
        return np.frombuffer(b"".join(hashes), np.uint8).reshape(len(hashes), -1)

    def row(self, bits, i):
        return np.bitwise_count(bits[i] ^ bits[i + 1:]).sum(axis=1, dtype=np.int64)

    def distance(self, a, b):
        return hamming(a, b)


class _ClusterVerdicts(beam.DoFn):
    def __init__(self, reason: Reason, namespace: str, prefix: str, distance: str):
        self.reason = reason
        self.namespace = namespace
        self.prefix = prefix
        self.distance = distance

    def setup(self):
        self.clusters = Metrics.counter(self.namespace, "clusters")
        self.removed = Metrics.counter(self.namespace, "removed")
        self.sizes = Metrics.distribution(self.namespace, "cluster_size")

    def process(self, element):
        root, members = element
        size = sum(1 for _ in members)   # counted, then read again: never held
        self.clusters.inc()
        self.sizes.update(size)
        kept_id = id_of(root)
        cluster_id = duplicate_cluster(self.prefix, kept_id)
        for node, distance in members:
            if node == root:
                continue
            uid = uid_of(node)
            self.removed.inc()
            evidence = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept_id,
                        self.distance: distance}
            yield Verdict(uid=uid, reason=self.reason.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept_id, group_size=size)


class PairClusters(beam.PTransform):
    """((a, b), distance) pairs in; a verdict for every member of a connected component
    but its root (the first in input order), with the cluster, the kept record and the
    member's smallest distance to a neighbour (``distance_of`` turns it into the figure
    the evidence shows under ``distance``)."""

    def __init__(self, reason: Reason, namespace: str, rounds: int, prefix: str,
                 distance: str, distance_of=lambda d: d):
        super().__init__()
        self.reason = reason
        self.namespace = namespace
        self.rounds = rounds
        self.prefix = prefix
        self.distance = distance
        self.distance_of = distance_of

    def expand(self, pairs):
        shown = self.distance_of
        roots = (pairs
                 | "Edges" >> beam.Keys()
                 | "Components" >> ConnectedComponents(self.rounds, namespace=self.namespace))
        nearest = (pairs
                   | "BothEnds" >> beam.FlatMap(lambda kv: ((kv[0][0], kv[1]), (kv[0][1], kv[1])))
                   | "Nearest" >> beam.CombinePerKey(min))
        return ({"root": roots, "distance": nearest}
                | "JoinDistance" >> beam.CoGroupByKey()
                | "ByRoot" >> beam.FlatMap(
                    lambda kv: [(kv[1]["root"][0],
                                 (kv[0], shown(min(kv[1]["distance"], default=0))))]
                    if kv[1]["root"] else [])
                | "Clusters" >> beam.GroupByKey()
                | "Verdicts" >> beam.ParDo(_ClusterVerdicts(self.reason, self.namespace,
                                                            self.prefix, self.distance)))


class NearDuplicateImages(beam.PTransform):
    """Fingerprints with pHashes in, near_duplicate_image verdicts out."""

    def __init__(self, radius: int, hash_bytes: int = 8, max_bucket: int = 256, levels: int = 3,
                 rounds: int = 10):
        super().__init__()
        self.radius = radius
        self.hash_bytes = hash_bytes
        self.max_bucket = max_bucket
        self.levels = levels
        self.rounds = rounds

    def expand(self, fingerprints):
        size = self.hash_bytes
        # One item per hash: an image hashed under its 8 rotations and flips is 8 items of
        # one node, so a turned copy meets it in a block of the matching orientation.
        hashed = (fingerprints
                  | "HasHash" >> beam.Filter(lambda fp: fp.phash is not None)
                  | "ByNode" >> beam.FlatMap(lambda fp: (
                      (node_of(fp), fp.phash[i:i + size])
                      for i in range(0, len(fp.phash), size))))
        pairs = hashed | "Pairs" >> BucketPairs(
            HammingBlocks(self.radius), HammingMetric(), self.radius, self.max_bucket,
            self.levels, NAMESPACE, distance_type=int)
        return pairs | "Clusters" >> PairClusters(
            Reason.NEAR_DUPLICATE_IMAGE, NAMESPACE, self.rounds, IMAGE, "hamming_distance")

