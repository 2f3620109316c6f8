"""The whole job end to end: records/s, records/s per core and peak memory, at two corpus
sizes, with 1 and 2 local workers.

    .venv/bin/python -m benchmarks.pipeline [--sizes 1000 4000] [--image-share 0.05]

Corpus (written under .bench/pipeline/, ignored by git): text documents built as in
benchmarks.text_near_dups (real sentences, a planted near copy for one in ten; names and
places in them for the PII stage), and image-text pairs in a WebDataset shard (random
crops of scikit-image's photos at 256-640 px, JPEG, captions from a few templates), so every
stage has work. Each configuration runs `hygiene` with the default policy in a subprocess
(/usr/bin/time -v): wall seconds from start to exit (interpreter start and imports
included), CPU seconds of the process and its workers, and peak RSS of the largest single
process (a worker's memory is what must stay flat as the corpus grows). Runs take turns, and
each figure is the median of --repeats.
"""

import argparse
import io
import json
import pathlib
import platform
import random
import statistics

from PIL import Image

from benchmarks.results import record
from benchmarks.text_near_dups import BENCH, ROOT, build_corpus, measured
from evaluation.templates import write_shard

WORK = BENCH / "pipeline"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "cat")
CAPTIONS = ("{} unisex t-shirt, front view", "Photo of a {} on a table", "{} mug mockup",
            "A {} in the morning light")
WORDS = ("blue", "red", "small", "old", "bright", "green", "plain", "striped")


def _photos():
    from skimage import data
    return [Image.fromarray(getattr(data, name)()).convert("RGB") for name in PHOTOS]


def build(folder: pathlib.Path, records: int, image_share: float, seed: int = 0) -> dict:
    """Write the corpus; returns its counts."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    images = int(records * image_share)
    texts = build_corpus(records - images, seed, folder / "text")
    photos = _photos()
    rows = []
    for i in range(images):
        photo = rng.choice(photos)
        side = rng.randint(256, 640)
        left, top = rng.randint(0, photo.width // 4), rng.randint(0, photo.height // 4)
        crop = photo.crop((left, top, left + photo.width * 3 // 4,
                           top + photo.height * 3 // 4)).resize((side, side))
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=rng.randint(60, 92))
        caption = rng.choice(CAPTIONS).format(rng.choice(WORDS))
        rows.append((f"img{i:06d}", buffer.getvalue(), caption, None))
    write_shard(folder / "pairs.tar", rows)
    return {"records": records, "texts": texts["docs"], "images": images}


def run_job(corpus: pathlib.Path, out: pathlib.Path, workers: int) -> dict:
    import sys
    cmd = [sys.executable, str(ROOT / "beam_runner.py"),
           "--input", str(corpus / "text" / "corpus.jsonl"),
           str(corpus / "pairs.tar"), "--output", str(out), "--overwrite"]
    if workers > 1:
        cmd += ["--local-workers", str(workers)]
    result = measured(cmd, label=f"{corpus.name} x{workers}")
    summary = json.loads((out / "summary.json").read_text())
    result["records_in"] = summary["records_in"]
    assert summary["conservation"]["ok"], summary["conservation"]
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 4000])
    parser.add_argument("--image-share", type=float, default=0.05)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    corpora = {size: WORK / f"corpus-{size}" for size in args.sizes}
    for size, folder in corpora.items():
        if not (folder / "pairs.tar").exists():
            build(folder, size, args.image_share)
    runs = {(size, w): [] for size in args.sizes for w in args.workers}
    for _ in range(args.repeats):
        for (size, workers) in runs:
            runs[size, workers].append(
                run_job(corpora[size], WORK / f"out-{size}-{workers}", workers))
    machine = platform.processor() or platform.machine()
    print(f"\nEnd to end, default policy, DirectRunner; {machine}, median of {args.repeats}; "
          f"images {args.image_share:.0%} of records\n")
    print("| records | local workers | wall s | records/s | CPU s | records/s per core "
          "| peak RSS MiB (largest process) |")
    print("|---|---|---|---|---|---|---|")
    for (size, workers), measured_runs in runs.items():
        wall = statistics.median(r["wall"] for r in measured_runs)
        cpu = statistics.median(r["cpu"] for r in measured_runs)
        rss = statistics.median(r["rss_mib"] for r in measured_runs)
        records = measured_runs[0]["records_in"]
        print(f"| {records:,} | {workers} | {wall:.1f} | {records / wall:.1f} | {cpu:.1f} | "
              f"{records / cpu:.1f} | {rss:.0f} |")
        record("end to end", f"ours: whole job, default policy, {workers} local worker(s)",
               records, "records", records / wall, records / cpu, rss,
               note=f"{args.image_share:.0%} images; {wall:.0f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
