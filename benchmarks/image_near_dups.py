"""The near-duplicate image stage's cost: bucket size against splitting, and orientations.

    .venv/bin/python -m benchmarks.image_near_dups [--images 20000] [--buckets 256 32]

Part 1: NearDuplicateImages alone on the DirectRunner (one process), on random 64-bit
hashes with every tenth a copy of the one before it 4 bits away; per max_bucket, the wall
time, the pairs compared and whether every planted copy was removed.
Part 2: hashing one 512 x 512 photo (scikit-image's astronaut, `pip install -e '.[eval]'`)
with 1 and with 8 orientations, median of 200 calls.
"""

import argparse
import random
import statistics
import time

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from benchmarks.results import record
from detectors.phash import phashes
from schemas.records import Fingerprint
from schemas.settings import NearImageSettings
from transforms.dedup.near_images import NearDuplicateImages


def planted(count: int, seed: int = 0):
    rng = random.Random(seed)
    fps = []
    for i in range(count):
        if i % 10 == 9:
            value = int.from_bytes(fps[-1].phash, "big")
            for bit in rng.sample(range(64), 4):
                value ^= 1 << bit
            hash_bytes = value.to_bytes(8, "big")
        else:
            hash_bytes = bytes(rng.getrandbits(8) for _ in range(8))
        fps.append(Fingerprint(uid=f"u{i:07d}", id=f"i{i}", kind="image_text", source="s",
                               position=i, text_key=None, pixel_key=None, bytes_key=None,
                               minhash=None, shingles=None, phash=hash_bytes))
    return fps


def run_stage(fps, max_bucket: int):
    started, cpu = time.perf_counter(), time.process_time()
    pipeline = beam.Pipeline("DirectRunner")
    _ = pipeline | beam.Create(fps) | NearDuplicateImages(NearImageSettings(max_bucket=max_bucket))
    result = pipeline.run()
    result.wait_until_finish()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counters = {c.key.metric.name: c.committed for c in result.metrics().query(
        MetricsFilter().with_namespace("near_dedup_images"))["counters"]}
    return seconds, cpu, counters


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--buckets", type=int, nargs="+", default=[256, 32])
    args = parser.parse_args(argv)
    fps = planted(args.images)
    planted_copies = args.images // 10
    print(f"{args.images:,} random 64-bit hashes, {planted_copies:,} planted copies 4 bits away,"
          " radius 8, DirectRunner, one process\n")
    print("| max_bucket | seconds | pairs compared | hot-key members re-keyed | copies removed |")
    print("|---:|---:|---:|---:|---:|")
    for max_bucket in args.buckets:
        seconds, cpu, c = run_stage(fps, max_bucket)
        hot = sum(v for k, v in c.items() if k.startswith("hot_bucket_members"))
        removed = f"{c.get('removed', 0):,} of {planted_copies:,}"
        print(f"| {max_bucket} | {seconds:.1f} | {c.get('pairs_compared', 0):,} | {hot:,} | "
              f"{removed} |")
        record("near-duplicate images", f"ours: pHash index (NearDuplicateImages, max_bucket "
               f"{max_bucket})", args.images, "hashes", args.images / seconds,
               args.images / cpu, note=f"1 process; copies removed {removed}")
    try:
        from PIL import Image
        from skimage import data
    except ImportError:
        print("\nscikit-image not installed: hashing times skipped")
        return 0
    photo = Image.fromarray(data.astronaut())
    print("\n| orientations | ms per 512 x 512 photo (median of 200) |\n|---:|---:|")
    for orientations in (1, 8):
        settings = NearImageSettings(hash_size=8, orientations=orientations)
        phashes(photo, settings)
        times = []
        for _ in range(200):
            started = time.perf_counter()
            phashes(photo, settings)
            times.append(time.perf_counter() - started)
        print(f"| {orientations} | {statistics.median(times) * 1000:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
