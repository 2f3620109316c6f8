"""Near-duplicate images: multi-index blocks and hot-key splitting against brute force,
turned copies with eight orientations (the stage alone), the whole job on transformed
copies of one picture, and the fine check: distinct rendered documents the 64-bit pHash
pairs stay apart while their copies are still found (issue 20 item 5)."""

import collections
import json
import random

from PIL import Image, ImageDraw

from detectors.phash import hamming
from schemas.records import QUARANTINE
from schemas.settings import NearImageSettings
from tests.jobs import run_job
from tests.builders import (checked, encode, evidence, fingerprint, image_record, photo, run_stage,
                            union_find_labels, write_tar)
from transforms.dedup.near_images import NearDuplicateImages


def flip_bits(rng, hash_bytes: bytes, count: int) -> bytes:
    value = int.from_bytes(hash_bytes, "big")
    for bit in rng.sample(range(64), count):
        value ^= 1 << bit
    return value.to_bytes(8, "big")


def brute_force_removed(fps, radius):
    """uid -> (kept id, cluster size) of the members a union-find over every pair within the
    radius quarantines (all but each cluster's first member)."""
    edges = [(a.uid, b.uid) for i, a in enumerate(fps) for b in fps[i + 1:]
             if hamming(a.phash, b.phash) <= radius]
    labels = union_find_labels(edges)
    ids, sizes = {fp.uid: fp.id for fp in fps}, collections.Counter(labels.values())
    return {uid: (ids[root], sizes[root]) for uid, root in labels.items() if uid != root}


def run_near_images(fps, radius, max_bucket, levels):
    ran = run_stage(NearDuplicateImages(NearImageSettings(
        max_distance=radius, max_bucket=max_bucket, levels=levels)), fps)
    expected = brute_force_removed(fps, radius)
    assert sorted(v.uid for v in ran.main) == sorted(expected)
    assert {v.uid: (v.representative_id, v.group_size) for v in ran.main} == expected
    assert {(v.reason, v.action) for v in ran.main} == {("near_duplicate_image", QUARANTINE)}
    assert all(evidence(v)["hamming_distance"] <= radius for v in ran.main)
    return ran.counters("near_dedup_images")


def planted_hashes(seed, originals=120, copies=3, radius=8):
    rng = random.Random(seed)
    hashes = []
    for _ in range(originals):
        base = bytes(rng.getrandbits(8) for _ in range(8))
        hashes.append(base)
        hashes += [flip_bits(rng, base, rng.randint(0, radius + 3)) for _ in range(copies)]
    return [fingerprint(i, kind="image_text", phash=h) for i, h in enumerate(hashes)]


def test_every_pair_within_the_radius_is_found():
    counters = run_near_images(planted_hashes(1), radius=8, max_bucket=256, levels=3)
    assert counters["pairs_within_radius"] > 0


def test_hot_keys_are_split_without_losing_a_pair():
    # Buckets of at most 5 images: many level-0 keys (7 bits) are hot and get split
    # again by the other bits; a planted cluster (4 images) fits a bucket below.
    counters = run_near_images(planted_hashes(2), radius=8, max_bucket=5, levels=3)
    assert counters["hot_bucket_members_level0"] > 0


def test_a_key_still_hot_at_the_last_level_is_a_star_around_its_first_member():
    # 40 copies of one near-blank picture (hashes 0-2 bits apart) and a few others.
    rng = random.Random(3)
    blank = bytes(8)
    fps = [fingerprint(i, kind="image_text", phash=flip_bits(rng, blank, i % 3)) for i in range(40)]
    fps += [fingerprint(40 + i, kind="image_text",
                       phash=bytes(rng.getrandbits(8) for _ in range(8))) for i in range(20)]
    counters = run_near_images(fps, radius=6, max_bucket=8, levels=1)
    assert counters["hot_bucket_members_level1"] >= 40
    assert counters["removed"] == 39


def test_transformed_copies_are_near_duplicates_whatever_the_caption(tmp_path):
    original = photo(1)
    banner = original.copy()
    ImageDraw.Draw(banner).rectangle((0, 200, 320, 240), fill=(255, 255, 255))
    w, h = original.size
    members = [("a0.png", encode(original)), ("a0.txt", b"The original"),
               ("a1.jpg", encode(original.resize((160, 120)), "JPEG", quality=85)),
               ("a1.txt", b"Resized, another caption"),
               ("a2.jpg", encode(original, "JPEG", quality=30)), ("a2.txt", b"Low quality"),
               ("a3.png", encode(original.crop((8, 6, w - 8, h - 6)))), ("a3.txt", b"Cropped"),
               ("b0.png", encode(photo(2))), ("b0.txt", b"Another picture"),
               ("c0.png", encode(photo(3))), ("c0.txt", b"A third picture")]
    write_tar(tmp_path / "pairs.tar", members)
    out = run_job(tmp_path / "out", [tmp_path / "pairs.tar"], "--no-pii")
    assert {r["id"] for r in out.cleaned_image_text} == {"a0", "b0", "c0"}
    removed = {r["id"]: r for r in out.quarantine}
    assert set(removed) == {"a1", "a2", "a3"}
    for row in removed.values():
        assert row["reasons"] == ["near_duplicate_image"] and row["kept_id"] == "a0"
        detail = json.loads(row["evidence"][0]["detail"])
        assert detail["cluster_size"] == 4 and 0 <= detail["hamming_distance"] <= 8
    assert out.summary["conservation"]["ok"]


def test_turned_and_flipped_copies_match_with_eight_orientations():
    original = photo(4)
    records = [image_record(0, encode(original), "Upright", id="t0"),
               image_record(1, encode(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
                            "Mirrored", id="t1"),
               image_record(2, encode(original.transpose(Image.Transpose.ROTATE_90)),
                            "On its side", id="t2"),
               image_record(3, encode(photo(5)), "Another picture", id="u0")]
    ids = {r.uid: r.id for r in records}
    plain, turned = NearImageSettings(), NearImageSettings(orientations=8)
    _, fingerprints = checked(records, near_images=plain)
    # pHash alone: a flip is a different picture.
    assert run_stage(NearDuplicateImages(plain), fingerprints).main == []
    _, fingerprints = checked(records, near_images=turned)
    verdicts = run_stage(NearDuplicateImages(turned), fingerprints).main
    removed = {ids[v.uid]: evidence(v) for v in verdicts}
    assert set(removed) == {"t1", "t2"}   # t0 and u0 kept
    assert {v.reason for v in verdicts} == {"near_duplicate_image"}
    assert all(d["kept_id"] == "t0" and d["hamming_distance"] <= 2 for d in removed.values())


# ------------------------------------------------------------------ documents (issue 20 item 5)

def rendered_documents():
    """Seven distinct documents (evaluation/documents.py), four invoices and three letters
    that the 64-bit pHash alone pairs (invoices 0-1 and 3-6, letters 1-2 and 1-6 are 4-8 bits
    apart), as PNG records, and two copies: invoice 0 as JPEG quality 70, letter 1 at half
    its size."""
    from evaluation.documents import invoice, letter
    pages = {f"i{i}": invoice(random.Random(f"20/invoice/{i}")) for i in (0, 1, 3, 6)}
    pages.update({f"l{i}": letter(random.Random(f"20/letter/{i}")) for i in (1, 2, 6)})
    records = [image_record(n, encode(page), f"Document {name}", id=name)
               for n, (name, page) in enumerate(pages.items())]
    small = pages["l1"].resize((425, 550), Image.Resampling.LANCZOS)
    records += [image_record(7, encode(pages["i0"], "JPEG", quality=70), "A copy", id="c0"),
                image_record(8, encode(small), "A smaller copy", id="c1")]
    return records


def test_distinct_documents_stay_and_their_copies_still_go():
    records = rendered_documents()
    ids = {r.uid: r.id for r in records}
    before = NearImageSettings(fine_check=False)   # main: the 64-bit pHash alone
    _, fingerprints = checked(records, near_images=before)
    removed = {ids[v.uid] for v in run_stage(NearDuplicateImages(before), fingerprints).main}
    assert {"c0", "c1"} <= removed
    assert removed - {"c0", "c1"} == {"i1", "i6", "l2", "l6"}   # distinct, within 8 bits

    after = NearImageSettings()
    _, fingerprints = checked(records, near_images=after)
    assert all(fp.phash_fine is not None and len(fp.phash_fine) == 128 for fp in fingerprints)
    ran = run_stage(NearDuplicateImages(after), fingerprints)
    kept_by = {ids[v.uid]: v.representative_id for v in ran.main}
    assert kept_by == {"c0": "i0", "c1": "l1"}
    assert ran.counters("near_dedup_images")["pairs_rejected_by_fine_check"] >= 4


def test_photos_get_no_fine_hash_and_keep_the_coarse_verdict():
    records = [image_record(0, encode(photo(1)), id="p0"),
               image_record(1, encode(photo(1), "JPEG", quality=40), id="p1")]
    _, fingerprints = checked(records)
    assert [fp.phash_fine for fp in fingerprints] == [None, None]
    assert [v.representative_id for v in run_stage(
        NearDuplicateImages(NearImageSettings()), fingerprints).main] == ["p0"]


def test_the_fine_check_holds_in_hot_keys_down_to_the_star():
    # Ten plain-ground pictures with one coarse hash (every key hot, down to the exact key
    # and its star), their fine hashes far apart, but for one copy 4 bits from the first.
    rng = random.Random(5)
    fines = [bytes(rng.getrandbits(8) for _ in range(128)) for _ in range(10)]
    copy = bytearray(fines[0])
    copy[0] ^= 0x0F
    fps = [fingerprint(i, kind="image_text", phash=bytes(8), phash_fine=fine)
           for i, fine in enumerate(fines + [bytes(copy)])]
    ran = run_stage(NearDuplicateImages(NearImageSettings(max_bucket=2, levels=1)), fps)
    assert [(v.uid, v.representative_id) for v in ran.main] == [(fps[10].uid, fps[0].id)]


def test_with_eight_orientations_a_turned_document_goes_and_a_distinct_one_stays():
    from evaluation.documents import invoice
    pages = [invoice(random.Random(f"20/invoice/{i}")) for i in (0, 1)]   # 8 bits apart
    records = [image_record(0, encode(pages[0]), id="i0"),
               image_record(1, encode(pages[1]), id="i1"),
               image_record(2, encode(pages[0].transpose(Image.Transpose.ROTATE_90), "JPEG"),
                            id="turned")]
    turned = NearImageSettings(orientations=8)
    _, fingerprints = checked(records, near_images=turned)
    assert [len(fp.phash_fine) for fp in fingerprints] == [8 * 128] * 3
    verdicts = run_stage(NearDuplicateImages(turned), fingerprints).main
    assert [(v.uid, v.representative_id) for v in verdicts] == [(records[2].uid, "i0")]
