"""The OCR stage end to end on generated images with planted personal data (issue 20 item 4).

    .venv/bin/python -m evaluation.ocr_redaction [--n 6] [--seed 11] [--entity URL=redact]

The images of evaluation/ocr_images.py (receipts, forms, letters, business cards, screenshots,
shipping labels, signs over photos; six fonts; text 10-40 px high; rotated up to 5 degrees;
noise; JPEG quality 50), each word's box known, go through the stage's own functions with the
default policy: transforms/ocr.read_text (the text-presence test, tesseract, the PII scanner)
and image_verdict (the boxes to cover, or the quarantine). Per entity type: recall of the
planted words (a planted word counts as found when the verdict's boxes together cover at
least half of it: tesseract splits "574-11-2324" into two words, each boxed), split at 12 px
of text height; precision of the boxes (a box is right when it covers at least half of a
planted personal-data word; filler words, prices, totals, tracking numbers and labels such
as "Tel" are the hard negatives); the share of the planted pixels the cleaned
image paints over (the areas Decide paints, detectors/faces.cover_area, for the records kept
with covers; a quarantined record is held back whole), counted over the entity types the
policy acts on: the default policy keeps URLs (a business card's company site) on purpose,
and their pixels are shown on a row of their own (--entity URL=redact covers them). Then
the photos without text under ../shared/eval-data (and scikit-image's): the share where
nothing is read. Images per CPU-second (tesseract's child processes included), with text
and without.
"""

import argparse
import collections
import io
import os
from typing import Dict, List

import numpy as np
from PIL import Image

from detectors.faces import cover_area
from detectors.ocr import overlap
from evaluation import ocr_images
from evaluation.ocr import band, cpu_seconds
from evaluation.scores import record
from schemas.records import COVER, QUARANTINE
from schemas.settings import (PiiSettings, Policy, entity_action_flag,
                             entity_actions)
from transforms.ocr import image_verdict, make_presence, make_reader, make_scan, read_text

PATTERN_TYPES = ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "URL")


def covered_share(mask: np.ndarray, box) -> float:
    """The share of ``box`` (left, top, right, bottom) inside the image that ``mask`` holds."""
    left, top = max(0, box[0]), max(0, box[1])
    right, bottom = min(mask.shape[1], box[2]), min(mask.shape[0], box[3])
    area = max(0, right - left) * max(0, bottom - top)
    return float(mask[top:bottom, left:right].sum()) / area if area else 0.0


def score_image(planted, boxes, action, size, margin: float, acted) -> dict:
    """One image's counts: per entity type (and "all"), planted words found; boxes right and
    wrong; planted pixels of the ``acted`` entity types painted (when the record is kept
    with covers), and those of the others."""
    found = [(b.left, b.top, b.right, b.bottom) for b in boxes]
    painted = np.zeros((size[1], size[0]), bool)
    if action == COVER:
        for b in boxes:
            left, top, right, bottom = cover_area((b.top, b.left, b.bottom, b.right), margin,
                                                  size)
            painted[top:bottom, left:right] = True
    boxed = np.zeros((size[1], size[0]), bool)   # the verdict's boxes as they are
    for left, top, right, bottom in found:
        boxed[max(0, top):bottom, max(0, left):right] = True
    pii = [w for w in planted if w.entity_type]
    counts = collections.Counter()
    for word in pii:
        hit = covered_share(boxed, word.box) >= 0.5
        for key in (word.entity_type, "all"):
            counts[f"planted {key}"] += 1
            counts[f"found {key}"] += hit
        left, top, right, bottom = (max(0, word.box[0]), max(0, word.box[1]),
                                    min(size[0], word.box[2]), min(size[1], word.box[3]))
        pixels = max(0, right - left) * max(0, bottom - top)
        if word.entity_type not in acted:
            counts["pixels ignored"] += pixels
            continue
        counts["pixels"] += pixels
        counts["pixels held"] += pixels if action == QUARANTINE else 0
        counts["pixels painted"] += int(painted[top:bottom, left:right].sum()) \
            if action == COVER else 0
    for box in found:
        right = any(overlap(w.box, box) >= 0.5 or overlap(box, w.box) >= 0.5 for w in pii)
        counts["boxes right" if right else "boxes wrong"] += 1
    return counts


def evaluate(images, photos, policy: Policy) -> Dict[str, object]:
    presence, reader, scan = make_presence(policy.ocr), make_reader(policy.ocr), \
        make_scan(policy.pii)
    totals: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    acted = set(policy.pii.scanned_entities())
    wrong: List[str] = []
    cpu = cpu_seconds()
    for item in images:
        read = read_text(item.jpeg, presence, reader, scan)
        verdict = image_verdict(item.name, read.words, read.findings, policy.pii, policy.ocr,
                                regions=read.regions)
        boxes = verdict.boxes if verdict is not None and verdict.boxes else []
        action = verdict.action if verdict is not None else None
        size = Image.open(io.BytesIO(item.jpeg)).size
        counts = score_image(item.words, boxes, action, size, policy.ocr.cover_margin, acted)
        for group in ("all", f"band {band(item.text_height)}",
                      ">=12px" if item.text_height >= 12 else "<12px"):
            totals[group].update(counts)
        if counts["boxes wrong"]:
            wrong.append(item.name)
    text_cpu = cpu_seconds() - cpu
    cpu = cpu_seconds()
    silent = 0
    for data in photos.values():
        read = read_text(data, presence, reader, scan)
        silent += not read.words
    photo_cpu = cpu_seconds() - cpu
    return {"totals": totals, "images": len(images), "photos": len(photos),
            "photos_silent": silent, "wrong": wrong,
            "text_per_cpu_s": len(images) / text_cpu if text_cpu else float("nan"),
            "photos_per_cpu_s": len(photos) / photo_cpu if photo_cpu else float("nan")}


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "—"


def table(result: dict, policy: Policy) -> str:
    totals = result["totals"]
    actions = policy.pii.actions()
    types = sorted({k.split(" ", 1)[1] for k in totals["all"] if k.startswith("planted ")}
                   - {"all"})
    lines = ["| entity type | recall, text >= 12 px | recall, < 12 px | recall, all |",
             "|---|---|---|---|"]
    for kind in types + ["all"]:
        cells = [_ratio(totals[g][f"found {kind}"], totals[g][f"planted {kind}"])
                 for g in (">=12px", "<12px", "all")]
        name = f"{kind} (pattern)" if kind in PATTERN_TYPES else kind
        if kind != "all" and actions.get(kind, "ignore") == "ignore":
            name += ", ignored by the policy"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    everything, tall = totals["all"], totals[">=12px"]
    boxes = everything["boxes right"] + everything["boxes wrong"]
    planted_pixels = everything["pixels"] + everything["pixels ignored"]
    lines += ["", "| what | value |", "|---|---|",
              f"| precision of the covered boxes | {_ratio(everything['boxes right'], boxes)} |",
              f"| planted pixels painted over in kept images, text >= 12 px | "
              f"{_ratio(tall['pixels painted'], tall['pixels'] - tall['pixels held'])} |",
              f"| planted pixels in records held back (quarantined whole) | "
              f"{_ratio(everything['pixels held'], everything['pixels'])} |",
              f"| planted pixels of types the policy ignores, left as they are | "
              f"{_ratio(everything['pixels ignored'], planted_pixels)} |",
              f"| photos without text where nothing is read | "
              f"{_ratio(result['photos_silent'], result['photos'])} |",
              f"| images with text per CPU-second (one core) | {result['text_per_cpu_s']:.2f} |",
              f"| photos without text per CPU-second | {result['photos_per_cpu_s']:.2f} |"]
    if result["wrong"]:
        lines.append(f"\nimages with a wrong box: {', '.join(result['wrong'])}")
    return "\n".join(lines)


def main(argv=None) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")   # one core, as evaluation.ocr
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6, help="images per kind")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--entity", type=entity_action_flag, action="append", default=[],
                        metavar="ENTITY=ACTION", help="change the default policy's action")
    args = parser.parse_args(argv)
    images = ocr_images.generate(args.n, args.seed)
    policy = Policy(pii=PiiSettings(entities=entity_actions(args.entity)))
    result = evaluate(images, ocr_images.no_text_photos(), policy)
    named = ", ".join(f"{e}={a}" for e, a in args.entity)
    print(f"\nThe OCR stage, {'policy ' + named if named else 'default policy'}: "
          f"{len(images)} generated images (seed {args.seed}, "
          f"{args.n} per kind), {result['photos']} photos without text\n")
    print(table(result, policy))
    everything, tall = result["totals"]["all"], result["totals"][">=12px"]
    boxes = everything["boxes right"] + everything["boxes wrong"]
    record("OCR stage: covered words", f"generated images, text >= 12 px (seed {args.seed})",
           everything["boxes right"] / boxes if boxes else None,
           tall["found all"] / tall["planted all"] if tall["planted all"] else None,
           f"{tall['planted all']} planted words")


if __name__ == "__main__":
    main()
