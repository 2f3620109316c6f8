"""Layout templates: images that share one fixed picture around a part that changes.

A product mockup shop renders every design into the same photo (often a real model
wearing the garment): only the product area changes. Given a group of candidate images
(same caption template and size, or same size and border), each shrunk to a ``side`` x
``side`` thumbnail (the aspect is not kept: the group shares one size), on a bounded
sample of the group:
- the layout's images are those sharing at least ``min_fixed`` of their pixels (within
  ``tolerance``) with the image that shares that much with the most others;
- its picture is their per-pixel median, and a pixel is fixed when at least ``agree`` of
  them lie within ``tolerance`` of the median there;
- a member's similarity is the share of the fixed pixels it matches within tolerance;
- members with similarity >= ``min_similarity`` form the layout; the rest are tried
  against a second layout estimated from them (``max_layouts`` per group).
A layout counts when its fixed area is at least ``min_fixed`` of the image and holds
information: mean gradient (0-255 grey per pixel) at least ``min_information`` inside the
fixed area, away from its edge. A catalogue shot on plain white has a large fixed area and
no information there: nothing to memorize, so no layout template.
"""

import io
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from detectors.hashing import digest
from detectors.images import displayed_size, load_displayed, on_white, open_image
from schemas.settings import LayoutSettings


class Layout(NamedTuple):
    layout_id: str
    median: np.ndarray     # (side, side, 3) uint8
    fixed: np.ndarray      # (side, side) bool
    fixed_fraction: float
    information: float
    sample_members: int    # sample images that matched it


def thumbnail(data: bytes, side: int) -> Tuple[np.ndarray, int, int]:
    """(side x side RGB uint8 of the displayed image, its width, height), decoded small."""
    image = open_image(data)
    width, height = displayed_size(image)
    picture = on_white(load_displayed(image, side))
    return np.asarray(picture.resize((side, side), Image.Resampling.BOX)), width, height


def border_key(thumb: np.ndarray, levels: int = 4) -> str:
    """A coarse signature of the image's border (where mockups keep their fixed photo):
    mean grey of the 12 outer cells of a 4 x 4 grid, in ``levels`` steps."""
    grey = thumb.mean(axis=2)
    cells = grey.reshape(4, grey.shape[0] // 4, 4, grey.shape[1] // 4).mean(axis=(1, 3))
    ring = np.concatenate([cells[0], cells[3], cells[1:3, 0], cells[1:3, 3]])
    return "".join(str(int(v * levels / 256)) for v in ring)


def similarity(thumb: np.ndarray, layout: Layout, tolerance: int) -> float:
    if not layout.fixed.any():
        return 0.0
    close = (np.abs(thumb.astype(np.int16) - layout.median).max(axis=2) <= tolerance)
    return float(close[layout.fixed].mean())


def information(median: np.ndarray, fixed: np.ndarray) -> float:
    """Mean gradient magnitude of the median's grey inside the fixed area, one pixel in
    from its edge (the edge between fixed and changing parts is no information)."""
    grey = median.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    inner = fixed.copy()
    inner[1:, :] &= fixed[:-1, :]
    inner[:-1, :] &= fixed[1:, :]
    inner[:, 1:] &= fixed[:, :-1]
    inner[:, :-1] &= fixed[:, 1:]
    return float(magnitude[inner].mean()) if inner.any() else 0.0


def agreement(thumbs: np.ndarray, tolerance: int) -> np.ndarray:
    """(n, n): the share of pixels two thumbnails have within tolerance of each other."""
    n = len(thumbs)
    shared = np.eye(n)
    for i in range(n - 1):
        close = np.abs(thumbs[i + 1:] - thumbs[i]).max(axis=3) <= tolerance
        shared[i, i + 1:] = shared[i + 1:, i] = close.mean(axis=(1, 2))
    return shared


def estimate(thumbs: Sequence[np.ndarray], settings: LayoutSettings, group: str) -> List[Layout]:
    """Up to ``max_layouts`` layouts of a bounded sample. Each starts from the image that
    shares at least ``min_fixed`` of its pixels with the most others (a mixed group's
    largest layout), is estimated from those images, and the next from what it did not
    match."""
    if len(thumbs) < settings.min_members:
        return []
    layouts = []
    stack = np.stack(thumbs).astype(np.int16)
    rest = np.arange(len(thumbs))
    shared = agreement(stack, settings.tolerance)
    for index in range(settings.max_layouts):
        if len(rest) < settings.min_members:
            break
        near = shared[np.ix_(rest, rest)] >= settings.min_fixed
        seed = int(np.argmax(near.sum(axis=1)))
        members = stack[rest[near[seed]]]
        if len(members) < settings.min_members:
            break
        median = np.median(members, axis=0).astype(np.uint8)
        close = np.abs(members - median).max(axis=3) <= settings.tolerance
        fixed = close.mean(axis=0) >= settings.agree
        layout = Layout(layout_id=f"layout-{digest((group + str(index)).encode(), 8)}",
                        median=median, fixed=fixed, fixed_fraction=round(float(fixed.mean()), 4),
                        information=round(information(median, fixed), 3), sample_members=0)
        matched = np.array([similarity(stack[i], layout, settings.tolerance)
                            >= settings.min_similarity for i in rest])
        if layout.fixed_fraction < settings.min_fixed or matched.sum() < settings.min_members:
            break
        layouts.append(layout._replace(sample_members=int(matched.sum())))
        rest = rest[~matched]
    return layouts


def best_layout(thumb: np.ndarray, layouts: Sequence[Layout],
                settings: LayoutSettings) -> Optional[Tuple[Layout, float]]:
    scored = [(similarity(thumb, layout, settings.tolerance), layout) for layout in layouts]
    scored = [(s, layout) for s, layout in scored if s >= settings.min_similarity]
    if not scored:
        return None
    score, layout = max(scored, key=lambda pair: (pair[0], pair[1].layout_id))
    return layout, score


def face_in_fixed(box: Sequence[float], fixed: np.ndarray, share: float = 0.7) -> bool:
    """Whether a face box (top, left, bottom, right as fractions of the image) lies mostly
    in the fixed area."""
    side = fixed.shape[0]
    top, left, bottom, right = (int(round(v * side)) for v in box)
    area = fixed[max(0, top):max(top + 1, bottom), max(0, left):max(left + 1, right)]
    return bool(area.size) and float(area.mean()) >= share


def mask_png(fixed: np.ndarray) -> bytes:
    """The fixed area as a small black-and-white PNG (white: fixed), for the report."""
    buffer = io.BytesIO()
    Image.fromarray((fixed * 255).astype(np.uint8)).convert("1").save(buffer, "PNG",
                                                                      optimize=True)
    return buffer.getvalue()
