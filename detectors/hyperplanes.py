"""Random-hyperplane LSH (Charikar 2002) for vectors compared by distance or angle.

Each key is the signs of ``bits`` projections on random directions through ``center``;
two vectors at angle theta (seen from the center) agree on one sign with probability
1 - theta / pi, so close vectors share a key of a band far more often than distant ones.
A vector gets one key per band. Keys only propose candidates: callers verify every pair
by its true distance.

Levels, for buckets that grow too large: a key one level down extends the key above with
``bits`` more signs from fresh directions (same band), which splits a crowded bucket
about 2^bits ways at the price of pairs that disagree on one of the new signs.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np


class HyperplaneLsh:
    def __init__(self, dims: int, bands: int, bits: int, levels: int = 0, seed: int = 1,
                 center: Optional[Sequence[float]] = None):
        rng = np.random.default_rng(seed)
        # (level, band, bit, dim): drawn once from the seed, so every worker agrees.
        self.planes = rng.standard_normal((levels + 1, bands, bits, dims)).astype(np.float32)
        self.center = (np.zeros(dims, np.float32) if center is None
                       else np.asarray(center, np.float32))
        self.bands, self.bits = bands, bits
        self._weights = (1 << np.arange(bits, dtype=np.int64))[::-1]

    def codes(self, vector: np.ndarray, level: int = 0) -> List[int]:
        """One integer of ``bits`` signs per band, at ``level``."""
        signs = (self.planes[level] @ (vector - self.center)) > 0   # (bands, bits)
        return [int(code) for code in signs.astype(np.int64) @ self._weights]

    def top(self, vector: np.ndarray) -> List[Tuple]:
        return [(band, code) for band, code in enumerate(self.codes(vector))]

    def below(self, key: Tuple, vector: np.ndarray) -> List[Tuple]:
        level = (len(key) - 1)   # (band, code at level 0, code at level 1, ...)
        if level >= len(self.planes):
            return []
        return [key + (self.codes(vector, level)[key[0]],)]
