"""Near-duplicate text: MinHash LSH buckets -> verified edges -> components -> verdicts.

Steps (each a named transform with its own counters, namespace near_dedup_text):
  Buckets     one key per (band, hash of the band's rows); every document joins
              the bucket of each of its bands.
  Candidates  in each bucket, a star edge from every member to the bucket's
              smallest node, never all pairs: a bucket of 100k copies of a
              boilerplate page costs 100k edges. The grouped members are read
              twice (transforms.common.groups: smallest, then edges).
  Verify      an edge counts when the two signatures agree on at least
              `threshold` of their positions (estimated Jaccard), or, with
              verify="exact", when the shingle sets themselves overlap that
              much (for an earlier run's document, whose shingles the index
              does not keep, the estimate decides). The signatures meet the
              edge by two joins, so no signature is copied once per band.
  Clusters    transforms.common.pair_clusters: connected components of the verified
              edges; every member but the root of a component is quarantined, with its
              best verified similarity to a cluster neighbour.

Documents are nodes (transforms/common/nodes.py): they sort in input order and carry
the uid and public id the verdicts need; an earlier run's document (--index-in) sorts
first, so it is the one kept. No step gathers documents, signatures or edges onto one
worker.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import TEXT
from detectors.minhash import band_keys, estimated_jaccard, shingle_jaccard
from schemas.reasons import Reason
from schemas.settings import NearTextSettings
from transforms.common.groups import first_and_size
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import is_previous, node_of
from transforms.common.pair_clusters import ROOTS, IndexRows, PairClusters
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "near_dedup_text"


class _StarEdges(beam.DoFn):
    def setup(self):
        self.edges = Metrics.counter(NAMESPACE, "candidate_edges")
        self.bucket_sizes = Metrics.distribution(NAMESPACE, "bucket_size")

    def process(self, element):
        _, nodes = element
        smallest, size = first_and_size(nodes, lambda node: node)
        if size > 1:  # most buckets hold one document: nothing to do
            for node in nodes:   # (two earlier runs' texts: found then, see PairClusters)
                if node != smallest and not (is_previous(node) and is_previous(smallest)):
                    self.edges.inc()
                    yield (node, smallest)
            self.bucket_sizes.update(size)


def _attach(element):
    """(a -> [b...], a's sketch) to (b, (a, a's sketch)) for each edge."""
    a, grouped = element
    if grouped["sketch"]:
        sketch = grouped["sketch"][0]
        for b in grouped["edges"]:
            yield (b, (a, sketch))


def similarity(a, b) -> float:
    """Of two (signature, shingles or None) sketches: exact when both have shingles."""
    if a[1] is not None and b[1] is not None:
        return shingle_jaccard(a[1], b[1])
    return estimated_jaccard(a[0], b[0])


class _Verify(beam.DoFn):
    def __init__(self, threshold: float):
        self.threshold = threshold

    def setup(self):
        self.kept = Metrics.counter(NAMESPACE, "verified_edges")
        self.rejected = Metrics.counter(NAMESPACE, "rejected_edges")

    def process(self, element):
        b, grouped = element
        if not grouped["sketch"]:
            return
        sketch = grouped["sketch"][0]
        for a, other in grouped["half"]:
            value = similarity(other, sketch)
            if value >= self.threshold:
                self.kept.inc()
                yield (a, b), value
            else:
                self.rejected.inc()


class NearDuplicateText(beam.PTransform):
    """Fingerprints (with MinHash signatures) in, near-duplicate verdicts out; with
    ``index``, a dict of them (VERDICTS) and the rows of tonight's texts for the running
    index (INDEX): every text, with the cluster it joined, so a text of a later night that
    is near only to a removed copy still joins the cluster one run would put it in.

    ``previous``: an optional PCollection of earlier runs' (node, (signature, None))
    (transforms.io.index.previous_sketch); ``run``: when tonight's run started.
    """

    def __init__(self, settings: NearTextSettings, previous=None, index: bool = False,
                 run: str = ""):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index
        self.run = run

    def expand(self, fingerprints):
        params = self.settings
        tonight = (fingerprints
                   | "HasSignature" >> beam.Filter(lambda fp: fp.minhash is not None)
                   | "ByNode" >> beam.Map(lambda fp: (node_of(fp), (fp.minhash, fp.shingles))))
        sketches = tonight
        if self.previous is not None:
            sketches = (tonight, self.previous) | "WithPreviousRuns" >> FlattenShared()

        candidates = (sketches
                      | "Buckets" >> beam.FlatMapTuple(
                          lambda node, sketch: ((key, node) for key in band_keys(sketch[0], params)))
                      | "GroupBuckets" >> beam.GroupByKey()
                      | "Candidates" >> beam.ParDo(_StarEdges())
                      | "UniqueCandidates" >> beam.Distinct())

        half = ({"edges": candidates, "sketch": sketches}
                | "JoinFirst" >> beam.CoGroupByKey()
                | "AttachFirst" >> beam.FlatMap(_attach))
        verified = ({"half": half, "sketch": sketches}
                    | "JoinSecond" >> beam.CoGroupByKey()
                    | "Verify" >> beam.ParDo(_Verify(params.threshold)))

        clusters = verified | "Clusters" >> PairClusters(
            Reason.NEAR_DUPLICATE_TEXT, NAMESPACE, params.rounds, TEXT, "similarity", best=max,
            shown=lambda s: round(s, 4), previous_reason=Reason.NEAR_DUPLICATE_PREVIOUS_RUN,
            with_roots=self.index)
        if not self.index:
            return clusters
        rows = (tonight, clusters[ROOTS]) | "IndexRows" >> IndexRows(
            self.run, lambda sketch: {"minhash": sketch[0]})
        return {VERDICTS: clusters[VERDICTS], INDEX: rows}
