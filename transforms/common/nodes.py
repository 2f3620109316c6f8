"""Nodes: how the global stages (pairs, components, clusters) refer to a record.

A node is a plain tuple (run, source, position, uid, id), so Beam's fast coder keys a
GroupByKey with it as cheaply as with a string, and tuple order is input order: an
earlier run's records (run 0, from --index-in: their root's order, their id, their root's
id) first, then tonight's by (source, position, uid). ``id`` is the public id, unique per run
(transforms/io/ids.py): nodes are built from fingerprints, after ids are made unique, so a
verdict's kept id and the clusters named after it are the ids written to the outputs.
Record-level stages (faces, CLIP, layouts) find their records' nodes by uid (WithNodes).

A face node is (its record's node, face number). This module alone builds and reads nodes.
"""

from typing import Optional, Tuple

import apache_beam as beam

from schemas.records import Fingerprint

Node = Tuple[int, str, int, str, str]
FaceNode = Tuple[Node, int]

_PREVIOUS, _TONIGHT = 0, 1


def node_of(fp: Fingerprint) -> Node:
    return (_TONIGHT, fp.source, fp.position, fp.uid, fp.id)


def previous_node(record_id: str, root_id: Optional[str] = None, root_order: str = "") -> Node:
    """An earlier run's record, in the cluster its run put it in: named after that cluster's
    root (``root_id``; its place in input order over all runs, ``root_order``), so the
    first of several earlier nodes in one component tonight is the one whose root came
    first, and ``id_of`` gives the record one run over all nights would keep."""
    return (_PREVIOUS, root_order, 0, record_id, root_id or record_id)


def input_order(run: str, node: Node) -> str:
    """A node's place in input order over all runs, as the index keeps it for a later run:
    an earlier run's node keeps its root's; tonight's is (``run``: when it started, source,
    position)."""
    if is_previous(node):
        return node[1]
    return f"{run}\x00{node[1]}\x00{node[2]:012d}"


def is_previous(node: Node) -> bool:
    return node[0] == _PREVIOUS


def uid_of(node: Node) -> Optional[str]:
    """The record's uid; None for an earlier run's document."""
    return None if is_previous(node) else node[3]


def id_of(node: Node) -> str:
    return node[4]


def spelled(node: Node) -> str:
    """The node as one string (fields NUL-separated), e.g. to hash it."""
    run, source, position, uid, record_id = node
    return "\x00".join((str(run), source, f"{position:012d}", uid, record_id))


def face_node(node: Node, number: int) -> FaceNode:
    return (node, number)


def record_of(face: FaceNode) -> Node:
    return face[0]


def face_number(face: FaceNode) -> int:
    return face[1]


class Nodes(beam.PTransform):
    """Fingerprints in; (uid, node) out, for the stages that work on records."""

    def expand(self, fingerprints):
        return fingerprints | "ByUid" >> beam.Map(lambda fp: (fp.uid, node_of(fp)))


class WithNodes(beam.PTransform):
    """((uid, value) pairs, (uid, node) pairs) in; (node, value) out for every value."""

    def expand(self, inputs):
        values, nodes = inputs
        return ({"value": values, "node": nodes}
                | "ByUid" >> beam.CoGroupByKey()
                | "ToNode" >> beam.FlatMap(lambda kv: (
                    (node, value) for node in kv[1]["node"] for value in kv[1]["value"])))
