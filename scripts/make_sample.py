"""Build the bundled sample corpus under sample/ (deterministic; rerun to regenerate).

Material: text this script writes itself, photos that scikit-image ships under
CC0 or in the public domain (astronaut, rocket: NASA/SpaceX public domain;
camera, coffee, chelsea, clock, brick, grass, gravel: CC0), and Grace Hopper's
official US Navy portrait (tests/data/grace_hopper.jpg, from Wikimedia Commons
File:Grace_Hopper.jpg: a work of the US federal government, public domain). The
corpus holds every input format, exact duplicates, broken records, and a small
shop of T-shirt mockups (one fixed photo of a real person, one flat-lay without
anyone, one caption template, one person in many records), so the demo shows
each stage at work.

    pip install -e '.[sample]' && python scripts/make_sample.py
"""

import argparse
import csv
import gzip
import io
import json
import random
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the mockups' designs come from evaluation/template_corpus.py

PHOTOS = ("astronaut", "rocket", "camera", "coffee", "chelsea", "clock", "brick", "grass", "gravel")

SENTENCES = [
    "The river rose after three days of rain and the ferry stopped running at noon.",
    "Our bakery opens at seven, and the rye loaf sells out before nine most mornings.",
    "A good sourdough starter needs flour, water, patience and a warm kitchen.",
    "The council voted to repaint the footbridge in the same green it wore in 1950.",
    "Volunteers counted forty-two species of birds along the marsh trail this spring.",
    "Tomatoes planted against a south wall ripen two weeks earlier than those in the open.",
    "The library extended its hours during exam season and added a quiet room upstairs.",
    "Cyclists asked for a painted lane on the hill road after two near misses in March.",
    "Compilers turn source code into machine code, and linkers stitch the pieces together.",
    "A hash table trades memory for speed by spreading keys across many buckets.",
    "Unit tests that cannot fail give a team confidence it has not earned.",
    "The night train leaves at ten and reaches the coast a little after sunrise.",
    "Wool dries slowly but keeps a walker warm even when it is soaked through.",
    "The museum's new wing shows maps drawn by hand before satellites existed.",
    "Bees prefer blue and purple flowers, which is why lavender hums all July.",
    "A lighthouse keeper once wound the lamp's clockwork every four hours through the night.",
    "Fresh snow reflects most of the sunlight that falls on it, so skiers wear dark glasses.",
    "The orchestra tuned to the oboe, as orchestras have done for three centuries.",
    "Granite cools slowly deep underground, which is why its crystals grow large.",
    "A well-kept ledger lets a small shop see which weeks pay the rent.",
    "The school garden grew enough squash this year to feed the canteen for a month.",
    "Pilots call the wind over the ridge rotor, and they give it a wide berth.",
    "Most of a cloud's weight is water, yet it floats because the droplets are tiny.",
    "The recipe calls for two eggs, but one egg and a spoon of yoghurt works as well.",
    "Old maps mark the ford where drovers crossed the river with their cattle.",
    "The chess club meets on Thursdays, and beginners play the first hour free.",
    "Rain gardens slow storm water down and let it soak into the ground.",
    "A violin's top is spruce and its back is maple, carved thin by hand.",
    "The harbour wall was rebuilt with the same stones after the winter storm.",
    "Sparrows nest under the station roof and quarrel over crumbs at the café tables.",
]
CAPTIONS = {
    "astronaut": "An astronaut in a white suit poses in front of a flag",
    "rocket": "A rocket stands on the launch pad before lift-off",
    "camera": "A photographer with a tripod camera in a park",
    "coffee": "A cup of coffee on a saucer, seen from above",
    "chelsea": "A tabby cat looks to the side",
    "clock": "A wall clock photographed at an angle",
    "brick": "A close-up texture of a red brick wall",
    "grass": "A close-up texture of green grass",
    "gravel": "A close-up texture of grey gravel",
}


def photo(name: str, size: int = 256) -> Image.Image:
    import skimage.data

    array = getattr(skimage.data, name)()
    image = Image.fromarray(array).convert("RGB")
    image.thumbnail((size, size))
    return image


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def documents(rng: random.Random, count: int):
    for index in range(count):
        sentences = rng.sample(SENTENCES, rng.randint(3, 7))
        yield {"id": f"doc-{index:04d}", "text": " ".join(sentences),
               "url": f"https://example.org/post/{index}", "lang": "en"}


def jsonl_bytes(rows, extra_lines=()) -> bytes:
    lines = [json.dumps(row, ensure_ascii=False).encode("utf-8") for row in rows]
    return b"\n".join(lines + list(extra_lines)) + b"\n"


def write_text(root: Path, rng: random.Random) -> None:
    docs = list(documents(rng, 60))
    # Exact duplicates: a verbatim copy, and copies that differ only in case,
    # whitespace and Unicode compatibility forms (NFKC folds full-width letters).
    copy = dict(docs[3], id="doc-dup-verbatim")
    shouty = dict(docs[5], id="doc-dup-case", text="  " + docs[5]["text"].upper().replace(" ", "   "))
    wide = dict(docs[7], id="doc-dup-fullwidth",
                text=docs[7]["text"].replace("The", "\uff34\uff48\uff45"))
    # Near duplicates: the longest document with one word changed, and with a line appended.
    longest = max(docs, key=lambda d: len(d["text"]))
    words = longest["text"].split()
    words[len(words) // 2] = "indeed"
    edited = dict(longest, id="doc-near-edited", text=" ".join(words))
    appended = dict(longest, id="doc-near-appended", text=longest["text"] + " Read more below.")
    broken = [
        b'{"id": "bad-json", "text": "an unterminated string}',
        b'{"id": "bad-utf8", "text": "caf\xe9 au lait"}',
        b'{"id": "empty", "text": ""}',
        b'{"id": "blank", "text": "   \\n\\t  "}',
        b'{"id": "no-text", "body": "the text sits under another field"}',
        b'["a JSON array", "not an object"]',
        json.dumps({"id": "too-long", "text": " ".join(SENTENCES) * 10}).encode(),
    ]
    (root / "text").mkdir(parents=True)
    (root / "text" / "blog-000.jsonl").write_bytes(jsonl_bytes(docs[:30] + [copy, shouty], broken))
    with gzip.GzipFile(root / "text" / "blog-001.jsonl.gz", "wb", mtime=0) as f:
        f.write(jsonl_bytes(docs[30:45] + [wide]))
    (root / "text" / "blog-002.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor(level=10).compress(jsonl_bytes(docs[45:] + [edited, appended])))
    table = pa.table({"id": [f"news-{i:03d}" for i in range(20)],
                      "text": [" ".join(rng.sample(SENTENCES, 4)) for _ in range(20)],
                      "section": ["local"] * 20})
    pq.write_table(table, root / "text" / "news-000.parquet")


def write_pii(root: Path) -> None:
    """Support tickets with personal data and secrets: every one made up for the sample."""
    contacts = "\n".join(f"{name} <{name.lower()}@example.com>, +1 202 555 01{i:02d}"
                         for i, name in enumerate(["Ava", "Ben", "Cleo", "Dan", "Eli", "Fay",
                                                   "Gus", "Hana", "Ivo", "Jon", "Kai", "Lea",
                                                   "Mo", "Nia", "Oto", "Pia"] * 2))
    tickets = [
        ("ticket-001", "Hi, this is Maria Lopez from the corner bakery. Our order of rye flour "
                       "is late again; write to maria.lopez@example.com or to our public "
                       "address help@example.org, or call me on +1 415 867 5309."),
        ("ticket-002", "Deploy notes for the staging box:\n[default]\n"
                       "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                       "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
        ("ticket-003", "New hire paperwork for Tom Baker: SSN 536-22-1425, start date Monday."),
        ("ticket-004", "Please charge the card on file, Visa 4111 1111 1111 1111, for the "
                       "renewal, and send the receipt to the office."),
        ("ticket-005", "Export of the newsletter list, do not share:\n" + contacts),
        ("ticket-006", "The ferry timetable changes on the first of the month; the 7:40 "
                       "departure moves to 7:55."),
    ]
    (root / "text" / "support-000.jsonl").write_bytes(
        jsonl_bytes([{"id": key, "text": text, "lang": "en"} for key, text in tickets]))


def write_image_text(root: Path) -> None:
    photos = {name: photo(name) for name in PHOTOS}
    jpeg = {name: encode(image, "JPEG", quality=90) for name, image in photos.items()}
    shards = root / "image_text"
    shards.mkdir(parents=True)

    members = []
    for index, name in enumerate(PHOTOS[:6]):
        key = f"{index:09d}"
        members += [(f"{key}.jpg", jpeg[name]), (f"{key}.txt", CAPTIONS[name].encode()),
                    (f"{key}.json", json.dumps({"key": key, "caption": CAPTIONS[name],
                                                "url": f"https://example.org/{name}.jpg"}).encode())]
    # A pixel-identical re-encode (decoded JPEG saved as PNG) under another caption.
    members += [("000000100.png", encode(Image.open(io.BytesIO(jpeg["coffee"])), "PNG")),
                ("000000100.txt", b"Morning espresso, top view")]
    members += [("000000101.jpg", jpeg["clock"][: len(jpeg["clock"]) // 2]),  # truncated
                ("000000101.txt", b"A clock, cut off halfway through the file")]
    members += [("000000102.jpg", b"<html>403 Forbidden</html>"),  # a scraper's error page
                ("000000102.txt", b"What the server sent instead of an image")]
    members += [("000000103.jpg", jpeg["grass"])]  # no caption
    members += [("../000000104.jpg", jpeg["brick"]), ("README", b"not a sample")]  # odd names
    write_tar(shards / "shard-00000.tar", members)

    # img2dataset's parquet output: the image bytes in a "jpg" column.
    rows = [("000001000", CAPTIONS["gravel"], jpeg["gravel"], "success"),
            ("000001001", CAPTIONS["brick"], jpeg["brick"], "success"),
            ("000001002", "An astronaut, again", jpeg["astronaut"], "success"),  # byte-identical
            ("000001003", "A broken link", None, "failed_to_download")]
    pq.write_table(pa.table({
        "key": [r[0] for r in rows], "caption": [r[1] for r in rows],
        "jpg": pa.array([r[2] for r in rows], pa.binary()), "status": [r[3] for r in rows],
        "url": [f"https://example.org/p/{r[0]}.jpg" for r in rows]}),
        shards / "pairs-000.parquet")


# The mockup shop: one T-shirt line rendered into two fixed photos, captioned from one
# template ("<design> Unisex T-Shirt"), the risk the template stages exist for (README,
# "Caption templates"). Polygons are fractions of the width and height.
HOPPER = ROOT / "tests" / "data" / "grace_hopper.jpg"
MODEL_SIZE = (320, 375)    # her face ~117 px: at least faces.encode_min_face (80), so encoded
MODEL_SHIRT = [(0.0, 0.74), (0.16, 0.62), (0.36, 0.57), (0.5, 0.66), (0.64, 0.57),
               (0.84, 0.62), (1.0, 0.74), (1.0, 1.0), (0.0, 1.0)]
FLAT_SIZE = (320, 320)     # a shirt laid on a brick floor: no face in the fixed area
FLAT_SHIRT = [(0.40, 0.14), (0.27, 0.19), (0.08, 0.36), (0.18, 0.47), (0.30, 0.38),
              (0.30, 0.90), (0.70, 0.90), (0.70, 0.38), (0.82, 0.47), (0.92, 0.36),
              (0.73, 0.19), (0.60, 0.14), (0.50, 0.21)]
MODEL_DESIGNS, FLAT_DESIGNS = 8, 6


def hopper(size) -> Image.Image:
    return Image.open(HOPPER).convert("RGB").resize(size, Image.Resampling.LANCZOS)


def wear(base: Image.Image, shirt, pattern: Image.Image) -> Image.Image:
    """The base photo with the shirt polygon filled by the pattern."""
    w, h = base.size
    mask = Image.new("L", base.size, 0)
    ImageDraw.Draw(mask).polygon([(x * w, y * h) for x, y in shirt], 255)
    image = base.copy()
    image.paste(pattern.resize(base.size, Image.Resampling.LANCZOS), (0, 0), mask)
    return image


def shop_designs(model: Image.Image, flat: Image.Image, count: int):
    """[(name, pattern)]: bold designs (evaluation/template_corpus.py's patterns drawn at 96
    px, enlarged) whose mockups are pairwise more than pHash's near-duplicate radius (8 of
    64 bits) apart, on both photos. With fine patterns over a fixed photo that fills most of
    the picture, pHash links mockups too; these show the layout stage finding what pHash
    does not (README, "Layout templates")."""
    from detectors.phash import hamming, phash
    from evaluation.template_corpus import ADJECTIVES, NOUNS, design

    def hashes(pattern):
        return [phash(Image.open(io.BytesIO(encode(wear(base, shirt, pattern), "JPEG",
                                                   quality=80))))
                for base, shirt in ((model, MODEL_SHIRT), (flat, FLAT_SHIRT))]

    names = random.Random(20261122).sample([f"{a} {n}" for a in ADJECTIVES for n in NOUNS], count)
    chosen, seen = [], []
    for seed in range(1000):
        pattern = design(random.Random(seed), (96, 96))
        mine = hashes(pattern)
        if all(hamming(a, b) > 8 for other in seen for a, b in zip(mine, other)):
            chosen.append(pattern)
            seen.append(mine)
            if len(chosen) == count:
                return list(zip(names, chosen))
    raise RuntimeError("not enough distinct designs")


def slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def write_mockups(root: Path) -> None:
    """A WebDataset shard of the shop's mockups: every design on a real person (Grace
    Hopper's portrait: template_face, and her face in 8 records: repeated_identity) and most
    on a flat-lay (template_cluster: the first 3 kept, flagged), all captioned "<design>
    Unisex T-Shirt" (caption_template, a flag)."""
    model, flat = hopper(MODEL_SIZE), photo("brick", 512).resize(FLAT_SIZE, Image.Resampling.LANCZOS)
    members = []
    for index, (name, pattern) in enumerate(shop_designs(model, flat, MODEL_DESIGNS)):
        caption = f"{name} Unisex T-Shirt"
        for shot, base, shirt, designs in (("model", model, MODEL_SHIRT, MODEL_DESIGNS),
                                           ("flat", flat, FLAT_SHIRT, FLAT_DESIGNS)):
            if index >= designs:
                continue
            key = f"tee-{shot}-{slug(name)}"
            members += [(f"{key}.jpg", encode(wear(base, shirt, pattern), "JPEG", quality=80)),
                        (f"{key}.txt", caption.encode()),
                        (f"{key}.json", json.dumps({
                            "key": key, "caption": caption,
                            "url": f"https://shop.example.com/{slug(name)}/unisex-t-shirt-{shot}.jpg"
                        }).encode())]
    write_tar(root / "image_text" / "shard-00001.tar", members)


def write_tar(path: Path, members) -> None:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans"   # fonts-dejavu-core (make installs it)


def business_card() -> Image.Image:
    """A scanned business card with a made-up name, phone number and e-mail address printed
    on it, for the OCR stage to cover (the caption says none of them)."""
    card = Image.new("RGB", (640, 360), (247, 244, 236))
    draw = ImageDraw.Draw(card)
    bold = ImageFont.truetype(f"{DEJAVU}-Bold.ttf", 34)
    plain = ImageFont.truetype(f"{DEJAVU}.ttf", 24)
    draw.text((40, 50), "Marta Kowalski", font=bold, fill=(20, 30, 60))
    draw.text((40, 100), "Head of Procurement", font=plain, fill=(70, 70, 70))
    draw.text((40, 200), "Tel. +1 (415) 555-0142", font=plain, fill=(20, 20, 20))
    draw.text((40, 240), "marta.kowalski@example.com", font=plain, fill=(20, 20, 20))
    draw.rectangle((0, 330, 640, 360), fill=(30, 60, 120))
    return card.rotate(2, expand=True, fillcolor=(90, 90, 90))


def write_image_folder(root: Path) -> None:
    folder = root / "image_folder"
    (folder / "shop").mkdir(parents=True)
    chelsea, camera = photo("chelsea"), photo("camera")
    (folder / "shop" / "cat.png").write_bytes(encode(chelsea, "PNG"))
    (folder / "shop" / "camera.webp").write_bytes(encode(camera, "WEBP", lossless=True))
    (folder / "shop" / "empty.jpg").write_bytes(b"")
    (folder / "depth.tif").write_bytes(
        encode(Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)), "TIFF"))
    (folder / "bomb.png").write_bytes(encode(Image.new("1", (12_000, 12_000)), "PNG", optimize=True))
    (folder / "uncaptioned.jpg").write_bytes(encode(photo("rocket"), "JPEG", quality=85))
    # The shop's model in a press photo too: one person in a plain photo and in the mockups.
    (folder / "press").mkdir()
    (folder / "press" / "grace-hopper.jpg").write_bytes(
        encode(hopper((273, 320)), "JPEG", quality=85))
    (folder / "press" / "business-card.jpg").write_bytes(encode(business_card(), "JPEG",
                                                                quality=85))
    with open(folder / "captions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "caption", "license"])
        writer.writerow(["shop/cat.png", "A tabby cat, product shot by Ana Silva "
                                         "(ana.silva@example.com)", "CC0"])
        writer.writerow(["shop/camera.webp", "A photographer with a camera,\non two lines", "CC0"])
        writer.writerow(["press/grace-hopper.jpg", "Rear Admiral Grace Hopper in uniform, "
                                                   "official US Navy portrait", "public domain"])
        writer.writerow(["press/business-card.jpg", "A business card from the trade fair, "
                                                    "scanned", "CC0"])
        writer.writerow(["shop/empty.jpg", "An image that never finished uploading", "CC0"])
        writer.writerow(["depth.tif", "A depth map, not a photo", "CC0"])
        writer.writerow(["bomb.png", "A tiny file that decodes to 144 million pixels", "CC0"])
        writer.writerow(["missing.jpg", "A caption whose image is gone", "CC0"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(Path(__file__).resolve().parent.parent / "sample"))
    dest = Path(parser.parse_args().dest)
    if dest.exists():
        shutil.rmtree(dest)
    rng = random.Random(20261122)
    write_text(dest, rng)
    write_pii(dest)
    write_image_text(dest)
    write_mockups(dest)
    write_image_folder(dest)
    (dest / "policy.yaml").write_text(POLICY)
    print(f"sample written to {dest}")


POLICY = """\
# Policy for the bundled sample: the defaults, with caps small enough that the
# sample's long document and its 144-megapixel PNG show the checks at work.
input:
  max_text_chars: 20000
  max_image_pixels: 50000000
exact_dedup:
  text: true
  images: true
pii:
  allow_list: [help@example.org]   # a public support address is not personal data
"""

if __name__ == "__main__":
    main()
