"""The risk score: signals per reason, repetition on a log scale, combination."""

import json

from detectors.risk import reps, risk


def test_repetition_saturates_at_a_hundred_copies():
    assert reps(1) == 0 and reps(10) == 0.5 and reps(100) == reps(10_000) == 1.0


def test_signals_combine_without_passing_one_and_rank_faces_in_templates_first():
    face_template = risk([("template_face", "quarantine", json.dumps({"cluster_size": 20}), 20)])
    plain_template = risk([("template_cluster", "quarantine",
                            json.dumps({"cluster_size": 20}), 20)])
    duplicate = risk([("near_duplicate_image", "quarantine", "{}", 3)])
    assert face_template > plain_template > duplicate > 0
    both = risk([("near_duplicate_image", "quarantine", "{}", 3),
                 ("repeated_identity", "flag", json.dumps({"identity_records": 40}), 40)])
    assert duplicate < both < 1.0
    assert risk([("secret", "quarantine", "{}", None)]) == 1.0
    redacted = risk([("pii_contact", "redact", "{}", None)])
    assert 0 < redacted < risk([("pii_contact", "quarantine", "{}", None)])
    assert risk([("truncated_image", "quarantine", "{}", None)]) == 0.0
    assert risk([]) == 0.0
