"""Near-duplicate images: how far pHash moves under edits, how close unrelated photos come.

    python -m evaluation.image_near_dups [--hash-size 8 16]

Detector level (detectors/phash.py), no pipeline. Images are read as the pipeline
shows them (EXIF orientation applied, detectors/images.py).

Datasets:
- photos: the photos scikit-image ships under CC0 or in the public domain (PHOTOS
  below; `pip install -e '.[eval]'`), each with transformed copies: resize to
  50% and 25%, JPEG quality 30, resize 50% + JPEG 30, 5% crops, a caption banner,
  rotations of 1 and 3 degrees, flips and rotations by 90 and 180 degrees.
- image-dups: ../shared/eval-data/image-dups (when present), imagehash's test
  images. Which picture each file shows is listed in SHARED_SOURCE (see there:
  the orientation set's mismatch-* files are copies of the forest and office
  photos, so their labels are taken from the pixels, not the file names).

Positives are (original, copy) pairs; negatives are all pairs of images showing
different pictures, copies included (the three office photos are one scene).
Printed per hash size: the distance range per transformation and recall at
several radii; the closest negatives and false matches per radius; the largest
radius with no false match; and whether taking the minimum distance over the 8
rotations/flips of the query recovers flips and 90-degree rotations, at what cost.
"""

import argparse
import collections
import hashlib
import io
import itertools
import pathlib
import statistics
import time
from math import comb
from typing import Callable, Dict, List, NamedTuple

from PIL import Image, ImageDraw, ImageFont, ImageOps

from detectors.phash import block_bounds, blocks, hamming, phash
from evaluation.scores import record
from schemas.settings import NearImageSettings

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "image-dups"

# scikit-image's photos with a licence stated in their docstrings (line art,
# the horse silhouette, and moon/page, which state none, are left out).
PHOTOS = {
    "astronaut": "public domain (NASA)", "rocket": "public domain (SpaceX)",
    "hubble_deep_field": "public domain (NASA)", "camera": "CC0", "coffee": "CC0",
    "chelsea": "CC0", "clock": "public domain", "brick": "CC0", "grass": "CC0",
    "gravel": "CC0", "retina": "CC0", "cell": "CC0", "microaneurysms": "CC0",
    "coins": "no known copyright restrictions", "text": "public domain",
    "immunohistochemistry": "no known copyright restrictions",
}

# image-dups file -> the picture it shows. mismatch-1/2/3 decode to exactly the pixels of
# forest-high and two office photos (with EXIF rotations on 1 and 2), and match-* is the
# first office photo re-encoded, then rotated/flipped: labels by content, not by name.
OFFICE = ("tumblr_ndyfdoR6Wp1tubinno1_1280", "tumblr_ndyfnr7lk21tubinno1_1280",
          "tumblr_ndyfq386o41tubinno1_1280")
SHARED_SOURCE = {"mismatch-1": "forest", "mismatch-2": "office-2", "mismatch-3": "office-1",
                 **{name: f"office-{i + 1}" for i, name in enumerate(OFFICE)}}

CAPTION = "(c) 2024 Example Photo Agency - all rights reserved"


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def scale(image: Image.Image, factor: float) -> Image.Image:
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                        Image.Resampling.LANCZOS)


def crop(image: Image.Image, left, top, right, bottom) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * left), round(h * top),
                       round(w * (1 - right)), round(h * (1 - bottom))))


def banner(image: Image.Image) -> Image.Image:
    """A stock-photo caption: a dark band over the bottom 12% with white text."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    band = max(8, round(out.height * 0.12))
    draw.rectangle((0, out.height - band, out.width, out.height), fill=(20, 20, 20))
    font = ImageFont.load_default(size=max(6, round(band * 0.5)))
    draw.text((band // 3, out.height - band * 0.8), CAPTION, fill=(255, 255, 255), font=font)
    return out


EDITS: Dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize 50%": lambda im: scale(im, 0.5),
    "resize 25%": lambda im: scale(im, 0.25),
    "JPEG q30": lambda im: jpeg(im, 30),
    "resize 50% + JPEG q30": lambda im: jpeg(scale(im, 0.5), 30),
    "crop 5% off each side": lambda im: crop(im, 0.05, 0.05, 0.05, 0.05),
    "crop 5% off the left": lambda im: crop(im, 0.05, 0, 0, 0),
    "caption banner": banner,
    "rotate 1 deg": lambda im: im.rotate(1, Image.Resampling.BICUBIC, expand=False),
    "rotate 3 deg": lambda im: im.rotate(3, Image.Resampling.BICUBIC, expand=False),
    "flip horizontal": ImageOps.mirror,
    "flip vertical": ImageOps.flip,
    "rotate 90 deg": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "rotate 180 deg": lambda im: im.transpose(Image.Transpose.ROTATE_180),
}
# Orientation changes a dihedral search could undo (rows of the last table).
DIHEDRAL_KINDS = ("flip horizontal", "flip vertical", "rotate 90 deg", "rotate 180 deg",
                  "image-dups: rotated/flipped")


class Item(NamedTuple):
    name: str
    source: str   # the picture it shows: items of one source are duplicates
    upright: bool  # False for image-dups files rotated/flipped from their picture's original
    image: Image.Image


def photo_items() -> List[Item]:
    try:
        import skimage.data
    except ImportError:
        print("scikit-image is not installed: the photos set is skipped\n")
        return []
    items = []
    for name in PHOTOS:
        original = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        items.append(Item(name, name, True, original))
        items += [Item(f"{name} / {edit}", name, True, make(original))
                  for edit, make in EDITS.items()]
    return items


def shared_items() -> List[Item]:
    items, seen = [], set()
    for path in sorted(SHARED.glob("*/*.jpg")):
        data = path.read_bytes()
        if hashlib.sha256(data).digest() in seen:  # r180-fb is r0-f0 byte for byte, etc.
            continue
        seen.add(hashlib.sha256(data).digest())
        stem = path.stem
        source = "forest" if path.parent.name == "forest" else \
            SHARED_SOURCE.get(stem, "office-1" if stem.startswith("match-") else stem)
        upright = stem in ("match-r0-f0", "mismatch-3") or not stem.startswith(("match", "mis"))
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        items.append(Item(f"image-dups/{path.parent.name}/{stem}", source, upright, image))
    return items


def labelled_pairs(items: List[Item]):
    """(kind, a, b) positives and (a, b) negatives, as indices into items."""
    positives, negatives = [], []
    for i, j in itertools.combinations(range(len(items)), 2):
        a, b = items[i], items[j]
        if a.source != b.source:
            negatives.append((i, j))
        elif not a.name.startswith("image-dups"):
            if " / " not in a.name:  # photos: (original, copy) pairs only
                positives.append((b.name.split(" / ")[1], i, j))
        elif a.upright != b.upright:
            positives.append(("image-dups: rotated/flipped", i, j))
        elif a.upright and b.upright:
            cropped = "cropped" in a.name + b.name
            kind = "forest: cropped" if cropped else "forest: thumb/low/high/overlay" \
                if a.source == "forest" else "image-dups: re-encoded"
            positives.append((kind, i, j))
    return positives, negatives


def dihedral(image: Image.Image) -> List[Image.Image]:
    """The 8 rotations/flips of image (identity first)."""
    turns = [image, *(image.transpose(t) for t in (Image.Transpose.ROTATE_90,
                                                   Image.Transpose.ROTATE_180,
                                                   Image.Transpose.ROTATE_270))]
    return turns + [ImageOps.mirror(t) for t in turns]


PAIRS_PER_MILLION = 10**6 * (10**6 - 1) // 2  # image pairs in a corpus of a million images
TAIL_BUDGET = 1000  # false pairs per million images that independent random hashes may give


def random_tail(bits: int, radius: int) -> float:
    """P(two independent uniform hashes are within radius): the floor of the false-match rate."""
    return sum(comb(bits, k) for k in range(radius + 1)) / 2 ** bits


def radii_for(bits: int) -> List[int]:
    return [r * bits // 64 for r in (4, 6, 8, 10, 12)]


def report(items, positives, negatives, hash_size: int) -> None:
    bits = hash_size * hash_size
    radii = radii_for(bits)
    hashes = [phash(item.image, hash_size) for item in items]
    distance = {(i, j): hamming(hashes[i], hashes[j]) for _, i, j in positives}
    distance.update({(i, j): hamming(hashes[i], hashes[j]) for i, j in negatives})
    print(f"## {bits}-bit pHash (hash_size {hash_size})\n")
    print("| transformation | pairs | min | median | max | "
          + " | ".join(f"recall r<={r}" for r in radii) + " |")
    print("|---|---|---|---|---|" + "---|" * len(radii))
    kinds = collections.defaultdict(list)
    for kind, i, j in positives:
        kinds[kind].append(distance[i, j])
    for kind, ds in kinds.items():
        print(f"| {kind} | {len(ds)} | {min(ds)} | {statistics.median(ds):g} | {max(ds)} | "
              + " | ".join(f"{sum(d <= r for d in ds) / len(ds):.2f}" for r in radii) + " |")

    negative = sorted(distance[p] for p in negatives)
    upright = {kind: ds for kind, ds in kinds.items() if kind not in DIHEDRAL_KINDS}
    print(f"\nNegatives: {len(negative)} pairs of images of different pictures; distance "
          f"min {negative[0]}, 0.1st percentile {negative[len(negative) // 1000]}, "
          f"median {statistics.median(negative):g} (random hashes: {bits // 2}).")
    p01 = negative[len(negative) // 1000]
    print(f"Share within {p01}: {sum(d <= p01 for d in negative) / len(negative):.2e} here, "
          f"{random_tail(bits, p01):.2e} for random hashes (the real tail is the heavier).")
    closest = sorted(negatives, key=lambda p: distance[p])[:3]
    print("Closest: " + "; ".join(f"{items[i].name} ~ {items[j].name}: {distance[i, j]}"
                                  for i, j in closest))
    office = [(a.name, b.name, distance[i, j]) for i, j in negatives
              for a, b in [(items[i], items[j])] if a.name.startswith("image-dups/office")
              and b.name.startswith("image-dups/office")]
    if office:
        print("Office (distinct photos of one scene, must not match): "
              + ", ".join(str(d) for *_, d in office))
    # Candidates: pairs equal on at least one of r + 1 blocks (how detectors/phash.py's
    # multi-index search finds pairs within r); their share of negatives is its cost.
    print("\n| radius | false matches | precision (all positives) | recall (all) | "
          "recall (upright edits) | bits per block (r+1 blocks) | negatives that are candidates | "
          "random hashes: false pairs per 1M images |")
    print("|---|---|---|---|---|---|---|---|")
    everything = [distance[i, j] for _, i, j in positives]
    flat = [d for ds in upright.values() for d in ds]
    safe = negative[0] - 1  # the largest radius with no false match on this set
    for r in sorted({*radii, *(r * bits // 64 for r in (16, 20)), safe}):
        false = sum(d <= r for d in negative)
        true = sum(d <= r for d in everything)
        precision = true / (true + false) if true + false else 1.0
        print(f"| {r}{' (largest with none)' if r == safe else ''} | {false} | {precision:.4f} | "
              f"{true / len(everything):.3f} | {sum(d <= r for d in flat) / len(flat):.3f} | "
              f"{bits / (r + 1):.1f} | {candidate_share(hashes, negatives, bits, r):.4f} | "
              f"{random_tail(bits, r) * PAIRS_PER_MILLION:.3g} |")
    worst_kind = max(upright, key=lambda k: max(upright[k]))
    worst = max(upright[worst_kind])
    print(f"\nLargest radius with no false match: {safe} of {bits} bits (closest negative "
          f"{safe + 1}). Upright edits reach at most {worst} ({worst_kind}): "
          + (f"all recalled at {safe}, margin {safe - worst} bits." if worst <= safe else
             "beyond the closest negative, so no radius recalls every upright edit without a "
             "false match on this set."))
    policy = NearImageSettings()
    if hash_size == policy.hash_size:   # the pipeline's hash at its radius
        radius = policy.max_distance
        # Upright edits: what the default (orientations 1) is for; turned and mirrored
        # copies need orientations 8 (the dihedral table).
        true, false = sum(d <= radius for d in flat), sum(d <= radius for d in negative)
        record("near_duplicate_image (pHash)", f"upright edits + image-dups, r<={radius}",
               true / (true + false) if true + false else 1.0, true / len(flat),
               f"{len(flat):,} pos / {len(negative):,} neg pairs")
    safe_dihedral = dihedral_report(items, hashes, positives, negatives, hash_size, safe)
    # This set holds 3e4 negative pairs; a corpus of a million images holds 5e11, so the
    # ceiling measured here is capped where even ideal random hashes would collide too often.
    tail = max(r for r in range(bits) if random_tail(bits, r) * PAIRS_PER_MILLION <= TAIL_BUDGET)
    recommended = min(safe, safe_dihedral, tail)
    print(f"Recommended default radius for {bits} bits: {recommended} = min(largest with no "
          f"false match: {safe} plain, {safe_dihedral} with dihedral search; largest where random "
          f"hashes give <= {TAIL_BUDGET} false pairs per 1M images: {tail}). Recall there: "
          f"{sum(d <= recommended for d in flat) / len(flat):.3f} of upright edits, margin "
          f"{safe + 1 - recommended} bits to the closest negative. (Distances are almost "
          f"always even: a hash sets about half its bits, splitting at the median.)\n")


def candidate_share(hashes, pairs, bits: int, radius: int) -> float:
    bounds = block_bounds(bits, radius + 1)
    keyed = [set(blocks(h, bounds)) for h in hashes]
    return sum(bool(keyed[i] & keyed[j]) for i, j in pairs) / len(pairs)


def dihedral_report(items, hashes, positives, negatives, hash_size, safe) -> None:
    """Distance = min over the 8 rotations/flips of the second image of each pair."""
    variants = [[phash(v, hash_size) for v in dihedral(item.image)] for item in items]

    def best(i, j):
        return min(hamming(hashes[i], v) for v in variants[j])

    print(f"\nDihedral search: min distance over the 8 rotations/flips of the query, "
          f"radius {safe}")
    print("\n| transformation | pairs | plain: recalled | dihedral: min | median | max | "
          "recalled |")
    print("|---|---|---|---|---|---|---|")
    for kind in DIHEDRAL_KINDS:
        pairs = [(i, j) for k, i, j in positives if k == kind]
        if not pairs:
            continue
        plain = sum(hamming(hashes[i], hashes[j]) <= safe for i, j in pairs)
        ds = [best(i, j) for i, j in pairs]
        print(f"| {kind} | {len(pairs)} | {plain} | {min(ds)} | {statistics.median(ds):g} | "
              f"{max(ds)} | {sum(d <= safe for d in ds)} |")
    negative = [min(best(i, j), best(j, i)) for i, j in negatives]
    print(f"\nNegatives under dihedral search: min distance {min(negative)}, false matches at "
          f"radius {safe}: {sum(d <= safe for d in negative)}, largest radius with none: "
          f"{min(negative) - 1}.")
    sample = next((it.image for it in items if it.image.size == (512, 512)), items[0].image)
    one = _seconds(lambda: phash(sample, hash_size))
    eight = _seconds(lambda: [phash(v, hash_size) for v in dihedral(sample)])
    print(f"Cost: 8 hashes per image instead of 1 ({eight * 1e3:.1f} ms vs {one * 1e3:.1f} ms "
          f"on a 512x512 photo, this machine), and 8 index lookups per query, each able to "
          f"bring candidates.")
    return min(negative) - 1


def _seconds(work, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hash-size", type=int, nargs="+", default=[8, 16],
                        help="pHash side: 8 gives 64 bits, 16 gives 256 bits")
    args = parser.parse_args(argv)
    photos = photo_items()
    shared = shared_items() if SHARED.is_dir() else []
    items = photos + shared
    positives, negatives = labelled_pairs(items)
    print(f"Near-duplicate images, pHash (detectors/phash.py). {len(PHOTOS) if photos else 0} "
          f"scikit-image photos x {len(EDITS)} edits; image-dups: "
          f"{len(shared) if shared else 'absent'} distinct files. {len(positives)} positive and "
          f"{len(negatives)} negative pairs.\n")
    for hash_size in args.hash_size:
        report(items, positives, negatives, hash_size)


if __name__ == "__main__":
    main()
