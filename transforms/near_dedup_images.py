"""Near-duplicate images: pHash multi-index blocks -> verified pairs -> components -> verdicts.

Steps (counters in namespace near_dedup_images):
  Blocks      each hash is cut into r + 1 blocks (detectors.phash); two hashes within
              Hamming distance r agree on at least one, so (block, value) keys find
              every such pair.
  Hot blocks  a key held by more than ``max_bucket`` images (near-blank pictures share
              most blocks) is counted by a combiner, never grouped: its members are
              keyed again by the r + 1 blocks of the bits outside the shared block,
              which keeps the guarantee (the pair's differences all lie there), and so
              on for ``levels`` levels. A key still hot after that holds (nearly) one
              picture many times (a meme, a blank frame): its group is streamed, never
              held, and each member is compared with the smallest member only (a star);
              members farther than r from it are counted (hot_members_not_compared).
  Pairs       a bucket (at most ``max_bucket`` images) compares all its pairs; a pair
              counts when its distance is at most r. Pairs found in several buckets
              are kept once.
  Components  ConnectedComponents over the pairs (transforms.components).
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

from detectors.hashing import digest
from detectors.phash import hamming, level_keys
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Verdict
from transforms.components import ConnectedComponents
from transforms.groups import first_and_size
from transforms.near_dedup import node_of, parse_node

NAMESPACE = "near_dedup_images"


class _Pairs(beam.DoFn):
    def __init__(self, radius: int):
        self.radius = radius

    def setup(self):
        self.compared = Metrics.counter(NAMESPACE, "pairs_compared")
        self.matched = Metrics.counter(NAMESPACE, "pairs_within_radius")
        self.sizes = Metrics.distribution(NAMESPACE, "bucket_size")

    def process(self, element):
        _, members = element
        members = list(members)   # bounded: hot keys never reach this step
        self.sizes.update(len(members))
        nodes = [node for node, _ in members]
        bits = np.frombuffer(b"".join(h for _, h in members), np.uint8).reshape(len(members), -1)
        self.compared.inc(len(members) * (len(members) - 1) // 2)
        for i in range(len(members) - 1):  # one row of the distance matrix at a time, in numpy
            distances = np.bitwise_count(bits[i] ^ bits[i + 1:]).sum(axis=1, dtype=np.int64)
            for j in np.flatnonzero(distances <= self.radius):
                a, b = nodes[i], nodes[i + 1 + j]
                if a == b:
                    continue   # two orientations of one image
                self.matched.inc()
                yield ((a, b) if a < b else (b, a)), int(distances[j])


class _ClusterVerdicts(beam.DoFn):
    def setup(self):
        self.clusters = Metrics.counter(NAMESPACE, "clusters")
        self.removed = Metrics.counter(NAMESPACE, "removed")
        self.sizes = Metrics.distribution(NAMESPACE, "cluster_size")

    def process(self, element):
        root, members = element
        members = list(members)   # (node, smallest distance); a cluster is one picture's copies
        size = len(members)
        self.clusters.inc()
        self.sizes.update(size)
        _, kept_id = parse_node(root)
        cluster_id = "image-" + digest(root.encode("utf-8", "surrogatepass"), 8)
        for node, distance in members:
            if node == root:
                continue
            uid, _ = parse_node(node)
            self.removed.inc()
            evidence = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept_id,
                        "hamming_distance": distance}
            yield Verdict(uid=uid, reason=Reason.NEAR_DUPLICATE_IMAGE.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept_id, group_size=size)


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
        radius, max_bucket = self.radius, self.max_bucket
        size = self.hash_bytes
        # One item per hash: an image hashed under its 8 rotations and flips is 8 items of
        # one node, so a turned copy meets it in a block of the matching orientation.
        hashed = (fingerprints
                  | "HasHash" >> beam.Filter(lambda fp: fp.phash is not None)
                  | "ByNode" >> beam.FlatMap(lambda fp: (
                      (node_of(fp), fp.phash[i:i + size])
                      for i in range(0, len(fp.phash), size))))
        keyed = hashed | "Level0" >> beam.FlatMapTuple(
            lambda node, h: ((key, (node, h)) for key in level_keys(h, (), radius)))
        buckets, exact = [], []
        for level in range(self.levels + 1):
            hot = (keyed
                   | f"Count{level}" >> beam.Map(lambda kv: (kv[0], 1))
                   | f"Sizes{level}" >> beam.CombinePerKey(sum)
                   | f"Hot{level}" >> beam.Filter(lambda kv: kv[1] > max_bucket)
                   | f"HotKeys{level}" >> beam.Keys())
            hot_set = beam.pvalue.AsList(hot)
            split = keyed | f"Split{level}" >> beam.ParDo(
                _SplitHot(level), hot_set).with_outputs("hot", main="bounded")
            buckets.append(split.bounded)
            if level == self.levels:
                exact.append(split.hot)
            else:
                keyed = split.hot | f"Level{level + 1}" >> beam.FlatMap(_rekey, radius)
        pairs = (tuple(buckets) | "Buckets" >> beam.Flatten()
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "Pairs" >> beam.ParDo(_Pairs(radius)))
        if exact:
            star = (exact[0]
                    | "GroupHot" >> beam.GroupByKey()
                    | "HotStar" >> beam.ParDo(_HotStar(radius)))
            pairs = (pairs, star) | "AllPairs" >> beam.Flatten()
        pairs = pairs | "UniquePairs" >> beam.CombinePerKey(min)
        roots = (pairs
                 | "Edges" >> beam.Keys()
                 | "Components" >> ConnectedComponents(self.rounds, namespace=NAMESPACE))
        nearest = (pairs
                   | "BothEnds" >> beam.FlatMap(lambda kv: ((kv[0][0], kv[1]), (kv[0][1], kv[1])))
                   | "Nearest" >> beam.CombinePerKey(min))
        return ({"root": roots, "distance": nearest}
                | "JoinDistance" >> beam.CoGroupByKey()
                | "ByRoot" >> beam.FlatMap(
                    lambda kv: [(kv[1]["root"][0], (kv[0], min(kv[1]["distance"], default=0)))]
                    if kv[1]["root"] else [])
                | "Clusters" >> beam.GroupByKey()
                | "Verdicts" >> beam.ParDo(_ClusterVerdicts()))


def _rekey(element, radius):
    """A hot key's member, keyed one level down (or by its exact hash when no bits are left)."""
    path, (node, hash_bytes) = element
    keys = level_keys(hash_bytes, path, radius)
    item = (node, hash_bytes)
    return [(key, item) for key in keys] or [(("exact", hash_bytes), item)]


class _SplitHot(beam.DoFn):
    """Main output: members of keys small enough to group; 'hot': the others."""

    def __init__(self, level: int):
        self.level = level

    def setup(self):
        self.hot = Metrics.counter(NAMESPACE, f"hot_bucket_members_level{self.level}")
        self._source, self._hot = None, frozenset()

    def process(self, element, hot_keys):
        if hot_keys is not self._source:  # the side input changes per window, not per element
            self._source, self._hot = hot_keys, frozenset(hot_keys)
        if element[0] in self._hot:
            self.hot.inc()
            yield beam.pvalue.TaggedOutput("hot", element)
        else:
            yield element


class _HotStar(beam.DoFn):
    """A key still hot after every level: the group is read twice, never held (first the
    smallest member, then a star of verified pairs to it). Members farther than r
    from the smallest are counted, not compared with each other."""

    def __init__(self, radius: int):
        self.radius = radius

    def setup(self):
        self.far = Metrics.counter(NAMESPACE, "hot_members_not_compared")

    def process(self, element):
        _, members = element
        (first, first_hash), _ = first_and_size(members, lambda m: m[0])
        for node, hash_bytes in members:
            if node == first:
                continue
            distance = hamming(first_hash, hash_bytes)
            if distance <= self.radius:
                yield (first, node), distance
            else:
                self.far.inc()
