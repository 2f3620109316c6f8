"""A second engine for the lines tesseract cannot read: PP-OCRv4's text recognizer.

The recognizer ONNX file inside the rapidocr-onnxruntime wheel (the one whose detector the
presence test runs, detectors/text_presence.py), on onnxruntime with one thread, without the
rest of RapidOCR or OpenCV. It reads one line cut from the image (a text detector region) as
characters, each at the column of the model's output where it was decoded (CTC), so a line
becomes words with boxes, split where the model reads a space. The model, trained mostly on
Chinese, often reads no space between English words ("Call(0909)8790056"): the gaps between
its characters' columns did not tell spaces from wide letters on the generated signs.
docs/BENCHMARKS.md measured it reading 0.898 of the signs' words inside their lines where
tesseract read 0.469 ("Text in images"), and what it adds as the second look's first engine
("The OCR stage, fourth round").
"""

import dataclasses
import math
import unicodedata
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image

from detectors.text_presence import model_input, rapidocr_session

MODEL_FILE = "ch_PP-OCRv4_rec_infer.onnx"
HEIGHT = 48          # the model's input height
MIN_WIDTH = 320      # ... and least width (a shorter line is padded, as RapidOCR does)
MAX_WIDTH = 3200     # a wider line (an aspect over 66) is squeezed to this


@dataclasses.dataclass(frozen=True)
class LineWord:
    text: str
    left: int          # in the line's pixels
    right: int
    confidence: float  # the mean of its characters' probabilities


class LineRecognizer:
    """One per worker: loads the model and its characters once; read(line) per line."""

    def __init__(self):
        self.session = rapidocr_session(MODEL_FILE)
        self.input = self.session.get_inputs()[0].name
        characters = self.session.get_modelmeta().custom_metadata_map["character"]
        # CTC's blank first, then the model's characters, then the space it was trained with.
        self.characters = [""] + characters.splitlines() + [" "]

    def read(self, line: Image.Image) -> List[LineWord]:
        """The words of one line of text (an RGB image about a line high)."""
        batch, scale = _batch(line)
        if batch is None:
            return []
        probabilities = self.session.run(None, {self.input: batch})[0][0]
        # One column of the output covers this many of the line's pixels.
        step = batch.shape[3] / probabilities.shape[0] * scale
        return words(decode(probabilities, self.characters), step, line.width)


def decode(probabilities: np.ndarray, characters: List[str]) -> List[Tuple[str, int, float]]:
    """CTC greedy decoding: (character, column, probability) for each character read."""
    best = probabilities.argmax(axis=1)
    read = []
    for column, index in enumerate(best):
        if index == 0 or (column > 0 and best[column - 1] == index):
            continue
        if index < len(characters):
            read.append((characters[index], column, float(probabilities[column, index])))
    return read


def words(read: List[Tuple[str, int, float]], step: float, width: int) -> List[LineWord]:
    """Characters (character, column, probability) as words in the line's pixels, split at
    the spaces read; a word reaches half a step either side of its characters' columns,
    within the line's ``width``."""
    groups: List[List[Tuple[str, int, float]]] = [[]]
    for character in read:
        if character[0] == " ":
            groups.append([])
        else:
            groups[-1].append(character)
    groups = [g for g in groups if g]
    columns = [col for g in groups for _, col, _ in g]
    half = max(1.0, float(np.median(np.diff(columns))) if len(columns) > 1 else 1.0) / 2
    return [LineWord(unicodedata.normalize("NFKC", "".join(c for c, _, _ in group)),
                     max(0, math.floor((group[0][1] + 0.5 - half) * step)),
                     min(width, math.ceil((group[-1][1] + 0.5 + half) * step)),
                     round(sum(p for _, _, p in group) / len(group), 3))
            for group in groups]


def _batch(line: Image.Image) -> Tuple[Optional[np.ndarray], float]:
    """1x3x48xW float32, BGR in [-1, 1], the line scaled to 48 px high and padded to at least
    MIN_WIDTH; and the line's pixels per input pixel across."""
    if line.width < 2 or line.height < 2:
        return None, 1.0
    width = min(MAX_WIDTH, max(1, math.ceil(HEIGHT * line.width / line.height)))
    batch = np.zeros((1, 3, HEIGHT, max(MIN_WIDTH, width)), np.float32)
    batch[0, :, :, :width] = model_input(line.convert("RGB"), (width, HEIGHT))
    return batch, line.width / width
