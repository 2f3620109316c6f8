"""Text printed in images: read it, find the personal data in it, cover it or hold it back.

Per valid image-text record: the text-presence test (detectors/text_presence.py) skips photos
without text; tesseract (detectors/ocr.py, one process per image, killed past ocr.time_limit_s)
reads the rest as words with boxes, PP-OCRv4's line recognizer the lines it could not
(detectors/line_recognizer.py); the words become one text (a space between the words of a line,
a newline between lines) that the PII stage's scanner reads under the pii section (its
entities, threshold, allow list); each finding is mapped back to every word whose characters it
overlaps (its box widened over the unread rest of its text region: reach), with what
tesseract's misreads hide from the scanner (misread, whole_emails: e-mail addresses it misread
or split, a card number's broken groups, an SSN's misread digits after its label, a phone
number after a misread call word) and towns alone on a line (towns_alone,
detectors/pii/places.py). One verdict per image with findings, reason pii_in_image, its action
from pii.entities: an entity to redact in a caption is covered in the image (COVER: Decide
paints solid boxes over its words in the kept image, as it blurs faces), one to quarantine
holds the record back (a reviewer who releases it gets every finding covered). The boxes travel
typed (Verdict.boxes); the evidence holds entity types, boxes and masked previews (J*** S***),
never the text read. With ocr.write_text the verdict (or, for an image whose text holds no
personal data, a text_in_image note) carries the text with its personal data replaced by
placeholders, for the ocr_text column.

An image tesseract cannot read (a crash, past the time limit, too large) or the scanner
raises on is a detector_error: quarantined, never a failed or stalled bundle.

Counters (namespace ocr): images_checked, images_skipped_no_text, images_read, words_read,
regions_reread, findings, images_covered, images_quarantined, ocr_errors.
"""

import collections
import json
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.images import load_displayed, open_image
from detectors.ocr import Box, OcrError, OcrWord
from detectors.pii.spans import Finding, mask, redact
from schemas.reasons import Reason
from schemas.records import COVER, NOTE, QUARANTINE, TextBox, Verdict, valid_image
from schemas.settings import OcrSettings, PiiSettings
from transforms.common.faults import error_verdict

NAMESPACE = "ocr"
# pii.entities' action for a caption -> what it does to an image's words.
ACTIONS = {"redact": COVER, "quarantine": QUARANTINE}
# What the scanner leaves to an image's text (misread, towns_alone) scores above the
# default threshold, below the scanner's sure findings.
IMAGE_SCORE = 0.6
# A cover reaches at most this many times its word's height over unread text (reach).
REACH = 4


# tesseract drops or misreads an e-mail address's last letters ("example.c", "example"),
# reads spaces into its domain ("example net", "example. net", "examp le. org") or beside its
# "@" ("reedadrian@ example.net"), which fails the scanner's check: in an image's text, a
# word with a local part, "@" and a domain that starts with a letter is an e-mail address
# too, with a common top-level domain after up to two short pieces and spaces.
MISREAD_EMAIL = re.compile(r"(?<![\w.+-])(?:[\w.+-]{2,}@|[\w.+-]{4,}(?: @(?! )|@ ))"
                           r"(?:[A-Za-z][\w-]*(?:\.[\w-]+)*"
                           r"(?:\.? [\w-]{1,6}){0,2}?(?:\. ?| )(?:com|net|org|edu|gov|info)\b"
                           r"|[A-Za-z][\w-]*(?:\.[\w-]+)+|[A-Za-z][\w-]{3,})")
# ... or reads its "@" as a capital G between lower-case letters ("jeremytrevinoGexample.net").
MISREAD_AT = re.compile(r"(?<![\w.+-])(?!www\.)[a-z0-9._+-]{2,}(?<=[a-z0-9])G[a-z][a-z0-9-]*"
                        r"(?:\.[a-z0-9-]+)*\.[a-z]{2,6}\b")

# ... and a web address's pieces with spaces between them ("www. depositcash. com",
# "Www. cityrate, com") or its end cut ("www.productfollowing.c"): "www." and a name, then
# lower-case pieces after dots, a common top-level domain after a comma.
MISREAD_URL = re.compile(r"(?<![\w.@/-])(?i:w{2,3})\. ?[A-Za-z0-9][\w-]*"
                         r"(?: ?\. ?[a-z0-9][a-z0-9-]*| ?, ?(?:com|net|org|edu|gov|info)\b)*")

# A social security number after its label whose digits tesseract misread ("780-61-62795",
# "802-89.11)"): 7-10 digits in the number's shape, the scanner wants exactly 3-2-4.
MISREAD_SSN = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)[ \t]*[:#.]?[ \t]*"
                         r"(?P<number>\d[\d .)|-]{5,12}\d?)")

# A phone number after "Call", "Tel" or "Phone" whose word tesseract misread or glued to it
# ("Call\\07042°62394", "Call44 113,496 0636", "CalkO04720:338474", "Gale70-207-8284"): 9-15
# digits, with the separators and stray marks it reads between them, on one line.
MISREAD_PHONE = re.compile(r"(?i)(?<![a-z])(?:[ceg€][a@][l1ik|]{1,2}|te[l1]|ph[o0]ne)"
                           r"[^\w\n]{0,2}[a-z]?[^\w\n]{0,2}"
                           r"(?P<number>[+(]?\d[\d ()+./°\\',:-]{7,22}\d)")


def misread(text: str, findings: Sequence[Finding]) -> List[Finding]:
    """What tesseract's misreads hide from the scanner's ``findings`` in ``text``: e-mail
    addresses it misread (MISREAD_EMAIL, MISREAD_AT), web addresses (MISREAD_URL), card
    numbers whose groups it broke (detectors/pii/cards.py broken_card_numbers), social
    security numbers after their label (MISREAD_SSN), phone numbers after a misread call word
    (MISREAD_PHONE)."""
    from detectors.pii.cards import broken_card_numbers   # imports presidio: with the scanner
    spans = [("EMAIL_ADDRESS", m.start(), m.end()) for pattern in (MISREAD_EMAIL, MISREAD_AT)
             for m in pattern.finditer(text)]
    spans += [("URL", m.start(), m.end()) for m in MISREAD_URL.finditer(text)]
    spans += [("CREDIT_CARD", start, end) for start, end in broken_card_numbers(text)]
    for match in MISREAD_SSN.finditer(text):
        number = match.group("number").rstrip(" .)|-")
        if 7 <= sum(c.isdigit() for c in number) <= 10:
            spans.append(("US_SSN", match.start("number"), match.start("number") + len(number)))
    for match in MISREAD_PHONE.finditer(text):
        number = match.group("number").rstrip(" .,:'")
        if 9 <= sum(c.isdigit() for c in number) <= 15:
            spans.append(("PHONE_NUMBER", match.start("number"),
                          match.start("number") + len(number)))
    return [Finding(kind, start, end, IMAGE_SCORE, "OcrMisread") for kind, start, end in spans
            if not any(f.entity_type == kind and f.start < end and start < f.end
                       for f in findings)]


# tesseract splits an e-mail address's local part at a space ("vanessa8 1@example.net",
# "gisast ey@example.org"): a local part of one or two characters takes in the piece before
# it, four or more letters and digits that are no common word ("write to me@example.org").
_SPLIT_LOCAL = re.compile(r"(?<![^ \t\n])(?P<piece>[\w.+-]{4,})[ \t]$")


def whole_emails(text: str, findings: Sequence[Finding]) -> List[Finding]:
    """``findings`` with each e-mail address whose local part tesseract split widened over
    the piece before it on its line."""
    from detectors.pii.names import COMMON   # loaded with the scanner
    out = []
    for finding in findings:
        if finding.entity_type == "EMAIL_ADDRESS" and \
                0 < text.find("@", finding.start, finding.end) - finding.start <= 2:
            line_start = text.rfind("\n", 0, finding.start) + 1
            piece = _SPLIT_LOCAL.search(text, line_start, finding.start)
            if piece is not None and piece.group("piece").lower() not in COMMON:
                finding = finding._replace(start=piece.start())
        out.append(finding)
    return out


def towns_alone(text: str, findings: Sequence[Finding]) -> List[Finding]:
    """Lines of an image's text that are a known town (detectors/pii/places.py: the town
    under a letter's name) and no other finding touches."""
    from detectors.pii.places import town_lines   # loads the scanner's name lists
    return [Finding("LOCATION", start, end, IMAGE_SCORE, "TownAlone")
            for start, end in town_lines(text)
            if not any(f.start < end and start < f.end for f in findings)]


class OcrFailed(Exception):
    """tesseract could not read the image (its OcrError), as a detector error."""


def page_text(words: Sequence[OcrWord]) -> Tuple[str, List[Tuple[int, int]]]:
    """The words as one text, a space between words of a line and a newline between lines
    (so a name does not run into the next line's word), and each word's [start, end)."""
    parts, offsets, at, line = [], [], 0, None
    for word in words:
        if line is not None:
            gap = " " if word.line == line else "\n"
            parts.append(gap)
            at += 1
        offsets.append((at, at + len(word.text)))
        parts.append(word.text)
        at += len(word.text)
        line = word.line
    return "".join(parts), offsets


def words_of(finding: Finding, offsets: Sequence[Tuple[int, int]]) -> List[int]:
    """The words any character of ``finding`` lies in."""
    return [i for i, (start, end) in enumerate(offsets)
            if start < finding.end and finding.start < end]


def acted_on(findings: Sequence[Finding], pii: PiiSettings) -> List[Tuple[Finding, str]]:
    """(finding, COVER or QUARANTINE) for the findings pii.entities does not ignore."""
    actions = pii.actions()
    return [(f, ACTIONS[actions[f.entity_type]]) for f in findings
            if actions.get(f.entity_type, "ignore") in ACTIONS]


def text_boxes(covers: Dict[int, Box], offsets, findings: Sequence[Finding]) -> List[TextBox]:
    """One box per word a finding touches, its cover (word index -> box), with the first
    finding's type when several do."""
    boxes: Dict[int, TextBox] = {}
    for finding in findings:
        for i in words_of(finding, offsets):
            left, top, right, bottom = covers[i]
            boxes.setdefault(i, TextBox(top, left, bottom, right, finding.entity_type))
    return [boxes[i] for i in sorted(boxes)]


def reach(box: Box, words: Sequence[OcrWord], regions: Sequence[Box]) -> Box:
    """``box`` widened over the text detector's region it lies in, left and right up to the
    next word read on its row and at most REACH times its height: tesseract drops the last
    letters of a word it reads in part ("hughandrews@exampLe." for "...example.com")."""
    left, top, right, bottom = box
    middle = ((left + right) / 2, (top + bottom) / 2)
    around = [r for r in regions if r[0] <= middle[0] <= r[2] and r[1] <= middle[1] <= r[3]]
    if not around:
        return box
    region = min(around, key=lambda r: (r[2] - r[0]) * (r[3] - r[1]))
    row = [w.box for w in words if w.box != box and w.box[1] < middle[1] < w.box[3]]
    most = REACH * (bottom - top)
    return (min(left, max([region[0], left - most] + [o[2] for o in row if o[2] <= left])),
            top,
            max(right, min([region[2], right + most] + [o[0] for o in row if o[0] >= right])),
            bottom)


def redacted_text(text: str, findings: Sequence[Finding]) -> str:
    """The text read with its personal data replaced by placeholders, as captions are."""
    return redact(text, findings)[0]


def image_verdict(uid: str, words: Sequence[OcrWord], findings: Sequence[Finding],
                  pii: PiiSettings, ocr: OcrSettings, engine: str = "",
                  regions: Sequence[Box] = ()) -> Optional[Verdict]:
    """The verdict for one image from its words, the scanner's findings in their page_text
    and the text detector's regions: pii_in_image (COVER, or QUARANTINE when any finding's
    entity quarantines), a text_in_image note when ocr.write_text and nothing is acted on,
    else None."""
    text, offsets = page_text(words)
    found = acted_on(findings, pii)
    written = redacted_text(text, [f for f, _ in found]) if ocr.write_text else None
    if not found:
        if written is None or not words:
            return None
        return Verdict(uid=uid, reason=Reason.TEXT_IN_IMAGE.value, action=NOTE,
                       evidence=json.dumps({"words_read": len(words), "engine": engine},
                                           sort_keys=True),
                       representative_id=None, group_size=None, text=written)
    action = QUARANTINE if any(a == QUARANTINE for _, a in found) else COVER
    # Each touched word's cover, over the unread rest of its text region.
    covers = {i: reach(words[i].box, words, regions)
              for f, _ in found for i in words_of(f, offsets)}
    boxes = text_boxes(covers, offsets, [f for f, _ in found])
    evidence = {
        "entities": dict(sorted(collections.Counter(f.entity_type for f, _ in found).items())),
        "findings": [{"entity_type": f.entity_type, "action": a, "score": f.score,
                      "recognizer": f.recognizer,
                      "preview": mask(text[f.start:f.end], f.entity_type),
                      "boxes": [list(covers[i]) for i in words_of(f, offsets)]}
                     for f, a in found],
        "words_read": len(words), "words_covered": len(boxes), "engine": engine,
    }
    return Verdict(uid=uid, reason=Reason.PII_IN_IMAGE.value, action=action,
                   evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                   representative_id=None, group_size=None, boxes=boxes, text=written)


def failure(error: OcrError) -> OcrFailed:
    return OcrFailed(f"{error.reason}: {error.detail}")


class ImageText(NamedTuple):
    skipped: bool                  # the presence test found no text: not read
    words: Tuple[OcrWord, ...] = ()
    findings: Tuple[Finding, ...] = ()   # the scanner's, in page_text(words)
    reread: int = 0                # regions the second look read again (detectors/ocr.py)
    regions: Tuple[Box, ...] = ()  # the text detector's (detectors/text_presence.py)


Scan = Callable[[str], List[Finding]]


def read_text(data: bytes, presence, reader, scan: Scan) -> ImageText:
    """One image's words and the personal data in them: the presence test (None: read
    every image, without the second look), tesseract with the second look on the
    detector's regions, the scanner on page_text. Raises OcrFailed (tesseract's typed
    error) or what decoding or the scanner raise."""
    image = load_displayed(open_image(data))
    regions = ()
    if presence is not None:
        found = presence.detect(image)
        if not found.has_text:
            return ImageText(True)
        regions = found.regions
    result = reader.read(image, regions)
    if result.error is not None:
        raise failure(result.error)
    findings = scan(page_text(result.words)[0]) if result.words else []
    return ImageText(False, result.words, tuple(findings), result.reread, tuple(regions))


def make_presence(ocr: OcrSettings):
    """The text-presence test under ``ocr`` (None with min_text_share 0: every image read)."""
    from detectors.text_presence import TextPresence
    return TextPresence(min_text_share=ocr.min_text_share) if ocr.min_text_share > 0 else None


def make_reader(ocr: OcrSettings):
    from detectors.line_recognizer import LineRecognizer
    from detectors.ocr import TesseractReader
    return TesseractReader(time_limit_s=ocr.time_limit_s, lines=LineRecognizer())


def make_scan(pii: PiiSettings) -> Scan:
    """The PII stage's scanner (shared in the process), loaded at the first image with
    words: a run of photos without text never loads it here; then what tesseract's misreads
    hid from it (misread, whole_emails) and towns alone on a line (towns_alone)."""
    def scan(text: str) -> List[Finding]:
        from transforms.pii import shared_scanner
        scanner, lock = shared_scanner(pii)
        with lock:
            findings = scanner.scan([text])[0]
        if IMAGE_SCORE < pii.score_threshold:
            return findings
        findings = whole_emails(text, findings + misread(text, findings))
        return findings + towns_alone(text, findings)
    return scan


class _ReadImages(beam.DoFn):
    def __init__(self, ocr: OcrSettings, pii: PiiSettings):
        self.ocr = ocr
        self.pii = pii

    def setup(self):
        self.presence = make_presence(self.ocr)
        self.reader = make_reader(self.ocr)
        self.scan = make_scan(self.pii)
        self.engine = f"tesseract {self.reader.version} + PP-OCRv4 lines"
        self.counters = {name: Metrics.counter(NAMESPACE, name) for name in (
            "images_checked", "images_skipped_no_text", "images_read", "words_read",
            "regions_reread", "findings", "images_covered", "images_quarantined", "ocr_errors")}

    def _count(self, name: str, n: int = 1) -> None:
        self.counters[name].inc(n)

    def process(self, record):
        self._count("images_checked")
        try:
            read = read_text(record.image, self.presence, self.reader, self.scan)
        except Exception as err:   # one bad image must not fail the bundle
            self._count("ocr_errors")
            yield error_verdict(record.uid, "ocr", err)
            return
        if read.skipped:
            self._count("images_skipped_no_text")
            return
        self._count("images_read")
        self._count("words_read", len(read.words))
        self._count("regions_reread", read.reread)
        self._count("findings", len(read.findings))
        verdict = image_verdict(record.uid, read.words, read.findings, self.pii, self.ocr,
                                self.engine, read.regions)
        if verdict is None:
            return
        if verdict.action == COVER:
            self._count("images_covered")
        elif verdict.action == QUARANTINE:
            self._count("images_quarantined")
        yield verdict


class DetectTextInImages(beam.PTransform):
    """Records in; pii_in_image, text_in_image and detector_error verdicts out."""

    def __init__(self, ocr: OcrSettings, pii: PiiSettings):
        super().__init__()
        self.ocr = ocr
        self.pii = pii

    def expand(self, records):
        return (records
                | "Images" >> beam.Filter(valid_image)
                | "Read" >> beam.ParDo(_ReadImages(self.ocr, self.pii)))
