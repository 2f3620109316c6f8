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

import dataclasses
import hashlib
import re
import unicodedata
import zlib
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _false_negative_probability, _false_positive_probability, _optimal_param


SCHEME = "affine32"
SHINGLING = "words+cjk-chars/crc32/poly64-v1"  # changes here invalidate earlier indexes
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant: the polynomial base


@dataclasses.dataclass(frozen=True)
class MinHashParams:
    ngram: int = 5
    threshold: float = 0.8
    num_perm: int = 256
    bands: Optional[int] = None   # None: datasketch's optimum for threshold and num_perm
    rows: Optional[int] = None
    seed: int = 1
    # Candidates are verified, so a false positive only costs time while a false
    # negative loses a duplicate: weigh misses heavily when choosing bands x rows.
    false_negative_weight: float = 0.95

    def __post_init__(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is None:
            bands, rows = _optimal_param(self.threshold, self.num_perm,
                                         1.0 - self.false_negative_weight,
                                         self.false_negative_weight)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} > num_perm {self.num_perm}")
        if not 0.0 < self.threshold <= 1.0 or self.ngram < 1:
            raise ValueError("threshold must be in (0, 1] and ngram >= 1")

    def signature_format(self) -> dict:
        """What two signatures must share to be comparable (kept in every index)."""
        return {"scheme": SCHEME, "shingling": SHINGLING, "ngram": self.ngram,
                "num_perm": self.num_perm, "seed": self.seed}


def candidate_probability(similarity, bands: int, rows: int):
    """P(two documents of this Jaccard similarity share at least one band): 1-(1-s^r)^b."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


def error_rates(params: MinHashParams) -> Tuple[float, float]:
    """datasketch's weighted false-positive and false-negative areas under the S-curve."""
    return (_false_positive_probability(params.threshold, params.bands, params.rows),
            _false_negative_probability(params.threshold, params.bands, params.rows))


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


def sketches(texts: Sequence[str], params: MinHashParams):
    """(uint32[num_perm] signature, sorted distinct shingle hashes) per text; the signature is
    None for a text without any token."""
    shingles = [shingle_hashes(t, params.ngram) for t in texts]
    present = [s for s in shingles if len(s)]
    minhashes = iter(MinHash.bulk(present, num_perm=params.num_perm, seed=params.seed,
                                  scheme=SCHEME, hashfunc=_identity))
    return [(next(minhashes).hashvalues.astype(np.uint32) if len(s) else None, s)
            for s in shingles]


def signatures(texts: Sequence[str], params: MinHashParams) -> List[Optional[np.ndarray]]:
    """One uint32[num_perm] signature per text (None for a text without any token)."""
    return [signature for signature, _ in sketches(texts, params)]


def to_bytes(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")


def band_keys(signature: bytes, params: MinHashParams) -> Iterable[bytes]:
    """One key per band: the band's index (2 bytes) and 8 bytes of hash of its rows."""
    width = params.rows * 4
    for band in range(params.bands):
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
