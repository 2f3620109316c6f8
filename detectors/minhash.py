"""MinHash signatures of word n-gram shingles, LSH banding, and the curves behind them.

Signatures are datasketch MinHashes (scheme "affine32", fixed: datasketch 2.0
changed its default, and signatures of different schemes cannot be compared).
Shingles are hashed without a per-shingle Python loop: each token is hashed
once (CRC-32), the n token hashes of a shingle are combined with numpy, and
datasketch's vectorized update applies the permutations.

Tokens: runs of word characters, except that every CJK ideograph, kana and
hangul syllable is a token of its own (those scripts do not separate words
with spaces). Text is normalized first (NFKC, case folding), as in exact dedup.
"""

import functools
import hashlib
import re
import unicodedata
import zlib
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _false_negative_probability, _false_positive_probability, _optimal_param

from schemas.settings import NearTextSettings


SCHEME = "affine32"
SHINGLING = "words+cjk-chars/crc32/poly64-v1"  # changes here invalidate earlier indexes
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant: the polynomial base


@functools.lru_cache(maxsize=None)
def banding(settings: NearTextSettings) -> Tuple[int, int]:
    """(bands, rows): the settings' own, else datasketch's optimum for the threshold and
    num_perm. Candidates are verified, so a false positive only costs time while a false
    negative loses a duplicate: false_negative_weight weighs misses when choosing."""
    if settings.bands is not None:
        return settings.bands, settings.rows
    return _optimal_param(settings.threshold, settings.num_perm,
                          1.0 - settings.false_negative_weight, settings.false_negative_weight)


def signature_format(settings: NearTextSettings) -> dict:
    """What two signatures must share to be comparable (kept in every index)."""
    return {"scheme": SCHEME, "shingling": SHINGLING, "ngram": settings.ngram,
            "num_perm": settings.num_perm, "seed": settings.seed}


def candidate_probability(similarity, bands: int, rows: int):
    """P(two documents of this Jaccard similarity share at least one band): 1-(1-s^r)^b."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


def error_rates(params: NearTextSettings) -> Tuple[float, float]:
    """datasketch's weighted false-positive and false-negative areas under the S-curve."""
    bands, rows = banding(params)
    return (_false_positive_probability(params.threshold, bands, rows),
            _false_negative_probability(params.threshold, bands, rows))


def tokens(text: str) -> List[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """32-bit hashes of the distinct word n-grams of ``text`` (one shingle if it is shorter)."""
    words = tokens(text)
    if not words:
        return np.empty(0, dtype=np.uint32)
    token_hashes = np.fromiter((zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in words),
                               dtype=np.uint64, count=len(words))
    n = min(ngram, len(words))
    count = len(words) - n + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around is the intended mod 2^64
        for offset in range(n):
            combined = combined * _MIX + token_hashes[offset:offset + count]
    folded = (combined >> np.uint64(32)) ^ (combined & np.uint64(0xFFFFFFFF))
    return np.unique(folded.astype(np.uint32))


def _identity(value):
    return value


def sketches(texts: Sequence[str], params: NearTextSettings):
    """(uint32[num_perm] signature, sorted distinct shingle hashes) per text; the signature is
    None for a text without any token."""
    shingles = [shingle_hashes(t, params.ngram) for t in texts]
    present = [s for s in shingles if len(s)]
    minhashes = iter(MinHash.bulk(present, num_perm=params.num_perm, seed=params.seed,
                                  scheme=SCHEME, hashfunc=_identity))
    return [(next(minhashes).hashvalues.astype(np.uint32) if len(s) else None, s)
            for s in shingles]


def signatures(texts: Sequence[str], params: NearTextSettings) -> List[Optional[np.ndarray]]:
    """One uint32[num_perm] signature per text (None for a text without any token)."""
    return [signature for signature, _ in sketches(texts, params)]


def to_bytes(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")


def band_keys(signature: bytes, params: NearTextSettings) -> Iterable[bytes]:
    """One key per band: the band's index (2 bytes) and 8 bytes of hash of its rows."""
    bands, rows = banding(params)
    width = rows * 4
    for band in range(bands):
        rows = signature[band * width:(band + 1) * width]
        yield band.to_bytes(2, "big") + hashlib.blake2b(rows, digest_size=8).digest()


def estimated_jaccard(a: bytes, b: bytes) -> float:
    return float(np.mean(from_bytes(a) == from_bytes(b)))


def shingle_jaccard(a: bytes, b: bytes) -> float:
    """Exact Jaccard of two sets of shingle hashes (sorted distinct uint32, as to_bytes writes)."""
    left, right = from_bytes(a), from_bytes(b)
    common = len(np.intersect1d(left, right, assume_unique=True))
    union = len(left) + len(right) - common
    return common / union if union else 1.0


def exact_jaccard(text_a: str, text_b: str, ngram: int) -> float:
    return shingle_jaccard(to_bytes(shingle_hashes(text_a, ngram)),
                           to_bytes(shingle_hashes(text_b, ngram)))
