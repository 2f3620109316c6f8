"""A harder face set made from labelled public photos, and photos without people.

The sources are the 9 labelled photos of ../shared/eval-data/faces (dlib's examples, PASCAL
VOC and others: 43 faces with hand-drawn boxes). Each variant moves the labels with the
pixels, so every face keeps a known box:

  tilted +30 / -30   the photo turned 30 degrees (faces tilt in the image plane); a face's
                     box is its labelled box, same size, around its turned centre
  small              the photo shrunk so its median face is 28 px and pasted into a
                     1600 x 1200 photo without people (faces of ~20-40 px in a large photo)
  dark               low light: gamma 2.2, a third of the brightness, sensor noise (sd 4)
  covered            a grey box over the lower 45% of each face (a mask, a hand), or over
                     its left half (every second face)
  group              the nine photos in a 3 x 3 grid of 400 x 300 cells (one 1200 x 900
                     picture with 43 faces)

Faces turned away (yaw, profiles) cannot be made from frontal photos by editing pixels;
the VOC photos hold a few three-quarter views as found. Profiles (``profiles``): the one
public photo on this machine with a face turned ~60-75 degrees and a usable size,
scikit-image's ``camera`` (the cameraman, CC0, Lav Varshney; 512 x 512 grey), as found,
mirrored (turned the other way), and both at half size (a ~40 px face): 4 faces of one
person, too few for a rate, enough to say found or missed. Searched without finding
others: ../shared/eval-data (the VOC photos' unlabelled background people in
2008_002079.jpg are ~10 px and blurred; the rest face the camera), scikit-image's other
data (astronaut and lfw_subset face the camera), scikit-learn's sample images (china,
flower: no people), the Debian /usr/share and site-packages image files (icons, logos,
Go's gopher test images); no matplotlib sample_data or OpenCV samples are installed.

Photos without people: products/saleor (51 product renders), image-dups/forest (5),
image-dups/orientation match-* (16 turns and flips of an empty office) and the empty office
(1), dogs.jpg, and scikit-image's coffee, chelsea (a cat), rocket, hubble_deep_field,
immunohistochemistry and retina.
"""

import io
import math
import os
import statistics
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

Box = Tuple[int, int, int, int]   # top, left, bottom, right
Labelled = Dict[str, Tuple[bytes, List[Box]]]

KINDS = ("tilted +30", "tilted -30", "small", "dark", "covered", "group")
NO_PEOPLE_FOLDERS = ("products/saleor", "image-dups/forest", "image-dups/orientation")
NO_PEOPLE_FILES = ("image-dups/office/tumblr_ndyfdoR6Wp1tubinno1_1280.jpg", "faces/dogs.jpg")
SKIMAGE_NO_PEOPLE = ("coffee", "chelsea", "rocket", "hubble_deep_field",
                     "immunohistochemistry", "retina")


def jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _rgb(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def tilted(picture: Image.Image, boxes: List[Box], degrees: float):
    """The picture turned ``degrees`` counter-clockwise (enlarged to hold it all)."""
    turned = picture.rotate(degrees, Image.Resampling.BICUBIC, expand=True,
                            fillcolor=(128, 128, 128))
    theta = math.radians(degrees)
    cx, cy = picture.width / 2, picture.height / 2
    out = []
    for top, left, bottom, right in boxes:
        dx, dy = (left + right) / 2 - cx, (top + bottom) / 2 - cy
        # counter-clockwise on screen, with y pointing down
        x = dx * math.cos(theta) + dy * math.sin(theta) + turned.width / 2
        y = -dx * math.sin(theta) + dy * math.cos(theta) + turned.height / 2
        h, w = bottom - top, right - left
        out.append((round(y - h / 2), round(x - w / 2), round(y + h / 2), round(x + w / 2)))
    return turned, out


def small(picture: Image.Image, boxes: List[Box], ground: Image.Image, face: int = 28):
    """The picture shrunk so its median face is ``face`` px, pasted into ``ground``."""
    scale = face / statistics.median(min(b - t, r - l) for t, l, b, r in boxes)
    size = (round(picture.width * scale), round(picture.height * scale))
    canvas = ground.copy()
    at = ((canvas.width - size[0]) // 2, (canvas.height - size[1]) // 3)
    canvas.paste(picture.resize(size, Image.Resampling.LANCZOS), at)
    return canvas, [(round(t * scale) + at[1], round(l * scale) + at[0],
                     round(b * scale) + at[1], round(r * scale) + at[0])
                    for t, l, b, r in boxes]


def dark(picture: Image.Image, boxes: List[Box], seed: int):
    pixels = np.asarray(picture, np.float32) / 255
    pixels = 255 * (pixels ** 2.2) / 3 + np.random.default_rng(seed).normal(0, 4, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), list(boxes)


def covered(picture: Image.Image, boxes: List[Box]):
    picture = picture.copy()
    draw = ImageDraw.Draw(picture)
    for i, (top, left, bottom, right) in enumerate(boxes):
        if i % 2 == 0:
            draw.rectangle((left, round(bottom - 0.45 * (bottom - top)), right, bottom),
                           fill=(150, 150, 150))
        else:
            draw.rectangle((left, top, round((left + right) / 2), bottom), fill=(150, 150, 150))
    return picture, list(boxes)


def group(photos: List[Tuple[Image.Image, List[Box]]], cell=(400, 300), across: int = 3):
    rows = -(-len(photos) // across)
    canvas = Image.new("RGB", (cell[0] * across, cell[1] * rows), (40, 40, 40))
    out = []
    for i, (picture, boxes) in enumerate(photos):
        scale = min(cell[0] / picture.width, cell[1] / picture.height)
        size = (round(picture.width * scale), round(picture.height * scale))
        x, y = (i % across) * cell[0], (i // across) * cell[1]
        canvas.paste(picture.resize(size, Image.Resampling.LANCZOS), (x, y))
        out += [(round(t * scale) + y, round(l * scale) + x, round(b * scale) + y,
                 round(r * scale) + x) for t, l, b, r in boxes]
    return canvas, out


def harder_set(labelled: Labelled, ground: Image.Image) -> Dict[str, Labelled]:
    """{kind: {name: (JPEG bytes, boxes)}} for the photos of ``labelled`` that have faces."""
    sources = [(name, _rgb(data), boxes) for name, (data, boxes) in sorted(labelled.items())
               if boxes]
    ground = ground.convert("RGB").resize((1600, 1200), Image.Resampling.BILINEAR)
    sets = {kind: {} for kind in KINDS}
    for i, (name, picture, boxes) in enumerate(sources):
        made = {"tilted +30": tilted(picture, boxes, 30), "tilted -30": tilted(picture, boxes, -30),
                "small": small(picture, boxes, ground), "dark": dark(picture, boxes, seed=i),
                "covered": covered(picture, boxes)}
        for kind, (variant, moved) in made.items():
            sets[kind][name] = (jpeg(variant), moved)
    canvas, moved = group([(picture, boxes) for _, picture, boxes in sources])
    sets["group"]["group-3x3.jpg"] = (jpeg(canvas), moved)
    return sets


# The cameraman's face in skimage.data.camera() (512 x 512), top, left, bottom, right:
# forehead below the hairline to the chin, the ear to the tip of the nose (the camera in
# front of the eye left out). Checked by drawing it on the photo, enlarged 3x around the
# face, and looking; CenterFace's box overlaps it by IoU 0.79, HOG's by 0.42.
CAMERAMAN: Box = (115, 182, 200, 258)


def profiles() -> Labelled:
    """{name: (JPEG bytes, boxes)}: the cameraman as found, mirrored, and both at half size
    (empty when scikit-image is not installed)."""
    try:
        from skimage import data
    except ImportError:
        return {}
    photo = Image.fromarray(data.camera()).convert("RGB")
    top, left, bottom, right = CAMERAMAN
    mirrored = (top, photo.width - right, bottom, photo.width - left)
    sets = {}
    for name, picture, box in (
            ("camera", photo, CAMERAMAN),
            ("camera-mirrored", photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), mirrored)):
        sets[f"{name}.jpg"] = (jpeg(picture), [box])
        half = picture.resize((picture.width // 2, picture.height // 2),
                              Image.Resampling.LANCZOS)
        sets[f"{name}-half.jpg"] = (jpeg(half), [tuple(round(v / 2) for v in box)])
    return sets


def no_people(eval_data: str) -> Dict[str, bytes]:
    """{name: bytes} of photos without people (see the module's docstring)."""
    photos = {}
    for folder in NO_PEOPLE_FOLDERS:
        path = os.path.join(eval_data, folder)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            if name.lower().endswith((".jpg", ".jpeg", ".png")) and (
                    "orientation" not in folder or name.startswith("match-")):
                photos[f"{folder}/{name}"] = open(os.path.join(path, name), "rb").read()
    for name in NO_PEOPLE_FILES:
        if os.path.isfile(os.path.join(eval_data, name)):
            photos[name] = open(os.path.join(eval_data, name), "rb").read()
    try:
        from skimage import data
    except ImportError:
        return photos
    for name in SKIMAGE_NO_PEOPLE:
        photos[f"skimage/{name}"] = jpeg(Image.fromarray(getattr(data, name)()))
    return photos
