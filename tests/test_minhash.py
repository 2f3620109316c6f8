"""MinHash signatures, banding and the S-curve (Beam-free)."""

import random

import numpy as np

from detectors.minhash import (band_keys, banding, candidate_probability, estimated_jaccard,
                               exact_jaccard, from_bytes, shingle_hashes, signatures, to_bytes,
                               tokens)
from schemas.settings import NearTextSettings
from tests.builders import document, edit

def test_default_banding_is_datasketchs_optimum_weighted_to_recall():
    params = NearTextSettings()
    bands, rows = banding(params)
    assert (params.num_perm, bands, rows) == (256, 25, 10)
    assert candidate_probability(0.85, bands, rows) > 0.99
    assert candidate_probability(0.5, bands, rows) < 0.03
    assert banding(NearTextSettings(bands=16, rows=8)) == (16, 8)


def test_explicit_bands_must_fit_the_signature():
    assert list(NearTextSettings(num_perm=64, bands=10, rows=10).problems())
    assert list(NearTextSettings(bands=10).problems())
    assert not list(NearTextSettings(num_perm=64, bands=8, rows=8).problems())


def test_tokens_normalize_and_split_cjk_into_characters():
    assert tokens("Ｔｈｅ  QUICK, brown-fox!") == ["the", "quick", "brown", "fox"]
    assert tokens("日本語のテキスト abc") == ["日", "本", "語", "の", "テ", "キ", "ス", "ト", "abc"]


def test_shingles_are_distinct_and_short_texts_get_one():
    assert len(shingle_hashes("a b c d e f g", 5)) == 3
    assert len(shingle_hashes("a b a b a b a b", 5)) == 2  # repeated shingles count once
    assert len(shingle_hashes("just two", 5)) == 1
    assert len(shingle_hashes("?!", 5)) == 0


def test_signature_is_deterministic_and_none_without_tokens():
    params = NearTextSettings()
    first, empty = signatures(["the same text every time", "..."], params)
    again, = signatures(["the same text every time"], params)
    assert empty is None
    assert first.dtype == np.uint32 and first.shape == (256,)
    assert np.array_equal(first, again)
    assert np.array_equal(from_bytes(to_bytes(first)), first)


def test_estimate_tracks_exact_jaccard():
    rng = random.Random(1)
    params = NearTextSettings()
    errors = []
    for changes in (0, 2, 5, 10, 20, 40):
        a = document(rng)
        b = edit(rng, a, changes)
        sa, sb = signatures([a, b], params)
        errors.append(abs(estimated_jaccard(to_bytes(sa), to_bytes(sb)) - exact_jaccard(a, b, 5)))
    assert max(errors) < 0.1  # ~3 standard errors at 256 permutations


def test_near_duplicates_share_a_band_and_strangers_do_not():
    rng = random.Random(2)
    params = NearTextSettings()
    a = document(rng)
    near, stranger = edit(rng, a, 3), document(rng)
    keys = [set(band_keys(to_bytes(s), params)) for s in signatures([a, near, stranger], params)]
    assert len(keys[0]) == banding(params)[0]
    assert keys[0] & keys[1]
    assert not keys[0] & keys[2]
