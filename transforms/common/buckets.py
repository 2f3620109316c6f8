"""Candidate buckets -> verified close pairs, without letting a hot bucket gather.

Shared by the stages that find near neighbours by keys (pHash multi-index blocks, face
encodings by random-hyperplane LSH). Items are (node, vector). Two small objects say
the rest:
  keys    ``top(vector)``: the item's level-0 keys; ``below(key, vector)``: its keys one
          level below ``key`` (empty: nothing left to cut; it is then keyed by the
          vector itself, and such a key still hot is streamed as a star).
  metric  ``stack(vectors)``: a matrix; ``row(matrix, i)``: distances from row i to
          rows i + 1 onwards; ``distance(a, b)``.

Steps (counters in the caller's namespace):
  Hot keys    a key held by more than ``max_bucket`` items is counted by a combiner,
              never grouped: its members are keyed again one level down
              (``keys.below``), up to ``levels`` times. A key still hot after that is
              streamed, never held, and each member is compared with the smallest
              member only (a star); members farther than the radius from it are
              counted (hot_members_not_compared). Items wait for the hot keys in
              keyed state (transforms/common/waiting.py).
  Pairs       a bucket (at most ``max_bucket`` items) compares all its pairs in numpy; a
              pair counts when its distance is at most the radius. Pairs found in
              several buckets are kept once, with their distance.
"""

from typing import Callable

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from transforms.common.groups import first_and_size
from transforms.common.waiting import ParDoAfterInput


class BucketPairs(beam.PTransform):
    """(node, vector) in; ((smaller node, larger node), distance) out, each pair once."""

    def __init__(self, keys, metric, radius: float, max_bucket: int,
                 levels: int, namespace: str, distance_type: Callable = float):
        super().__init__()
        self.keys = keys
        self.metric = metric
        self.radius = radius
        self.max_bucket = max_bucket
        self.levels = levels
        self.namespace = namespace
        self.distance_type = distance_type

    def expand(self, items):
        keys, max_bucket = self.keys, self.max_bucket
        keyed = items | "Level0" >> beam.FlatMapTuple(
            lambda node, v: ((key, (node, v)) for key in keys.top(v)))
        buckets, exact = [], []
        for level in range(self.levels + 1):
            hot = (keyed
                   | f"Count{level}" >> beam.Map(lambda kv: (kv[0], 1))
                   | f"Sizes{level}" >> beam.CombinePerKey(sum)
                   | f"Hot{level}" >> beam.Filter(lambda kv: kv[1] > max_bucket)
                   | f"HotKeys{level}" >> beam.Keys())
            split = keyed | f"Split{level}" >> ParDoAfterInput(
                _SplitHot(level, self.namespace), beam.pvalue.AsList(hot), outputs=["hot"],
                main="bounded")
            buckets.append(split.bounded)
            if level == self.levels:
                exact.append(split.hot)
            else:
                keyed = split.hot | f"Level{level + 1}" >> beam.FlatMap(_rekey, keys)
        pairs = (tuple(buckets) | "Buckets" >> beam.Flatten()
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "Pairs" >> beam.ParDo(_Pairs(self.metric, self.radius, self.namespace,
                                                self.distance_type)))
        star = (exact[0]
                | "GroupHot" >> beam.GroupByKey()
                | "HotStar" >> beam.ParDo(_HotStar(self.metric, self.radius, self.namespace,
                                                   self.distance_type)))
        return ((pairs, star) | "AllPairs" >> beam.Flatten()
                | "UniquePairs" >> beam.CombinePerKey(min))


def _rekey(element, keys):
    """A hot key's member, keyed one level down (or by its exact vector when nothing is left)."""
    key, (node, vector) = element
    below = keys.below(key, vector)
    item = (node, vector)
    return [(k, item) for k in below] or [(("exact", vector), item)]


class _SplitHot(beam.DoFn):
    """Main output: members of keys small enough to group; 'hot': the others."""

    def __init__(self, level: int, namespace: str):
        self.level = level
        self.namespace = namespace

    def setup(self):
        self.hot = Metrics.counter(self.namespace, f"hot_bucket_members_level{self.level}")
        self._source, self._hot = None, frozenset()

    def process(self, element, hot_keys):
        if hot_keys is not self._source:  # the side input changes per window, not per element
            self._source, self._hot = hot_keys, frozenset(hot_keys)
        if element[0] in self._hot:
            self.hot.inc()
            yield beam.pvalue.TaggedOutput("hot", element)
        else:
            yield element


class _Compare(beam.DoFn):
    def __init__(self, metric, radius, namespace: str, distance_type):
        self.metric = metric
        self.radius = radius
        self.namespace = namespace
        self.distance_type = distance_type


class _Pairs(_Compare):
    def setup(self):
        self.compared = Metrics.counter(self.namespace, "pairs_compared")
        self.matched = Metrics.counter(self.namespace, "pairs_within_radius")
        self.sizes = Metrics.distribution(self.namespace, "bucket_size")

    def process(self, element):
        _, members = element
        members = list(members)   # bounded: hot keys never reach this step
        self.sizes.update(len(members))
        nodes = [node for node, _ in members]
        matrix = self.metric.stack([vector for _, vector in members])
        self.compared.inc(len(members) * (len(members) - 1) // 2)
        for i in range(len(members) - 1):  # one row of the distance matrix at a time
            distances = self.metric.row(matrix, i)
            for j in np.flatnonzero(distances <= self.radius):
                a, b = nodes[i], nodes[i + 1 + j]
                if a == b:
                    continue   # two vectors of one node (an image's orientations)
                self.matched.inc()
                yield ((a, b) if a < b else (b, a)), self.distance_type(distances[j])


class _HotStar(_Compare):
    """A key still hot after every level: the group is read twice, never held (first the
    smallest member, then a star of verified pairs to it)."""

    def setup(self):
        self.far = Metrics.counter(self.namespace, "hot_members_not_compared")

    def process(self, element):
        _, members = element
        (first, first_vector), _ = first_and_size(members, lambda m: m[0])
        for node, vector in members:
            if node == first:
                continue
            distance = self.metric.distance(first_vector, vector)
            if distance <= self.radius:
                yield (first, node), self.distance_type(distance)
            else:
                self.far.inc()
