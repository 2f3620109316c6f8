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
  Fine check  a pair of two plain-ground pictures (text on a light page, screenshots,
              slides: detectors.phash.ground_level) counts only when their fine hashes
              (1,024 bits) are within fine_max_distance too: on such pictures 64 bits
              within 8 say little (issue 20 item 5). The fine hash rides behind the
              coarse one in each item and only verifies the pairs the blocks found
              (pairs_rejected_by_fine_check), so the search is unchanged.
  Clusters    transforms.common.pair_clusters: connected components of the pairs; every
              member but the root (first in input order) is quarantined with the cluster
              id, its size, the kept image and the smallest distance to a cluster
              neighbour.
The caption plays no part: image-text pairs with one image and different captions are
duplicates of the image. With orientations 8, each image enters as 8 items (its hash under
every rotation and flip) of one node, and a pair's distance is that of its closest
orientations.
"""

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from detectors.clusters import IMAGE
from detectors.phash import FINE_HASH_BYTES, fine_agrees, hamming, level_keys
from schemas.reasons import Reason
from schemas.settings import NearImageSettings
from transforms.common.buckets import BucketPairs
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import node_of
from transforms.common.pair_clusters import ROOTS, IndexRows, PairClusters
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "near_dedup_images"


class HammingBlocks:
    """Keys of a hash: multi-index blocks of the bits a key above leaves free (of the
    coarse hash, the first ``size`` bytes of an item)."""

    def __init__(self, radius: int, size: int):
        self.radius = radius
        self.size = size

    def top(self, item):
        return level_keys(item[:self.size], (), self.radius)

    def below(self, path, item):
        # Nothing left to cut: keyed by the coarse hash alone (the whole item would part
        # copies whose fine hashes differ by a few bits), and kept under that key below.
        if path[0] == "exact":
            return [path]
        return (level_keys(item[:self.size], path, self.radius)
                or [("exact", item[:self.size])])


class HammingMetric:
    """Hamming distance of the coarse hashes; a pair the fine check turns down is put
    beyond the radius (``far``)."""

    def __init__(self, size: int, radius: int, fine_max_distance: int):
        self.size = size
        self.radius = radius
        self.fine_max_distance = fine_max_distance
        self.far = radius + 1
        self._rejected = None

    def stack(self, items):
        coarse = np.frombuffer(b"".join(item[:self.size] for item in items), np.uint8)
        return coarse.reshape(len(items), -1), items

    def row(self, stacked, i):
        bits, items = stacked
        distances = np.bitwise_count(bits[i] ^ bits[i + 1:]).sum(axis=1, dtype=np.int64)
        if len(items[i]) > self.size:   # a plain-ground picture: verify its close pairs
            for j in np.flatnonzero(distances <= self.radius):
                if not self.agrees(items[i], items[i + 1 + j]):
                    distances[j] = self.far
        return distances

    def distance(self, a, b):
        return hamming(a[:self.size], b[:self.size]) if self.agrees(a, b) else self.far

    def agrees(self, a, b) -> bool:
        if fine_agrees(a, b, self.size, self.fine_max_distance):
            return True
        if self._rejected is None:   # made where it runs (inside a DoFn), not pickled
            self._rejected = Metrics.counter(NAMESPACE, "pairs_rejected_by_fine_check")
        self._rejected.inc()
        return False

    def __getstate__(self):
        return {**self.__dict__, "_rejected": None}


def items_of(hashes, size: int):
    """One item per orientation of (pHashes, fine pHashes or None): its coarse hash, then
    its fine hash when it has one."""
    phash, phash_fine = hashes
    coarse = [phash[i:i + size] for i in range(0, len(phash), size)]
    fine = ([phash_fine[i:i + FINE_HASH_BYTES]
             for i in range(0, len(phash_fine), FINE_HASH_BYTES)]
            if phash_fine else [b""] * len(coarse))
    return [c + f for c, f in zip(coarse, fine)]


class NearDuplicateImages(beam.PTransform):
    """Fingerprints with pHashes in, near_duplicate_image verdicts out; with ``index``, a
    dict of them (VERDICTS) and tonight's images as rows of the running index (INDEX),
    as near-duplicate text does.

    ``previous``: an optional PCollection of earlier runs' (node, (pHashes, fine pHashes))
    (transforms.io.index.previous_image); ``run``: when tonight's run started."""

    def __init__(self, settings: NearImageSettings, previous=None, index: bool = False,
                 run: str = ""):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index
        self.run = run

    def expand(self, fingerprints):
        s = self.settings
        size = s.hash_bytes
        tonight = (fingerprints
                   | "HasHash" >> beam.Filter(lambda fp: fp.phash is not None)
                   | "ByNode" >> beam.Map(lambda fp: (node_of(fp), (fp.phash, fp.phash_fine))))
        hashes = tonight
        if self.previous is not None:
            hashes = (tonight, self.previous) | "WithPreviousRuns" >> FlattenShared()
        # One item per hash: an image hashed under its 8 rotations and flips is 8 items of
        # one node, so a turned copy meets it in a block of the matching orientation.
        items = hashes | "Items" >> beam.FlatMapTuple(
            lambda node, hashed: ((node, item) for item in items_of(hashed, size)))
        pairs = items | "Pairs" >> BucketPairs(
            HammingBlocks(s.max_distance, size),
            HammingMetric(size, s.max_distance, s.fine_max_distance), s.max_distance,
            s.max_bucket, s.levels, NAMESPACE, distance_type=int)
        clusters = pairs | "Clusters" >> PairClusters(
            Reason.NEAR_DUPLICATE_IMAGE, NAMESPACE, s.rounds, IMAGE, "hamming_distance",
            with_roots=self.index)
        if not self.index:
            return clusters
        rows = (tonight, clusters[ROOTS]) | "IndexRows" >> IndexRows(
            self.run, lambda hashed: {"phash": hashed[0], "phash_fine": hashed[1]})
        return {VERDICTS: clusters[VERDICTS], INDEX: rows}

