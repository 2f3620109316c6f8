"""CLIP image embedding speed (detectors/clip.py): CPU per core, and GPU when there is one.

    .venv/bin/python -m benchmarks.clip [--model ViT-B-32] [--images 256] [--repeats 3]

Random weights (pretrained: null): the speed of a forward pass does not depend on the
weights' values, and nothing is downloaded. Images: scikit-image's photos (astronaut,
coffee, chelsea, rocket, ...) as JPEG at 512 px, cycled to --images. Rows:

  encode     model.encode_image on batches already preprocessed (the model alone)
  end to end ClipEncoder.embed_images from the JPEG bytes: draft decode at the model's
             input size, resize and crop (Pillow, in decode threads), scaling and
             normalization on the device, the forward pass, unit length
  ... open_clip's transform: the same with open_clip's preprocessing (float tensors made
             on the CPU), for comparison

CPU rows run with torch.set_num_threads(N) and N decode threads, for N = 1 (per core)
and the machine's cores; GPU rows (when torch sees CUDA) at fp32, fp16 and bf16 with as
many decode threads as cores. Medians of --repeats timed passes
after one warm-up, all in one run.
"""

import argparse
import io
import os
import statistics
import time

import numpy as np
from PIL import Image

from benchmarks.results import record

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry")


def photos(count: int):
    from skimage import data
    encoded = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        image.thumbnail((512, 512))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return [encoded[i % len(encoded)] for i in range(count)]


def median_rate(fn, count: int, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - started)
    return count / statistics.median(seconds)


def rows_for(encoder, images, repeats: int, label: str):
    import torch
    batch = encoder.settings.batch_size
    tensors = torch.stack([encoder.preprocess(encoder.decode(d)) for d in images])
    sync = torch.cuda.synchronize if encoder.device.startswith("cuda") else (lambda: None)

    def encode_only():
        with torch.inference_mode():
            for i in range(0, len(tensors), batch):
                encoder.model.encode_image(tensors[i:i + batch].to(encoder.device, encoder.dtype))

    yield label, "encode", median_rate(encode_only, len(images), repeats, sync)
    yield label, "end to end", median_rate(lambda: encoder.embed_images(images), len(images),
                                           repeats, sync)
    encoder.fast = False   # open_clip's own transform, in float on the CPU, for comparison
    yield label, "end to end, open_clip's transform", median_rate(
        lambda: encoder.embed_images(images), len(images), repeats, sync)
    encoder.fast = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--cpu-images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cpu", action="store_true")
    args = parser.parse_args(argv)
    import torch
    from detectors.clip import ClipEncoder
    from schemas.settings import ClipSettings
    rows = []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not args.no_cpu:
        images = photos(args.cpu_images)
        for threads in sorted({1, cores}):
            torch.set_num_threads(threads)
            encoder = ClipEncoder(ClipSettings(model=args.model, pretrained=None, device="cpu",
                                               batch_size=args.batch, decode_threads=threads))
            rows += rows_for(encoder, images, args.repeats, f"CPU, {threads} thread(s)")
    if torch.cuda.is_available():
        images = photos(args.images)
        for precision in ("fp32", "fp16", "bf16"):
            encoder = ClipEncoder(ClipSettings(model=args.model, pretrained=None,
                                               device="cuda", precision=precision,
                                               batch_size=args.batch, decode_threads=cores))
            rows += rows_for(encoder, images, args.repeats,
                             f"GPU {torch.cuda.get_device_name(0)}, {precision}")
    print(f"CLIP {args.model} image embedding (random weights), batch {args.batch}, "
          f"median of {args.repeats}; torch {torch.__version__}, {cores} cores")
    print("\n| device | what | images/s |\n|---|---|---:|")
    for device, what, rate in rows:
        print(f"| {device} | {what} | {rate:,.1f} |")
        if what == "end to end":
            one_core = device.startswith("CPU, 1 ")
            record("CLIP embeddings", f"ours: ClipEncoder from JPEG bytes, {device}",
                   args.images if device.startswith("GPU") else args.cpu_images, "images",
                   rate, rate if one_core else None, note=f"{args.model}, batch {args.batch}")
    cpu = {w: r for d, w, r in rows if d.startswith("CPU, 1 ")}
    gpu = {w: r for d, w, r in rows if d.startswith("GPU") and d.endswith("fp16")}
    for what in ("encode", "end to end", "end to end, open_clip's transform"):
        if what in cpu and what in gpu:
            print(f"\nGPU fp16 / one CPU core, {what}: {gpu[what] / cpu[what]:,.0f}x")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
