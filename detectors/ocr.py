"""Text in images: the engine chosen by measurement (README: Text in images (OCR)).

Tesseract 5.3 (Debian's tesseract-ocr with its English data, `make` installs both) through
pytesseract: one tesseract process per image, which is what gives a hard time limit (the
process is killed) and keeps an engine crash out of the worker. TesseractReader checks the
engine once per worker and returns typed words; a failure or a time-out is a typed OcrError,
never an exception or a hang. The time limit is the setting ocr.time_limit_s
(transforms/ocr.py hands it over), for all of an image's tesseract runs together.

The second look: tesseract's page layout analysis drops lines it takes for part of a picture
(text over a photo, a line squeezed between others), or reads them as junk. Given the text
detector's regions (detectors/text_presence.py), the reader reads again, each on its own, the
text-shaped regions its page read left mostly empty or read with little confidence. A region
about a line high goes first to the line recognizer (PP-OCRv4's, detectors/line_recognizer.py,
when the reader has one), which reads signs' lines that tesseract reads as junk at any scale;
where it is not sure, tesseract reads the region framed in its own colour, scaled so its text
is at least ~24 px high, as a line or (taller) as a block; a region no read was sure of again
at its own size, then inverted (region_reads). Its words (the recognizer's lines) need three
letters or digits, and half of one must not lie under a word already read as surely. The page
itself is read at 2x, large text at 1x (page_scale). docs/BENCHMARKS.md ("The OCR stage",
second to fourth round) measures what they add.
"""

import dataclasses
import math
import os
import statistics
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageOps

from detectors.images import on_white
from schemas.settings import OcrSettings

# Tesseract's page segmentation: 3 = automatic (a page of blocks and lines). 11 (sparse text)
# read as many planted words but reported words on 40 of 41 photos without text, 3 on none
# (docs/BENCHMARKS.md: "Text in images").
PAGE_SEGMENTATION = 3
# Larger images (as read, after UPSCALE) are refused before tesseract (OcrError("too_large")):
# pytesseract writes the image to a PNG in this process first, which the limit does not cover.
MAX_PIXELS = 40_000_000
# Images are read at this scale (boxes given back in the original's pixels): at 2x tesseract
# found 0.852 of the planted words 10-12 px high instead of 0.674, at 2.4x the CPU time
# (docs/BENCHMARKS.md: "Text in images").
UPSCALE = 2.0
# ... but text whose regions are this high (about 30 px text) is read at 1x (page_scale).
LARGE_TEXT_PX = 48
LANGUAGE = "eng"
MIN_CONFIDENCE = 0.0   # tesseract's word confidence (0-100) below which a word is dropped
# The second look: at most SECOND_LOOK regions per image are read again, those whose width
# is less than COVERED covered by words read with a confidence of at least SURE (the page
# read's less sure words stay, the second look's are added beside them: on signs over photos
# it read "MW ncriaii tana eee" at 0.08 where a line alone reads an e-mail address) and that
# are text-shaped: at least MIN_REGION_PX
# high and wider than MIN_ASPECT times their height (on the photos the presence test sends
# on, its regions are specks of 3-5 px and blobs taller than wide; a line of text, even one
# short word, is wider). A region under BLOCK_LINES lines of the page's words high is read as
# one line (psm 7), else as a block (psm 6), scaled to at least REGION_PX high (its text about
# half of it), at most MAX_SCALE.
SECOND_LOOK = 16
COVERED = 0.6
SURE = 0.25
MIN_REGION_PX = 8
MIN_ASPECT = 1.2
BLOCK_LINES = 2.5
LINE_PSM, BLOCK_PSM = 7, 6
REGION_PX = 48
MAX_SCALE = 4.0
# A word of the second look needs this many letters or digits: on the photos the presence
# test sends on, what it reads in the regions is ":", "4", "Dn", "_" (docs/BENCHMARKS.md).
MIN_SECOND_LOOK_CHARACTERS = 3
# The line recognizer reads the line regions less than COVERED covered by words tesseract read
# with a confidence of LINE_LOOK (tesseract reads a sign's e-mail address as "iene eee" at
# 0.3), and its words count where the mean of their characters' probabilities is LINE_SURE.
LINE_LOOK = 0.5
LINE_SURE = 0.7

Box = Tuple[int, int, int, int]


@dataclasses.dataclass(frozen=True)
class OcrWord:
    text: str
    box: Tuple[int, int, int, int]   # left, top, right, bottom in the image's pixels
    confidence: float                # 0..1
    line: int = 0                    # the text line it is on, numbered in reading order


@dataclasses.dataclass(frozen=True)
class OcrError:
    reason: str    # "timeout", "engine_error", "unreadable_image" or "too_large"
    detail: str


@dataclasses.dataclass(frozen=True)
class OcrResult:
    words: Tuple[OcrWord, ...] = ()
    error: Optional[OcrError] = None
    reread: int = 0                  # regions read again by the second look


class TesseractReader:
    """One per worker: checks the engine once, then read(image) per image."""

    def __init__(self, time_limit_s: float = OcrSettings().time_limit_s,
                 psm: int = PAGE_SEGMENTATION, language: str = LANGUAGE,
                 upscale: float = UPSCALE, lines=None):
        import pytesseract
        self._pytesseract = pytesseract
        # One core per reader: Beam runs one bundle per core, tesseract's OpenMP would take all.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.version = str(pytesseract.get_tesseract_version())   # raises if not installed
        if language not in pytesseract.get_languages(config=""):
            raise RuntimeError(f"tesseract has no {language!r} data (make installs it)")
        self.time_limit_s = time_limit_s
        self.psm = psm
        self.language = language
        self.upscale = upscale
        self.lines = lines   # a LineRecognizer for the second look's lines, or None

    def read(self, image: Image.Image, regions: Sequence[Box] = ()) -> OcrResult:
        """The words of ``image``; with the text detector's ``regions``, the second look."""
        deadline = time.monotonic() + self.time_limit_s
        try:
            image.load()
            image = on_white(image)
        except Exception as error:   # a truncated or odd file PIL cannot decode
            return OcrResult(error=OcrError("unreadable_image", _short(error)))
        if image.width * image.height * self.upscale ** 2 > MAX_PIXELS:
            return OcrResult(error=OcrError("too_large", f"{image.width}x{image.height}"))
        if image.width < 3 or image.height < 3:
            return OcrResult()   # tesseract rejects images this small: nothing to read
        scale = page_scale(regions, self.upscale)
        data = self._run(_scaled(image, scale), self.psm, deadline)
        if isinstance(data, OcrError):
            return OcrResult(error=data)
        words = words_from_data(data, scale)
        return self._second_look(image, words, regions, deadline)

    def _second_look(self, image: Image.Image, words: Tuple[OcrWord, ...],
                     regions: Sequence[Box], deadline: float) -> OcrResult:
        heights = [w.box[3] - w.box[1] for w in words]
        line_height = statistics.median(heights) if heights else None
        sure = [w for w in words if w.confidence >= SURE]
        added, reread = [], 0
        # The line recognizer also reads the lines tesseract read with little confidence.
        unsure = set(unread(regions, sure))
        looks = unread(regions, [w for w in words if w.confidence >= LINE_LOOK]) \
            if self.lines is not None else list(unsure)
        for left, top, right, bottom in looks[:SECOND_LOOK]:
            if time.monotonic() > deadline:
                return OcrResult(error=OcrError("timeout", f"over {self.time_limit_s:g} s"))
            block = line_height is not None and bottom - top > BLOCK_LINES * line_height
            crop = image.crop((left, top, right, bottom))
            first_line = 1 + max((w.line for w in words + tuple(added)), default=-1)
            reads = []
            if not block and self.lines is not None:
                reads.append(self._line_words(crop, (left, top, right, bottom), first_line))
                reread += 1
            tesseract = (left, top, right, bottom) in unsure and not (reads and reads[0])
            for scale, inverted in region_reads(bottom - top, self.upscale) if tesseract else ():
                framed, frame = _framed(_inverted(crop) if inverted else crop)
                data = self._run(_scaled(framed, scale), BLOCK_PSM if block else LINE_PSM,
                                 deadline)
                if isinstance(data, OcrError):
                    return OcrResult(error=data)
                reread += 1
                reads.append([w for w in words_from_data(data, scale, (left - frame,
                                                                       top - frame), first_line)
                              if sum(c.isalnum() for c in w.text) >= MIN_SECOND_LOOK_CHARACTERS])
                if any(w.confidence >= SURE for w in reads[-1]):
                    break
            # The surest read; a word already read (half of it under a word of the page read
            # or of the second look read as surely) is not added twice, a longer or surer one
            # over it is.
            for word in max(reads, default=[],
                            key=lambda ws: max((w.confidence for w in ws), default=-1)):
                if not any(overlap(word.box, k.box) > 0.5 and k.confidence >= word.confidence
                           for k in sure + added):
                    added.append(word)
        return OcrResult(words=words + tuple(added), reread=reread)

    def _line_words(self, crop: Image.Image, region: Box, line: int) -> List[OcrWord]:
        """The line recognizer's words in a one-line region, if it is sure of the line."""
        read = self.lines.read(crop)
        characters = sum(len(w.text) for w in read)
        if not read or sum(w.confidence * len(w.text) for w in read) < LINE_SURE * characters \
                or sum(c.isalnum() for w in read for c in w.text) < MIN_SECOND_LOOK_CHARACTERS:
            return []
        return [OcrWord(w.text, (region[0] + w.left, region[1], region[0] + w.right, region[3]),
                        w.confidence, line) for w in read]

    def _run(self, image: Image.Image, psm: int, deadline: float):
        """tesseract's TSV as a dict, or the OcrError (past the deadline: a timeout)."""
        left = deadline - time.monotonic()
        if left <= 0:
            return OcrError("timeout", f"over {self.time_limit_s:g} s")
        try:
            return self._pytesseract.image_to_data(
                image, lang=self.language, config=f"--psm {psm}", timeout=left,
                output_type=self._pytesseract.Output.DICT)
        except RuntimeError as error:
            if "timeout" in str(error).lower():
                return OcrError("timeout", f"over {self.time_limit_s:g} s")
            return OcrError("engine_error", _short(error))
        except Exception as error:   # tesseract crashed or wrote something unreadable
            return OcrError("engine_error", _short(error))


def page_scale(regions: Sequence[Box], upscale: float) -> float:
    """The page read's scale: ``upscale``, but 1 where the text detector's text-shaped
    regions are mostly LARGE_TEXT_PX high or more (tesseract read the sets' 20-40 px text as
    well at 1x, signs over photos better, at a quarter of the pixels)."""
    heights = sorted(box[3] - box[1] for box in regions if text_shaped(box))
    return 1.0 if heights and heights[len(heights) // 2] >= LARGE_TEXT_PX else upscale


def region_reads(height: int, upscale: float) -> Tuple[Tuple[float, bool], ...]:
    """How to read a region ``height`` px high, (scale, inverted), each only when the reads
    before gave no sure word: at REGION_PX high, but no smaller than the page read's
    ``upscale``, at most MAX_SCALE; when that floor makes it much taller than REGION_PX, at
    REGION_PX high after all (tesseract reads nothing at all in some signs' lines at twice
    their size that it reads at their own); then grey, stretched and inverted (light text
    with a dark outline over a photo)."""
    first = min(MAX_SCALE, max(upscale, REGION_PX / height))
    own = REGION_PX / height
    return ((first, False),) + (((own, False),) if own < 0.75 * first else ()) + ((first, True),)


def text_shaped(box: Box) -> bool:
    """At least MIN_REGION_PX high and wider than MIN_ASPECT times its height."""
    height = box[3] - box[1]
    return height >= MIN_REGION_PX and box[2] - box[0] >= MIN_ASPECT * height


def unread(regions: Sequence[Box], words: Sequence[OcrWord]) -> List[Box]:
    """The text-shaped regions (MIN_REGION_PX, MIN_ASPECT) whose width is less than COVERED
    covered by the words whose vertical middle lies inside them."""
    left_unread = []
    for left, top, right, bottom in filter(text_shaped, regions):
        covered = np.zeros(max(1, right - left), bool)
        for word in words:
            if top <= (word.box[1] + word.box[3]) / 2 <= bottom:
                covered[max(0, word.box[0] - left):max(0, word.box[2] - left)] = True
        if covered.mean() < COVERED:
            left_unread.append((left, top, right, bottom))
    return left_unread


def _framed(crop: Image.Image) -> Tuple[Image.Image, int]:
    """``crop`` in a frame of its median colour half its height wide (tesseract reads a line
    that touches the edge of its image badly; the region is cut close to the text), and the
    frame's width."""
    frame = max(4, crop.height // 2)
    colour = tuple(int(v) for v in np.median(np.asarray(crop).reshape(-1, 3), axis=0))
    return ImageOps.expand(crop, border=frame, fill=colour), frame


def _inverted(crop: Image.Image) -> Image.Image:
    return ImageOps.invert(ImageOps.autocontrast(crop.convert("L"))).convert("RGB")


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    if scale == 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.BICUBIC)


def overlap(box: Box, other: Box) -> float:
    """The share of ``box`` that ``other`` covers."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    area = (box[2] - box[0]) * (box[3] - box[1])
    return max(width, 0) * max(height, 0) / area if area > 0 else 0.0


def words_from_data(data, upscale: float = 1.0, offset: Tuple[int, int] = (0, 0),
                    first_line: int = 0) -> Tuple[OcrWord, ...]:
    """tesseract's TSV rows (level 5 = word) as OcrWords, boxes in the original's pixels
    (read at ``upscale``, from a crop at ``offset``), each with the number of its line
    (block, paragraph, line) in reading order, from ``first_line``."""
    words, lines = [], {}
    places = zip(*(data.get(k, [0] * len(data["text"])) for k in ("block_num", "par_num",
                                                                   "line_num")))
    for text, conf, left, top, width, height, place in zip(
            data["text"], data["conf"], data["left"], data["top"], data["width"],
            data["height"], places):
        text, conf = str(text).strip(), float(conf)
        if not text or conf < MIN_CONFIDENCE:
            continue
        line = lines.setdefault(place, first_line + len(lines))
        left, top = offset[0] + int(left) / upscale, offset[1] + int(top) / upscale
        right, bottom = left + int(width) / upscale, top + int(height) / upscale
        words.append(OcrWord(text, (math.floor(left), math.floor(top), math.ceil(right),
                                    math.ceil(bottom)), round(conf / 100, 3), line))
    return tuple(words)


def _short(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
