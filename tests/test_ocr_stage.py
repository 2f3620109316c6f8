"""The OCR stage (transforms/ocr.py) and what Decide does with its verdicts: the real job and
the stage on the DirectRunner, real tesseract, the PII stage's scanner, small drawn images."""

import io
import json
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from detectors.ocr import OcrWord
from detectors.pii.spans import Finding
from schemas import arrow
from schemas.reasons import Reason
from schemas.records import COVER, NOTE, QUARANTINE, TextBox, Verdict
from schemas.review import Decision
from schemas.settings import OcrSettings, PiiSettings
from tests.builders import SideBySide, image_record, photo, run_stage, write_tar
from tests.jobs import assert_conserved, run_job
from transforms.decide.decide import decide
from transforms.ocr import (DetectTextInImages, image_verdict, misread, page_text, reach,
                            towns_alone, whole_emails, words_of)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GROUND, INK = (250, 248, 240), (20, 20, 20)
CARD = (("Contact:", None), ("Maria", "PERSON"), ("Garcia", "PERSON")), \
    (("Phone:", None), ("415-555-0132", "PHONE_NUMBER")), \
    (("Ask", None), ("for", None), ("the", None), ("manager", None))
IDS = (("SSN:", None), ("536-22-8741", "US_SSN")), \
    (("Card", None), ("4539", "CREDIT_CARD"), ("1488", "CREDIT_CARD"), ("0343", "CREDIT_CARD"),
     ("6467", "CREDIT_CARD"))
RAW = ("Maria", "Garcia", "415-555-0132", "536-22-8741", "4539", "6467")
# No flags for the stages this file does not look at: a shorter job.
QUIET = ["--no-faces", "--no-identities", "--no-layouts", "--no-caption-templates"]


def drawn(lines, size=(560, 200)):
    """JPEG (quality 90) of the lines in DejaVu Sans 24 px, and each word's ink box
    (left, top, right, bottom) with its entity type."""
    image = Image.new("RGB", size, GROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 24)
    boxes, y = [], 30
    for line in lines:
        x = 30
        for word, entity in line:
            draw.text((x, y), word, fill=INK, font=font)
            left, top, right, bottom = draw.textbbox((x, y), word, font=font)
            boxes.append(((math.floor(left), math.floor(top), math.ceil(right),
                           math.ceil(bottom)), entity))
            x += font.getlength(word + " ")
        y += 50
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue(), boxes


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """One job over a shard: a card with a name and a phone number, one with an SSN and a
    card number, a photo without text; the OCR text written."""
    folder = tmp_path_factory.mktemp("ocr-job")
    card, _ = drawn(CARD)
    ids, _ = drawn(IDS)
    shot = io.BytesIO()
    photo(3, (480, 360)).save(shot, "JPEG", quality=90)
    write_tar(folder / "shard.tar", [
        ("card.jpg", card), ("card.txt", b"a business card"),
        ("ids.jpg", ids), ("ids.txt", b"a form"),
        ("photo.jpg", shot.getvalue()), ("photo.txt", b"a landscape")])
    return run_job(folder / "out", [folder / "shard.tar"], "--ocr-write-text", *QUIET)


def test_name_and_phone_are_covered_and_the_rest_is_unchanged(job):
    (row,) = [r for r in job.cleaned_image_text if r["id"] == "card"]
    original, planted = drawn(CARD)
    before, after = pixels(original), pixels(row["image"])
    assert before.shape == after.shape
    outside = np.ones(before.shape[:2], bool)
    for (left, top, right, bottom), entity in planted:
        if entity is None:
            continue
        # Every pixel of the planted word is the solid fill (black, within JPEG noise).
        assert after[top:bottom, left:right].max() <= 40, (entity, (left, top, right, bottom))
        pad = bottom - top
        outside[max(0, top - pad):bottom + pad, max(0, left - pad):right + pad] = False
    difference = np.abs(after - before).max(axis=2)[outside]
    assert difference.mean() < 2 and np.percentile(difference, 99) < 20
    # The words that are not personal data are still there: "manager" is not covered.
    (manager,) = [box for box, _ in planted if box == planted[-1][0]]
    assert after[manager[1]:manager[3], manager[0]:manager[2]].min() < 100
    (flag,) = [f for f in row["flags"] if f["reason"] == Reason.PII_IN_IMAGE.value]
    assert flag["action"] == COVER
    detail = json.loads(flag["detail"])
    assert detail["entities"] == {"PERSON": 1, "PHONE_NUMBER": 1}
    assert {f["preview"] for f in detail["findings"]} == {"M*** G***", "***-***-***"}
    assert not any(raw in flag["detail"] for raw in RAW)
    assert row["ocr_text"] == "Contact: <PERSON>\nPhone: <PHONE_NUMBER>\nAsk for the manager"
    assert row["caption"] == "a business card"


def test_government_id_and_card_quarantine_without_the_raw_text(job):
    (row,) = [r for r in job.quarantine if r["id"] == "ids"]
    assert row["primary_reason"] == Reason.PII_IN_IMAGE.value
    (item,) = [e for e in row["evidence"] if e["reason"] == Reason.PII_IN_IMAGE.value]
    assert item["action"] == QUARANTINE and item["stage"] == "ocr"
    detail = json.loads(item["detail"])
    assert detail["entities"] == {"CREDIT_CARD": 1, "US_SSN": 1}
    assert len(detail["findings"][0]["boxes"]) >= 1
    assert not any(raw in json.dumps(row["evidence"]) for raw in RAW)


def test_photo_kept_as_is_counts_and_conservation(job):
    assert_conserved(job)
    (row,) = [r for r in job.cleaned_image_text if r["id"] == "photo"]
    assert row["ocr_text"] is None and row["flags"] == []
    assert job.summary["ocr"] == {"records_with_personal_data": 2, "words_boxed": 8,
                                  "words_by_entity": {"CREDIT_CARD": 4, "PERSON": 2,
                                                      "PHONE_NUMBER": 1, "US_SSN": 1},
                                  "cleaned_images_covered": 1}
    assert job.summary["reasons"] == {Reason.PII_IN_IMAGE.value: 1}


def test_stage_counters_skip_photos_and_write_text_only_when_asked():
    card, _ = drawn(CARD)
    plain, _ = drawn(((("Open", None), ("daily", None), ("from", None), ("nine", None)),))
    shot = io.BytesIO()
    photo(3, (480, 360)).save(shot, "JPEG", quality=90)
    records = [image_record(0, card), image_record(1, plain), image_record(2, shot.getvalue())]
    ran = run_stage(SideBySide(off=DetectTextInImages(OcrSettings(), PiiSettings()),
                               on=DetectTextInImages(OcrSettings(write_text=True),
                                                     PiiSettings())),
                    records, tags=("off", "on"))
    off = {v.uid: v for v in ran["off"]}
    on = {v.uid: v for v in ran["on"]}
    assert set(off) == {"u0000"} and off["u0000"].text is None
    assert off["u0000"].action == COVER
    assert {b.entity_type for b in off["u0000"].boxes} == {"PERSON", "PHONE_NUMBER"}
    assert on["u0000"].text.startswith("Contact: <PERSON>")
    assert on["u0001"].action == NOTE and on["u0001"].text == "Open daily from nine"
    assert "u0002" not in on
    counters = ran.counters("ocr")   # by name: one branch's (both count the same)
    assert counters["images_checked"] == 3 and counters["images_skipped_no_text"] == 1
    assert counters["images_read"] == 2 and counters["images_covered"] == 1
    assert counters["findings"] == 2 and counters.get("ocr_errors", 0) == 0
    assert counters["words_read"] == 9 + 4
    assert arrow.cleaned_image_text(False).names == arrow.CLEANED_IMAGE_TEXT.names
    assert arrow.cleaned_image_text(True).names[-1] == "ocr_text"


def test_image_past_the_time_limit_is_a_detector_error_not_a_stalled_bundle():
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (1600, 1600, 3),
                                                              dtype=np.uint8))
    out = io.BytesIO()
    noise.save(out, "PNG")
    card, _ = drawn(CARD)
    started = time.monotonic()
    # min_text_share 0: every image is read (noise has no text to pass the presence test)
    ran = run_stage(DetectTextInImages(OcrSettings(time_limit_s=1, min_text_share=0),
                                       PiiSettings()),
                    [image_record(0, out.getvalue()), image_record(1, card)])
    assert time.monotonic() - started < 60
    verdicts = {v.uid: v for v in ran.main}
    assert verdicts["u0000"].reason == Reason.DETECTOR_ERROR.value
    assert verdicts["u0000"].action == QUARANTINE
    assert json.loads(verdicts["u0000"].evidence) == {
        "detector": "ocr", "error": "OcrFailed", "message": "timeout: over 1 s"}
    assert verdicts["u0001"].reason == Reason.PII_IN_IMAGE.value   # the bundle went on
    assert ran.counters("ocr")["ocr_errors"] == 1


def test_findings_map_to_every_word_they_touch():
    words = [OcrWord("Call", (0, 0, 10, 10), 1.0, 0), OcrWord("(212)", (12, 0, 30, 10), 1.0, 0),
             OcrWord("555-0199", (32, 0, 60, 10), 1.0, 0), OcrWord("Jo", (0, 20, 10, 30), 1.0, 1)]
    text, offsets = page_text(words)
    assert text == "Call (212) 555-0199\nJo"
    phone = Finding("PHONE_NUMBER", 5, 19, 0.7, "r")
    assert words_of(phone, offsets) == [1, 2]
    assert words_of(Finding("PERSON", 20, 22, 0.9, "r"), offsets) == [3]
    url = Finding("URL", 0, 4, 0.9, "r")   # ignored by the default policy
    verdict = image_verdict("u", words, [phone, url], PiiSettings(), OcrSettings())
    assert verdict.action == COVER and verdict.text is None
    assert verdict.boxes == [TextBox(0, 12, 10, 30, "PHONE_NUMBER"),
                             TextBox(0, 32, 10, 60, "PHONE_NUMBER")]
    assert image_verdict("u", words, [url], PiiSettings(), OcrSettings()) is None
    quarantined = image_verdict("u", words, [phone], PiiSettings(
        entities=(("PHONE_NUMBER", "quarantine"),)), OcrSettings())
    assert quarantined.action == QUARANTINE


def test_a_cover_reaches_over_the_unread_rest_of_its_text_region():
    """tesseract read "jane@exampl" of a line whose region goes on: the cover goes on over it,
    up to the next word read on the row and at most REACH (4) times the word's height."""
    words = [OcrWord("Mail:", (0, 0, 40, 10), 0.9, 0),
             OcrWord("jane@exampl", (45, 0, 100, 10), 0.9, 0),
             OcrWord("Fax", (200, 0, 220, 10), 0.9, 0),
             OcrWord("below", (45, 20, 90, 30), 0.9, 1)]
    line = (0, -3, 230, 13)
    assert reach(words[1].box, words, [line]) == (40, 0, 140, 10)
    assert reach(words[1].box, words[:2] + [OcrWord("Fax", (120, 0, 140, 10), 0.9, 0)],
                 [line]) == (40, 0, 120, 10)
    assert reach(words[1].box, words, [(0, -3, 110, 13)]) == (40, 0, 110, 10)
    assert reach(words[1].box, words, []) == words[1].box          # no region: as read
    assert reach(words[1].box, words, [(0, 15, 230, 35)]) == words[1].box   # not its region
    email = Finding("EMAIL_ADDRESS", 6, 17, 0.6, "r")
    verdict = image_verdict("u", words, [email], PiiSettings(), OcrSettings(), regions=[line])
    assert verdict.boxes == [TextBox(0, 40, 10, 140, "EMAIL_ADDRESS")]
    assert json.loads(verdict.evidence)["findings"][0]["boxes"] == [[40, 0, 140, 10]]


def test_misreads_hide_no_personal_data_from_the_scanner():
    text = "Card 305 1-538829-0190 12.50\njosephromero@example.c\nOrder 305 1-538829-0190"
    assert [(f.entity_type, text[f.start:f.end]) for f in misread(text, [])] == [
        ("EMAIL_ADDRESS", "josephromero@example.c"), ("CREDIT_CARD", "305 1-538829-0190")]
    found = Finding("EMAIL_ADDRESS", 29, 51, 0.9, "r")   # what the scanner found stays its own
    assert [f.entity_type for f in misread(text, [found])] == ["CREDIT_CARD"]
    for email in ("vhamann@example. net", "vhamann@example net", "vhamann@example",
                  "melissa4i@examp le. org", "reedadrian@ example.net", "marie-wulf @example.com",
                  "jeremytrevinoGexample.net"):
        line = f"write to {email}"
        assert [line[f.start:f.end] for f in misread(line, [])] == [email]
    for line, number in (("Call\\07042°62394", "07042°62394"), ("CalkO04720:338474",
                         "04720:338474"), ("Gale70-207-8284", "70-207-8284")):
        assert [(f.entity_type, line[f.start:f.end]) for f in misread(line, [])] == [
            ("PHONE_NUMBER", number)]
    for url in ("www. depositcash. com", "www. customerresults . com", "www.productfollowing.c",
                "Www. cityrate, com", "WWW. monthlynumber. com"):
        line = f"Visit {url}\nThanks"
        assert [(f.entity_type, line[f.start:f.end]) for f in misread(line, [])] == [
            ("URL", url)]
    assert [f.entity_type for f in misread("www.bigGame.com", [])] == ["URL"]   # no e-mail
    line = "see www.x.com, and more"
    assert [line[f.start:f.end] for f in misread(line, [])] == ["www.x.com"]
    ssn = "SSN: 780-61-62795 (read with a digit too many)"
    assert [(f.entity_type, ssn[f.start:f.end]) for f in misread(ssn, [])] == [
        ("US_SSN", "780-61-62795")]
    for text in ("lodash@4.17.21", "@babel/core", "Card 4111-1111-1111-1112",   # Luhn fails
                 "SSN: 12", "Room 780-61-6279", "me@hom to", "Call 2023",
                 "call me at 12:30, 14:45 and 16:00", "Gallery 2023-2024 12", "hello @ world.com",
                 "awww.ok", "http:/www", "Mr. W. Smith", "write to @example.org"):
        assert misread(text, []) == []


def test_an_email_address_split_in_its_local_part_is_covered_whole():
    text = "Vahessa8 1@example.net\nwrite to me@example.org\nkim@example.org"
    found = [Finding("EMAIL_ADDRESS", text.index(e), text.index(e) + len(e), 1.0, "r")
             for e in ("1@example.net", "me@example.org", "kim@example.org")]
    assert [text[f.start:f.end] for f in whole_emails(text, found)] == [
        "Vahessa8 1@example.net", "me@example.org", "kim@example.org"]


def test_a_town_alone_on_a_line_is_a_location_unless_a_finding_has_it():
    text = ("Natalie Bright\nPfaffenhofen an der Ilm\nDear Natalie\nKolkata 700001\n"
            "Springfield, IL 62704\nWilliamsport\nLake Charles\nReading\nTotal 12.50\n"
            "We met in Freising last year\nPassport\nAirport\nNew Balance\nOverview")
    assert [text[f.start:f.end] for f in towns_alone(text, [])] == [
        "Pfaffenhofen an der Ilm", "Kolkata 700001", "Springfield, IL 62704", "Williamsport",
        "Lake Charles"]
    name = Finding("PERSON", text.index("Kolkata"), text.index("Kolkata") + 7, 0.85, "r")
    assert "Kolkata 700001" not in [text[f.start:f.end] for f in towns_alone(text, [name])]


def test_reviewer_release_of_printed_id_covers_it():
    ids, planted = drawn(IDS)
    record = image_record(0, ids)
    boxes = [TextBox(top, left, bottom, right, entity)
             for (left, top, right, bottom), entity in planted if entity]
    verdict = Verdict(uid=record.uid, reason=Reason.PII_IN_IMAGE.value, action=QUARANTINE,
                      evidence="{}", representative_id=None, group_size=None, boxes=boxes)
    decision = Decision(id="r0", scope="record", decision="release", reviewer="ann",
                        note="", reviewed_at="2026-01-01T00:00:00Z", source="d.jsonl")
    held = decide(record, "r0", [verdict])
    assert held.destination == "quarantine"
    released = decide(record, "r0", [verdict], decision)
    assert released.destination == "cleaned"
    assert [f["action"] for f in released.row["flags"]][0] == COVER
    after = pixels(released.row["image"])
    for box in boxes:
        assert after[box.top:box.bottom, box.left:box.right].max() <= 40
