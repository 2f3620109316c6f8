"""Text in images: the engine chosen by measurement (README: Text in images (OCR)).

Tesseract 5.3 (Debian's tesseract-ocr with its English data, `make` installs both) through
pytesseract: one tesseract process per image, which is what gives a hard time limit (the
process is killed) and keeps an engine crash out of the worker. TesseractReader checks the
engine once per worker and returns typed words; a failure or a time-out is a typed OcrError,
never an exception or a hang. The time limit is the setting ocr.time_limit_s
(transforms/ocr.py hands it over).
"""

import dataclasses
import math
import os
from typing import Optional, Tuple

from PIL import Image

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
LANGUAGE = "eng"
MIN_CONFIDENCE = 0.0   # tesseract's word confidence (0-100) below which a word is dropped


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


class TesseractReader:
    """One per worker: checks the engine once, then read(image) per image."""

    def __init__(self, time_limit_s: float = OcrSettings().time_limit_s, psm: int = PAGE_SEGMENTATION,
                 language: str = LANGUAGE, upscale: float = UPSCALE):
        import pytesseract
        self._pytesseract = pytesseract
        # One core per reader: Beam runs one bundle per core, tesseract's OpenMP would take all.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.version = str(pytesseract.get_tesseract_version())   # raises if not installed
        if language not in pytesseract.get_languages(config=""):
            raise RuntimeError(f"tesseract has no {language!r} data (make installs it)")
        self.time_limit_s = time_limit_s
        self.config = f"--psm {psm}"
        self.language = language
        self.upscale = upscale

    def read(self, image: Image.Image) -> OcrResult:
        try:
            image.load()
            image = on_white(image)
        except Exception as error:   # a truncated or odd file PIL cannot decode
            return OcrResult(error=OcrError("unreadable_image", _short(error)))
        if image.width * image.height * self.upscale ** 2 > MAX_PIXELS:
            return OcrResult(error=OcrError("too_large", f"{image.width}x{image.height}"))
        if image.width < 3 or image.height < 3:
            return OcrResult()   # tesseract rejects images this small: nothing to read
        if self.upscale != 1:
            image = image.resize((round(image.width * self.upscale),
                                  round(image.height * self.upscale)), Image.Resampling.BICUBIC)
        try:
            data = self._pytesseract.image_to_data(
                image, lang=self.language, config=self.config, timeout=self.time_limit_s,
                output_type=self._pytesseract.Output.DICT)
        except RuntimeError as error:
            if "timeout" in str(error).lower():
                return OcrResult(error=OcrError("timeout", f"over {self.time_limit_s:g} s"))
            return OcrResult(error=OcrError("engine_error", _short(error)))
        except Exception as error:   # tesseract crashed or wrote something unreadable
            return OcrResult(error=OcrError("engine_error", _short(error)))
        return OcrResult(words=words_from_data(data, self.upscale))


def words_from_data(data, upscale: float = 1.0) -> Tuple[OcrWord, ...]:
    """tesseract's TSV rows (level 5 = word) as OcrWords, boxes in the original's pixels,
    each with the number of its line (block, paragraph, line) in reading order."""
    words, lines = [], {}
    places = zip(*(data.get(k, [0] * len(data["text"])) for k in ("block_num", "par_num",
                                                                   "line_num")))
    for text, conf, left, top, width, height, place in zip(
            data["text"], data["conf"], data["left"], data["top"], data["width"],
            data["height"], places):
        text, conf = str(text).strip(), float(conf)
        if not text or conf < MIN_CONFIDENCE:
            continue
        line = lines.setdefault(place, len(lines))
        left, top = int(left) / upscale, int(top) / upscale
        right, bottom = left + int(width) / upscale, top + int(height) / upscale
        words.append(OcrWord(text, (math.floor(left), math.floor(top), math.ceil(right),
                                    math.ceil(bottom)), round(conf / 100, 3), line))
    return tuple(words)


def _short(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
