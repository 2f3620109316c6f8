"""A cheap test for text in an image, so photos without text skip OCR.

PP-OCRv4's text detector (the DBNet ONNX file inside the rapidocr-onnxruntime wheel, run on
onnxruntime with one thread, without the rest of RapidOCR or OpenCV) on the image scaled to
at most SIDE px (small images up to MIN_SIDE on their shorter side: the detector found nothing
on a 309x107 sign with 10 px text as it was): its map gives each pixel the probability of
being inside text. An image has text when at least MIN_TEXT_SHARE of the map is above
PIXEL_THRESHOLD. MIN_SIDE and MIN_TEXT_SHARE were set on the generated images of seed 6
(3 per kind); docs/BENCHMARKS.md measures the test on seed 5 and on the eval-data photos.

The same map gives the text's regions (detect): its connected parts above the threshold, each
grown by half its height on every side (DBNet's map is shrunk inside the text, as RapidOCR
"unclips" it), in the image's pixels. The OCR reader reads again the regions its page read
left empty (detectors/ocr.py, the second look).
"""

import dataclasses
import importlib.util
import os
from typing import Optional, Tuple

import numpy as np
from PIL import Image
from scipy import ndimage

from detectors.images import on_white

SIDE = 640                 # longest side the detector sees (a multiple of 32)
MIN_SIDE = 256             # shorter side at least this (a small image gives the map nothing)
PIXEL_THRESHOLD = 0.5      # DBNet's probability that a map pixel is text
# Share of the map above it for "has text": about half the least of any generated image of
# seed 6 (0.011, a sign with 10-12 px text); the photos without text had 0 to 0.001 but for
# two (0.033, 0.058: docs/BENCHMARKS.md), which were seen when choosing it.
MIN_TEXT_SHARE = 0.005
MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx"
UNCLIP = 0.5               # a region grows by this share of its height on every side
MAX_REGIONS = 256          # the largest regions of a map, no more (a hostile map has many)

Box = Tuple[int, int, int, int]   # left, top, right, bottom in the image's pixels


@dataclasses.dataclass(frozen=True)
class TextMap:
    share: float                   # of the map above PIXEL_THRESHOLD
    has_text: bool = False         # share >= the test's min_text_share
    regions: Tuple[Box, ...] = ()  # its connected parts, grown, largest first (with text only)


def rapidocr_session(model_file: str = MODEL_FILE):
    """An onnxruntime session on one thread for one of the ONNX files in the installed
    rapidocr-onnxruntime wheel (found without importing RapidOCR)."""
    import onnxruntime
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("rapidocr-onnxruntime is not installed (make installs it)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", model_file)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class TextPresence:
    """One per worker: loads the detector once; detect(image) / has_text(image)."""

    def __init__(self, side: int = SIDE, min_text_share: float = MIN_TEXT_SHARE):
        self.session = rapidocr_session()
        self.input = self.session.get_inputs()[0].name
        self.side = side
        self.min_text_share = min_text_share

    def detect(self, image: Image.Image) -> TextMap:
        batch = _batch(image, self.side)
        if batch is None:
            return TextMap(0.0)
        text = self.session.run(None, {self.input: batch})[0][0, 0] > PIXEL_THRESHOLD
        share = float(text.mean())
        if share < self.min_text_share:   # most photos: no regions to label
            return TextMap(share)
        return TextMap(share, True, regions(text, image.size))

    def text_share(self, image: Image.Image) -> float:
        return self.detect(image).share

    def has_text(self, image: Image.Image) -> bool:
        return self.detect(image).has_text


def regions(text: np.ndarray, size: Tuple[int, int]) -> Tuple[Box, ...]:
    """The connected parts of the boolean map ``text``, each grown by UNCLIP of its height,
    as boxes in an image of ``size`` (width, height); the MAX_REGIONS largest by area."""
    labels, _ = ndimage.label(text)
    scale_x, scale_y = size[0] / text.shape[1], size[1] / text.shape[0]
    parts = sorted(ndimage.find_objects(labels), reverse=True,
                   key=lambda p: (p[0].stop - p[0].start) * (p[1].stop - p[1].start))
    boxes = []
    for rows, columns in parts[:MAX_REGIONS]:
        grow = UNCLIP * (rows.stop - rows.start)
        boxes.append((max(0, int((columns.start - grow) * scale_x)),
                      max(0, int((rows.start - grow) * scale_y)),
                      min(size[0], int(np.ceil((columns.stop + grow) * scale_x))),
                      min(size[1], int(np.ceil((rows.stop + grow) * scale_y)))))
    return tuple(boxes)


def _batch(image: Image.Image, side: int) -> Optional[np.ndarray]:
    """1x3xHxW float32, BGR as the detector was trained, as a viewer sees it (on_white),
    scaled to fit `side` but with the shorter side at least MIN_SIDE, sides rounded to
    multiples of 32."""
    if image.width < 4 or image.height < 4:
        return None
    image = on_white(image)
    scale = min(1.0, side / max(image.size))
    scale = max(scale, MIN_SIDE / min(image.size))
    width = max(32, round(image.width * scale / 32) * 32)
    height = max(32, round(image.height * scale / 32) * 32)
    return model_input(image, (width, height))[None]


def model_input(image: Image.Image, size: Tuple[int, int]) -> np.ndarray:
    """3xHxW float32 of an RGB ``image`` resized to ``size``: BGR in [-1, 1], as PP-OCRv4's
    detector and recognizer were trained."""
    pixels = np.asarray(image.resize(size, Image.Resampling.BILINEAR),
                        dtype=np.float32)[:, :, ::-1]
    return np.ascontiguousarray(((pixels / 255.0 - 0.5) / 0.5).transpose(2, 0, 1))
