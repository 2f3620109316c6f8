"""Close pairs -> connected components -> a verdict for every member but the kept one.

Shared by the duplicate stages (near-duplicate text, near-duplicate and semantic images).
Pairs are ((a, b), score) between nodes (transforms/common/nodes.py). A component is named
after its root, the first node in input order, which is kept; when that is an earlier
run's record (--index-in), tonight's members get ``previous_reason`` (if given) instead
of ``reason`` and "kept_by_earlier_run" in their evidence, and earlier runs' records never
get a verdict. Each member's evidence holds
the cluster, its size, the kept record and the member's best score to a neighbour
(``best``: min for distances, max for similarities; ``shown`` turns it into the figure
written under ``score``).

Counters (the caller's namespace): clusters, removed, removed_as_previous_run,
cluster_size.
"""

import json
from typing import Callable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.clusters import duplicate_cluster
from schemas.reasons import Reason
from schemas.records import QUARANTINE, Verdict
from transforms.common.components import ConnectedComponents
from transforms.common.nodes import id_of, input_order, is_previous, uid_of
from transforms.io.index import VERDICTS


def _with_best(element, best):
    """(node, {root, score}) to (root, (node, its best score to a neighbour))."""
    node, grouped = element
    if grouped["root"]:
        yield grouped["root"][0], (node, best(grouped["score"]))


class _ClusterVerdicts(beam.DoFn):
    def __init__(self, reason: Reason, previous_reason: Optional[Reason], namespace: str,
                 prefix: str, score: str, shown: Callable):
        self.reason = reason
        self.previous_reason = previous_reason
        self.namespace = namespace
        self.prefix = prefix
        self.score = score
        self.shown = shown

    def setup(self):
        self.clusters = Metrics.counter(self.namespace, "clusters")
        self.removed = Metrics.counter(self.namespace, "removed")
        self.previous = Metrics.counter(self.namespace, "removed_as_previous_run")
        self.sizes = Metrics.distribution(self.namespace, "cluster_size")

    def process(self, element):
        root, members = element
        size = sum(1 for _ in members)   # counted, then read again: never held
        self.clusters.inc()
        self.sizes.update(size)
        from_previous_run = is_previous(root)
        reason = (self.previous_reason or self.reason) if from_previous_run else self.reason
        kept_id = id_of(root)
        # Named after the kept record, which the index carries into later runs for text: a
        # reviewer's decision on this cluster reaches its later members (pipeline/review.py).
        cluster_id = duplicate_cluster(self.prefix, kept_id)
        for node, best in members:
            if node == root or is_previous(node):
                continue   # the kept one, or an earlier run's document: never re-emitted
            (self.previous if from_previous_run else self.removed).inc()
            evidence = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept_id,
                        self.score: self.shown(best)}
            if from_previous_run:
                evidence["kept_by_earlier_run"] = True
            yield Verdict(uid=uid_of(node), reason=reason.value, action=QUARANTINE,
                          evidence=json.dumps(evidence, sort_keys=True),
                          representative_id=kept_id, group_size=size, cluster=cluster_id)


ROOTS = "roots"


class PairClusters(beam.PTransform):
    """((a, b), score) pairs in; a verdict for every member of a connected component but
    its root; ``with_roots``: a dict of those (VERDICTS) and (node, root) for every node
    in a component (ROOTS), for the running index."""

    def __init__(self, reason: Reason, namespace: str, rounds: int, prefix: str, score: str,
                 best: Callable = min, shown: Callable = lambda s: s,
                 previous_reason: Optional[Reason] = None, with_roots: bool = False):
        super().__init__()
        self.with_roots = with_roots
        self.reason = reason
        self.namespace = namespace
        self.rounds = rounds
        self.prefix = prefix
        self.score = score
        self.best = best
        self.shown = shown
        self.previous_reason = previous_reason

    def expand(self, pairs):
        # Two earlier runs' records: their clusters were found then, and each carries its
        # root, so their pair adds nothing tonight (and would cost a pass over the index).
        pairs = pairs | "TonightsPairs" >> beam.Filter(
            lambda kv: not (is_previous(kv[0][0]) and is_previous(kv[0][1])))
        roots = (pairs
                 | "Edges" >> beam.Keys()
                 | "Components" >> ConnectedComponents(self.rounds, namespace=self.namespace))
        scores = (pairs
                  | "BothEnds" >> beam.FlatMap(lambda kv: ((kv[0][0], kv[1]), (kv[0][1], kv[1])))
                  | "Best" >> beam.CombinePerKey(self.best))
        verdicts = ({"root": roots, "score": scores}
                    | "JoinScore" >> beam.CoGroupByKey()
                    | "ByRoot" >> beam.FlatMap(_with_best, self.best)
                    | "Clusters" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_ClusterVerdicts(
                        self.reason, self.previous_reason, self.namespace, self.prefix,
                        self.score, self.shown)))
        return {VERDICTS: verdicts, ROOTS: roots} if self.with_roots else verdicts


class IndexRows(beam.PTransform):
    """(tonight's (node, value) pairs, PairClusters' ROOTS) in; each of tonight's nodes as
    a row of the running index out: ``fields(value)``, its id, and the root of its cluster
    (itself when it has none) with that root's place in input order over all runs, so a
    later night's copy of any member, kept or not, joins the cluster one run would put it
    in (transforms.common.nodes.previous_node). ``run``: when tonight's run started."""

    def __init__(self, run: str, fields: Callable[[object], dict]):
        super().__init__()
        self.run = run
        self.fields = fields

    def expand(self, inputs):
        values, roots = inputs
        run, fields = self.run, self.fields

        def row(element):
            node, grouped = element
            if grouped["value"]:   # else an earlier run's node: its row is carried as it was
                root = grouped["root"][0] if grouped["root"] else node
                yield {"id": id_of(node), **fields(grouped["value"][0]), "root": id_of(root),
                       "order": input_order(run, root)}

        return ({"value": values, "root": roots}
                | "WithRoots" >> beam.CoGroupByKey()
                | "Rows" >> beam.FlatMap(row))
