"""Faces: detection precision and recall per setting, and identity clustering, on public labels.

    .venv/bin/python -m evaluation.faces [--faces ../shared/eval-data/faces] [--no-cnn]

Detection: ../shared/eval-data/faces (dlib's example photos, PASCAL VOC and others; boxes
hand-labelled by dlib in testing.xml and training.xml, 9 photos; dogs.jpg has no human
face). A detected box matches a labelled one at IoU >= 0.4 (one to one, best first). Printed per setting:
precision, recall, F1, recall by face size and the median time per photo (one core).
Then the harder set evaluation/face_variants.py makes from the same photos (tilted,
small, dark, covered, grouped: faces found per kind) and the photos without people (false
faces), for HOG at 1200 px and CenterFace at a few sides and thresholds; and the profile
set (face_variants.profiles: the cameraman of scikit-image, turned ~60-75 degrees).

Identities: bald_guys.jpg is a collage of 24 photos of four actors, six each (dlib's
face-clustering example); IDENTITIES below labels each photo's position (our labels, by
looking). Encodings of faces the default settings encode are compared: same-person pairs
recalled within distance 0.6, different-person pairs within it (the photos' other faces,
all different people from the four, are added as negatives), the connected components
this makes, and the share of within-0.6 pairs that the default LSH (bands x bits, centred,
multi-probe; transforms/people/identities.py) proposes as candidates (and without probes),
for the default seed and as the mean over seeds 1-40 (24 faces are few: one seed's figure
is luck as much as design).
"""

import argparse
import dataclasses
import itertools
import os
import statistics
import time
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from detectors.face_center import FACE_CENTER
from detectors.faces import encoding_array, scan_faces
from schemas.settings import FaceSettings, IdentitySettings
from detectors.hyperplanes import HyperplaneLsh
from evaluation.face_variants import KINDS, harder_set, no_people, profiles
from evaluation.scores import record


IOU = 0.4
SIZES = ((0, 50), (50, 80), (80, 10_000))
HUGE = 100_000   # a detect_side that never shrinks: the photo at its own size (times upscale)

HOG = FaceSettings(model="hog")
CENTER = FaceSettings(model="centerface")
SETTINGS = [
    (f"default: CenterFace, long side {CENTER.centerface_side}", CENTER),
    ("CenterFace, long side 256", dataclasses.replace(CENTER, centerface_side=256)),
    ("CenterFace, long side 384", dataclasses.replace(CENTER, centerface_side=384)),
    ("CenterFace, long side 480", dataclasses.replace(CENTER, centerface_side=480)),
    ("CenterFace, long side 640", dataclasses.replace(CENTER, centerface_side=640)),
    ("CenterFace, long side 960", dataclasses.replace(CENTER, centerface_side=960)),
    (f"CenterFace, long side {CENTER.centerface_side}, threshold 0.35",
     dataclasses.replace(CENTER, centerface_threshold=0.35)),
    ("CenterFace, long side 640, threshold 0.35",
     dataclasses.replace(CENTER, centerface_side=640, centerface_threshold=0.35)),
    ("HOG, long side 1200", HOG),
    ("HOG, long side 800", dataclasses.replace(HOG, detect_side=800)),
    ("HOG, long side 1024", dataclasses.replace(HOG, detect_side=1024)),
    ("HOG, original size (no upsample)", dataclasses.replace(HOG, detect_side=HUGE,
                                                             max_upscale=1.0)),
    ("HOG, original x2 (one upsample)", dataclasses.replace(HOG, detect_side=HUGE,
                                                            max_upscale=2.0)),
    ("CNN, original size", FaceSettings(model="cnn", detect_side=HUGE, max_upscale=1.0)),
    ("CNN, long side 1200", FaceSettings(model="cnn")),
]

# bald_guys.jpg: face centres in a 900-px-wide copy -> who it is.
IDENTITIES = {
    (68, 77): "diesel", (286, 93): "diesel", (170, 128): "diesel", (62, 215): "diesel",
    (295, 235): "diesel", (61, 626): "diesel",
    (177, 50): "statham", (431, 94): "statham", (431, 221): "statham", (177, 240): "statham",
    (61, 356): "statham", (221, 428): "statham",
    (721, 109): "johnson", (852, 226): "johnson", (774, 338): "johnson",
    (853, 626): "johnson", (524, 634): "johnson", (690, 641): "johnson",
    (518, 387): "willis", (389, 415): "willis", (61, 483): "willis", (535, 521): "willis",
    (389, 609): "willis", (204, 620): "willis",
}
COLLAGE, COLLAGE_WIDTH, LABEL_WIDTH = "bald_guys.jpg", 1986, 900


def labelled_boxes(folder: str):
    """{file: [(top, left, bottom, right), ...]} from both XML files, and dogs.jpg (no
    face). The other photos have faces nobody labelled: not used for detection."""
    boxes = {"dogs.jpg": []}
    for xml in ("testing.xml", "training.xml"):
        for image in ET.parse(os.path.join(folder, xml)).getroot().iter("image"):
            for box in image.iter("box"):
                top, left = int(box.get("top")), int(box.get("left"))
                boxes.setdefault(image.get("file"), []).append(
                    (top, left, top + int(box.get("height")), left + int(box.get("width"))))
    return boxes


def iou(a, b) -> float:
    top, left = max(a[0], b[0]), max(a[1], b[1])
    inter = max(0, min(a[2], b[2]) - top) * max(0, min(a[3], b[3]) - left)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])   # noqa: E731
    return inter / float(area(a) + area(b) - inter)


def match(truth, found):
    """(matched truth indices, false positives): greedy one-to-one at IoU >= 0.4."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
                   reverse=True)
    used_t, used_f = set(), set()
    for overlap, i, j in pairs:
        if overlap >= IOU and i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    return used_t, len(found) - len(used_f)


def labelled_photos(folder: str):
    """{file: (bytes, boxes)} of the labelled photos (and dogs.jpg, no face)."""
    return {name: (open(os.path.join(folder, name), "rb").read(), boxes)
            for name, boxes in sorted(labelled_boxes(folder).items())}


def scored(photos, setting: FaceSettings):
    """(true positives, false positives, matched flags per labelled box, seconds per photo)."""
    tp = fp = 0
    hits, seconds = [], []
    for data, truth in photos.values():
        started = time.perf_counter()
        found = [f.box() for f in scan_faces(data, setting).faces]
        seconds.append(time.perf_counter() - started)
        matched, false = match(truth, found)
        tp, fp = tp + len(matched), fp + false
        hits += [(box, i in matched) for i, box in enumerate(truth)]
    return tp, fp, hits, seconds


def detection_table(folder: str, settings):
    photos = labelled_photos(folder)
    labelled = sum(len(boxes) for _, boxes in photos.values())
    print(f"## Detection: {labelled} labelled faces in {len(photos)} photos "
          f"(IoU >= {IOU})\n")
    sizes = " | ".join(f"recall {lo}-{hi if hi < 10_000 else ''} px" for lo, hi in SIZES)
    print(f"| setting | found | precision | recall | F1 | {sizes} | median s/photo |")
    print("|---|---|---|---|---|" + "---|" * len(SIZES) + "---|")
    for name, setting in settings:
        tp, fp, hits, seconds = scored(photos, setting)
        by_size = {bucket: [0, 0] for bucket in SIZES}
        for box, hit in hits:
            size = min(box[2] - box[0], box[3] - box[1])
            bucket = next(b for b in SIZES if b[0] <= size < b[1])
            by_size[bucket][0] += hit
            by_size[bucket][1] += 1
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / labelled
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        per_size = " | ".join(f"{hit}/{total}" for hit, total in by_size.values())
        record(f"faces ({name})", "eval-data/faces", precision, recall, f"{labelled} faces")
        print(f"| {name} | {tp + fp} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {per_size} | "
              f"{statistics.median(seconds):.2f} |")
    print()


def harder_table(folder: str, settings):
    """Faces found per kind of the harder set, and false faces on photos without people."""
    eval_data = os.path.dirname(os.path.abspath(folder))
    ground = Image.open(os.path.join(eval_data, "image-dups", "forest", "forest-high.jpg"))
    sets = harder_set(labelled_photos(folder), ground)
    empty = {name: (data, []) for name, data in no_people(eval_data).items()}
    faces = sum(len(b) for _, b in next(iter(sets.values())).values())
    print(f"## Harder set: {faces} labelled faces in each kind, {len(KINDS)} kinds "
          "(evaluation/face_variants.py); faces found at IoU >= 0.4 / false faces\n")
    print("| setting | " + " | ".join(KINDS) + " | all: found | precision | "
          f"photos without people ({len(empty)}): false faces | median s/photo |")
    print("|---|" + "---|" * len(KINDS) + "---|---|---|---|")
    for name, setting in settings:
        cells, tp_all, fp_all, seconds = [], 0, 0, []
        for kind in KINDS:
            tp, fp, _, took = scored(sets[kind], setting)
            cells.append(f"{tp} / {fp}")
            tp_all, fp_all, seconds = tp_all + tp, fp_all + fp, seconds + took
        _, false_empty, _, took = scored(empty, setting)
        seconds += took
        labelled = faces * len(KINDS)
        precision = tp_all / max(tp_all + fp_all, 1)
        record(f"faces ({name})", "harder set (face_variants)", precision, tp_all / labelled,
               f"{labelled} faces")
        record(f"faces ({name})", "photos without people", None, None,
               f"{len(empty)} photos, {false_empty} false faces")
        print(f"| {name} | " + " | ".join(cells) + f" | {tp_all}/{labelled} | {precision:.3f} "
              f"| {false_empty} | {statistics.median(seconds):.2f} |")
    print()


def profile_table(settings):
    """Found / missed per photo of the profile set (face_variants.profiles)."""
    photos = profiles()
    if not photos:
        print("## Profiles: scikit-image is not installed; skipped\n")
        return
    print(f"## Profiles: the cameraman (scikit-image camera, face turned ~60-75 degrees), "
          f"{len(photos)} photos of one face each; found at IoU >= 0.4 / false faces\n")
    print("| setting | " + " | ".join(photos) + " | found |")
    print("|---|" + "---|" * len(photos) + "---|")
    for name, setting in settings:
        cells, found = [], 0
        for photo in photos:
            tp, fp, _, _ = scored({photo: photos[photo]}, setting)
            cells.append(f"{tp} / {fp}")
            found += tp
        print(f"| {name} | " + " | ".join(cells) + f" | {found}/{len(photos)} |")
    print()


def collage_faces(folder: str, settings: FaceSettings):
    """[(who, encoding)] for the collage's encoded faces, and the other photos' encodings."""
    scale = LABEL_WIDTH / COLLAGE_WIDTH
    labelled, others = [], []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jpg"):
            continue
        for face in scan_faces(open(os.path.join(folder, name), "rb").read(), settings).faces:
            if face.encoding is None:
                continue
            if name != COLLAGE:
                others.append(encoding_array(face.encoding))
                continue
            centre = ((face.left + face.right) / 2 * scale, (face.top + face.bottom) / 2 * scale)
            spot = min(IDENTITIES, key=lambda p: (p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2)
            labelled.append((IDENTITIES[spot], encoding_array(face.encoding)))
    return labelled, others


def components(count, edges):
    parent = list(range(count))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for a, b in edges:
        parent[find(a)] = find(b)
    return [find(i) for i in range(count)]


def identity_table(folder: str, label: str, faces: FaceSettings):
    identities = IdentitySettings()
    labelled, others = collage_faces(folder, faces)
    people = [who for who, _ in labelled] + [f"other{i}" for i in range(len(others))]
    vectors = np.array([v for _, v in labelled] + others)
    distance = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    pairs = list(itertools.combinations(range(len(people)), 2))
    same = [(a, b) for a, b in pairs if people[a] == people[b]]
    close = [(a, b) for a, b in pairs if distance[a, b] <= identities.max_distance]
    print(f"## Identities, {label}: {len(labelled)} encoded faces of 4 people in {COLLAGE}, "
          f"{len(others)} faces of other people\n")
    print("| distance | same-person pairs within (recall) | different-person pairs within "
          "| precision |")
    print("|---|---|---|---|")
    for radius in (0.5, 0.55, 0.6, 0.65):
        hit = sum(distance[a, b] <= radius for a, b in same)
        wrong = sum(distance[a, b] <= radius for a, b in pairs if people[a] != people[b])
        print(f"| {radius} | {hit}/{len(same)} ({hit / len(same):.3f}) | {wrong}/"
              f"{len(pairs) - len(same)} | {hit / max(hit + wrong, 1):.3f} |")
    hit = sum(distance[a, b] <= identities.max_distance for a, b in same)
    wrong = sum(distance[a, b] <= identities.max_distance
                for a, b in pairs if people[a] != people[b])
    record(f"repeated_identity (pairs, {label})", "dlib collage + others",
           hit / max(hit + wrong, 1),
           hit / len(same), f"{len(same)} same / {len(pairs) - len(same)} other pairs")
    for radius in (0.55, identities.max_distance):
        edges = [(a, b) for a, b in pairs if distance[a, b] <= radius]
        print(f"\nComponents at {radius}: " + composition(people, components(len(people), edges)))
    far = [(a, b) for a, b in pairs if distance[a, b] > 0.8]
    for probes in (identities.probes, 0):
        keys = lsh_keys(vectors, dataclasses.replace(identities, probes=probes))
        proposed = [(a, b) for a, b in close if keys[a] & keys[b]]
        noise = sum(bool(keys[a] & keys[b]) for a, b in far)
        candidates = sum(bool(keys[a] & keys[b]) for a, b in pairs)
        seeds = [lsh_recall(vectors, close, dataclasses.replace(identities, probes=probes,
                                                                seed=seed))
                 for seed in range(1, 41)]
        print(f"\nLSH ({identities.bands} bands x {identities.bits} bits, {probes} probes per "
              f"band, centred{', the default' if probes == identities.probes else ''}): "
              f"proposes {len(proposed)}/{len(close)} pairs within {identities.max_distance} "
              f"({len(proposed) / max(len(close), 1):.3f}; over seeds 1-40 mean "
              f"{statistics.mean(seeds):.3f}, lowest {min(seeds):.3f}), {noise}/{len(far)} "
              f"pairs farther than 0.8 ({noise / max(len(far), 1):.3f}), {candidates}/"
              f"{len(pairs)} pairs in all.")
        print("Components over the proposed pairs (what the stage finds): "
              + composition(people, components(len(people), proposed)))


def lsh_keys(vectors, identities: IdentitySettings):
    """Each encoding's level-0 keys, as the identity stage makes them."""
    lsh = HyperplaneLsh(vectors.shape[1], identities.bands, identities.bits,
                        seed=identities.seed, center=FACE_CENTER, probes=identities.probes)
    return [set(lsh.top(v)) for v in vectors]


def lsh_recall(vectors, close, identities: IdentitySettings) -> float:
    keys = lsh_keys(vectors, identities)
    return sum(bool(keys[a] & keys[b]) for a, b in close) / max(len(close), 1)


def encoding_agreement(folder: str):
    """How far CenterFace's encodings lie from HOG's for the same faces (both encoded,
    boxes overlapping by IoU >= 0.3): the alignment check of detectors/faces.py dlib_box."""
    distances = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jpg"):
            continue
        data = open(os.path.join(folder, name), "rb").read()
        hog = [f for f in scan_faces(data, HOG).faces if f.encoding is not None]
        for face in scan_faces(data, CENTER).faces:
            best = max(hog, key=lambda h: iou(h.box(), face.box()), default=None)
            if face.encoding is not None and best and iou(best.box(), face.box()) >= 0.3:
                distances.append(float(np.linalg.norm(encoding_array(face.encoding)
                                                      - encoding_array(best.encoding))))
    print(f"\n## Encodings from CenterFace's boxes against HOG's, same faces ({len(distances)} "
          f"faces of {folder}): distance median {statistics.median(distances):.3f}, 90th "
          f"percentile {np.percentile(distances, 90):.3f}, largest {max(distances):.3f} "
          f"(one person: <= 0.6)")


def composition(people, labels) -> str:
    """Each component of more than one face, or with one of the four: who is in it."""
    parts = []
    for root in sorted(set(labels), key=labels.index):
        members = [people[i] for i in range(len(people)) if labels[i] == root]
        if len(members) > 1 or not members[0].startswith("other"):
            named = sorted({"other" if m.startswith("other") else m for m in members})
            parts.append("[" + ", ".join(
                f"{who} x{sum(m.startswith(who) for m in members)}" for who in named) + "]")
    return " ".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", default=os.path.join("..", "shared", "eval-data", "faces"))
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN rows (slow on CPU)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.faces):
        print(f"{args.faces}: not found; nothing to evaluate")
        return 0
    settings = [(n, s) for n, s in SETTINGS if not (args.no_cnn and s.model == "cnn")]
    detection_table(args.faces, settings)
    harder_table(args.faces, [(n, s) for n, s in settings if s.model != "cnn"])
    profile_table([(n, s) for n, s in settings if s.model != "cnn"])
    identity_table(args.faces, "default: CenterFace boxes", CENTER)
    identity_table(args.faces, "HOG boxes", HOG)
    encoding_agreement(args.faces)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
