"""The output rows of a decided record: cleaned (redacted, faces blurred, printed personal
data covered, flags) or
quarantined (reasons, evidence, the record kept in its stead, clusters, review columns)."""

import collections
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

from detectors.faces import edit_image
from detectors.image_metadata import Stripped, strip_metadata, strip_metadata_fields
from detectors.pii.patterns import find_pii
from detectors.pii.spans import Finding, redact
from detectors.spans import merge, remove, shift
from detectors.strings import utf8_safe
from schemas.reasons import Reason, primary
from schemas.records import BLUR, COVER, NOTE, QUARANTINE, REDACT, REMOVE, Record, Verdict
from schemas.review import Decision
from schemas.settings import FaceSettings, ImageMetadataSettings, OcrSettings
from transforms.decide.review import review_columns

CLEANED, QUARANTINED = "cleaned", "quarantine"   # where a decided record goes
METADATA_SCAN_CHARS = 65_536   # of each metadata text field looked at for personal data


class CleanedImage(NamedTuple):
    image: bytes                  # as written: metadata stripped, faces blurred, text covered
    format: str
    stripped: Stripped            # what the metadata stripping removed and read
    personal: Tuple[str, ...]     # entity types found in the metadata's text fields
    # The record's metadata fields without those carrying image metadata not kept (an
    # img2dataset exif column: GPS too), and the paths of the fields removed.
    metadata: str = "{}"
    fields_removed: Tuple[str, ...] = ()


class Decided(NamedTuple):
    destination: str          # CLEANED or QUARANTINED
    row: dict                 # its output row
    verdicts: List[Verdict]   # the row's verdicts, after a reviewer's decision
    image: Optional[CleanedImage] = None   # a kept image: how it was cleaned


def evidence_item(v: Verdict) -> dict:
    return {"reason": v.reason, "stage": Reason(v.reason).stage.value, "action": v.action,
            "detail": v.evidence}


def _redactions(verdicts: List[Verdict]):
    """field -> the findings the "redact" verdicts ask to replace."""
    findings = collections.defaultdict(list)
    for v in verdicts:
        if v.action == REDACT:
            for s in v.spans or ():
                findings[s.field].append(Finding(s.entity_type, s.start, s.end, s.score,
                                                 s.recognizer))
    return findings


def _removals(verdicts: List[Verdict]):
    """field -> the ranges the "remove" verdicts cut out, merged, and the removals."""
    ranges, removals = collections.defaultdict(list), []
    for v in verdicts:
        if v.action == REMOVE:
            for r in v.removals or ():
                ranges[r.field].append((r.start, r.end))
                removals.append(r)
    return {field: merge(found) for field, found in ranges.items()}, sorted(removals)


def _cut(text: str, findings: List[Finding], ranges) -> Tuple[str, List[Finding]]:
    """``text`` without ``ranges`` (merged), and the findings moved to the text left: a
    finding's characters that were cut need no placeholder, the rest still get one."""
    moved = [f._replace(start=shift(f.start, ranges), end=shift(f.end, ranges))
             for f in findings]
    return remove(text, ranges), [f for f in moved if f.end > f.start]


Scan = Callable[[Sequence[str]], List[List[Finding]]]   # PiiScanner.scan: findings per text


def metadata_findings(texts: Sequence[str], scan: Optional[Scan] = None) -> List[List[Finding]]:
    """Personal data in metadata text fields: the patterns of detectors/pii/patterns.py,
    and, with ``scan``, what the scanner of texts and captions finds (names too)."""
    texts = [text[:METADATA_SCAN_CHARS] for text in texts]
    found = [find_pii(text) for text in texts]
    if scan is not None and texts:
        for mine, theirs in zip(found, scan(texts)):
            seen = {(f.entity_type, f.start, f.end) for f in mine}
            mine.extend(f for f in theirs if (f.entity_type, f.start, f.end) not in seen)
    return found


def cleaned_image(record: Record, verdicts: List[Verdict] = (),
                  faces: FaceSettings = FaceSettings(),
                  metadata: ImageMetadataSettings = ImageMetadataSettings(),
                  scan: Optional[Scan] = None, ocr: OcrSettings = OcrSettings()
                  ) -> CleanedImage:
    """A kept record's image as written: metadata not kept removed (orientation applied),
    then faces with a "blur" verdict blurred and words with a "cover" verdict painted over
    (one re-encoding for both); the record's metadata fields without the image
    metadata not kept (strip_metadata_fields). Personal data in a kept kind's text (an
    e-mail in a kept EXIF Artist, or a name where ``scan``, the PII stage's scanner, is
    given) removes that kind too."""
    stripped = strip_metadata(record.image, metadata.keep)
    found = [(kind, f.entity_type) for (kind, _, _), findings in zip(
        stripped.texts, metadata_findings([text for _, _, text in stripped.texts], scan))
        for f in findings]
    leaking = {kind for kind, _ in found} & set(metadata.keep)
    if leaking:
        stripped = strip_metadata(record.image, set(metadata.keep) - leaking)
    image, fmt = stripped.data, stripped.format
    boxes = [box for v in verdicts if v.action == BLUR for box in v.faces]
    covers = [box[:4] for v in verdicts if v.action == COVER for box in v.boxes or ()]
    if boxes or covers:
        image, fmt = edit_image(image, boxes, faces.blur_margin, covers, ocr.cover_margin)
    fields, removed = strip_metadata_fields(record.metadata or "{}", metadata.keep)
    return CleanedImage(image, fmt, stripped, tuple(entity for _, entity in found), fields,
                        removed)


def cleaned_row(record: Record, public_id: str, verdicts: List[Verdict] = (),
                image: Optional[CleanedImage] = None) -> dict:
    """The cleaned row; ``image``: an image record's cleaned image (cleaned_image). Text a
    "remove" verdict names is cut out first (the row's ``removed``: offsets into the text as
    read), then personal data is replaced (``redactions``: offsets into the text written)."""
    row = {"id": public_id, "source": utf8_safe(record.source),
           "location": utf8_safe(record.location),
           "metadata": image.metadata if image is not None else record.metadata,
           "redactions": [], "flags": [evidence_item(v) for v in verdicts
                                       if v.action not in (QUARANTINE, REDACT, REMOVE, NOTE)]}
    fields = {"text": record.text} if record.kind == "text" else {"caption": record.caption}
    cuts, removals = _removals(verdicts)
    redactions = _redactions(verdicts)
    for field, ranges in cuts.items():
        if field in fields:
            fields[field], redactions[field] = _cut(fields[field], redactions.get(field, []),
                                                   ranges)
    if record.kind == "text":
        row["removed"] = [r._asdict() for r in removals if r.field in fields]
    for field, findings in redactions.items():
        if not findings:
            continue
        fields[field], placed = redact(fields[field], findings)
        row["redactions"].extend({"field": field, **f._asdict()} for f in placed)
    row.update(fields)
    if record.kind != "text":
        # width and height were those displayed already: orientation applied, they hold
        row.update(image=image.image, image_format=image.format, width=record.width,
                   height=record.height, ocr_text=ocr_text(verdicts))
    return row


def ocr_text(verdicts: List[Verdict]) -> Optional[str]:
    """The text read in the image, personal data replaced (ocr.write_text; None without)."""
    texts = [v.text for v in verdicts if v.text is not None]
    return "\n".join(texts) if texts else None


def quarantine_row(record: Record, public_id: str, verdicts: List[Verdict],
                   decision: Optional[Decision] = None) -> dict:
    reasons = list(dict.fromkeys(v.reason for v in verdicts if v.action == QUARANTINE))
    # The latest stage groups most broadly (a near-duplicate cluster contains the
    # exact-duplicate group): its representative is the one that is kept.
    grouped = next((v for v in reversed(verdicts) if v.representative_id is not None), None)
    return {
        "id": public_id, "kind": record.kind,
        "primary_reason": primary(reasons).value, "reasons": reasons,
        "evidence": [evidence_item(v) for v in verdicts],
        "kept_id": grouped.representative_id if grouped else None,
        "group_size": grouped.group_size if grouped else None,
        # Bad input may hold lone surrogates: spelled out, so the row can be written.
        "text": utf8_safe(record.text), "caption": utf8_safe(record.caption),
        "image": record.image, "image_format": record.image_format, "width": record.width,
        "height": record.height, "raw": record.raw, "source": utf8_safe(record.source),
        "location": utf8_safe(record.location),
        "metadata": record.metadata,
        "clusters": sorted({v.cluster for v in verdicts if v.cluster}),
        **review_columns(decision, verdicts),
    }
