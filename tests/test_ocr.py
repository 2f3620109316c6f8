"""OCR engine (detectors/ocr.py) and text-presence test (detectors/text_presence.py), on the
real engines (`make` installs tesseract and the rapidocr-onnxruntime wheel) and small
generated images."""

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from detectors.ocr import (OcrError, OcrWord, TesseractReader, overlap, page_scale, region_reads,
                          unread)
from detectors.line_recognizer import LineRecognizer, decode, words as line_words
from detectors.text_presence import TextPresence

PHONE = ("415-555-0132", "(212)", "555-0199")


@pytest.fixture(scope="module")
def reader():
    return TesseractReader(time_limit_s=20)


@pytest.fixture(scope="module")
def presence():
    return TextPresence()


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def card(rotation: float = 0.0) -> tuple:
    """A business card in PIL's own font, 16 px, JPEG q50: image, {word: drawn box}."""
    image = Image.new("RGB", (520, 200), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22)
    boxes = {}
    x = 30
    for word in ("Phone:",) + PHONE:
        draw.text((x, 60), word, fill=(20, 20, 20), font=font)
        boxes[word] = draw.textbbox((x, 60), word, font=font)
        x += font.getlength(word + " ")
    draw.text((30, 120), "Ask for the manager on duty", fill=(20, 20, 20), font=font)
    if rotation:   # small enough that the drawn boxes still overlap the words
        image = image.rotate(rotation, resample=Image.Resampling.BICUBIC,
                             fillcolor=(250, 248, 240))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=50)
    return Image.open(io.BytesIO(out.getvalue())), boxes


@pytest.mark.parametrize("rotation", [0.0, 2.0])
def test_planted_phone_number_is_read_where_it_was_drawn(reader, rotation):
    image, boxes = card(rotation)
    result = reader.read(image)
    assert result.error is None
    assert all(isinstance(w, OcrWord) and all(isinstance(v, int) for v in w.box)
               and 0 <= w.confidence <= 1 for w in result.words)
    # Each part of the number read where it was drawn: the OCR words over its drawn box hold
    # its digits (at 2 degrees tesseract splits "(212)" into "(21" and "2)").
    for word in PHONE:
        over = [w for w in result.words if overlaps(w.box, boxes[word])]
        read = "".join(digits(w.text) for w in over)
        assert digits(word) in read, (word, boxes[word], over)
    assert "".join(digits(w.text) for w in result.words).count(
        "".join(digits(w) for w in PHONE)) == 1


SIGN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
INK = (40, 155, 295, 175)   # the ink box of the sign's line (PIL's textbbox)


def busy_sign() -> Image.Image:
    """A line of text over a busy picture (blurred colour noise): tesseract's page layout
    takes it for part of the picture and reads nothing."""
    noise = 128 + np.random.default_rng(3).random((45, 80, 3)) * 127
    image = Image.fromarray(noise.astype(np.uint8)).resize((640, 360), Image.Resampling.BICUBIC)
    image = image.filter(ImageFilter.GaussianBlur(2))
    font = ImageFont.truetype(SIGN_FONT, 26)
    draw = ImageDraw.Draw(image)
    draw.text((40, 150), "Call 020 7946 0018", font=font, fill=(0, 0, 0))
    assert draw.textbbox((40, 150), "Call 020 7946 0018", font=font) == INK
    return image


def test_second_look_reads_the_line_the_page_read_dropped(reader, presence):
    image = busy_sign()
    assert reader.read(image).words == ()
    found = presence.detect(image)
    assert len(found.regions) == 1
    left, top, right, bottom = found.regions[0]
    assert overlap(INK, found.regions[0]) > 0.9   # the drawn line
    result = reader.read(image, found.regions)
    assert result.error is None and result.reread == 1
    assert [w.text for w in result.words] == ["Call", "020", "7946", "0018"]
    assert all(top <= w.box[1] and w.box[3] <= bottom for w in result.words)
    # A page read that found the line leaves nothing to read again.
    card_image = card()[0]
    card_found = presence.detect(card_image)
    assert reader.read(card_image, card_found.regions).reread == 0


def test_the_line_recognizer_reads_the_sign_line_with_word_boxes(presence):
    """PP-OCRv4's recognizer on the busy sign's line: the words drawn, each box over its ink;
    the reader with it reads the line in one look, where tesseract needed its second look."""
    image = busy_sign()
    region = presence.detect(image).regions[0]
    words = LineRecognizer().read(image.crop(region))
    assert [w.text for w in words] == ["Call", "020", "7946", "0018"]
    assert all(0.7 <= w.confidence <= 1 for w in words)
    font, x = ImageFont.truetype(SIGN_FONT, 26), INK[0]
    for word in words:   # each box within a few pixels of its word's ink across
        assert abs(region[0] + word.left - x) <= 8, word
        assert abs(region[0] + word.right - (x + font.getlength(word.text))) <= 8, word
        x += font.getlength(word.text + " ")
    result = TesseractReader(time_limit_s=20, lines=LineRecognizer()).read(image, (region,))
    assert result.reread == 1 and "7946" in "".join(w.text for w in result.words)
    # No line, no words: a blank region and a speck.
    assert LineRecognizer().read(Image.new("RGB", (200, 30), (250, 248, 240))) == []
    assert LineRecognizer().read(Image.new("RGB", (1, 30))) == []


def test_the_line_recognizer_splits_at_spaces_and_places_words_by_their_columns():
    read = [("C", 2, 0.9), ("a", 4, 0.9), ("l", 5, 0.9), ("l", 7, 0.9), (" ", 9, 0.8),
            ("（", 11, 0.8), ("2", 12, 0.9), ("）", 14, 0.6)]
    words = line_words(read, step=10.0, width=150)
    assert [w.text for w in words] == ["Call", "(2)"]   # full-width brackets as ASCII
    # A word spans half the median step (2 columns) either side of its first and last column.
    assert (words[0].left, words[0].right) == (15, 85)
    assert (words[1].left, words[1].right) == (105, 150)   # not past the line's width
    assert words[1].confidence == round((0.8 + 0.9 + 0.6) / 3, 3)
    assert line_words([(" ", 3, 0.9)], 10.0, 100) == []
    probabilities = np.full((6, 4), 0.01)
    for column, index in enumerate([1, 1, 0, 1, 2, 3]):   # "a", "a" again, blank, "a", "b", " "
        probabilities[column, index] = 0.9
    assert decode(probabilities, ["", "a", "b", " "]) == [
        ("a", 0, 0.9), ("a", 3, 0.9), ("b", 4, 0.9), (" ", 5, 0.9)]


def test_unread_regions_are_those_the_words_read_leave_mostly_empty():
    word = OcrWord("Phone:", (10, 10, 90, 30), 0.9)
    covered, half, empty = (5, 5, 100, 35), (5, 5, 200, 35), (5, 50, 100, 80)
    assert unread([covered, half, empty], [word]) == [half, empty]
    assert unread([covered], []) == [covered]
    speck, blob = (5, 5, 9, 9), (5, 5, 100, 120)   # no line of text
    assert unread([speck, blob], []) == []


def test_large_text_is_read_at_its_own_size():
    line, tall_line, speck = (0, 0, 300, 20), (0, 0, 600, 60), (0, 0, 4, 60)
    assert page_scale([], 2.0) == 2.0 and page_scale([line, line, tall_line], 2.0) == 2.0
    assert page_scale([tall_line, tall_line, line, speck], 2.0) == 1.0


def test_a_region_is_read_at_its_size_then_inverted():
    assert region_reads(12, 2.0) == ((4.0, False), (4.0, True))   # small text: REGION_PX high
    assert region_reads(24, 2.0) == ((2.0, False), (2.0, True))   # no smaller than the page's
    assert region_reads(64, 2.0) == ((2.0, False), (0.75, False), (2.0, True))   # a sign


def test_the_second_look_shares_the_time_limit():
    result = TesseractReader(time_limit_s=0.01).read(busy_sign(), ((40, 152, 296, 179),))
    assert result.error == OcrError("timeout", "over 0.01 s")
    # With the line recognizer too: past the limit, no region is read by either engine.
    many = tuple((40, 152 + i, 296, 179 + i) for i in range(16))
    result = TesseractReader(time_limit_s=0.01, lines=LineRecognizer()).read(busy_sign(), many)
    assert result.error == OcrError("timeout", "over 0.01 s") and result.reread == 0


def test_text_presence_sends_text_on_and_skips_photos_without(presence):
    skimage_data = pytest.importorskip("skimage.data")
    assert presence.has_text(card()[0])
    photo = Image.fromarray(skimage_data.camera()).convert("RGB")
    assert not presence.has_text(photo)
    blank = Image.fromarray(np.random.default_rng(3).normal(128, 4, (480, 640, 3))
                            .clip(0, 255).astype(np.uint8))
    assert not presence.has_text(blank)
    assert presence.text_share(blank) < presence.text_share(card()[0])


def test_hostile_image_is_a_typed_timeout_not_a_hang():
    reader = TesseractReader(time_limit_s=1)
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (1600, 1600, 3),
                                                              dtype=np.uint8))
    started = time.monotonic()
    result = reader.read(noise)
    assert result.error == OcrError("timeout", "over 1 s")
    assert result.words == ()
    assert time.monotonic() - started < 15


def test_broken_and_odd_images_are_typed_errors_or_empty(reader):
    image, _ = card()
    data = io.BytesIO()
    image.save(data, "JPEG")
    truncated = Image.open(io.BytesIO(data.getvalue()[:len(data.getvalue()) // 3]))
    result = reader.read(truncated)
    assert result.error is not None and result.error.reason == "unreadable_image"
    assert reader.read(Image.new("RGB", (1, 1))).error is None
    assert reader.read(Image.new("RGB", (1, 1))).words == ()
    huge = Image.new("1", (8000, 8000))   # 64 MP in 8 MB: refused before any encoding
    assert reader.read(huge).error.reason == "too_large"
    rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
    rgba.paste(image.convert("RGBA"))
    assert PHONE[0] in [w.text for w in reader.read(rgba).words]


def test_labelled_set_is_deterministic_with_boxes_inside():
    ocr_images = pytest.importorskip("evaluation.ocr_images")   # Faker: the eval extra
    first = ocr_images.generate(1, 5, kinds=("form", "business_card"))
    again = ocr_images.generate(1, 5, kinds=("form", "business_card"))
    assert [i.jpeg for i in first] == [i.jpeg for i in again]
    assert ocr_images.generate(1, 6, kinds=("form",))[0].jpeg != first[0].jpeg
    for item in first:
        image = Image.open(io.BytesIO(item.jpeg))
        assert 10 <= item.text_height <= 40 and abs(item.angle) <= 5
        assert {"PERSON", "PHONE_NUMBER"} <= {w.entity_type for w in item.words}
        for word in item.words:
            left, top, right, bottom = word.box
            assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height


def test_the_redaction_evaluation_scores_boxes_words_and_pixels():
    """evaluation/ocr_redaction.py's scoring: a planted word counts as found when the boxes
    together cover half of it, a box over a filler word is wrong, painted pixels are counted only
    for a record kept with covers (a quarantined one is held whole) and for the entity types the
    policy acts on (a URL it ignores is left as it is)."""
    from evaluation.ocr_images import PlantedWord
    from evaluation.ocr_redaction import score_image
    from schemas.records import COVER, QUARANTINE, TextBox
    planted = [PlantedWord("Jane", (10, 10, 50, 30), "PERSON"),
               PlantedWord("555-0100", (60, 10, 140, 30), "PHONE_NUMBER"),
               PlantedWord("Total", (10, 40, 60, 60), None),
               PlantedWord("www.example.com", (70, 40, 170, 60), "URL")]
    acted = {"PERSON", "PHONE_NUMBER"}
    boxes = [TextBox(10, 10, 30, 50, "PERSON"),          # Jane, exactly
             TextBox(40, 10, 60, 60, "PERSON")]           # "Total": a hard negative
    counts = score_image(planted, boxes, COVER, (200, 100), 0.0, acted)
    assert (counts["found PERSON"], counts["planted PERSON"]) == (1, 1)
    assert (counts["found PHONE_NUMBER"], counts["planted PHONE_NUMBER"]) == (0, 1)
    assert (counts["boxes right"], counts["boxes wrong"]) == (1, 1)
    assert (counts["pixels painted"], counts["pixels"]) == (40 * 20, 40 * 20 + 80 * 20)
    assert counts["pixels ignored"] == 100 * 20
    held = score_image(planted, boxes, QUARANTINE, (200, 100), 0.0, acted)
    assert held["pixels painted"] == 0 and held["pixels held"] == held["pixels"]
    split = [TextBox(10, 60, 30, 95, "PHONE_NUMBER"),   # "555-0" and "100": the two halves,
             TextBox(10, 98, 30, 135, "PHONE_NUMBER")]  # neither covers half alone
    assert score_image(planted, split, COVER, (200, 100), 0.0, acted)["found PHONE_NUMBER"] == 1
