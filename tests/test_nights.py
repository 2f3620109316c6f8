"""Issue 21's invariant, stage by stage: nights run one after another with the running
index give every record the decision one run over all nights gives it (tests/nights.py)."""

import random

from tests.builders import document, encode, picture, write_jsonl, write_tar
from tests.nights import decisions, index_rows, nightly, one_run, only


def test_exact_duplicates_across_nights_as_one_run(tmp_path):
    texts = [
        [("t1", "Alpha text, first seen on night one."), ("t2", "Beta text."),
         ("t3", "alpha TEXT, first seen on night one.")],
        [("t4", "ALPHA  text, first seen on night one."), ("t5", "Gamma text."),
         ("t6", "Beta text.")],
        [("t7", "Gamma text."), ("t8", "Delta text."), ("t9", "alpha text, first seen on "
                                                         "night one.")],
    ]
    one, two, three = (encode(picture(seed)) for seed in (1, 2, 3))
    images = [
        [("k1", one), ("k2", two)],
        [("k3", encode(picture(1), "WEBP", lossless=True)), ("k4", three)],
        [("k5", three), ("k6", two), ("k7", encode(picture(4)))],
    ]
    nights = []
    for n, (night_texts, night_images) in enumerate(zip(texts, images), 1):
        members = [m for key, data in night_images
                   for m in ((f"{key}.{'webp' if data[:4] == b'RIFF' else 'png'}", data),
                             (f"{key}.txt", f"caption {key}".encode()))]
        nights.append([write_jsonl(tmp_path / f"n{n}-text.jsonl", night_texts),
                       write_tar(tmp_path / f"n{n}-images.tar", members)])
    flags = only("exact-dedup-text", "exact-dedup-images")
    nightly_outputs = nightly(tmp_path, nights, *flags)
    whole = one_run(tmp_path, nights, *flags)

    expected = decisions(whole)
    assert decisions(*nightly_outputs) == expected
    assert {i: d[2] for i, d in expected.items() if d[0] == "quarantined"} == {
        "t3": "t1", "t4": "t1", "t9": "t1", "t6": "t2", "t7": "t5",
        "k3": "k1", "k5": "k4", "k6": "k2"}
    # The running index: one row per distinct key, whatever the nights, counting its copies.
    index = index_rows(tmp_path / "index-3", "exact")
    assert sorted((row["id"], row["records"]) for row in index) == [
        ("k1", 2), ("k2", 2), ("k4", 2), ("k7", 1), ("t1", 4), ("t2", 2), ("t5", 2), ("t8", 1)]


def replaced(text: str, positions) -> str:
    """``text`` with the words at ``positions`` (10 or more apart) replaced: each costs
    exactly 5 of its 196 shingles, so 3 leave a Jaccard similarity of 0.858 and 6 of 0.735,
    far from the 0.8 threshold on either side (exact and estimated agree)."""
    words = text.split()
    for p in positions:
        words[p] = f"edited{p}"
    return " ".join(words)


def near_text_nights(tmp_path):
    rng = random.Random(21)
    a, p, solo = (document(rng) for _ in range(3))
    nights = [
        [("a", a), ("a-copy", replaced(a, [150])), ("p", p),
         ("q", replaced(p, [20, 40, 60, 100, 120, 140])), ("solo", solo)],
        # b: near a; m: near p and near q, which are not near each other (a bridge).
        [("b", replaced(a, [20, 40, 60])), ("m", replaced(p, [20, 40, 60])),
         ("new", document(rng)), ("solo-again", solo)],
        # c: near b only (a chain through a copy night two removed).
        [("c", replaced(a, [20, 40, 60, 100, 120, 140])), ("other", document(rng))],
    ]
    return [[write_jsonl(tmp_path / f"n{n}.jsonl", texts)] for n, texts in enumerate(nights, 1)]


def test_near_duplicate_texts_across_nights_as_one_run_but_a_bridge(tmp_path):
    nights = near_text_nights(tmp_path)
    flags = only("near-dedup-text")
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert {i: d[2] for i, d in expected.items() if d[0] == "quarantined"} == {
        "a-copy": "a", "b": "a", "c": "a", "m": "p", "q": "p", "solo-again": "solo"}
    # The chain reaches c through b, which night two removed: the index keeps every text
    # with its cluster, not only those kept.
    assert incremental["c"] == expected["c"]
    # The one bound: night one kept q, which one run removes once night two's m joins its
    # cluster to p's; a night's outputs are not rewritten later.
    assert {i for i in expected if incremental[i] != expected[i]} == {"q"}
    assert incremental["q"][0] == "cleaned"
