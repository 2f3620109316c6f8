"""A labelled set of product mockups: real photos with a product area filled by many designs.

    from evaluation.template_corpus import mockups, negatives

Each template is one photo the project may ship (scikit-image's public-domain and CC0
photos) with a fixed product area, rendered with ``designs`` procedurally drawn patterns
and captioned "<design name> <product>":
- tee:     the astronaut photo (Eileen Collins, NASA), the design on her suit's chest:
           a real person's face in the fixed area -> template_face
- mug:     the coffee photo, the design over the cup -> template_cluster
- poster:  the rocket photo, the design on a panel at the left -> template_cluster
- bandana: the cat photo (chelsea), the design over its chest -> template_cluster
- pillow:  a plain white canvas, the design in the middle -> no layout template (nothing
           in the fixed area), but still a caption template
Negatives: other photos with their own captions (../shared/eval-data/products when
present, and scikit-image's textures otherwise).
"""

import dataclasses
import io
import json
import os
import random
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

ADJECTIVES = ["Retro", "Floral", "Neon", "Vintage", "Cosmic", "Tropical", "Abstract", "Pastel",
              "Geometric", "Boho", "Minimal", "Grunge", "Solar", "Arctic", "Desert", "Ocean"]
NOUNS = ["Stripes", "Waves", "Dots", "Grid", "Bloom", "Sunset", "Swirl", "Mosaic", "Zigzag",
         "Checks", "Rings", "Bolt", "Petals", "Tiles", "Drift", "Prism"]


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    photo: Optional[str]                      # scikit-image photo, None: white canvas
    size: Tuple[int, int]                     # rendered width, height
    area: Tuple[float, float, float, float]   # product area: left, top, right, bottom (fractions)
    product: str
    expect: Optional[str]                     # template_face, template_cluster or None


TEMPLATES = (
    Template("tee", "astronaut", (512, 512), (0.27, 0.56, 0.66, 0.95), "Unisex T-Shirt",
             "template_face"),
    Template("mug", "coffee", (600, 400), (0.30, 0.22, 0.66, 0.70), "Coffee Mug",
             "template_cluster"),
    Template("poster", "rocket", (427, 640), (0.05, 0.10, 0.40, 0.55), "Art Poster",
             "template_cluster"),
    Template("bandana", "chelsea", (451, 300), (0.35, 0.60, 0.75, 0.98), "Pet Bandana",
             "template_cluster"),
    Template("pillow", None, (500, 500), (0.20, 0.20, 0.80, 0.80), "Throw Pillow", None),
)


def design(rng: random.Random, size: Tuple[int, int]) -> Image.Image:
    """One pattern: stripes, dots, checks or rings in 2-4 random colours."""
    w, h = size
    colours = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(rng.randint(2, 4))]
    image = Image.new("RGB", size, colours[0])
    draw = ImageDraw.Draw(image)
    kind, step = rng.choice(["stripes", "dots", "checks", "rings"]), rng.randint(8, 28)
    for i, x in enumerate(range(-h, w + h, step)):
        colour = colours[1 + i % (len(colours) - 1)]
        if kind == "stripes":
            draw.polygon([(x, 0), (x + step // 2, 0), (x + step // 2 + h, h), (x + h, h)], colour)
        elif kind == "dots":
            for y in range(0, h, step):
                draw.ellipse((x, y, x + step // 2, y + step // 2), colour)
        elif kind == "checks":
            for j, y in enumerate(range(0, h, step)):
                if (i + j) % 2:
                    draw.rectangle((x, y, x + step, y + step), colour)
        else:
            r = abs(x) + step
            draw.ellipse((w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r), outline=colour,
                         width=max(2, step // 3))
    return image


def base_photo(template: Template) -> Image.Image:
    if template.photo is None:
        return Image.new("RGB", template.size, (255, 255, 255))
    from skimage import data
    photo = Image.fromarray(getattr(data, template.photo)()).convert("RGB")
    return photo.resize(template.size, Image.Resampling.LANCZOS)


def render(template: Template, pattern: Image.Image) -> Image.Image:
    image = base_photo(template)
    w, h = image.size
    left, top, right, bottom = (int(round(f * s)) for f, s in zip(template.area, (w, h, w, h)))
    image.paste(pattern.resize((right - left, bottom - top)), (left, top))
    return image


def jpeg(image: Image.Image, quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def mockups(designs: int = 20, seed: int = 0, templates=TEMPLATES):
    """[(key, jpeg bytes, caption, template name)]: every template with ``designs``
    designs (the same design names across templates, as one shop sells one design on
    every product)."""
    rng = random.Random(seed)
    names = rng.sample([f"{a} {n}" for a in ADJECTIVES for n in NOUNS], designs)
    patterns = [design(random.Random(seed * 1000 + i), (256, 256)) for i in range(designs)]
    rows = []
    for template in templates:
        for i, (name, pattern) in enumerate(zip(names, patterns)):
            rows.append((f"{template.name}-{i:03d}", jpeg(render(template, pattern)),
                         f"{name} {template.product}", template.name))
    return rows


def negatives(folder: str = os.path.join("..", "shared", "eval-data", "products")):
    """[(key, jpeg bytes, caption, None)]: product photos and their names, or scikit-image
    photos with made-up captions when the shared set is absent."""
    rows = []
    saleor = os.path.join(folder, "saleor")
    names = {}
    listing = os.path.join(saleor, "populatedb_data.json")
    if os.path.isfile(listing):
        for item in json.load(open(listing)):
            fields = item.get("fields", {})
            if isinstance(fields, dict) and "name" in fields:
                names[str(item.get("pk"))] = fields["name"]
    if os.path.isdir(saleor):
        for i, file in enumerate(sorted(f for f in os.listdir(saleor) if f.endswith(".jpg"))):
            caption = names.get(file.split("-")[0]) or file.rsplit(".", 1)[0].replace("-", " ")
            rows.append((f"neg-{i:03d}", open(os.path.join(saleor, file), "rb").read(),
                         caption, None))
        return rows
    from skimage import data
    for i, name in enumerate(["brick", "grass", "gravel", "camera", "moon", "page", "horse",
                              "clock", "hubble_deep_field", "immunohistochemistry"]):
        image = Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")
        rows.append((f"neg-{i:03d}", jpeg(image), f"A photo of {name.replace('_', ' ')}", None))
    return rows


def labels(rows) -> List[Tuple[str, Optional[str]]]:
    return [(key, template) for key, _, _, template in rows]
