"""Labelled images with text for the OCR evaluation: every planted word with its box and type.

    .venv/bin/python -m evaluation.ocr_images --n 4 --seed 5 --out /tmp/ocr-set   # to look at

Deterministic: image i of a kind is drawn from random.Random(f"{seed}/{kind}/{i}") and the
personal data from evaluation.pii_corpus's Faker makers seeded from it. Kinds: receipts,
forms, letters, business cards, screenshots, shipping labels, and photos with signs (a plate
of text drawn over a photo of ../shared/eval-data, or over scikit-image's photos when that
folder is absent). Each image has one text height (10-40 px, the height of "Hg" in its font),
one font (PIL's built-in scalable font, or DejaVu/Liberation, which `make` installs with
tesseract), a rotation of up to 5 degrees, Gaussian noise, and is stored as JPEG quality 50.
Words are drawn one at a time, so each planted word's box is the ink box PIL reports, moved
through the same rotation (the box of the rotated corners). Personal data (PERSON,
EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN, URL, LOCATION) is split into words, each
labelled with its entity type; filler words have type None.

Photos without text (no_text_photos) are the eval-data photos less those with text in them
(forest-copyright carries an overlay, a
VOC photo a "Puma" shirt), plus scikit-image's where installed.
"""

import argparse
import dataclasses
import io
import json
import math
import os
import pathlib
import random
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.documents import GROUNDS, INKS, WORDS, money
from evaluation.pii_corpus import _Values

EVAL_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "eval-data"
FONT_FILES = {
    "pil-default": None,
    "dejavu-sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "dejavu-serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "dejavu-mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "liberation-sans-bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "liberation-serif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
}
KINDS = ("receipt", "form", "letter", "business_card", "screenshot", "shipping_label", "sign")
HEIGHT_BANDS = ((10, 12), (12, 20), (20, 41))   # [low, high) px of "Hg"
JPEG_QUALITY = 50
MAX_ANGLE = 5.0
# Photos under eval-data with no text in them (forest-copyright has a drawn notice).
NO_TEXT_FOLDERS = ("faces", "image-dups/forest", "image-dups/office", "image-dups/orientation")
TEXT_FILES = ("image-dups/forest/forest-copyright.jpg", "faces/2008_002506.jpg")   # "Puma" shirt
SKIMAGE_PHOTOS = ("coffee", "chelsea", "camera", "immunohistochemistry")


@dataclasses.dataclass(frozen=True)
class PlantedWord:
    text: str
    box: Tuple[int, int, int, int]        # left, top, right, bottom in the stored image
    entity_type: Optional[str]            # None: a filler word


@dataclasses.dataclass(frozen=True)
class TextImage:
    name: str
    kind: str
    font: str
    text_height: int                      # px of "Hg" before rotation
    angle: float
    jpeg: bytes
    words: Tuple[PlantedWord, ...]


def available_fonts() -> List[str]:
    return [n for n, p in FONT_FILES.items() if p is None or os.path.isfile(p)]


def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_FILES[name]
    return ImageFont.load_default(size=size) if path is None else ImageFont.truetype(path, size)


def font_for_height(name: str, height: int) -> ImageFont.FreeTypeFont:
    """The font size whose "Hg" ink is closest to `height` px."""
    best = None
    for size in range(6, 64):
        left, top, right, bottom = load_font(name, size).getbbox("Hg")
        gap = abs((bottom - top) - height)
        if best is None or gap < best[0]:
            best = (gap, size)
    return load_font(name, best[1])


# A line is a list of (text, entity type) tokens; values with spaces become several words.
Token = Tuple[str, Optional[str]]


def _filler(rng, n) -> List[Token]:
    return [(rng.choice(WORDS), None) for _ in range(n)]


def _value(v) -> List[Token]:
    text, kind = v
    return [(w, kind) for w in text.split()]


def _lines(kind: str, rng: random.Random, pii: _Values) -> List[List[Token]]:
    person, phone, email = (lambda: _value(pii.person())), (lambda: _value(pii.phone())), \
        (lambda: _value(pii.email()))
    city = lambda: _value((pii._faker().city(), "LOCATION"))  # noqa: E731
    if kind == "receipt":
        lines = [_filler(rng, 2), [(str(rng.randint(1, 999)), None)] + _filler(rng, 2),
                 [("Tel", None)] + phone()]
        lines += [_filler(rng, rng.randint(1, 3)) + [(money(rng), None)]
                  for _ in range(rng.randint(3, 7))]
        lines += [[("TOTAL", None), (money(rng), None)], [("Card", None)] + _value(pii.credit_card()),
                  [("Served", None), ("by", None)] + _value(pii.first_name())]
    elif kind == "form":
        lines = [_filler(rng, 2) + [("FORM", None)], [("Name:", None)] + person(),
                 [("Email:", None)] + email(), [("Phone:", None)] + phone(),
                 [("SSN:", None)] + _value(pii.ssn()), [("City:", None)] + city()]
        lines += [_filler(rng, rng.randint(2, 5)) for _ in range(rng.randint(1, 3))]
    elif kind == "letter":
        lines = [person(), city(), [("Dear", None)] + person()]
        lines += [_filler(rng, rng.randint(4, 8)) for _ in range(rng.randint(2, 5))]
        lines += [[("Call", None)] + phone() + [("or", None), ("write", None), ("to", None)]
                  + email(), [("Sincerely,", None)], person()]
    elif kind == "business_card":
        lines = [person(), _filler(rng, 2), [("T", None)] + phone(), email(),
                 [(f"www.{rng.choice(WORDS)}{rng.choice(WORDS)}.com", "URL")]]
    elif kind == "screenshot":
        lines = [[("From:", None)] + person(), [("To:", None)] + email(),
                 [("Subject:", None)] + _filler(rng, 3)]
        lines += [_filler(rng, rng.randint(3, 8)) for _ in range(rng.randint(2, 5))]
        lines += [[("Reach", None), ("me", None), ("on", None)] + phone()]
    elif kind == "shipping_label":
        lines = [[("SHIP", None), ("TO:", None)], person(),
                 [(str(rng.randint(1, 999)), "LOCATION"),   # a street address, whole
                  (pii._faker().street_name().split()[0], "LOCATION"), ("Street", "LOCATION")],
                 city(), [("Phone", None)] + phone(),
                 [("TRACKING", None), (f"1Z{rng.randint(10**9, 10**10 - 1)}", None)]]
    elif kind == "sign":
        lines = [_filler(rng, rng.randint(1, 3)), [("Call", None)] + phone()]
        if rng.random() < 0.5:
            lines.append(email())
    else:
        raise ValueError(kind)
    return lines


def _backdrop(kind: str, rng: random.Random, size, photos: List[Image.Image]):
    if kind == "sign" and photos:
        photo = rng.choice(photos)
        return photo.resize(size, Image.Resampling.BILINEAR).convert("RGB")
    return Image.new("RGB", size, rng.choice(GROUNDS))


def _rotate_box(box, angle, src_size, dst_size) -> Tuple[int, int, int, int]:
    """The box of box's corners after Image.rotate(angle, expand=True) (counter-clockwise)."""
    (w, h), (W, H) = src_size, dst_size
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = x - w / 2, y - h / 2
        xs.append(W / 2 + dx * cos + dy * sin)
        ys.append(H / 2 - dx * sin + dy * cos)
    return (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))


def render(kind: str, rng: random.Random, pii: _Values, font_name: str, height: int,
           photos: List[Image.Image]) -> Tuple[Image.Image, List[PlantedWord], float]:
    font = font_for_height(font_name, height)
    lines = _lines(kind, rng, pii)
    space = font.getlength(" ")
    gap = int(height * rng.uniform(1.6, 2.2))
    margin = max(20, 2 * height)
    width = int(max(sum(font.getlength(t) + space for t, _ in line) for line in lines)) + 2 * margin
    width = max(width, rng.randint(300, 700))
    size = (width, margin * 2 + gap * len(lines))
    image = _backdrop(kind, rng, size, photos)
    draw = ImageDraw.Draw(image)
    ink = rng.choice(INKS)
    stroke = 0
    if kind == "sign":   # a plate behind the text, or white text with a dark outline
        if rng.random() < 0.6:
            plate = rng.choice(((250, 250, 245), (255, 220, 40), (20, 60, 140), (200, 30, 30)))
            draw.rectangle((margin // 2, margin // 2, size[0] - margin // 2, size[1] - margin // 2),
                           fill=plate)
            ink = (0, 0, 0) if sum(plate) > 450 else (255, 255, 255)
        else:
            ink, stroke = (255, 255, 255), max(1, height // 10)
    words: List[Tuple[str, Tuple[int, int, int, int], Optional[str]]] = []
    y = margin
    for line in lines:
        x = margin + (rng.randint(0, 2 * margin) if kind in ("business_card", "sign") else 0)
        for text, entity in line:
            draw.text((x, y), text, fill=ink, font=font, stroke_width=stroke,
                      stroke_fill=(0, 0, 0))
            words.append((text, draw.textbbox((x, y), text, font=font, stroke_width=stroke),
                          entity))
            x += font.getlength(text) + space
        y += gap
    angle = round(rng.uniform(-MAX_ANGLE, MAX_ANGLE), 1)
    rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                           fillcolor=image.getpixel((0, 0)))
    planted = [PlantedWord(t, _rotate_box(b, angle, image.size, rotated.size), e)
               for t, b, e in words]
    return rotated, planted, angle


def add_noise(image: Image.Image, rng: random.Random) -> Image.Image:
    sigma = rng.uniform(3, 12)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, sigma, (image.height, image.width, 1))
    pixels = np.asarray(image, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def sign_photos(eval_data=EVAL_DATA) -> List[Image.Image]:
    """Backdrops for signs: the no-text photos (eval-data, else scikit-image's)."""
    return [Image.open(io.BytesIO(b)).convert("RGB") for b in no_text_photos(eval_data).values()]


def generate(n_per_kind: int = 8, seed: int = 5, kinds=KINDS, eval_data=EVAL_DATA,
             heights: Optional[List[int]] = None) -> List[TextImage]:
    """n_per_kind images of each kind; heights cycle through the three bands."""
    fonts = available_fonts()
    photos = sign_photos(eval_data) if "sign" in kinds else []
    images = []
    for kind in kinds:
        for i in range(n_per_kind):
            rng = random.Random(f"{seed}/{kind}/{i}")
            pii = _Values(rng.randrange(2**31))
            low, high = HEIGHT_BANDS[i % len(HEIGHT_BANDS)]
            height = heights[i % len(heights)] if heights else rng.randrange(low, high)
            font_name = fonts[(i // len(HEIGHT_BANDS) + hash_kind(kind)) % len(fonts)]
            image, planted, angle = render(kind, rng, pii, font_name, height, photos)
            images.append(TextImage(f"{kind}-{i:03d}", kind, font_name, height, angle,
                                    jpeg(add_noise(image, rng)), tuple(planted)))
    return images


def hash_kind(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else 0


def no_text_photos(eval_data=EVAL_DATA) -> Dict[str, bytes]:
    """{name: bytes} of photos without text (see the module's docstring)."""
    photos = {}
    for folder in NO_TEXT_FOLDERS:
        path = pathlib.Path(eval_data) / folder
        for file in sorted(path.iterdir()) if path.is_dir() else []:
            name = f"{folder}/{file.name}"
            if file.suffix.lower() in (".jpg", ".jpeg", ".png") and name not in TEXT_FILES:
                photos[name] = file.read_bytes()
    try:
        from skimage import data
    except ImportError:
        return photos
    for name in SKIMAGE_PHOTOS:
        photos[f"skimage/{name}"] = jpeg(Image.fromarray(getattr(data, name)()), 90)
    return photos


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4, help="images per kind")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = []
    for item in generate(args.n, args.seed):
        (out / f"{item.name}.jpg").write_bytes(item.jpeg)
        labels.append({"name": item.name, "kind": item.kind, "font": item.font,
                       "text_height": item.text_height, "angle": item.angle,
                       "words": [dataclasses.asdict(w) for w in item.words]})
    (out / "labels.json").write_text(json.dumps(labels, indent=1))


if __name__ == "__main__":
    main()
