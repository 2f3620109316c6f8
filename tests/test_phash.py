"""pHash, Hamming distance and multi-index blocks (detectors/phash.py), on generated images."""

import io
import random

import imagehash
import numpy as np
import pytest
from PIL import Image

from detectors.phash import block_bounds, blocks, hamming, phash


def textured(seed: int, size=(320, 240)) -> Image.Image:
    """A photo-like RGB image: smooth random blobs at a few scales plus fine noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    pixels = np.zeros((height, width, 3))
    for cells, weight in ((4, 1.0), (12, 0.5), (40, 0.25)):
        coarse = rng.random((cells * height // width + 1, cells, 3)) * 255
        layer = Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
        pixels += weight * np.asarray(layer, dtype=float)
    pixels = pixels / 1.75 + rng.normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def reencode(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("hash_size", [8, 16])
def test_phash_is_imagehash_bits_big_endian(hash_size):
    image = textured(0)
    value = phash(image, hash_size)
    assert len(value) == hash_size * hash_size // 8
    assert value == bytes.fromhex(str(imagehash.phash(image, hash_size=hash_size)))


@pytest.mark.parametrize("seed", range(4))
def test_phash_barely_moves_under_resize_and_jpeg(seed):
    image = textured(seed)
    original = phash(image)
    for copy in (image.resize((160, 120), Image.Resampling.LANCZOS),
                 image.resize((80, 60), Image.Resampling.LANCZOS),
                 reencode(image, 30),
                 reencode(image.resize((160, 120), Image.Resampling.LANCZOS), 50)):
        assert hamming(original, phash(copy)) <= 6
    assert hamming(phash(image, 16), phash(reencode(image, 30), 16)) <= 24


def test_unrelated_images_are_far_apart():
    hashes = [phash(textured(seed)) for seed in range(8)]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]]
    assert min(distances) >= 16  # about 32 expected: half of 64 bits
    assert 24 <= sum(distances) / len(distances) <= 40


def test_hamming_counts_differing_bits_symmetrically():
    rng = random.Random(1)
    assert hamming(bytes(8), b"\xff" * 8) == 64
    assert hamming(b"\x0f", b"\x00") == 4
    assert hamming(b"\x80\x00", b"\x00\x01") == 2
    for _ in range(100):
        a, b = rng.randbytes(8), rng.randbytes(8)
        assert hamming(a, b) == hamming(b, a)
        assert hamming(a, a) == 0
        assert hamming(a, b) == sum(bin(x ^ y).count("1") for x, y in zip(a, b))


@pytest.mark.parametrize("bits", [64, 256])
def test_block_bounds_cover_every_bit_once_in_near_equal_blocks(bits):
    for parts in range(1, 40):
        bounds = block_bounds(bits, parts)
        assert len(bounds) == parts
        assert bounds[0][0] == 0 and bounds[-1][1] == bits
        assert all(end == start for (_, end), (start, _) in zip(bounds, bounds[1:]))
        sizes = [end - start for start, end in bounds]
        assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_blocks_are_the_bit_slices_of_the_big_endian_value():
    rng = random.Random(2)
    for _ in range(50):
        value = rng.randbytes(rng.choice((8, 32)))
        bits = format(int.from_bytes(value, "big"), f"0{len(value) * 8}b")
        bounds = block_bounds(len(value) * 8, rng.randint(1, 24))
        assert blocks(value, bounds) == [(i, int(bits[start:end], 2))
                                         for i, (start, end) in enumerate(bounds)]


def flip(value: bytes, positions) -> bytes:
    number = int.from_bytes(value, "big")
    for p in positions:
        number ^= 1 << (len(value) * 8 - 1 - p)
    return number.to_bytes(len(value), "big")


@pytest.mark.parametrize("nbytes", [8, 32])
def test_hashes_within_r_share_one_of_r_plus_one_blocks(nbytes):
    rng = random.Random(3)
    bits = nbytes * 8
    for _ in range(300):
        radius = rng.randint(0, bits // 4)
        a = rng.randbytes(nbytes)
        bounds = block_bounds(bits, radius + 1)
        # Random flips, and the worst case: one flipped bit in each of r different blocks.
        spread = [start for start, _ in rng.sample(bounds, radius)]
        for positions in (rng.sample(range(bits), rng.randint(0, radius)), spread):
            b = flip(a, positions)
            assert hamming(a, b) == len(positions) <= radius
            assert set(blocks(a, bounds)) & set(blocks(b, bounds))


def test_r_blocks_are_not_enough():
    # The pigeonhole needs r + 1 blocks: with r, one flip per block leaves none equal.
    a, radius = bytes(8), 7
    bounds = block_bounds(64, radius)
    b = flip(a, [start for start, _ in bounds])
    assert hamming(a, b) == radius
    assert not set(blocks(a, bounds)) & set(blocks(b, bounds))


def test_sixteen_bit_and_transparent_images_hash_as_they_look():
    rng = np.random.RandomState(5)
    grey8 = (rng.rand(6, 8) * 255).astype("uint8")
    small = Image.fromarray(grey8).resize((160, 120), Image.BICUBIC)
    # The same picture in 16 bits: Pillow's own conversion would clip it to white.
    sixteen = Image.fromarray(np.asarray(small).astype(np.uint16) * 257)
    assert sixteen.mode.startswith("I;16")
    assert hamming(phash(sixteen), phash(small)) <= 2
    # Transparent where the picture is dark; the hidden colour must not matter.
    rgba = small.convert("RGBA")
    alpha = (np.asarray(small) > 100).astype("uint8") * 255
    noise = (rng.rand(120, 160, 3) * 255).astype("uint8")
    hidden = np.dstack([np.where(alpha[..., None] > 0, np.asarray(rgba)[..., :3], noise), alpha])
    shown = Image.fromarray(hidden, "RGBA")
    white_behind = Image.fromarray(np.dstack([np.asarray(rgba)[..., :3], alpha]), "RGBA")
    assert hamming(phash(shown), phash(white_behind)) == 0
