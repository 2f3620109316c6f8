"""Semantic near-duplicate images: CLIP embeddings whose cosine similarity passes a threshold.

Steps (counters in namespace semantic_dedup):
  Embed       batches of valid images embedded by detectors/clip.py (one model per
              worker process, on its GPU when it has one), unit length, float32.
  Pairs       random-hyperplane LSH keys (detectors/hyperplanes.py: ``bands`` keys of
              ``bits`` signs), buckets compared in numpy (transforms.common.buckets.BucketPairs,
              hot buckets split by more signs, never gathered); a pair counts when its
              cosine similarity is at least ``threshold``.
  Clusters    connected components (transforms.common.pair_clusters); every member but
              the first in input order is quarantined as semantic_duplicate_image with
              the cluster, the kept image and its best cosine similarity to a neighbour.
What "semantic" means depends on the weights: with real CLIP weights, the same scene or
object photographed or edited differently; tests use random weights and check only the
mechanics.
"""

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from detectors.clip import ClipEncoder
from detectors.clusters import SEMANTIC
from detectors.hyperplanes import HyperplaneLsh
from schemas.reasons import Reason
from schemas.records import valid_image
from schemas.settings import ClipSettings
from transforms.common.buckets import BucketPairs
from transforms.common.faults import error_verdict, isolate
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import WithNodes
from transforms.common.pair_clusters import ROOTS, IndexRows, PairClusters
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "semantic_dedup"
ERRORS = "errors"


class _Embed(beam.DoFn):
    def __init__(self, settings):
        self.settings = settings

    def setup(self):
        self.encoder = ClipEncoder.shared(self.settings)
        self.embedded = Metrics.counter(NAMESPACE, "images_embedded")
        self.failed = Metrics.counter(NAMESPACE, "embed_errors")

    def process(self, batch):
        embedded = isolate(batch, lambda part: self.encoder.embed_images(
            [r.image for r in part]))
        for record, vector, err in embedded:
            if err is not None:   # this image only: held back, the batch goes on
                self.failed.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, error_verdict(record.uid, "clip", err))
                continue
            self.embedded.inc()
            yield record.uid, np.asarray(vector, "<f4").tobytes()


class CosineKeys:
    """LSH keys of an embedding; the planes are drawn on the worker, from the seed, for the
    embedding's width (known once the model is loaded there)."""

    def __init__(self, bands: int, bits: int, levels: int, seed: int):
        self.bands, self.bits, self.levels, self.seed = bands, bits, levels, seed
        self._lsh = None

    def lsh(self, vector: np.ndarray) -> HyperplaneLsh:
        if self._lsh is None:
            self._lsh = HyperplaneLsh(len(vector), self.bands, self.bits, self.levels, self.seed)
        return self._lsh

    def top(self, vector: bytes):
        array = np.frombuffer(vector, "<f4")
        return self.lsh(array).top(array)

    def below(self, key, vector: bytes):
        array = np.frombuffer(vector, "<f4")
        return self.lsh(array).below(key, array)


class CosineDistance:
    """1 - cosine similarity of unit vectors."""

    def stack(self, vectors):
        return np.frombuffer(b"".join(vectors), "<f4").reshape(len(vectors), -1)

    def row(self, matrix, i):
        return 1.0 - matrix[i + 1:] @ matrix[i]

    def distance(self, a, b):
        return float(1.0 - np.frombuffer(a, "<f4") @ np.frombuffer(b, "<f4"))


class Embed(beam.PTransform):
    """Records in; (uid, embedding bytes) for every valid image on 'embeddings', and
    detector_error verdicts for images the model could not embed on 'errors'."""

    def __init__(self, settings):
        super().__init__()
        self.settings = settings

    def expand(self, records):
        return (records
                | "Images" >> beam.Filter(valid_image)
                | "Batch" >> beam.BatchElements(min_batch_size=1,
                                                max_batch_size=self.settings.batch_size)
                | "Embed" >> beam.ParDo(_Embed(self.settings)).with_outputs(
                    ERRORS, main="embeddings"))


def clip_format(settings: ClipSettings) -> dict:
    """What two runs' embeddings must share to be compared (kept in the CLIP index)."""
    return {"kind": "clip", "model": settings.model, "pretrained": settings.pretrained}


class SemanticDuplicates(beam.PTransform):
    """((uid, embedding) pairs, (uid, node) pairs) in; semantic_duplicate_image verdicts
    out; with ``index``, a dict of them (VERDICTS) and tonight's embeddings as rows of the
    running index (INDEX), as near-duplicate text does.

    ``previous``: an optional PCollection of earlier runs' (node, embedding)
    (transforms.io.index.previous_embedding); ``run``: when tonight's run started."""

    def __init__(self, settings: ClipSettings, previous=None, index: bool = False,
                 run: str = ""):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index
        self.run = run

    def expand(self, inputs):
        s = self.settings
        tonight = inputs | "WithNodes" >> WithNodes()
        embeddings = tonight
        if self.previous is not None:
            embeddings = (tonight, self.previous) | "WithPreviousRuns" >> FlattenShared()
        pairs = embeddings | "Pairs" >> BucketPairs(
            CosineKeys(s.bands, s.bits, s.levels, s.seed),
            CosineDistance(), 1.0 - s.threshold, s.max_bucket, s.levels, NAMESPACE)
        clusters = pairs | "Clusters" >> PairClusters(
            Reason.SEMANTIC_DUPLICATE_IMAGE, NAMESPACE, s.rounds, SEMANTIC,
            "cosine_similarity", shown=lambda d: round(1.0 - d, 4), with_roots=self.index)
        if not self.index:
            return clusters
        rows = (tonight, clusters[ROOTS]) | "IndexRows" >> IndexRows(
            self.run, lambda vector: {"embedding": vector})
        return {VERDICTS: clusters[VERDICTS], INDEX: rows}
