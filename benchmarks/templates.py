"""The template stages' cost: caption templates and layout clusters, per core.

    .venv/bin/python -m benchmarks.templates [--designs 100] [--repeats 3]

The job (DirectRunner, one process pinned to one core) on the mockups of
evaluation/template_corpus.py (5 templates x --designs) with faces, PII, dedup and the
report off, once with --caption-templates and layouts on and once with both off; the
stages' records/s is records / (time on - time off), medians of --repeats runs interleaved.
Also the detector alone: thumbnails per second (decode in draft mode + shrink) and one
layout estimate on a full 64-image sample.
"""

import argparse
import os
import pathlib
import statistics
import tempfile
import time

from benchmarks.results import record
from evaluation.template_corpus import mockups
from evaluation.templates import write_shard


def job_seconds(shard: pathlib.Path, out: pathlib.Path, stages: bool) -> float:
    from pipeline.launch import run
    # No report: when the faces stage is off it looks for faces in its previews itself,
    # a cost of the report, not of these stages.
    flags = ["--no-pii", "--no-faces", "--no-report", "--no-exact-dedup-images",
             "--no-exact-dedup-text", "--no-near-dedup-images", "--overwrite"]
    policy = out.parent / ("on.yaml" if stages else "off.yaml")
    policy.write_text(f"layouts:\n  enabled: {str(stages).lower()}\n")
    flags += ["--caption-templates" if stages else "--no-caption-templates",
              "--config", str(policy)]
    started = time.perf_counter()
    run(["--input", str(shard), "--output", str(out), *flags])
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--designs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from detectors.layout import estimate, thumbnail
    from schemas.settings import LayoutSettings
    rows = mockups(designs=args.designs)
    settings = LayoutSettings()
    started = time.perf_counter()
    thumbs = [thumbnail(data, settings.side)[0] for _, data, _, _ in rows]
    thumb_rate = len(rows) / (time.perf_counter() - started)
    sample = thumbs[:settings.max_sample]
    started = time.perf_counter()
    estimate(sample, settings, "bench")
    estimate_ms = (time.perf_counter() - started) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write_shard(tmp / "shop.tar", rows)
        on, off = [], []
        for _ in range(args.repeats):
            off.append(job_seconds(tmp / "shop.tar", tmp / "off", False))
            on.append(job_seconds(tmp / "shop.tar", tmp / "on", True))
    t_on, t_off = statistics.median(on), statistics.median(off)
    print(f"Template stages, one core, {len(rows)} mockups (5 templates x {args.designs}), "
          f"median of {args.repeats}\n")
    print("| what | value |\n|---|---|")
    print(f"| job, stages on | {t_on:.1f} s ({len(rows) / t_on:.1f} records/s) |")
    print(f"| job, stages off | {t_off:.1f} s ({len(rows) / t_off:.1f} records/s) |")
    stage = len(rows) / (t_on - t_off) if t_on > t_off else float("inf")
    print(f"| caption templates + layouts | {stage:.1f} records/s per core |")
    print(f"| thumbnails (decode + shrink to 64 px) | {thumb_rate:.0f} images/s |")
    record("templates", "ours: caption templates + layouts in the job = records / (t_on − "
           "t_off)", len(rows), "records", stage, stage, note="one core, mockups")
    record("templates", "ours: layout thumbnail (draft decode + shrink)", len(rows), "images",
           thumb_rate, thumb_rate, note="one core")
    print(f"| one layout estimate, 64-image sample | {estimate_ms:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
