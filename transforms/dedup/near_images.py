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

from detectors.clusters import IMAGE
from detectors.phash import hamming, level_keys
from schemas.reasons import Reason
from schemas.settings import NearImageSettings
from transforms.common.buckets import BucketPairs
from transforms.common.nodes import node_of
from transforms.common.pair_clusters import PairClusters

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


class NearDuplicateImages(beam.PTransform):
    """Fingerprints with pHashes in, near_duplicate_image verdicts out."""

    def __init__(self, settings: NearImageSettings):
        super().__init__()
        self.settings = settings

    def expand(self, fingerprints):
        s = self.settings
        size = s.hash_bytes
        # One item per hash: an image hashed under its 8 rotations and flips is 8 items of
        # one node, so a turned copy meets it in a block of the matching orientation.
        hashed = (fingerprints
                  | "HasHash" >> beam.Filter(lambda fp: fp.phash is not None)
                  | "ByNode" >> beam.FlatMap(lambda fp: (
                      (node_of(fp), fp.phash[i:i + size])
                      for i in range(0, len(fp.phash), size))))
        pairs = hashed | "Pairs" >> BucketPairs(
            HammingBlocks(s.max_distance), HammingMetric(), s.max_distance, s.max_bucket,
            s.levels, NAMESPACE, distance_type=int)
        return pairs | "Clusters" >> PairClusters(
            Reason.NEAR_DUPLICATE_IMAGE, NAMESPACE, s.rounds, IMAGE, "hamming_distance")

