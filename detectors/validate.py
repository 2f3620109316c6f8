"""Content checks every parsed record goes through before any stage sees it."""

from typing import Optional, Tuple

from detectors.defects import InputDefect
from detectors.hashing import bytes_key, text_key
from detectors.strings import utf8_clean
from detectors.images import inspect_image
from schemas.reasons import Reason
from schemas.records import Fingerprint, Kind, Record
from schemas.settings import InputSettings, NearImageSettings


def validate(record: Record, limits: InputSettings,
             phash: Optional[NearImageSettings] = None) -> Tuple[Record, Fingerprint]:
    """The record (with ``defect`` set if it is bad) and its fingerprint.

    A bad record's fingerprint has no keys: it still needs a public id, but no
    stage compares it with anything.
    """
    if record.defect is not None:
        return record, _fingerprint(record)
    try:
        if record.kind == Kind.TEXT.value:
            _check_text(record.text, limits.max_text_chars, Reason.MISSING_TEXT)
            return record, _fingerprint(record, text_key=text_key(record.text))
        if record.kind == Kind.IMAGE_TEXT.value:
            if record.image is None:
                raise InputDefect(Reason.MISSING_IMAGE, "no image bytes")
            info = inspect_image(record.image, limits.max_image_pixels,
                                 limits.accepted_image_modes, phash)
            record = record._replace(image_format=info.format, width=info.width,
                                     height=info.height)
            _check_text(record.caption, limits.max_caption_chars, Reason.MISSING_CAPTION)
            return record, _fingerprint(record, pixel_key=info.pixel_key,
                                        bytes_key=bytes_key(record.image))._replace(
                                            phash=info.phash, phash_fine=info.phash_fine)
        raise InputDefect(Reason.UNSUPPORTED_FILE, f"unknown record kind {record.kind!r}")
    except InputDefect as defect:
        record = record._replace(defect=defect.reason.value, defect_detail=defect.detail)
        return record, _fingerprint(record)


def _check_text(text, max_chars: int, missing: Reason) -> None:
    if text is None:
        raise InputDefect(missing, "absent")
    if not text.strip():
        # A blank caption is a missing caption; a blank document is an empty text.
        reason = Reason.MISSING_CAPTION if missing is Reason.MISSING_CAPTION else Reason.EMPTY_TEXT
        raise InputDefect(reason, f"{len(text)} characters, all whitespace")
    if not utf8_clean(text):
        # make_record catches these; a record changed since (a stage's _replace) may not.
        raise InputDefect(Reason.INVALID_UNICODE,
                          "holds a lone surrogate escape (not encodable as UTF-8)")
    if len(text) > max_chars:
        raise InputDefect(Reason.TEXT_TOO_LONG, f"{len(text)} characters > cap {max_chars}")


def _fingerprint(record: Record, text_key=None, pixel_key=None, bytes_key=None) -> Fingerprint:
    return Fingerprint(uid=record.uid, id=record.id, kind=record.kind, source=record.source,
                       position=record.position, text_key=text_key, pixel_key=pixel_key,
                       bytes_key=bytes_key, minhash=None, shingles=None)
