"""Image hashing and face detection per core: our path against imagehash and imagededup.

    .venv/bin/python -m benchmarks.images [--repeats 3] [--min-seconds 1] [--face-images 40]

Methods, each on the same encoded files, each call starting from the file's bytes:

  ours              detectors.images.inspect_image(data, phash=NearImageSettings()): header,
                    bomb and mode checks, the JPEG stream key (or a pixel key), a decode in
                    Pillow's draft mode at the pHash's size, the 64-bit pHash
  ours + bytes_key  the same and detectors.hashing.bytes_key(data) (BLAKE2b of the file)
  plain imagehash   imagehash.phash(Image.open(io.BytesIO(data))): full decode
  imagededup PHash  PHash().encode_image(image_file=path): imagededup's documented call for
                    one file; it opens and fully decodes the file itself (from the page cache:
                    reading a file of this size costs ~0.05 ms), resizes to 32 x 32, then DCT
  faces HOG-1200    detectors.faces.scan_faces(data, FaceSettings(model="hog")): dlib's HOG
                    on a copy whose long side is 1200 px, and encodings of large faces; on
                    --face-images files of each set, evenly spaced (it is ~100x slower)
  faces centerface  the same at the default settings: CenterFace (onnxruntime, one thread)
                    on a copy whose long side is faces.centerface_side, and the encodings
                    of large faces (on a 1200 px copy, as for HOG)
  faces ..., no encodings
                    the same without encodings (encode_min_face out of reach): decode,
                    resize and detect, what the detector itself costs (an encoding costs
                    ~90 ms per face whichever detector found it)
  The face rows count CPU seconds of this process (time.process_time), not wall time:
  the machines this runs on are shared, and one process on one core should not wait.

Images: the photos of ../shared/eval-data (faces/, image-dups/, products/saleor/) when
present, and scikit-image's bundled photos encoded as JPEG (quality 90). "as found": the
files as they are, scikit-image's at their own size; "2000 px": every one of them resized
(LANCZOS) to 2000 px on the long side and encoded as JPEG (quality 90). Upscaled pictures
are smoother than real 2000 px photos, so they decode somewhat faster for every method.

One process pinned to one core, BLAS/OpenMP threads set to 1 (the imagededup worker
inherits both). After a warm-up, each repetition runs every method on every set in turn,
each a whole number of passes over the set lasting at least --min-seconds; the table gives
the median images/s, and for the hashes the mean Hamming distance to plain imagehash's
hash (ours decodes a JPEG at 1/2 to 1/8 scale, imagededup resizes before going grey).

imagededup 0.3.3 is not a project dependency: it runs in its own virtualenv
(.bench/imagededup-venv, built by benchmarks/peers.py from benchmarks/requirements/ when
missing; --no-imagededup leaves it out), in a worker process of this script
(`--imagededup-worker`) that stays up so its passes interleave with ours. Its import needs
two workarounds, in the worker only: the torchvision schemas of DESIGN.md when torchvision's
C ops fail to load, and a stand-in for imagededup.methods.cnn, which downloads MobileNet
weights at import time (PHash never uses it).
"""

import argparse
import dataclasses
import io
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import types

from benchmarks import peers
from benchmarks.results import record

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
for _variable in THREAD_VARIABLES:   # before numpy (imported lazily below) reads them
    os.environ[_variable] = "1"

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVAL_DATA = ROOT.parent / "shared" / "eval-data"
EVAL_FOLDERS = ("faces", "image-dups", "products/saleor")
SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "retina",
                  "hubble_deep_field", "immunohistochemistry")
LONG_SIDE = 2000


def pin_to_one_core():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def jpeg(image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def found_images():
    """[(name, bytes)]: the eval-data photos, then scikit-image's photos as JPEG."""
    from PIL import Image
    images = []
    for folder in EVAL_FOLDERS:
        for path in sorted((EVAL_DATA / folder).rglob("*")):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                images.append((str(path.relative_to(EVAL_DATA)), path.read_bytes()))
    try:
        from skimage import data
    except ImportError:
        return images
    for name in SKIMAGE_PHOTOS:
        try:
            images.append((f"skimage/{name}.jpg", jpeg(Image.fromarray(getattr(data, name)()))))
        except Exception:   # a photo this scikit-image version neither bundles nor has cached
            pass
    return images


def upscaled(images, long_side: int = LONG_SIDE):
    from PIL import Image, ImageOps
    out = []
    for name, data in images:
        picture = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        picture = picture.convert("L" if picture.mode in ("L", "I;16") else "RGB")
        scale = long_side / max(picture.size)
        size = (round(picture.width * scale), round(picture.height * scale))
        out.append((name, jpeg(picture.resize(size, Image.Resampling.LANCZOS))))
    return out


def evenly(items, count: int):
    step = max(1, len(items) // max(1, count))
    return items[::step][:count]


def our_methods(sets, min_seconds: float, face_images: int):
    """{name: method} for the methods that run in this process."""
    from PIL import Image
    import imagehash
    from detectors.faces import scan_faces
    from schemas.settings import FaceSettings
    from detectors.hashing import bytes_key
    from detectors.images import inspect_image
    from schemas.settings import NearImageSettings
    phash, faces, faces_hog = NearImageSettings(), FaceSettings(), FaceSettings(model="hog")
    no_encodings = dataclasses.replace(faces, encode_min_face=10 ** 9)
    hog_no_encodings = dataclasses.replace(faces_hog, encode_min_face=10 ** 9)

    def ours(data):
        return int.from_bytes(inspect_image(data, phash=phash).phash, "big")

    def ours_and_bytes_key(data):
        bytes_key(data)
        return ours(data)

    def plain(data):
        return int(str(imagehash.phash(Image.open(io.BytesIO(data)))), 16)

    def counter(settings):
        def count(data):
            found = scan_faces(data, settings).faces
            return len(found), sum(f.encoding is not None for f in found)
        return count

    cpu = time.process_time
    return {"ours": local(ours, sets, min_seconds),
            "ours + bytes_key": local(ours_and_bytes_key, sets, min_seconds),
            "plain imagehash": local(plain, sets, min_seconds),
            "faces HOG-1200": local(counter(faces_hog), sets, min_seconds, face_images, cpu),
            "faces HOG-1200, no encodings": local(counter(hog_no_encodings), sets, min_seconds,
                                                  face_images, cpu),
            "faces centerface": local(counter(faces), sets, min_seconds, face_images, cpu),
            "faces centerface, no encodings": local(counter(no_encodings), sets, min_seconds,
                                                    face_images, cpu)}


def timed_passes(fn, items, min_seconds: float, clock=time.perf_counter):
    """(seconds per pass over ``items``, the last pass's results): passes until min_seconds
    of ``clock``."""
    count, started = 0, clock()
    while True:
        results = [fn(item) for item in items]
        count += 1
        elapsed = clock() - started
        if elapsed >= min_seconds:
            return elapsed / count, results


def local(fn, sets, min_seconds: float, count: int = 0, clock=time.perf_counter):
    """A method run in this process: set name -> (seconds per pass, results)."""
    chosen = {name: [data for _, data in (evenly(images, count) if count else images)]
              for name, images in sets.items()}
    for items in chosen.values():
        for data in items[:3]:   # warm-up: imports, models, caches
            fn(data)
    return lambda set_name: timed_passes(fn, chosen[set_name], min_seconds, clock)


def time_sets(methods, sets, repeats: int):
    """{set: {method: ([seconds per pass, one per repetition], results)}}; each repetition
    runs every method on every set in turn, so all are measured under the same conditions."""
    timed = {s: {m: ([], None) for m in methods} for s in sets}
    for _ in range(repeats):
        for set_name in sets:
            for name, run in methods.items():
                seconds, results = run(set_name)
                timed[set_name][name] = (timed[set_name][name][0] + [seconds], results)
    return timed


# --------------------------------------------------------------- imagededup, in its own venv

def imagededup_phash():
    """imagededup's PHash class, importable offline on the CPU torch build."""
    from detectors.torch_compat import import_torchvision
    import_torchvision()
    # imagededup.methods also imports its CNN class, which downloads MobileNet weights at
    # import time (no network here); PHash does not use it.
    sys.modules.setdefault("imagededup.methods.cnn", types.ModuleType("imagededup.methods.cnn"))
    sys.modules["imagededup.methods.cnn"].CNN = None
    from imagededup.methods import PHash
    return PHash


def imagededup_worker():
    """Reads {"sets": {set: [paths]}, "min_seconds": s}, prints "ready"; then for each set
    name read, times passes over its files and prints [seconds per pass, hashes]."""
    pin_to_one_core()
    request = json.loads(sys.stdin.readline())
    encoder = imagededup_phash()(verbose=False)

    def encode(path):
        value = encoder.encode_image(image_file=path)   # None when it cannot read the file
        return None if value is None else int(value, 16)

    run = local(encode, {n: [(p, p) for p in paths] for n, paths in request["sets"].items()},
                request["min_seconds"])
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(run(line.strip())), flush=True)


class Imagededup:
    """The worker above under the imagededup virtualenv's Python; called like a method."""

    def __init__(self, sets, min_seconds: float, folder: pathlib.Path):
        paths = {}
        for set_name, images in sets.items():
            paths[set_name] = []
            for i, (_, data) in enumerate(images):
                path = folder / f"{set_name.replace(' ', '_')}-{i:04d}.jpg"
                path.write_bytes(data)
                paths[set_name].append(str(path))
        self.log = folder / "worker.log"
        self.stderr = self.log.open("w")
        self.process = subprocess.Popen(
            [str(peers.python("imagededup")), "-m", "benchmarks.images", "--imagededup-worker"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True)
        self.ask({"sets": paths, "min_seconds": min_seconds})

    def ask(self, message):
        self.process.stdin.write((message if isinstance(message, str) else json.dumps(message))
                                 + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError(f"imagededup worker failed:\n{self.log.read_text()[-3000:]}")
        return None if reply.strip() == "ready" else json.loads(reply)

    def __call__(self, set_name):
        return self.ask(set_name)

    def close(self):
        self.process.stdin.close()
        self.process.wait()
        self.stderr.close()


# ------------------------------------------------------------------------------ reporting

def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def mean_bits_from(hashes, reference) -> str:
    pairs = [(a, b) for a, b in zip(hashes, reference) if a is not None]
    failed = f" ({len(hashes) - len(pairs)} not hashed)" if len(pairs) < len(hashes) else ""
    return f"{statistics.mean((a ^ b).bit_count() for a, b in pairs):.2f}{failed}"


# What each method is in `python -m benchmarks`' table: (stage, method).
SUMMARY_NAMES = {"ours": ("image pHash", "ours: validate + decode (draft) + pHash"),
                 "ours + bytes_key": ("image pHash", "ours + BLAKE2b of the file"),
                 "plain imagehash": ("image pHash", "plain imagehash.phash (full decode)"),
                 "imagededup PHash": ("image pHash", "peer: imagededup 0.3.3 PHash"),
                 "faces HOG-1200": ("faces", "ours: HOG at 1200 px + encodings"),
                 "faces HOG-1200, no encodings": ("faces", "ours: HOG at 1200 px, no encodings"),
                 "faces centerface": ("faces", "ours: CenterFace at {side} px + encodings "
                                               "(default)"),
                 "faces centerface, no encodings": ("faces", "ours: CenterFace at {side} px, "
                                                             "no encodings")}
FACE_METHODS = ("faces HOG-1200", "faces HOG-1200, no encodings", "faces centerface",
                "faces centerface, no encodings")


def set_rows(set_name, timed):
    from schemas.settings import FaceSettings
    rates = {}
    for name, (times, results) in timed.items():
        count = len(results)
        rates[name] = count / statistics.median(times)
        if name in FACE_METHODS:
            extra = (f"{sum(f for f, _ in results)} faces ({sum(e for _, e in results)} "
                     f"encoded) in {count} images; CPU seconds")
        else:
            extra = mean_bits_from(results, timed["plain imagehash"][1])
        stage, method = SUMMARY_NAMES[name]
        method = method.format(side=FaceSettings().centerface_side)
        ratio = (f"; ours / peer {rates['ours'] / rates[name]:.2f}x"
                 if name == "imagededup PHash" else "")
        record(stage, method, count, "images", rates[name], rates[name],
               note=f"{set_name} set, one core{ratio}")
        print(f"| {set_name} | {name} | {count} | {rates[name]:,.1f} | "
              f"{1000 / rates[name]:.2f} | {extra} |")
    return rates


def describe(set_name, images):
    from PIL import Image
    sides = [max(Image.open(io.BytesIO(data)).size) for _, data in images]
    sizes = [len(data) for _, data in images]
    return (f"{set_name}: {len(images)} files, median {statistics.median(sizes) / 1024:.0f} KiB, "
            f"median long side {statistics.median(sides):.0f} px")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="each repetition passes over the set until this long")
    parser.add_argument("--face-images", type=int, default=40,
                        help="files of each set that faces runs on (0: all)")
    parser.add_argument("--imagededup", action=argparse.BooleanOptionalAction, default=True,
                        help="run imagededup's PHash beside ours (its venv is built if missing)")
    parser.add_argument("--imagededup-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.imagededup_worker:
        imagededup_worker()
        return 0
    pin_to_one_core()
    found = found_images()
    sets = {"as found": found, f"{LONG_SIDE} px": upscaled(found)}
    methods = our_methods(sets, args.min_seconds, args.face_images)
    with tempfile.TemporaryDirectory() as tmp:
        theirs = None
        if args.imagededup:
            peers.ensure("imagededup")
            theirs = methods["imagededup PHash"] = Imagededup(sets, args.min_seconds,
                                                              pathlib.Path(tmp))
            for name in FACE_METHODS:   # hashes first in the table
                methods[name] = methods.pop(name)
        timed = time_sets(methods, sets, args.repeats)
        if theirs:
            theirs.close()

    command = " ".join([os.path.relpath(sys.executable, ROOT), "-m", "benchmarks.images",
                        *(argv if argv is not None else sys.argv[1:])])
    print(f"Image hashing and faces, one core ({cpu_model()}), median of {args.repeats} "
          f"repetitions\ncommand: {command}")
    for name, images in sets.items():
        print(describe(name, images))
    print("\n| set | method | files | images/s per core | ms per image | "
          "bits from plain imagehash (mean) / faces |")
    print("|---|---|---:|---:|---:|---|")
    rates = {name: set_rows(name, timed[name]) for name in sets}
    print()
    if theirs is None:
        print("imagededup: left out (--no-imagededup)")
    for name, rate in rates.items():
        ratios = [f"ours / plain imagehash {rate['ours'] / rate['plain imagehash']:.2f}x"]
        if "imagededup PHash" in rate:
            ratios.insert(0, f"ours / imagededup {rate['ours'] / rate['imagededup PHash']:.2f}x")
        print(f"{name}: " + ", ".join(ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
