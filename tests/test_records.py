"""The typed contracts between stages: nodes sort in input order and key a GroupByKey
with Beam's fast coder."""

import apache_beam as beam

from schemas.records import Fingerprint
from transforms.common.nodes import (face_node, face_number, id_of, is_previous, node_of,
                                     previous_node, record_of, uid_of)


def fingerprint(uid, source, position, id=None):
    return Fingerprint(uid=uid, id=id or uid, kind="text", source=source, position=position,
                       text_key=None, pixel_key=None, bytes_key=None, minhash=None,
                       shingles=None)


def test_nodes_sort_in_input_order_earlier_runs_first():
    tonight = [node_of(fingerprint("u2", "a.jsonl", 10, id="x~u2")),
               node_of(fingerprint("u1", "a.jsonl", 9)),
               node_of(fingerprint("u0", "a.jsonl.gz", 0))]
    earlier = previous_node("z")
    ordered = sorted(tonight + [earlier])
    assert ordered[0] == earlier and is_previous(earlier) and uid_of(earlier) is None
    assert [uid_of(n) for n in ordered[1:]] == ["u1", "u2", "u0"]
    assert id_of(ordered[2]) == "x~u2" and id_of(earlier) == "z"
    face = face_node(ordered[1], 2)
    assert record_of(face) == ordered[1] and face_number(face) == 2
    assert sorted([face_node(ordered[2], 0), face, face_node(ordered[1], 1)])[0] == \
        face_node(ordered[1], 1)


def test_a_node_keys_a_group_by_key_with_the_fast_coder():
    # A plain tuple of str and int: deterministic without Beam's pickling fallback.
    node = node_of(fingerprint("u1", "a.jsonl", 9))
    coder = beam.coders.registry.get_coder(object).as_deterministic_coder("GroupByKey")
    assert type(node) is tuple and coder.decode(coder.encode(node)) == node
