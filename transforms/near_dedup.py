"""Near-duplicate text: MinHash LSH buckets -> verified edges -> components -> verdicts.

Steps (each a named transform with its own counters, namespace near_dedup_text):
  Buckets     one key per (band, hash of the band's rows); every document joins
              the bucket of each of its bands.
  Candidates  in each bucket, a star edge from every member to the bucket's
              smallest node (found by a combiner), never all pairs: a bucket of
              100k copies of a boilerplate page costs 100k edges.
  Verify      an edge counts when the two signatures agree on at least
              `threshold` of their positions (estimated Jaccard). The
              signatures meet the edge by two joins, so no signature is copied
              once per band.
  Components  ConnectedComponents over verified edges.
  Verdicts    every member but the root of a component is quarantined. Nodes
              are named so the root is the first document in input order, or a
              document an earlier run kept (--index-in), which sorts first.

No step gathers documents, signatures or edges onto one worker.
"""

import json
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.hashing import digest
from detectors.minhash import MinHashParams, band_keys, estimated_jaccard
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Fingerprint, Verdict
from transforms.components import ConnectedComponents

NAMESPACE = "near_dedup_text"
PREVIOUS, TONIGHT = "0", "1"  # node prefixes: an earlier run's documents sort first


class Signed(NamedTuple):
    """A document in the near-duplicate graph."""
    node: str               # ordering key: prefix, then input order
    id: str                 # public id
    uid: Optional[str]      # None for an earlier run's document
    minhash: bytes


def node_of(fp: Fingerprint) -> str:
    return "\x00".join((TONIGHT, fp.source, f"{fp.position:012d}", fp.uid))


def previous_node(record_id: str) -> str:
    return "\x00".join((PREVIOUS, record_id))


def _signed(fp: Fingerprint) -> Signed:
    return Signed(node_of(fp), fp.id, fp.uid, fp.minhash)


class _StarEdges(beam.DoFn):
    def setup(self):
        self.edges = Metrics.counter(NAMESPACE, "candidate_edges")
        self.bucket_sizes = Metrics.distribution(NAMESPACE, "bucket_size")

    def process(self, element):
        _, grouped = element
        smallest = grouped["smallest"][0]
        size = 0
        for member in grouped["members"]:
            size += 1
            if member != smallest:
                self.edges.inc()
                yield (member, smallest)
        if size > 1:
            self.bucket_sizes.update(size)


class _Verify(beam.DoFn):
    def __init__(self, threshold: float):
        self.threshold = threshold

    def setup(self):
        self.kept = Metrics.counter(NAMESPACE, "verified_edges")
        self.rejected = Metrics.counter(NAMESPACE, "rejected_edges")

    def process(self, element):
        _, grouped = element
        if not grouped["signed"]:
            return
        b = grouped["signed"][0]
        for a in grouped["half"]:
            if estimated_jaccard(a.minhash, b.minhash) >= self.threshold:
                self.kept.inc()
                yield (a.node, b.node)
            else:
                self.rejected.inc()


def _attach(element):
    """(a -> [b...], signed a) to (b, signed a) for each edge."""
    _, grouped = element
    if grouped["signed"]:
        a = grouped["signed"][0]
        for b in grouped["edges"]:
            yield (b, a)


def _by_root(element):
    _, grouped = element
    if grouped["root"] and grouped["signed"]:
        yield (grouped["root"][0], grouped["signed"][0])


class _ClusterVerdicts(beam.DoFn):
    def setup(self):
        self.clusters = Metrics.counter(NAMESPACE, "clusters")
        self.removed = Metrics.counter(NAMESPACE, "removed")
        self.previous = Metrics.counter(NAMESPACE, "removed_as_previous_run")
        self.sizes = Metrics.distribution(NAMESPACE, "cluster_size")

    def process(self, element):
        root_node, grouped = element
        if not grouped["root"]:
            return
        kept = grouped["root"][0]
        members = grouped["members"]
        size = sum(1 for _ in members)  # the root is a member of its own cluster
        self.clusters.inc()
        self.sizes.update(size)
        from_previous_run = root_node.startswith(PREVIOUS)
        reason = (Reason.NEAR_DUPLICATE_PREVIOUS_RUN if from_previous_run
                  else Reason.NEAR_DUPLICATE_TEXT)
        cluster_id = "text-" + digest(root_node.encode("utf-8", "surrogatepass"), 8)
        for member in members:
            if member.node == kept.node or member.uid is None:
                continue  # the kept one, or an earlier run's document: never re-emitted
            (self.previous if from_previous_run else self.removed).inc()
            evidence = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept.id,
                        "similarity": round(estimated_jaccard(member.minhash, kept.minhash), 4)}
            yield Verdict(uid=member.uid, reason=reason.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept.id, group_size=size)


class NearDuplicateText(beam.PTransform):
    """Fingerprints (with MinHash signatures) in, near-duplicate verdicts out.

    ``previous``: an optional PCollection of Signed documents an earlier run kept.
    """

    def __init__(self, params: MinHashParams, rounds: int = 10, previous=None):
        super().__init__()
        self.params = params
        self.rounds = rounds
        self.previous = previous

    def expand(self, fingerprints):
        params = self.params
        signed = (fingerprints
                  | "HasSignature" >> beam.Filter(lambda fp: fp.minhash is not None)
                  | "Signed" >> beam.Map(_signed))
        if self.previous is not None:
            signed = (signed, self.previous) | "WithPreviousRuns" >> beam.Flatten()
        by_node = signed | "ByNode" >> beam.Map(lambda s: (s.node, s))

        members = signed | "Buckets" >> beam.FlatMap(
            lambda s: ((band, s.node) for band in band_keys(s.minhash, params)))
        smallest = members | "BucketSmallest" >> beam.CombinePerKey(min)
        candidates = ({"members": members, "smallest": smallest}
                      | "JoinBuckets" >> beam.CoGroupByKey()
                      | "Candidates" >> beam.ParDo(_StarEdges())
                      | "UniqueCandidates" >> beam.Distinct())

        half = ({"edges": candidates, "signed": by_node}
                | "JoinFirst" >> beam.CoGroupByKey()
                | "AttachFirst" >> beam.FlatMap(_attach))
        verified = ({"half": half, "signed": by_node}
                    | "JoinSecond" >> beam.CoGroupByKey()
                    | "Verify" >> beam.ParDo(_Verify(params.threshold)))

        roots = verified | "Components" >> ConnectedComponents(self.rounds, namespace=NAMESPACE)
        clustered = ({"root": roots, "signed": by_node}
                     | "JoinRoots" >> beam.CoGroupByKey()
                     | "ByRoot" >> beam.FlatMap(_by_root))
        return ({"members": clustered, "root": by_node}
                | "JoinClusters" >> beam.CoGroupByKey()
                | "Verdicts" >> beam.ParDo(_ClusterVerdicts()))
