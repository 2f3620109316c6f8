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
  Components  ConnectedComponents over verified edges.
  Verdicts    every member but the root of a component is quarantined, with its
              best verified similarity to a cluster neighbour.

Documents are nodes (transforms/common/nodes.py): they sort in input order and carry
the uid and public id the verdicts need; an earlier run's document (--index-in) sorts
first, so it is the one kept. No step gathers documents, signatures or edges onto one
worker.
"""

import json

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import TEXT, duplicate_cluster
from detectors.minhash import MinHashParams, band_keys, estimated_jaccard, shingle_jaccard
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Verdict
from transforms.common.components import ConnectedComponents
from transforms.common.groups import first_and_size
from transforms.common.nodes import id_of, is_previous, node_of, uid_of

NAMESPACE = "near_dedup_text"


class _StarEdges(beam.DoFn):
    def setup(self):
        self.edges = Metrics.counter(NAMESPACE, "candidate_edges")
        self.bucket_sizes = Metrics.distribution(NAMESPACE, "bucket_size")

    def process(self, element):
        _, nodes = element
        smallest, size = first_and_size(nodes, lambda node: node)
        if size > 1:  # most buckets hold one document: nothing to do
            for node in nodes:
                if node != smallest:
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
                yield (a, b, value)
            else:
                self.rejected.inc()


def _with_similarity(element):
    """(node, {root, similarity}) to (root, (node, best similarity to a neighbour))."""
    node, grouped = element
    if grouped["root"]:
        yield (grouped["root"][0], (node, max(grouped["similarity"], default=1.0)))


class _ClusterVerdicts(beam.DoFn):
    def setup(self):
        self.clusters = Metrics.counter(NAMESPACE, "clusters")
        self.removed = Metrics.counter(NAMESPACE, "removed")
        self.previous = Metrics.counter(NAMESPACE, "removed_as_previous_run")
        self.sizes = Metrics.distribution(NAMESPACE, "cluster_size")

    def process(self, element):
        root, members = element
        size = sum(1 for _ in members)  # the root is a member of its own cluster
        self.clusters.inc()
        self.sizes.update(size)
        from_previous_run = is_previous(root)
        reason = (Reason.NEAR_DUPLICATE_PREVIOUS_RUN if from_previous_run
                  else Reason.NEAR_DUPLICATE_TEXT)
        kept_id = id_of(root)
        # Named after the kept document, which the index carries into later runs: a
        # reviewer's decision on this cluster reaches its later members (pipeline/review.py).
        cluster_id = duplicate_cluster(TEXT, kept_id)
        for node, best in members:
            uid = uid_of(node)
            if node == root or uid is None:
                continue  # the kept one, or an earlier run's document: never re-emitted
            (self.previous if from_previous_run else self.removed).inc()
            evidence = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept_id,
                        "similarity": round(best, 4)}
            yield Verdict(uid=uid, reason=reason.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept_id, group_size=size)


class NearDuplicateText(beam.PTransform):
    """Fingerprints (with MinHash signatures) in, near-duplicate verdicts out.

    ``previous``: an optional PCollection of (node, (signature, None)) an earlier run kept.
    """

    def __init__(self, params: MinHashParams, rounds: int = 10, previous=None):
        super().__init__()
        self.params = params
        self.rounds = rounds
        self.previous = previous

    def expand(self, fingerprints):
        params = self.params
        sketches = (fingerprints
                    | "HasSignature" >> beam.Filter(lambda fp: fp.minhash is not None)
                    | "ByNode" >> beam.Map(lambda fp: (node_of(fp), (fp.minhash, fp.shingles))))
        if self.previous is not None:
            sketches = (sketches, self.previous) | "WithPreviousRuns" >> beam.Flatten()

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

        roots = (verified
                 | "Edges" >> beam.MapTuple(lambda a, b, _: (a, b))
                 | "Components" >> ConnectedComponents(self.rounds, namespace=NAMESPACE))
        best = (verified
                | "BothEnds" >> beam.FlatMapTuple(lambda a, b, s: ((a, s), (b, s)))
                | "BestSimilarity" >> beam.CombinePerKey(max))
        return ({"root": roots, "similarity": best}
                | "JoinSimilarity" >> beam.CoGroupByKey()
                | "ByRoot" >> beam.FlatMap(_with_similarity)
                | "Clusters" >> beam.GroupByKey()
                | "Verdicts" >> beam.ParDo(_ClusterVerdicts()))
