"""Print the chance that a pair of texts is removed, by true Jaccard similarity.

    python -m evaluation.minhash_curve [--threshold 0.8] [--num-perm 256] [--bands B --rows R]

A pair is removed when it shares a band (1 - (1 - s^r)^b) and the signatures then
agree on at least threshold x num_perm positions (binomial in num_perm, s).
"""

import argparse
import math

from scipy.stats import binom

from detectors.minhash import banding, candidate_probability, error_rates
from schemas.settings import NearTextSettings


def curve(params: NearTextSettings, similarities):
    need = math.ceil(params.threshold * params.num_perm)
    bands, rows = banding(params)
    for s in similarities:
        shared = float(candidate_probability(s, bands, rows))
        verified = float(binom.sf(need - 1, params.num_perm, s))
        yield s, shared, verified, shared * verified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=256)
    parser.add_argument("--bands", type=int)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--false-negative-weight", type=float, default=0.95)
    args = parser.parse_args()
    params = NearTextSettings(threshold=args.threshold, num_perm=args.num_perm, bands=args.bands,
                              rows=args.rows, false_negative_weight=args.false_negative_weight)
    fp, fn = error_rates(params)
    bands, rows = banding(params)
    print(f"num_perm {params.num_perm}, {bands} bands x {rows} rows, "
          f"threshold {params.threshold}; datasketch's banding error areas: "
          f"false positive {fp:.4f}, false negative {fn:.4f}\n")
    print("| Jaccard | share a band | estimate >= threshold | removed |")
    print("|---|---|---|---|")
    for s, shared, verified, removed in curve(params, (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85,
                                                         0.9, 0.95)):
        print(f"| {s:.2f} | {shared:.4f} | {verified:.4f} | {removed:.4f} |")


if __name__ == "__main__":
    main()
