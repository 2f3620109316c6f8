"""What a reviewer may see of a record: its text with every personal-data span the PII
stage found replaced by a typed placeholder, and a small thumbnail with its faces blurred.

Both read a row's evidence (quarantine ``evidence`` or cleaned ``flags``: dicts with
reason, stage, action and a JSON detail), so they show nothing the stages did not clear.
"""

import io
import json
from typing import Iterable, List

from PIL import Image

from detectors.faces import blur_faces
from detectors.images import load_displayed, on_white, open_image
from detectors.pii.spans import Finding, redact

THUMBNAIL_SIDE = 128


def _details(evidence: Iterable[dict], stage: str = None, reason: str = None):
    for item in evidence or ():
        if (stage is None or item["stage"] == stage) and (reason is None
                                                          or item["reason"] == reason):
            yield json.loads(item["detail"] or "{}")


def masked_preview(text: str, field: str, evidence: Iterable[dict], limit: int = 400) -> str:
    """``text`` (the record's ``field``) with its PII spans replaced, cut to ``limit``
    characters on one line. Spans are replaced before the cut, so no value is half shown."""
    findings = [Finding(s["entity_type"], s["start"], s["end"], s["score"], s["recognizer"])
                for detail in _details(evidence, stage="pii")
                if isinstance(detail.get("spans"), list)
                for s in detail["spans"] if s["field"] == field]
    masked, _ = redact(text or "", findings)
    masked = " ".join(masked.split())
    return masked if len(masked) <= limit else masked[:limit - 1] + "…"


def face_boxes(evidence: Iterable[dict]) -> List[List[int]]:
    """The face boxes (displayed pixels of the original image) the faces stage found."""
    return [face["box"] for detail in _details(evidence, reason="face")
            for face in detail.get("faces", [])]


def thumbnail(data: bytes, boxes: List[List[int]], side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG at most ``side`` pixels on its long side, as displayed, with ``boxes``
    blurred on the full-size image first (a face blurred small could still be sharp
    enough to recognise once enlarged)."""
    if boxes:
        data, _ = blur_faces(data, boxes)
    picture = on_white(load_displayed(open_image(data), min_side=side))
    picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=75)
    return buffer.getvalue()
