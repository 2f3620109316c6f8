"""Faces in an image: boxes, sizes, 128-d encodings (face_recognition over dlib), blurring.

Detectors (``FaceSettings.model``):

- centerface (default): CenterFace, a small anchor-free CNN (detectors/centerface.py), on
  a copy whose long side is ``centerface_side`` pixels, on onnxruntime (CPU) or torch
  (``device: gpu``). It finds faces that are turned, tilted, partly covered, dark or 10-20
  px across, which dlib's HOG misses (evaluation/faces.py: the harder set), and costs a
  fraction of HOG at 1200 px.
- hog / cnn: dlib's detectors as face_recognition loads them, on a copy whose long side is
  ``detect_side`` pixels. HOG looks through an 80-pixel window, so it finds faces of about
  80/detect_side of the long side and larger (at 1200: 6.7%); web images are mostly
  smaller than the window needs, which is why that copy enlarges them (on
  ../shared/eval-data/faces, faces of 37-110 px in 500 px photos, recall 1.000 at 1200,
  0.977 at 1024, 0.256 at the photos' own size).

Copies are made by shrinking (a JPEG in draft mode, see detectors/images.py) or enlarging,
up to ``max_upscale`` times. Boxes are mapped back to the displayed image's pixels.

Encodings (face_recognition's 128-d vectors; the same person lies within Euclidean
distance 0.6) are computed for faces at least ``encode_min_face`` pixels across in
the original: smaller faces carry too little of a face to identify it reliably. They are
always computed on the ``detect_side`` copy (the pixels the identity figures were measured
on); a CenterFace box is first turned into the square box dlib's landmark model was trained
on (``dlib_box``), so the face is aligned as face_recognition expects.
"""

import io
import math
import threading
import warnings
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image, ImageFile, ImageFilter

from detectors.images import displayed_size, eight_bit, load_displayed, on_white, open_image
from schemas.settings import FaceSettings

ENCODING_DIMS = 128
# What two runs' encodings must share to be compared (kept in the faces index).
FACES_FORMAT = {"kind": "faces", "encoder": "face_recognition (dlib resnet v1)",
                "dims": ENCODING_DIMS}


class Face(NamedTuple):
    top: int      # box in displayed pixels of the original image; bottom/right exclusive
    left: int
    bottom: int
    right: int
    score: float  # the detector's: HOG's SVM margin (0 is its threshold), CNNs' confidence
    encoding: Optional[bytes]   # 128 float32 little-endian, or None when too small or unsure

    @property
    def size(self) -> int:
        return min(self.bottom - self.top, self.right - self.left)

    def box(self) -> List[int]:
        return [self.top, self.left, self.bottom, self.right]


class FaceScan(NamedTuple):
    width: int
    height: int
    faces: List[Face]
    scale: float   # detector copy / original

    def largest_area_fraction(self) -> float:
        area = max(((f.bottom - f.top) * (f.right - f.left) for f in self.faces), default=0)
        return area / float(self.width * self.height)


class FaceModelMissing(RuntimeError):
    """face_recognition or its models cannot be imported (message says what to install)."""


_API = None
_API_LOCK = threading.Lock()


def face_api():
    """The face_recognition module, imported once per process.

    face_recognition loads its models at import time; when face_recognition_models (or
    the pkg_resources it imports) is missing it prints a hint and calls quit(): caught
    here and turned into an error that says what to install. It also sets Pillow's
    LOAD_TRUNCATED_IMAGES for the whole process, which would let validation pass cut
    files: put back.
    """
    global _API
    with _API_LOCK:
        if _API is None:
            truncated = ImageFile.LOAD_TRUNCATED_IMAGES
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")   # pkg_resources' deprecation notice
                    import face_recognition
            except (ImportError, SystemExit) as err:
                raise FaceModelMissing(
                    "face detection needs dlib-bin, face_recognition_models and "
                    "face_recognition (with setuptools<82 for pkg_resources): `make` installs "
                    f"them ({type(err).__name__}: {err})") from None
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = truncated
            _API = face_recognition
    return _API


def model_problem(settings: Optional[FaceSettings] = None) -> Optional[str]:
    """Why the models ``settings`` name cannot load here, or None. CenterFace on a GPU is
    checked for its file only: the machine that launches a job may have no GPU."""
    from detectors import centerface
    settings = settings or FaceSettings()
    try:
        face_api()
        if settings.model == "centerface" and settings.device == "cpu":
            centerface.runner("cpu")
        elif settings.model == "centerface":
            centerface.model_path()
    except (FaceModelMissing, centerface.CenterFaceMissing) as err:
        return str(err)
    return None


def detector_copy(data: bytes, settings: FaceSettings,
                  side: Optional[int] = None) -> Tuple[np.ndarray, float, int, int]:
    """(RGB array the detector sees, its scale to the original, original width, height):
    a copy whose long side is ``side`` (default: the model's), enlarged at most
    max_upscale times."""
    image = open_image(data)
    width, height = displayed_size(image)
    side = side or (settings.centerface_side if settings.model == "centerface"
                    else settings.detect_side)
    scale = min(side / max(width, height), settings.max_upscale)
    # A JPEG decodes in the DCT at the smallest scale still at least the target size.
    need = max(1, int(round(min(width, height) * scale)))
    picture = on_white(load_displayed(image, need if scale < 1 else None))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(picture), scale, width, height


def scan_faces(data: bytes, settings: FaceSettings) -> FaceScan:
    """Detect (and encode) the faces of an image that validation already accepted.

    Every face the detector reports counts (blurring wants recall); only faces large and
    clear enough get an encoding (a false face, such as a badge, must not become an
    identity that links records).
    """
    pixels, scale, width, height = detector_copy(data, settings)
    found = []   # (box in the copy's pixels, box in the original, score, encode?)
    for css, score in _detect(pixels, settings):
        box = _to_original(css, scale, width, height)
        size = min(box[2] - box[0], box[3] - box[1])
        if size >= settings.min_face:
            encode = size >= settings.encode_min_face and score >= settings.encode_min_score
            found.append((css, box, round(float(score), 3), encode))
    to_encode = [css for css, _, _, encode in found if encode]
    encodings = iter(_encodings(data, settings, pixels, scale, to_encode))
    faces = [Face(*box, score=score,
                  encoding=next(encodings).astype("<f4").tobytes() if encode else None)
             for _, box, score, encode in found]
    return FaceScan(width=width, height=height, faces=faces, scale=scale)


def _encodings(data: bytes, settings: FaceSettings, pixels: np.ndarray, scale: float,
               css: List[tuple]) -> List[np.ndarray]:
    """face_recognition's encodings of the faces at ``css`` ((top, right, bottom, left) in
    the detector copy), always on the detect_side copy: dlib's boxes as found there,
    CenterFace's made into the box dlib's landmark model expects."""
    if not css:
        return []
    api = face_api()
    if settings.model == "centerface":
        copy, copy_scale, _, _ = detector_copy(data, settings, settings.detect_side)
        ratio, (height, width) = copy_scale / scale, copy.shape[:2]
        css = [dlib_box((left * ratio, top * ratio, right * ratio, bottom * ratio), width,
                        height) for top, right, bottom, left in css]
        pixels = copy
    return api.face_encodings(pixels, css, settings.encode_jitters)


# A CenterFace box (x1, y1, x2, y2) -> the square box dlib's HOG gives the same face, as
# face_recognition's 5-point landmark model expects it: medians over 67 faces of
# ../shared/eval-data/faces matched at IoU >= 0.3 (HOG at 1200 px, CenterFace at 640 px).
# Encodings from these boxes lie 0.04 (median; 90th percentile 0.11) from those of HOG's
# boxes; from the raw taller box, 0.08 (0.19).
DLIB_SIDE, DLIB_DX, DLIB_DY = 1.076, -0.039, 0.036   # of the box's width, width, height


def dlib_box(box, width: int, height: int) -> Tuple[int, int, int, int]:
    """(top, right, bottom, left) of dlib's square box for a CenterFace box, within the
    picture."""
    x1, y1, x2, y2 = box
    side = DLIB_SIDE * (x2 - x1)
    cx = (x1 + x2) / 2 + DLIB_DX * (x2 - x1)
    cy = (y1 + y2) / 2 + DLIB_DY * (y2 - y1)
    return (max(0, round(cy - side / 2)), min(width, round(cx + side / 2)),
            min(height, round(cy + side / 2)), max(0, round(cx - side / 2)))


def _detect(pixels: np.ndarray, settings: FaceSettings):
    """((top, right, bottom, left), score) per face, in the detector copy's pixels."""
    if settings.model == "centerface":
        from detectors import centerface
        run = centerface.runner(settings.device)
        return [((y1, x2, y2, x1), d.score) for d in centerface.detect(
                    pixels, run, settings.centerface_threshold, settings.centerface_nms)
                for x1, y1, x2, y2 in [d.box]]
    return _dlib_detect(face_api(), pixels, settings.model)


def _dlib_detect(api, pixels: np.ndarray, model: str):
    """dlib's detectors as face_recognition loads them, called for their scores too."""
    detectors = api.api
    if model == "cnn":
        found = [(d.rect, d.confidence) for d in detectors.cnn_face_detector(pixels, 0)]
    else:
        rects, scores, _ = detectors.face_detector.run(pixels, 0, 0.0)
        found = list(zip(rects, scores))
    height, width = pixels.shape[:2]
    return [((max(r.top(), 0), min(r.right(), width), min(r.bottom(), height), max(r.left(), 0)),
             score) for r, score in found]


def _to_original(css, scale, width, height) -> Tuple[int, int, int, int]:
    """(top, right, bottom, left) in the detector copy -> (top, left, bottom, right) here."""
    top, right, bottom, left = css
    return (max(0, int(np.floor(top / scale))), max(0, int(np.floor(left / scale))),
            min(height, int(np.ceil(bottom / scale))), min(width, int(np.ceil(right / scale))))


def encoding_array(encoding: bytes) -> np.ndarray:
    return np.frombuffer(encoding, "<f4")


# ------------------------------------------------------------------------------- blurring

# Formats we write back as themselves; others are written as PNG (lossless).
_WRITABLE = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"}


def blur_faces(data: bytes, boxes: List[List[int]], margin: float = 0.25) -> Tuple[bytes, str]:
    """The image with every box (top, left, bottom, right in displayed pixels) widened by
    ``margin`` of its size and made unrecognisable, re-encoded; and the format written.

    Unrecognisable, not softened: each area is pixelated to about 6 cells across and then
    blurred, so no detail of the face survives (a light Gaussian blur can be undone in
    part). The full-resolution image is used; EXIF orientation is applied and the tag
    dropped with the rest of the metadata (a blurred copy should not carry the camera's
    location either); the ICC profile is kept so colours do not shift. The result is 8-bit
    RGB, or RGBA when the image has transparency (a 16-bit or palette image is written so).
    """
    return edit_image(data, faces=boxes, face_margin=margin)


COVER_FILL = (0, 0, 0)   # the solid colour printed personal data is painted over with


def edit_image(data: bytes, faces=(), face_margin: float = 0.25, covers=(),
               cover_margin: float = 0.2) -> Tuple[bytes, str]:
    """The image with ``faces`` blurred (as blur_faces) and ``covers`` (top, left, bottom,
    right in displayed pixels: words of personal data read by OCR) painted over with solid
    COVER_FILL boxes, each widened by ``cover_margin`` of its height on every side; encoded
    once, as blur_faces writes; and the format written."""
    image = open_image(data)
    fmt = image.format if image.format in _WRITABLE else "PNG"
    icc = image.info.get("icc_profile")
    picture = eight_bit(load_displayed(image))
    for top, left, bottom, right in faces:
        pad_y, pad_x = int((bottom - top) * face_margin), int((right - left) * face_margin)
        area = (max(0, left - pad_x), max(0, top - pad_y),
                min(picture.width, right + pad_x), min(picture.height, bottom + pad_y))
        if area[2] <= area[0] or area[3] <= area[1]:
            continue
        patch = picture.crop(area)
        cells = (max(1, patch.width // max(1, patch.width // 6)),
                 max(1, patch.height // max(1, patch.height // 6)))
        patch = patch.resize(cells, Image.Resampling.BOX).resize(patch.size,
                                                                  Image.Resampling.NEAREST)
        patch = patch.filter(ImageFilter.GaussianBlur(max(patch.width, patch.height) / 12))
        picture.paste(patch, area[:2])
    fill = COVER_FILL + ((255,) if picture.mode == "RGBA" else ())
    for box in covers:
        area = cover_area(box, cover_margin, picture.size)
        if area[2] > area[0] and area[3] > area[1]:
            picture.paste(fill, area)
    return _encode(picture, fmt, icc), fmt.lower()


def cover_area(box, margin: float, size) -> Tuple[int, int, int, int]:
    """The (left, top, right, bottom) area edit_image paints for a cover box (top, left,
    bottom, right): widened by ``margin`` of its height on every side, within the image."""
    top, left, bottom, right = box[:4]
    pad = math.ceil((bottom - top) * margin)
    return (max(0, left - pad), max(0, top - pad), min(size[0], right + pad),
            min(size[1], bottom + pad))


def _encode(picture: Image.Image, fmt: str, icc: Optional[bytes]) -> bytes:
    options = {"icc_profile": icc} if icc and fmt in ("JPEG", "PNG", "WEBP", "TIFF") else {}
    if fmt == "JPEG":
        picture = picture.convert("RGB")
        options.update(quality=92, subsampling=0)
    elif fmt == "WEBP":
        options.update(quality=92)
    elif fmt == "BMP" and picture.mode == "RGBA":
        picture = picture.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()
