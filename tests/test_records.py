"""The typed contracts between stages: verdicts' typed fields survive their registered
coder, and nodes sort in input order and key a GroupByKey with Beam's fast coder."""

import apache_beam as beam

from schemas.records import ClusterMember, FaceBox, Fingerprint, Span, Verdict
from transforms.common.nodes import (face_node, face_number, id_of, is_previous, node_of,
                                     previous_node, record_of, uid_of)


def fingerprint(uid, source, position, id=None):
    return Fingerprint(uid=uid, id=id or uid, kind="text", source=source, position=position,
                       text_key=None, pixel_key=None, bytes_key=None, minhash=None,
                       shingles=None)


def test_typed_fields_survive_their_coder():
    verdict = Verdict(uid="u", reason="face", action="blur", evidence="{}",
                      representative_id=None, group_size=None, cluster="person-1",
                      faces=[FaceBox(1, 2, 3, 4)],
                      spans=[Span("caption", "PERSON", 0, 3, 0.85, "SpacyRecognizer")])
    member = ClusterMember(record_id="r", destination="cleaned", risk=0.2, reason="face",
                           action="flag", evidence="{}", size=3, kept_id=None)
    for value in (verdict, verdict._replace(faces=None, spans=None, cluster=None), member):
        coder = beam.coders.registry.get_coder(type(value))
        assert coder.decode(coder.encode(value)) == value


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
