"""Typed records that flow through the graph.

Two identities per record:
- ``uid``: internal and unique by construction, a hash of (source file,
  location). Every stage keys its verdicts by it.
- ``id``: the public id written to the outputs. It is the source's own key
  when the source has one (an ``id`` field, a WebDataset key, an image's path
  in its folder), else a content hash (``c`` + 24 hex digits of BLAKE2b over
  the text, or the image bytes and caption, or the raw bytes of a broken
  record). Public ids are made unique per run by ``transforms.io.ids``: when
  several records claim one id, the first in input order keeps it and each
  other gets ``~`` and 8 hex digits of its uid appended (stable across runs).
"""

import enum
from typing import NamedTuple, Optional, Sequence

import apache_beam as beam

from detectors.strings import utf8_clean, utf8_safe
from schemas.reasons import Reason


class Kind(str, enum.Enum):
    TEXT = "text"
    IMAGE_TEXT = "image_text"
    UNKNOWN = "unknown"  # a file we could not even classify


class Record(NamedTuple):
    uid: str
    id: str
    kind: str
    source: str              # file path (or URI) the record came from
    position: int            # line, row or member index in that file: orders records
    location: str            # human-readable position, e.g. "line 12", "member 000003"
    text: Optional[str]      # text documents
    caption: Optional[str]   # image-text pairs
    image: Optional[bytes]
    image_format: Optional[str]
    width: Optional[int]
    height: Optional[int]
    metadata: str            # JSON object: every source field we do not interpret
    raw: Optional[bytes]     # the undecoded bytes of a record we could not parse
    defect: Optional[str]    # a schemas.reasons.Reason value for bad input
    defect_detail: Optional[str]


def make_record(*, uid, id, kind, source, position, location, text=None,
                caption=None, image=None, metadata="{}", raw=None,
                defect=None, defect_detail=None) -> Record:
    """The one place records are made: every string in it can be written as UTF-8.

    A text or caption with a lone surrogate (a JSON escape such as "\\ud800") makes the
    record invalid_unicode; in names, ids, metadata and details such characters are
    spelled out (``\\udXXX``), so the record flows (Beam's row coder and Arrow would
    raise on them and fail the job)."""
    unwritable = [name for name, value in (("text", text), ("caption", caption))
                  if value is not None and not utf8_clean(value)]
    if unwritable:
        text, caption = utf8_safe(text), utf8_safe(caption)
        if defect is None:
            defect = Reason.INVALID_UNICODE
            defect_detail = (f"the {unwritable[0]} holds a lone surrogate escape "
                             "(not encodable as UTF-8)")
    return Record(uid=uid, id=utf8_safe(id), kind=str(Kind(kind).value),
                  source=utf8_safe(source), position=position, location=utf8_safe(location),
                  text=text, caption=caption, image=image, image_format=None, width=None,
                  height=None, metadata=utf8_safe(metadata), raw=raw,
                  defect=None if defect is None else defect.value,
                  defect_detail=utf8_safe(defect_detail))


def valid_image(record: Record) -> bool:
    """An image-text record that passed validation: its image decodes."""
    return record.kind == Kind.IMAGE_TEXT.value and record.defect is None


class Fingerprint(NamedTuple):
    """The light per-record keys the global stages group by (no payload)."""
    uid: str
    id: str
    kind: str
    source: str
    position: int
    text_key: Optional[str]    # hash of normalized text (text documents)
    pixel_key: Optional[str]   # hash of decoded pixels (images)
    bytes_key: Optional[str]   # hash of the encoded image bytes
    minhash: Optional[bytes]   # MinHash signature of the text (uint32 little-endian)
    shingles: Optional[bytes]  # its distinct shingle hashes, sorted: only for exact verification
    phash: Optional[bytes] = None  # perceptual hash of the image (detectors.phash), big-endian
    phash_fine: Optional[bytes] = None  # its fine pHash, plain-ground pictures only


class FaceBox(NamedTuple):
    """A face in displayed pixels of the original image; bottom and right exclusive."""
    top: int
    left: int
    bottom: int
    right: int


class TextBox(NamedTuple):
    """Words of personal data read in an image (transforms/ocr.py): their box in displayed
    pixels of the original, bottom and right exclusive, and the entity type they belong to."""
    top: int
    left: int
    bottom: int
    right: int
    entity_type: str


class Span(NamedTuple):
    """Personal data found in a record's text or caption."""
    field: str                 # "text" or "caption"
    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


class Removal(NamedTuple):
    """Text a stage cut out of a record's field: [start, end) of the text as read."""
    field: str                 # "text"
    start: int
    end: int
    span: str                  # the repeated span's hash (detectors/spans.py)
    documents: int             # documents that hold it


class Verdict(NamedTuple):
    """One stage's finding about one record.

    The evidence is for people: JSON written to the outputs, read by no other stage. What
    later steps need travels in the typed fields after it."""
    uid: str
    reason: str                # a schemas.reasons.Reason value
    action: str                # QUARANTINE, REDACT, REMOVE, BLUR, COVER or FLAG (below)
    evidence: str              # JSON object, never raw personal data
    representative_id: Optional[str]
    group_size: Optional[int]
    cluster: Optional[str] = None              # the cluster it puts the record in
                                               # (detectors/clusters.py names them)
    faces: Optional[Sequence[FaceBox]] = None  # face verdicts: the faces found
    spans: Optional[Sequence[Span]] = None     # PII verdicts but pii_dense: the spans found
    removals: Optional[Sequence[Removal]] = None   # repeated_span verdicts: what is cut out
    boxes: Optional[Sequence[TextBox]] = None  # pii_in_image verdicts: the words to cover
    text: Optional[str] = None   # pii_in_image and image_text verdicts with ocr.write_text:
    #                              the text read, its personal data replaced by placeholders


class ClusterMember(NamedTuple):
    """A decided record's verdict in a cluster (Decide's 'clusters' output, keyed by the
    cluster): what the summary ranks clusters by and what the report shows of a member."""
    record_id: str             # public id
    destination: str           # "cleaned" or "quarantine"
    risk: float                # the record's
    reason: str                # the verdict's
    action: str
    evidence: str
    size: int                  # the cluster's, as the verdict says (0: not given)
    kept_id: Optional[str]     # the record kept for a duplicate group


QUARANTINE = "quarantine"
REDACT = "redact"   # cleaned, its spans replaced by placeholders
BLUR = "blur"       # cleaned, its faces blurred
COVER = "cover"     # cleaned, the words of its boxes painted over with solid boxes
NOTE = "note"       # cleaned, nothing to do: carries what a stage read (Verdict.text)
FLAG = "flag"       # cleaned, the verdict noted in its flags
REMOVE = "remove"   # cleaned, its removals cut out of the text

for _type in (Record, Fingerprint, FaceBox, TextBox, Span, Removal, Verdict, ClusterMember):
    beam.coders.registry.register_coder(_type, beam.coders.RowCoder)
