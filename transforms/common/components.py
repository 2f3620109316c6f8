"""Connected components of an edge list, distributed: alternating large-star / small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014).
Each round is a few GroupByKeys over edges; no step holds a component, let
alone the graph, on one worker. The rounds are unrolled to a fixed depth
(``rounds``); what has not converged by then is counted (Beam counter
``<namespace>/unconverged_nodes``) and labelled conservatively: such a node
keeps the smallest parent it reached, which may split a component in two but
never merges two that are not connected.

Nodes are strings; the root of a component is its smallest node, so callers
choose what "smallest" means by how they spell node ids (e.g. input order).
Edges are kept as (larger, smaller) pairs.
"""

import apache_beam as beam
from apache_beam.metrics import Metrics


def _oriented(edge):
    a, b = edge
    return (a, b) if a > b else (b, a)


class _LargeStar(beam.DoFn):
    """Link every larger neighbour of u to the smallest node of u's neighbourhood."""

    def process(self, element):
        u, neighbours = element
        smallest = min(min(neighbours), u)
        for v in neighbours:
            if v > u:
                yield (v, smallest)


class _SmallStar(beam.DoFn):
    """Link u and its smaller neighbours to the smallest of them."""

    def process(self, element):
        u, smaller = element
        smallest = min(smaller)
        if u != smallest:
            yield (u, smallest)
        for v in smaller:
            if v != smallest:
                yield (v, smallest)


class _Label(beam.DoFn):
    def __init__(self, namespace: str):
        self.namespace = namespace

    def setup(self):
        self.unconverged = Metrics.counter(self.namespace, "unconverged_nodes")
        self.nodes = Metrics.counter(self.namespace, "nodes")

    def process(self, element):
        node, grouped = element
        parents, has_children = grouped["parents"], bool(grouped["children"])
        self.nodes.inc()
        if not parents:
            yield (node, node)  # a root
            return
        root = min(parents)
        if has_children or any(p != root for p in parents):
            self.unconverged.inc()  # still a chain or a fork here: more rounds would merge it
        yield (node, root)


class ConnectedComponents(beam.PTransform):
    """(a, b) edges in; (node, root) out for every node on an edge, root included."""

    def __init__(self, rounds: int = 10, namespace: str = "components"):
        super().__init__()
        self.rounds = rounds
        self.namespace = namespace

    def expand(self, edges):
        current = (edges
                   | "Orient" >> beam.Map(_oriented)
                   | "NoLoops" >> beam.Filter(lambda e: e[0] != e[1])
                   | "Unique" >> beam.Distinct())
        for i in range(self.rounds):
            current = (current
                       | f"LargeStar{i}Both" >> beam.FlatMap(lambda e: (e, (e[1], e[0])))
                       | f"LargeStar{i}Group" >> beam.GroupByKey()
                       | f"LargeStar{i}" >> beam.ParDo(_LargeStar())
                       | f"LargeStar{i}Unique" >> beam.Distinct()
                       | f"SmallStar{i}Group" >> beam.GroupByKey()
                       | f"SmallStar{i}" >> beam.ParDo(_SmallStar())
                       | f"SmallStar{i}Unique" >> beam.Distinct())
        parents = current
        children = (current
                    | "Parent" >> beam.Map(lambda e: e[1])
                    | "Parents" >> beam.Distinct()
                    | "HasChildren" >> beam.Map(lambda p: (p, True)))
        return ({"parents": parents, "children": children}
                | "ByNode" >> beam.CoGroupByKey()
                | "Label" >> beam.ParDo(_Label(self.namespace)))
