"""Distributed connected components against a union-find reference."""

import random

from tests.builders import run_stage, union_find_labels
from transforms.common.components import ConnectedComponents


def run_components(edges, rounds=8):
    ran = run_stage(ConnectedComponents(rounds=rounds, namespace="cc"), edges)
    assert sorted(ran.main) == sorted(union_find_labels(edges).items())
    return ran.counters("cc")


def node(i):
    return f"n{i:06d}"


def shuffled_labels(count, seed):
    ids = list(range(count))
    random.Random(seed).shuffle(ids)
    return [node(i) for i in ids]


def test_long_chain_with_labels_in_random_order():
    chain = shuffled_labels(400, seed=1)
    edges = list(zip(chain, chain[1:]))
    counters = run_components(edges, rounds=10)
    assert counters.get("unconverged_nodes", 0) == 0
    assert counters["nodes"] == 400


def test_star_whose_centre_is_the_largest_node():
    centre = node(999_999)
    edges = [(node(i), centre) for i in range(300)]
    assert run_components(edges).get("unconverged_nodes", 0) == 0


def test_many_small_clusters_and_duplicate_edges():
    rng = random.Random(3)
    edges = []
    for cluster in range(200):
        members = [node(cluster * 10 + k) for k in range(rng.randint(2, 6))]
        for _ in range(len(members) * 2):
            edges.append(tuple(rng.sample(members, 2)))
    edges += edges[:50]  # the same edges again, either way round
    edges += [(b, a) for a, b in edges[:50]]
    assert run_components(edges).get("unconverged_nodes", 0) == 0


def test_random_graph_with_self_loops():
    rng = random.Random(4)
    edges = [(node(rng.randrange(500)), node(rng.randrange(500))) for _ in range(450)]
    assert run_components(edges).get("unconverged_nodes", 0) == 0


def test_too_few_rounds_is_counted_and_never_merges_components():
    chain = shuffled_labels(300, seed=5)
    edges = list(zip(chain, chain[1:]))
    ran = run_stage(ConnectedComponents(rounds=1, namespace="cc"), edges)
    pairs = dict(ran.main)
    assert len(pairs) == len(ran.main) == 300
    truth = union_find_labels(edges)
    # Every label is a node of the same (true) component, never another one.
    assert all(truth[label] == truth[n] for n, label in pairs.items())
    assert len(set(pairs.values())) > 1  # not converged yet: split, not merged
    assert ran.counters("cc")["unconverged_nodes"] > 0
