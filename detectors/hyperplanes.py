"""Random-hyperplane LSH (Charikar 2002) for vectors compared by distance or angle.

Each key is the signs of ``bits`` projections on random directions through ``center``;
two vectors at angle theta (seen from the center) agree on one sign with probability
1 - theta / pi, so close vectors share a key of a band far more often than distant ones.
A vector gets one key per band. Keys only propose candidates: callers verify every pair
by its true distance.

Levels, for buckets that grow too large: a key one level down extends the key above with
``bits`` more signs from fresh directions (same band), which splits a crowded bucket
about 2^bits ways at the price of pairs that disagree on one of the new signs.

Probes (multi-probe LSH, Lv et al. 2007): a vector also gets, per band, ``probes`` more
level-0 keys, each its key with one of its least certain signs flipped (the projections
nearest zero). A close pair that disagrees on one sign of a band, usually a sign near
zero for one of them, then still meets in that band: for face encodings, whose same-person
pairs lie up to ~70 degrees apart around the centre, one probe per band of 24 x 8 bits
lifts the pairs proposed within 0.6 from 0.80 to 0.98 (mean over 40 seeds, evaluation/
faces.py), for twice the keys; 48 bands without probes, the same number of keys, 0.94.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np


class HyperplaneLsh:
    def __init__(self, dims: int, bands: int, bits: int, levels: int = 0, seed: int = 1,
                 center: Optional[Sequence[float]] = None, probes: int = 0):
        self.args = (dims, bands, bits, levels, seed,
                     None if center is None else tuple(float(c) for c in center), probes)
        self.probes = min(probes, bits)
        rng = np.random.default_rng(seed)
        # (level, band, bit, dim): drawn once from the seed, so every worker agrees.
        self.planes = rng.standard_normal((levels + 1, bands, bits, dims)).astype(np.float32)
        self.center = (np.zeros(dims, np.float32) if center is None
                       else np.asarray(center, np.float32))
        self._weights = (1 << np.arange(bits, dtype=np.int64))[::-1]

    def __reduce__(self):   # pickled as its arguments: the planes are drawn again
        return HyperplaneLsh, self.args

    def top(self, vector: np.ndarray) -> List[Tuple]:
        projections = self.planes[0] @ (vector - self.center)   # (bands, bits)
        codes = (projections > 0).astype(np.int64) @ self._weights
        keys = [(band, int(code)) for band, code in enumerate(codes)]
        if self.probes:
            unsure = np.argsort(np.abs(projections), axis=1, kind="stable")[:, :self.probes]
            keys += [(band, int(codes[band] ^ self._weights[bit]))
                     for band in range(len(codes)) for bit in unsure[band]]
        return keys

    def below(self, key: Tuple, vector: np.ndarray) -> List[Tuple]:
        level = len(key) - 1   # (band, code at level 0, code at level 1, ...)
        if level >= len(self.planes):
            return []
        signs = (self.planes[level, key[0]] @ (vector - self.center)) > 0   # this band only
        return [key + (int(signs.astype(np.int64) @ self._weights),)]
