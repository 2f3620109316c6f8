"""Issue 21's invariant, stage by stage: nights run one after another with the running
index give every record the decision one run over all nights gives it (tests/nights.py)."""

import datetime
import io
import json
import pathlib
import random
import re

import pyarrow as pa
import pyarrow.parquet as pq

import pytest
from PIL import Image

from tests.builders import (TINY_CLIP, astronaut_variants, document, encode, jpeg, photo,
                            picture, sample, write_jsonl, write_tar)
from evaluation.template_corpus import TEMPLATES, mockups
from pipeline.exits import UsageError
from pipeline.launch import _check_index_in, _index_stages
from pipeline.policy import load_policy
from schemas.arrow import INDEX_FORMAT_KEY, INDEX_VERSION
from tests.jobs import run_job
from tests.nights import decisions, index_rows, nightly, one_run, only
from transforms.io.index import PARTS


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


def test_the_index_grows_with_distinct_content_not_with_nights(tmp_path):
    """The same night read three times (and copies of its texts under other ids): the
    text part keeps one row per signature and cluster, as after the first night."""
    [[night]] = near_text_nights(tmp_path)[:1]
    again = write_jsonl(tmp_path / "again.jsonl", [
        (f"{key}-again", text) for key, text in
        (json.loads(line).values() for line in night.read_text().splitlines())])
    flags = only("near-dedup-text")
    nightly(tmp_path, [[night], [night, again], [night]], *flags)
    rows = [index_rows(tmp_path / f"index-{n}", "text") for n in (1, 2, 3)]
    assert len(rows[0]) == 5 and [len(r) for r in rows[1:]] == [5, 5]
    assert {(r["minhash"], r["root"]) for r in rows[2]} == {
        (r["minhash"], r["root"]) for r in rows[0]}


def test_ids_an_earlier_night_gave_are_renamed_tonight_as_one_run_renames_them(tmp_path):
    """Each night's shard numbers its records from 0: one run over both renames night two's
    (the later claimant); so do the nights, through the index's ids part, and night two's
    copy of night one's "0" is kept_id "0", not itself."""
    rng = random.Random(5)
    a, b, c = (document(rng) for _ in range(3))
    nights = [[write_jsonl(tmp_path / "n1.jsonl", [("0", a), ("1", b)])],
              [write_jsonl(tmp_path / "n2.jsonl", [("0", replaced(a, [150])), ("1", c)])]]
    flags = only("near-dedup-text")
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert incremental == expected
    renamed = {i for i in expected if i.startswith(("0~", "1~"))}
    assert len(renamed) == 2 and {"0", "1"} <= set(expected)
    [copy] = [i for i in renamed if i.startswith("0~")]
    assert expected[copy][:3] == ("quarantined", ["near_duplicate_text"], "0")
    assert {row["id"] for row in index_rows(tmp_path / "index-2", "ids")} == {"0", "1"} | renamed


def image_nights(tmp_path, nights):
    """One WebDataset shard a night: (key, PIL image) pairs, PNG, with a caption each."""
    shards = []
    for n, images in enumerate(nights, 1):
        members = [m for key, image in images
                   for m in ((f"{key}.png", encode(image)), (f"{key}.txt", key.encode()))]
        shards.append([write_tar(tmp_path / f"n{n}-images.tar", members)])
    return shards


def test_near_duplicate_images_across_nights_as_one_run(tmp_path):
    a, x, other = photo(1), photo(2), photo(3)
    # b is 6 bits from a, c 6 from b and 12 from a (pHash, radius 8): c is near b only.
    b, c = Image.blend(a, x, 0.3), Image.blend(a, x, 0.45)
    resized = other.resize((160, 120))
    nights = image_nights(tmp_path, [
        [("a", a), ("other", other)],
        [("b", b), ("other-small", resized), ("new", photo(4))],
        [("c", c), ("other-jpeg", Image.open(io.BytesIO(jpeg(other, quality=60)))),
         ("last", photo(5))],
    ])
    flags = only("near-dedup-images")
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert {i: d[2] for i, d in expected.items() if d[0] == "quarantined"} == {
        "b": "a", "c": "a", "other-small": "other", "other-jpeg": "other"}
    assert incremental == expected
    rows = {row["id"]: row["root"] for row in index_rows(tmp_path / "index-3", "images")}
    # other's resized and re-encoded copies hash as other does: one row for the three.
    assert rows == {"a": "a", "other": "other", "b": "a", "new": "new", "c": "a",
                    "last": "last"}


def test_semantic_duplicates_across_nights_as_one_run(tmp_path):
    """CLIP with random weights (the mechanics only): re-encoded copies are near 1."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n"
                      "  device: cpu\n  threshold: 0.999\n")
    astronaut, coffee = sample("astronaut"), sample("coffee")
    again = lambda image, q: Image.open(io.BytesIO(jpeg(image, quality=q)))   # noqa: E731
    nights = image_nights(tmp_path, [
        [("a", astronaut), ("c", coffee)],
        [("a-40", again(astronaut, 40)), ("r", sample("rocket"))],
        [("a-60", again(astronaut, 60)), ("c-50", again(coffee, 50))],
    ])
    flags = [*only("clip"), "--config", str(policy)]
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert {i: d[2] for i, d in expected.items() if d[0] == "quarantined"} == {
        "a-40": "a", "a-60": "a", "c-50": "c"}
    assert incremental == expected
    assert len(index_rows(tmp_path / "index-3", "clip")) == 6


def test_a_capped_person_stays_capped_over_nights(tmp_path):
    """Seven records of one person over three nights, cap 2 from 5 records: one run over
    all nights keeps the first two; the nights quarantine every later record too."""
    portraits = list(astronaut_variants().values())
    nights = image_nights(tmp_path, [
        [(f"a{i}", portraits[i]) for i in range(3)],
        [(f"a{i}", portraits[i]) for i in (3, 4)] + [("n0", sample("coffee"))],
        [(f"a{i}", portraits[i]) for i in (5, 6)],
    ])
    flags = [*only("faces", "identities"), "--identity-min-records", "5", "--identity-cap", "2"]
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert sorted(i for i, d in expected.items() if d[0] == "quarantined") == [
        "a2", "a3", "a4", "a5", "a6"]
    assert {i: incremental[i] for i in ("a3", "a4", "n0", "a5", "a6")} == {
        i: expected[i] for i in ("a3", "a4", "n0", "a5", "a6")}
    # The bound: night one's three records were written before the person reached five
    # records (night two); one run over all nights flags a0 and a1 and holds a2 back.
    assert {i for i in expected if incremental[i] != expected[i]} == {"a0", "a1", "a2"}
    assert incremental["a2"][0] == "cleaned"
    faces = index_rows(tmp_path / "index-3", "faces")
    assert {row["id"] for row in faces} >= {f"a{i}" for i in range(7)}
    assert {(row["root_id"], row["root_face"]) for row in faces if row["id"].startswith("a")} == {
        ("a0", 0)}


DESIGNS = ["Floral Pattern", "Retro Sunset", "Mountain Lake", "Abstract Waves", "Geometric Fox",
           "Vintage Rose", "Neon Cat", "Tropical Leaves", "Galaxy Swirl", "Pixel Heart",
           "Ocean Whale", "Desert Cactus"]


def test_a_caption_template_that_grows_by_night_is_mined_once_the_nights_hold_enough(tmp_path):
    """Twelve shop captions over three nights (a template needs 10 records with 5 fillers):
    no night alone holds enough; the third, with the index, mines it as one run would."""
    shirts = [(f"s{i}", picture(30 + i), f"{design} Unisex T-Shirt")
              for i, design in enumerate(DESIGNS)]
    nights = []
    for n in range(3):
        members = [m for key, image, caption in shirts[4 * n:4 * n + 4]
                   for m in ((f"{key}.png", encode(image)), (f"{key}.txt", caption.encode()))]
        nights.append([write_tar(tmp_path / f"n{n + 1}-shop.tar", members)])
    flags = only("caption-templates")
    outputs = nightly(tmp_path, nights, *flags)
    incremental, expected = decisions(*outputs), decisions(one_run(tmp_path, nights, *flags))
    assert all(d == ("cleaned", ["caption_template"], []) for d in expected.values())
    night_three = [key for key, _, _ in shirts[8:]]
    assert {k: incremental[k] for k in night_three} == {k: expected[k] for k in night_three}
    # The bound: the first two nights' records were written before the template held 10.
    assert {k for k in expected if incremental[k] != expected[k]} == {
        key for key, _, _ in shirts[:8]}
    rows = [row for row in index_rows(tmp_path / "index-3", "templates")
            if row["template"] == "<*> unisex t-shirt"]
    assert len(rows) == 12 and {row["records"] for row in rows} == {1}   # a row per design


def test_a_layout_that_grows_by_night_holds_its_later_members_as_one_run(tmp_path):
    """Mockups of two layouts (a mug, kept 3; a T-shirt on a real person) over three nights,
    3, 3 and 4 a night (a layout needs 5): from night two, with the index, each night's
    mockups are decided as one run over all nights decides them."""
    rows = mockups(designs=10, templates=[t for t in TEMPLATES if t.name in ("tee", "mug")])
    by_night = [range(0, 3), range(3, 6), range(6, 10)]
    nights = []
    for n, designs in enumerate(by_night, 1):
        members = [m for key, data, caption, _ in rows if int(key[-3:]) in designs
                   for m in ((f"{key}.jpg", data), (f"{key}.txt", caption.encode()))]
        nights.append([write_tar(tmp_path / f"n{n}-shop.tar", members)])
    flags = only("layouts", "faces")
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    held = {i for i, d in expected.items() if d[0] == "quarantined"}
    assert {f"mug-{i:03d}" for i in range(3, 10)} <= held and len(held) >= 14
    later = {key for key, *_ in rows if int(key[-3:]) >= 3}
    assert {i: incremental[i] for i in later} == {i: expected[i] for i in later}
    # The bound: night one's mockups were written before their layouts held 5 images.
    templated = lambda d: {"template_face", "template_cluster"} & set(d[1])   # noqa: E731
    assert {i for i in expected if incremental[i] != expected[i]} == {
        i for i in set(expected) - later if templated(expected[i])}
    assert not any(templated(incremental[i]) for i in set(expected) - later)
    assert len(index_rows(tmp_path / "index-3", "layouts")) == 20


def test_review_decisions_reach_later_nights_members_of_image_and_identity_clusters(tmp_path):
    """A reviewer rejects night one's near-duplicate image cluster and releases its person
    cluster; night two holds a new member of each, and neither record the clusters are
    named after: the index puts the new members in the same clusters, the decisions reach
    them."""
    portraits = list(astronaut_variants().values())
    a, x = photo(1), photo(2)
    nights = image_nights(tmp_path, [
        [("a", a), ("b", Image.blend(a, x, 0.3))] + [(f"a{i}", portraits[i]) for i in range(5)],
        [("c", Image.blend(a, x, 0.45)), ("a5", portraits[5]), ("n", photo(4))],
    ])
    flags = [*only("near-dedup-images", "faces", "identities"), "--identity-min-records", "5",
             "--identity-cap", "2"]
    [one] = nightly(tmp_path, nights[:1], *flags)
    clusters = {r["id"]: r["clusters"] for r in one.quarantine}
    image_cluster = next(c for c in clusters["b"] if c.startswith("image-"))
    person_cluster = next(c for c in clusters["a4"] if c.startswith("person-"))
    decisions_csv = tmp_path / "decisions.csv"
    decisions_csv.write_text("scope,id,decision,reviewer\n"
                             f"cluster,{image_cluster},reject,ana\n"
                             f"cluster,{person_cluster},release,ana\n")
    two = run_job(tmp_path / "night-2", nights[1], *flags, "--index-in",
                  str(tmp_path / "index-1"), "--review-decisions", str(decisions_csv))
    held = {r["id"]: r for r in two.quarantine}
    kept = {r["id"]: r for r in two.cleaned_image_text}
    assert image_cluster in held["c"]["clusters"] and "review_rejected" in held["c"]["reasons"]
    assert "review_released" in {f["reason"] for f in kept["a5"]["flags"]}
    assert "repeated_identity" in {f["reason"] for f in kept["a5"]["flags"]}
    assert "n" in kept and two.summary["review"] == {"released": 1, "rejected": 1,
                                                     "release_refused": 0}


def aged(index: pathlib.Path, days: int) -> None:
    """Rewrite an index as if its night had run ``days`` days ago (its nights' started_at
    lead each row's order and the exact keys' run)."""
    for path in index.rglob("*.parquet"):
        table = pq.read_table(path)
        for column in ("order", "run"):
            if column in table.column_names:
                old = table.column(column).to_pylist()
                night = datetime.datetime.fromisoformat(old[0].split("\x00")[0])
                then = (night - datetime.timedelta(days=days)).isoformat(timespec="seconds")
                new = [then + value[len(value.split("\x00")[0]):] for value in old]
                table = table.set_column(table.column_names.index(column), column,
                                         pa.array(new, pa.string()))
        pq.write_table(table.cast(table.schema.with_metadata(table.schema.metadata)), path)


def test_retention_forgets_clusters_that_began_before_it(tmp_path):
    """Night one's text and image ran ten days ago: with 30 days of retention tonight's
    copies are its duplicates; with 7, night one is forgotten, from the index too."""
    one = encode(picture(1))
    nights = [[write_jsonl(tmp_path / "n1.jsonl", [("t1", "A text seen ten days ago.")]),
               write_tar(tmp_path / "n1.tar", [("k1.png", one), ("k1.txt", b"an image")])],
              [write_jsonl(tmp_path / "n2.jsonl", [("t2", "a text seen ten days ago.")]),
               write_tar(tmp_path / "n2.tar", [("k2.png", one), ("k2.txt", b"again")])]]
    flags = only("exact-dedup-text", "exact-dedup-images", "near-dedup-images")
    nightly(tmp_path, nights[:1], *flags)
    aged(tmp_path / "index-1", days=10)
    for days, held in ((30, {"t2", "k2"}), (7, set())):
        out = run_job(tmp_path / f"kept-{days}", nights[1], *flags, "--index-in",
                      str(tmp_path / "index-1"), "--index-out", str(tmp_path / f"index-{days}"),
                      "--index-retention-days", str(days))
        assert {r["id"] for r in out.quarantine} == held
        remembered = {row["id"] for part in ("exact", "images")
                      for row in index_rows(tmp_path / f"index-{days}", part)}
        assert remembered == ({"t1", "k1"} if held else {"t2", "k2"})
        assert out.manifest()["index"]["retention_days"] == days


def test_the_whole_job_every_stage_on_nights_as_one_run_within_the_bounds(tmp_path):
    """Every stage on (CLIP with random weights, PII, repeated spans, layouts): the last
    night's records are decided as one run over all nights decides them; earlier nights'
    differ only where a later night changed what one run knows (the bounds above)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n"
                      "  device: cpu\n  threshold: 0.999\n")
    texts = near_text_nights(tmp_path)
    portraits = list(astronaut_variants().values())
    a, x = photo(1), photo(2)
    shirts = [(f"s{i}", picture(30 + i)) for i in range(12)]
    images = [
        [("ia", a)] + [(f"a{i}", portraits[i]) for i in range(3)] + shirts[:4],
        [("ib", Image.blend(a, x, 0.3))] + [(f"a{i}", portraits[i]) for i in (3, 4)]
        + shirts[4:8],
        [("ic", Image.blend(a, x, 0.45))] + [(f"a{i}", portraits[i]) for i in (5, 6)]
        + shirts[8:],
    ]
    captions = {key: f"{DESIGNS[int(key[1:])]} Unisex T-Shirt" for key, _ in shirts}
    nights = []
    for n, night in enumerate(images, 1):
        members = [m for key, image in night
                   for m in ((f"{key}.png", encode(image)),
                             (f"{key}.txt", captions.get(key, f"photo {key}").encode()))]
        nights.append(texts[n - 1] + [write_tar(tmp_path / f"n{n}-images.tar", members)])
    flags = ["--config", str(policy), "--identity-min-records", "5", "--identity-cap", "2",
             "--repeated-spans", "--no-report"]
    incremental = decisions(*nightly(tmp_path, nights, *flags))
    expected = decisions(one_run(tmp_path, nights, *flags))
    assert set(incremental) == set(expected)
    last_night = {"c", "other", "ic", "a5", "a6"} | {key for key, _ in shirts[8:]}
    assert expected["ic"][:3] == ("quarantined", ["near_duplicate_image",
                                                  "semantic_duplicate_image"], "ia")
    assert {i: incremental[i] for i in last_night} == {i: expected[i] for i in last_night}
    # The bounds above: the bridge (q), the person capped once night two brought the fifth
    # record (a0-a2), and the caption templates one run mines over all nights ("<*> Unisex
    # T-Shirt", and "photo <*>" of the other captions): earlier nights' records of them were
    # written before the template held enough records, and differ by the template only.
    differ = {i for i in expected if incremental[i] != expected[i]}
    assert differ - {"q", "a0", "a1", "a2"} == {
        i for i in expected if i not in last_night | {"q", "a0", "a1", "a2"}
        and without_templates(expected[i]) != expected[i]}
    assert all(incremental[i] == without_templates(expected[i])
               for i in differ - {"q", "a0", "a1", "a2"})


def without_templates(decision: tuple) -> tuple:
    """A decision less its caption templates: the flag or reason, and the cluster."""
    kept = lambda names: [n for n in names if n != "caption_template"   # noqa: E731
                          and not n.startswith("caption-")]
    if decision[0] == "cleaned":
        return (decision[0], kept(decision[1]), decision[2])
    return (decision[0], kept(decision[1]), decision[2], kept(decision[3]))


def test_every_part_made_another_way_is_refused_before_the_run(tmp_path):
    """Each part's files carry how their keys were made; a part whose stage is on tonight and
    whose format differs (a setting, or another index version) stops the run with a message
    naming the part and its settings."""
    policy = load_policy(None, {"repeated_spans": {"enabled": True},
                                "clip": {"enabled": True}})
    for part, (enabled, fmt, settings) in _index_stages(policy).items():
        assert enabled, part
        setting = sorted(fmt())[0]
        for n, changed in enumerate(({**fmt(), "version": INDEX_VERSION - 1},
                                     {**fmt(), "version": INDEX_VERSION, setting: "other"})):
            index = tmp_path / f"{part}-{n}"
            folder = index / PARTS[part].folder
            folder.mkdir(parents=True)
            metadata = {INDEX_FORMAT_KEY: json.dumps(changed).encode()}
            pq.write_table(pa.table({"id": ["x"]}).replace_schema_metadata(metadata),
                           folder / "part-00000-of-00001.parquet")
            with pytest.raises(UsageError, match=f"its {part} part was made with other "
                                                 f"{re.escape(settings)}"):
                _check_index_in([str(index)], policy, check=True)
