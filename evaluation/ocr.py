"""OCR engine comparison on the generated labelled images (evaluation/ocr_images.py).

    .venv/bin/python -m evaluation.ocr [--n 9] [--seed 5] [--engines tesseract-psm3-x2,rapidocr]

For each engine: word recall of the planted words (an OCR word with the same normalised text,
lower-case letters and digits only, whose box overlaps the planted box), the mean IoU of the
matched boxes; "in-line" recall, where the planted word need only be inside the normalised text
of an overlapping OCR word or line (RapidOCR's recogniser drops most spaces of Latin text, so
its lines are its words); per text-height band and per kind, recall of the planted personal-data words,
words reported on photos without text, and images per CPU-second on one core (the process's
CPU time plus its children's: tesseract runs as a child process). Each engine is held to one
thread (OMP_THREAD_LIMIT=1, onnxruntime intra/inter-op threads 1).
"""

import argparse
import collections
import io
import os
import re
import resource
import time
from typing import Callable, Dict, List

from PIL import Image

from detectors.ocr import OcrWord, TesseractReader
from evaluation import ocr_images

BANDS = {"10-12": (10, 12), "12-20": (12, 20), "20-40": (20, 41)}


def normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match(planted, found: List[OcrWord]) -> float:
    """The best IoU of an OCR word with the planted word's normalised text; 0 when none."""
    want = normalise(planted.text)
    return max((iou(planted.box, w.box) for w in found if normalise(w.text) == want),
               default=0.0)


def in_line(planted, found: List[OcrWord]) -> bool:
    """The planted word inside the normalised text of an OCR word or line that overlaps it."""
    want = normalise(planted.text)
    return any(want in normalise(w.text) and iou(planted.box, w.box) > 0 for w in found)


class RapidOcrWords:
    """RapidOCR (rapidocr-onnxruntime, PP-OCRv4 models inside the wheel) as words: its lines
    split at the spaces it reads (splitting at wide gaps between its character boxes split
    words more often than it found spaces: "FOR M", "Na m e:")."""

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR
        import numpy
        self._np = numpy
        self.engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def read(self, image: Image.Image) -> List[OcrWord]:
        result, _ = self.engine(self._np.asarray(image.convert("RGB")), return_word_box=True)
        words = []
        for line in result or ():
            quad, text, score = line[0], line[1], float(line[2])
            char_boxes, chars = (line[3], line[4]) if len(line) > 4 else ([], [])
            if not chars:   # no character boxes: the line as one word
                xs, ys = [p[0] for p in quad], [p[1] for p in quad]
                words.append(OcrWord(text, (int(min(xs)), int(min(ys)), int(max(xs)),
                                            int(max(ys))), score))
                continue
            words.extend(_split(chars, char_boxes, score))
        return words


def _split(chars, boxes, score) -> List[OcrWord]:
    rects = [(min(p[0] for p in b), min(p[1] for p in b), max(p[0] for p in b),
              max(p[1] for p in b)) for b in boxes]
    words, text, box = [], "", None
    for char, rect in zip(chars, rects):
        if char.isspace():
            if text:
                words.append(OcrWord(text, tuple(int(v) for v in box), score))
            text, box = "", None
            if char.isspace():
                continue
        text += char
        box = rect if box is None else (min(box[0], rect[0]), min(box[1], rect[1]),
                                        max(box[2], rect[2]), max(box[3], rect[3]))
    if text:
        words.append(OcrWord(text, tuple(int(v) for v in box), score))
    return words


class TesseractWords:
    def __init__(self, psm: int, upscale: float = 1.0):
        self.reader = TesseractReader(psm=psm, time_limit_s=120, upscale=upscale)

    def read(self, image: Image.Image) -> List[OcrWord]:
        result = self.reader.read(image)
        if result.error:
            raise RuntimeError(result.error)
        return list(result.words)


ENGINES: Dict[str, Callable[[], object]] = {
    "tesseract-psm11": lambda: TesseractWords(11),
    "tesseract-psm3": lambda: TesseractWords(3),
    "tesseract-psm3-x2": lambda: TesseractWords(3, 2.0),   # read at twice the size
    "rapidocr": RapidOcrWords,
}


def cpu_seconds() -> float:
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def band(height: int) -> str:
    return next(name for name, (low, high) in BANDS.items() if low <= height < high)


def evaluate(engine, images, photos) -> dict:
    # group: found, planted, IoU sum, found in a line
    counts = collections.defaultdict(lambda: [0, 0, 0.0, 0])
    cpu = cpu_seconds()
    for item in images:
        found = engine.read(Image.open(io.BytesIO(item.jpeg)))
        for planted in item.words:
            if not normalise(planted.text):
                continue
            score, lenient = match(planted, found), in_line(planted, found)
            groups = ["all", f"band {band(item.text_height)}", f"kind {item.kind}"]
            if planted.entity_type:
                groups += ["pii", f"pii {band(item.text_height)}", f"entity {planted.entity_type}"]
                if item.text_height >= 12:   # the recall target holds from 12 px up
                    groups.append(f"entity {planted.entity_type} >=12px")
            for group in groups:
                counts[group][1] += 1
                counts[group][3] += lenient
                if score > 0:
                    counts[group][0] += 1
                    counts[group][2] += score
    text_cpu = cpu_seconds() - cpu
    cpu = cpu_seconds()
    photos_with_words = 0
    for data in photos.values():
        photos_with_words += bool(engine.read(Image.open(io.BytesIO(data))))
    photo_cpu = cpu_seconds() - cpu
    return {"counts": dict(counts), "text_images": len(images),
            "text_per_cpu_s": len(images) / text_cpu, "photos": len(photos),
            "photos_with_words": photos_with_words,
            "photos_per_cpu_s": len(photos) / photo_cpu if photos else float("nan")}


def presence(images, photos, products) -> str:
    """The text-presence test (detectors/text_presence.py): what it sends on to OCR."""
    from detectors.text_presence import TextPresence
    test = TextPresence()
    rows = []
    for label, items in (("generated images with text", [(i.name, i.jpeg) for i in images]),
                         ("eval-data / scikit-image photos without text", list(photos.items())),
                         ("eval-data product photos (some carry text)", list(products.items()))):
        if not items:
            continue
        cpu = cpu_seconds()
        kept = [name for name, data in items if test.has_text(Image.open(io.BytesIO(data)))]
        per_image = (cpu_seconds() - cpu) / len(items)
        rows.append(f"| {label} | {len(items)} | {len(kept) / len(items):.3f} | "
                    f"{per_image * 1000:.0f} ms |")
        if "without text" in label and kept:
            rows[-1] += " sent on: " + ", ".join(kept)
        if "with text" in label and len(kept) < len(items):
            rows[-1] += " skipped: " + ", ".join(sorted({i.name for i in images} - set(kept)))
    return "\n".join(["| images | n | share sent to OCR | CPU per image |", "|---|---|---|---|"]
                     + rows)


def product_photos() -> dict:
    folder = ocr_images.EVAL_DATA / "products" / "saleor"
    return {f"products/{p.name}": p.read_bytes() for p in sorted(folder.glob("*.jpg"))} \
        if folder.is_dir() else {}


def table(results: Dict[str, dict]) -> str:
    names = list(results)
    groups = sorted({g for r in results.values() for g in r["counts"]},
                    key=lambda g: (g.split()[0] != "all", g.split()[0], g))
    lines = ["| group (planted words) | " + " | ".join(f"{n}: recall / in-line / IoU"
                                                   for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for group in groups:
        cells = []
        for name in names:
            found, planted, iou_sum, lenient = results[name]["counts"].get(group, (0, 0, 0, 0))
            cells.append(f"{found / planted:.3f} / {lenient / planted:.3f} / "
                         f"{iou_sum / max(found, 1):.2f}" if planted else "-")
        planted = max(results[n]["counts"].get(group, (0, 0, 0))[1] for n in names)
        lines.append(f"| {group} ({planted}) | " + " | ".join(cells) + " |")
    for label, key in (("text images per CPU-second", "text_per_cpu_s"),
                       ("photos without text per CPU-second", "photos_per_cpu_s")):
        lines.append(f"| {label} | " + " | ".join(f"{results[n][key]:.2f}" for n in names)
                     + " |")
    lines.append("| photos without text where words were reported | " + " | ".join(
        f"{results[n]['photos_with_words']}/{results[n]['photos']}" for n in names) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=9, help="images per kind (3 per height band)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--engines", default=",".join(ENGINES), help="'' for none")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")   # tesseract (a child process): one thread
    images = ocr_images.generate(args.n, args.seed)
    photos = ocr_images.no_text_photos()
    print(f"{len(images)} text images ({args.n} per kind, seed {args.seed}), "
          f"{len(photos)} photos without text")
    print(presence(images, photos, product_photos()), flush=True)
    results = {}
    for name in filter(None, args.engines.split(",")):
        engine = ENGINES[name]()
        engine.read(Image.new("RGB", (64, 32), "white"))   # load models outside the timing
        results[name] = evaluate(engine, images, photos)
        print(f"{name}: done", flush=True)
    if results:
        print(table(results))


if __name__ == "__main__":
    main()
