"""Perceptual hashes of images (imagehash's pHash), their Hamming distance, and MIH blocks.

A pHash is ``hash_size``² bits: the signs of the lowest DCT frequencies of a greyscale
copy shrunk to 4 x hash_size pixels, relative to their median. Re-encoding, resizing,
mild crops and overlays move few bits; a different picture moves about half of them.
Hashes travel as big-endian bytes.

Plain-ground pictures (text on a light page: receipts, letters, forms, screenshots, slides)
keep little of their content in the lowest frequencies: distinct documents of one layout fall
within the 64-bit radius of each other (evaluation/document_near_dups.py). Such a picture also
gets a fine pHash (FINE_HASH_SIZE² = 1,024 bits, from a 128-pixel square, where lines of text
still show), and a pair of two such pictures counts only when the fine hashes agree too.

Multi-index hashing (Norouzi et al. 2012): cut the bits into r + 1 blocks; two hashes
within Hamming distance r agree exactly on at least one block (pigeonhole), so grouping
by (block number, block value) finds every such pair without comparing all pairs.
"""

import itertools
from typing import List, Optional, Tuple

import imagehash
import numpy as np
from PIL import Image

from schemas.settings import NearImageSettings


def phash(image: Image.Image, hash_size: int = 8) -> bytes:
    bits = imagehash.phash(greyscale(image), hash_size=hash_size).hash.flatten()
    return np.packbits(bits).tobytes()


# The 8 rotations and flips of a square (the first leaves it as it is).
ORIENTATIONS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
                Image.Transpose.ROTATE_270, Image.Transpose.FLIP_LEFT_RIGHT,
                Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.TRANSPOSE,
                Image.Transpose.TRANSVERSE)


def phashes(image: Image.Image, settings: NearImageSettings) -> bytes:
    """The pHash; with ``settings.orientations`` 8, the pHashes of the image under each
    rotation and flip, concatenated (the first is the plain one). The image is shrunk
    once, as pHash shrinks it (to 4 x hash_size pixels), then that small copy is turned."""
    hash_size = settings.hash_size
    if settings.orientations == 1:
        return phash(image, hash_size)
    side = 4 * hash_size
    small = greyscale(image).resize((side, side), Image.Resampling.LANCZOS)
    return b"".join(phash(small if turn is None else small.transpose(turn), hash_size)
                    for turn in ORIENTATIONS)


# The fine hash: 1,024 bits from a 128-pixel square (pHash shrinks to 4 x hash_size).
FINE_HASH_SIZE = 32
FINE_SIDE = 4 * FINE_HASH_SIZE
FINE_HASH_BYTES = FINE_HASH_SIZE * FINE_HASH_SIZE // 8
# The ground test looks at a 64-pixel square: grey levels within this of the commonest one
# are ground (JPEG noise and anti-aliasing stay inside it).
GROUND_SIDE = 64
GROUND_TOLERANCE = 8


def ground_level(grey: Image.Image, settings: NearImageSettings) -> Optional[int]:
    """The grey level of a plain-ground picture (a page, a window, a slide), None for any
    other: at least ``settings.plain_share`` of a 64-pixel square within 8 levels of its
    commonest level, and that level at least ``settings.plain_level``."""
    small = np.asarray(grey.resize((GROUND_SIDE, GROUND_SIDE), Image.Resampling.LANCZOS),
                       np.int16)
    level = int(np.bincount(small.ravel(), minlength=256).argmax())
    share = float((np.abs(small - level) <= GROUND_TOLERANCE).mean())
    return level if level >= settings.plain_level and share >= settings.plain_share else None


def fine_hashes(grey: Image.Image, settings: NearImageSettings) -> bytes:
    """The fine pHashes of a picture (one per orientation, as ``phashes``); the caller
    asks for them for plain-ground pictures only (ground_level, detectors/images.py)."""
    small = grey.resize((FINE_SIDE, FINE_SIDE), Image.Resampling.LANCZOS)
    turns = ORIENTATIONS if settings.orientations == 8 else ORIENTATIONS[:1]
    return b"".join(phash(small if turn is None else small.transpose(turn), FINE_HASH_SIZE)
                    for turn in turns)


def phash_format(settings: NearImageSettings) -> dict:
    """What two runs' hashes must share to be compared (kept in the image index)."""
    return {"kind": "images", "phash": "imagehash.phash of greyscale", "fine": FINE_HASH_SIZE,
            "hash_size": settings.hash_size, "orientations": settings.orientations,
            "fine_check": settings.fine_check, "plain_share": settings.plain_share,
            "plain_level": settings.plain_level}


def fine_agrees(a: bytes, b: bytes, coarse_bytes: int, max_distance: int) -> bool:
    """The second check of a candidate pair (each side: its coarse hash of ``coarse_bytes``,
    then its fine hash when it has one): two plain-ground pictures must be within
    ``max_distance`` of each other's fine hash too; a pair with a picture of another kind
    keeps the coarse verdict."""
    fine_a, fine_b = a[coarse_bytes:], b[coarse_bytes:]
    return not fine_a or not fine_b or hamming(fine_a, fine_b) <= max_distance


def greyscale(image: Image.Image) -> Image.Image:
    """The picture as a viewer sees it, in 8-bit grey.

    Pillow's convert("L") clips 16-bit samples (a 16-bit photo turns white) and drops
    alpha (a transparent area shows whatever colour its pixels hold): 16-bit samples
    are scaled, and transparency is laid over white first.
    """
    if image.mode.startswith("I;16"):
        return Image.fromarray((np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8))
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def block_bounds(bits: int, parts: int) -> List[Tuple[int, int]]:
    """[start, end) bit ranges of ``parts`` blocks as equal as can be."""
    base, extra = divmod(bits, parts)
    bounds, start = [], 0
    for i in range(parts):
        end = start + base + (1 if i < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


def blocks(hash_bytes: bytes, bounds: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """(block number, block value) for each block of ``bounds``."""
    value, bits = int.from_bytes(hash_bytes, "big"), len(hash_bytes) * 8
    return [(i, (value >> (bits - end)) & ((1 << (end - start)) - 1))
            for i, (start, end) in enumerate(bounds)]


def level_keys(hash_bytes: bytes, path: tuple, radius: int):
    """The keys of ``hash_bytes`` one level below ``path`` (a tuple of (bit ranges, value)).

    Level 0 cuts all bits into radius + 1 blocks; each level below cuts the bits no key
    of ``path`` fixes yet. A key is the path plus one (bit ranges, value).
    """
    bits = len(hash_bytes) * 8
    fixed = {bit for ranges, _ in path for s, e in ranges for bit in range(s, e)}
    free = [bit for bit in range(bits) if bit not in fixed]
    if len(free) <= radius:
        return []   # nothing left to cut: the caller treats the key as exact
    value = int.from_bytes(hash_bytes, "big")
    keys = []
    for s, e in block_bounds(len(free), radius + 1):
        chosen = free[s:e]
        block = 0
        for bit in chosen:
            block = (block << 1) | ((value >> (bits - 1 - bit)) & 1)
        ranges = tuple(_ranges(chosen))
        keys.append(path + ((ranges, block),))
    return keys


def _ranges(bits):
    for _, run in itertools.groupby(enumerate(bits), key=lambda pair: pair[1] - pair[0]):
        run = [bit for _, bit in run]
        yield (run[0], run[-1] + 1)
