"""Distinct rendered documents (text on a light ground), for the near-duplicate image checks.

Deterministic: document i of a kind is drawn from random.Random(seed, kind, i), with PIL's
built-in scalable font (ImageFont.load_default(size=...), nothing read from the system or
the network). Kinds: receipts, letters, forms, invoices, screenshots of text and code,
slides with diagrams, on white, near-white, cream and light grey grounds. Documents of one
kind share their layout and differ in their text (and in the lengths it gives), which is
what made distinct receipts and letters fall within pHash's radius of each other.
"""

import random
from typing import Callable, Dict, List, Tuple

from PIL import Image, ImageDraw, ImageFont

GROUNDS = [(255, 255, 255), (252, 252, 250), (250, 248, 240), (245, 245, 245),
           (248, 250, 252), (255, 253, 245), (240, 240, 238)]
INKS = [(0, 0, 0), (30, 30, 30), (20, 30, 60), (60, 60, 60)]
WORDS = ("account amount balance bank billing box card cash city client code coffee "
         "company contract credit customer date delivery deposit description discount due "
         "email fee file form free garden hotel invoice item kitchen letter line lunch market "
         "meeting member milk monthly name note number office order page paid paper parcel "
         "payment period phone plan price product quantity rate receipt reference refund "
         "report rent room sale service shop sign station store street subtotal supply tax "
         "ticket total transfer travel unit value water week yearly your dear regards "
         "sincerely thank please kindly attached following request regarding project "
         "schedule review update meeting team quarter results budget forecast").split()
CODE = ("def class return import from for in if else elif while with as try except raise "
        "yield lambda None True False self print len range open list dict").split()

_fonts: Dict[int, ImageFont.FreeTypeFont] = {}


def font(size: int) -> ImageFont.FreeTypeFont:
    if size not in _fonts:
        _fonts[size] = ImageFont.load_default(size=size)
    return _fonts[size]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def money(rng: random.Random) -> str:
    return f"{rng.randint(0, 999)}.{rng.randint(0, 99):02d}"


def _page(rng, size) -> Tuple[Image.Image, ImageDraw.ImageDraw, tuple]:
    image = Image.new("RGB", size, rng.choice(GROUNDS))
    return image, ImageDraw.Draw(image), rng.choice(INKS)


def receipt(rng: random.Random) -> Image.Image:
    width = rng.choice((360, 384, 420))
    lines = rng.randint(8, 22)
    image, draw, ink = _page(rng, (width, 260 + 26 * lines + 120))
    fs = rng.choice((15, 16, 18))
    y = 24
    draw.text((width // 2, y), words(rng, 2).upper(), fill=ink, font=font(fs + 8), anchor="mt")
    y += 40
    for text in (f"{rng.randint(1, 999)} {words(rng, 2)} street",
                 f"tel {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                 f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(10, 26)} "
                 f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"):
        draw.text((width // 2, y), text, fill=ink, font=font(fs), anchor="mt")
        y += 24
    y += 12
    draw.line((16, y, width - 16, y), fill=ink, width=1)
    y += 12
    for _ in range(lines):
        draw.text((20, y), f"{rng.randint(1, 5)} {words(rng, rng.randint(1, 3))}", fill=ink,
                  font=font(fs))
        draw.text((width - 20, y), money(rng), fill=ink, font=font(fs), anchor="ra")
        y += 26
    draw.line((16, y + 4, width - 16, y + 4), fill=ink, width=1)
    y += 16
    for label in ("SUBTOTAL", "TAX", "TOTAL"):
        draw.text((20, y), label, fill=ink, font=font(fs + (4 if label == "TOTAL" else 0)))
        draw.text((width - 20, y), money(rng), fill=ink, font=font(fs), anchor="ra")
        y += 28
    draw.text((width // 2, y + 14), words(rng, 4), fill=ink, font=font(fs - 2), anchor="mt")
    return image


def _paragraphs(draw, rng, x, y, width_chars, lines, fs, ink, gap):
    for _ in range(lines):
        if rng.random() < 0.12:
            y += gap   # a blank line between paragraphs
            continue
        text = words(rng, rng.randint(max(3, width_chars // 8), width_chars // 6))
        draw.text((x, y), text, fill=ink, font=font(fs))
        y += gap
    return y


def letter(rng: random.Random) -> Image.Image:
    image, draw, ink = _page(rng, (850, 1100))
    fs = rng.choice((14, 15, 16, 18))
    x = rng.choice((70, 90, 100))
    y = rng.randint(60, 110)
    draw.text((x, y), words(rng, 2).title(), fill=ink, font=font(fs + 10))
    y += 44
    for _ in range(3):
        draw.text((x, y), f"{rng.randint(1, 999)} {words(rng, 2).title()}", fill=ink,
                  font=font(fs))
        y += fs + 8
    y += 30
    draw.text((x, y), f"Dear {words(rng, 1).title()} {words(rng, 1).title()},", fill=ink,
              font=font(fs))
    y += 40
    y = _paragraphs(draw, rng, x, y, 70, rng.randint(12, 34), fs, ink, fs + 10)
    draw.text((x, y + 30), "Sincerely,", fill=ink, font=font(fs))
    draw.text((x, y + 60), words(rng, 2).title(), fill=ink, font=font(fs))
    return image


def form(rng: random.Random) -> Image.Image:
    image, draw, ink = _page(rng, (850, 1100))
    fs = rng.choice((14, 16, 18))
    draw.text((60, 50), words(rng, 3).upper() + " FORM", fill=ink, font=font(fs + 10))
    y = 120
    fields = rng.randint(8, 18)
    for _ in range(fields):
        label = words(rng, rng.randint(1, 3)).title()
        draw.text((60, y), label, fill=ink, font=font(fs))
        box = (300, y - 6, 790, y + fs + 10)
        draw.rectangle(box, outline=ink, width=1)
        if rng.random() < 0.7:   # filled in
            draw.text((310, y), words(rng, rng.randint(1, 4)), fill=(20, 40, 120),
                      font=font(fs))
        y += fs + 34
    for i in range(rng.randint(2, 5)):
        draw.rectangle((60, y, 60 + fs, y + fs), outline=ink, width=1)
        if rng.random() < 0.5:
            draw.line((60, y, 60 + fs, y + fs), fill=ink, width=2)
        draw.text((60 + fs + 12, y), words(rng, rng.randint(2, 6)), fill=ink, font=font(fs))
        y += fs + 20
    draw.line((60, 1010, 400, 1010), fill=ink, width=1)
    draw.text((60, 1020), "Signature", fill=ink, font=font(fs - 2))
    return image


def invoice(rng: random.Random) -> Image.Image:
    image, draw, ink = _page(rng, (850, 1100))
    fs = rng.choice((13, 14, 16))
    draw.text((60, 50), words(rng, 2).title(), fill=ink, font=font(fs + 12))
    draw.text((790, 50), "INVOICE", fill=ink, font=font(fs + 14), anchor="ra")
    draw.text((790, 90), f"No. {rng.randint(1000, 99999)}", fill=ink, font=font(fs),
              anchor="ra")
    y = 150
    for _ in range(4):
        draw.text((60, y), words(rng, rng.randint(2, 4)).title(), fill=ink, font=font(fs))
        y += fs + 8
    y += 30
    header = rng.choice(((230, 230, 230), (220, 228, 240), ink))
    draw.rectangle((60, y, 790, y + fs + 14), fill=header)
    text_on_header = (255, 255, 255) if header == ink else ink
    for x, label in ((70, "Description"), (480, "Qty"), (580, "Unit"), (780, "Amount")):
        draw.text((x, y + 6), label, fill=text_on_header, font=font(fs),
                  anchor="ra" if x == 780 else "la")
    y += fs + 24
    for _ in range(rng.randint(3, 16)):
        draw.text((70, y), words(rng, rng.randint(2, 5)), fill=ink, font=font(fs))
        draw.text((480, y), str(rng.randint(1, 20)), fill=ink, font=font(fs))
        draw.text((580, y), money(rng), fill=ink, font=font(fs))
        draw.text((780, y), money(rng), fill=ink, font=font(fs), anchor="ra")
        y += fs + 14
        draw.line((60, y - 6, 790, y - 6), fill=(200, 200, 200), width=1)
    y += 10
    for label in ("Subtotal", "Tax", "Total due"):
        draw.text((580, y), label, fill=ink, font=font(fs))
        draw.text((780, y), money(rng), fill=ink, font=font(fs), anchor="ra")
        y += fs + 12
    draw.text((60, 1040), words(rng, 8), fill=ink, font=font(fs - 2))
    return image


def screenshot(rng: random.Random) -> Image.Image:
    """A window of text or code: title bar, an optional line-number gutter, lines."""
    image, draw, ink = _page(rng, rng.choice(((1280, 800), (1024, 768), (1366, 768))))
    width, height = image.size
    bar = rng.choice(((225, 225, 225), (236, 236, 236), (60, 60, 60)))
    draw.rectangle((0, 0, width, 36), fill=bar)
    draw.text((width // 2, 10), words(rng, 2) + ".py", fill=(0, 0, 0) if sum(bar) > 400
              else (255, 255, 255), font=font(15), anchor="mt")
    fs = rng.choice((14, 15, 16))
    code = rng.random() < 0.6
    gutter = 60 if code else 0
    if code:
        draw.rectangle((0, 36, gutter - 10, height), fill=(238, 238, 238))
    y, indent = 50, 0
    palette = [ink, (0, 0, 160), (160, 0, 0), (0, 120, 0), (120, 0, 120)]
    for n in range((height - 60) // (fs + 8)):
        if code:
            draw.text((gutter - 18, y), str(n + 1), fill=(150, 150, 150), font=font(fs),
                      anchor="ra")
            indent = max(0, min(4, indent + rng.choice((-1, 0, 0, 1))))
            if rng.random() < 0.1:
                y += fs + 8
                continue
            x = gutter + 10 + indent * 4 * fs // 2
            for token in [rng.choice(CODE)] + [rng.choice(WORDS) for _ in range(rng.randint(1, 6))]:
                draw.text((x, y), token, fill=rng.choice(palette), font=font(fs))
                x += font(fs).getlength(token + " ")
                if x > width - 40:
                    break
        else:
            draw.text((20, y), words(rng, rng.randint(4, 18)), fill=ink, font=font(fs))
        y += fs + 8
    return image


def slide(rng: random.Random) -> Image.Image:
    """A slide: a title, bullets or a diagram of labelled boxes joined by arrows."""
    image, draw, ink = _page(rng, rng.choice(((1280, 720), (1024, 768))))
    width, height = image.size
    accent = rng.choice(((30, 80, 160), (200, 80, 30), (40, 130, 70), (90, 90, 90)))
    draw.rectangle((0, 0, width, rng.choice((8, 12, 90))), fill=accent)
    draw.text((60, 110), words(rng, rng.randint(2, 5)).title(), fill=ink, font=font(40))
    if rng.random() < 0.5:
        y = 200
        for _ in range(rng.randint(3, 7)):
            draw.ellipse((70, y + 8, 82, y + 20), fill=accent)
            draw.text((100, y), words(rng, rng.randint(3, 9)), fill=ink, font=font(26))
            y += 60
    else:
        boxes = rng.randint(2, 5)
        centres = []
        for i in range(boxes):
            cx = 80 + (width - 160) * (i + 0.5) / boxes + rng.randint(-30, 30)
            cy = rng.randint(260, height - 160)
            w, h = rng.randint(120, 180), rng.randint(60, 110)
            draw.rectangle((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), outline=accent,
                           width=3)
            draw.text((cx, cy), words(rng, 1), fill=ink, font=font(22), anchor="mm")
            centres.append((cx, cy, w))
        for (x1, y1, w1), (x2, y2, w2) in zip(centres, centres[1:]):
            draw.line((x1 + w1 / 2, y1, x2 - w2 / 2, y2), fill=ink, width=2)
            draw.polygon([(x2 - w2 / 2, y2), (x2 - w2 / 2 - 12, y2 - 7),
                          (x2 - w2 / 2 - 12, y2 + 7)], fill=ink)
    draw.text((width - 40, height - 40), str(rng.randint(2, 40)), fill=(120, 120, 120),
              font=font(18), anchor="ra")
    return image


KINDS: Dict[str, Callable[[random.Random], Image.Image]] = {
    "receipt": receipt, "letter": letter, "form": form, "invoice": invoice,
    "screenshot": screenshot, "slide": slide,
}


def documents(per_kind: int, seed: int = 20) -> List[Tuple[str, str, Image.Image]]:
    """(kind, name, image) for per_kind distinct documents of every kind."""
    out = []
    for kind, draw in KINDS.items():
        for i in range(per_kind):
            rng = random.Random(f"{seed}/{kind}/{i}")
            out.append((kind, f"{kind}-{i:03d}", draw(rng)))
    return out
