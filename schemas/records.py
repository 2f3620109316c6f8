"""Typed records that flow through the graph.

Two identities per record:
- ``uid``: internal and unique by construction, a hash of (source file,
  location). Every stage keys its verdicts by it.
- ``id``: the public id written to the outputs. It is the source's own key
  when the source has one (an ``id`` field, a WebDataset key, an image's path
  in its folder), else a content hash (``c`` + 24 hex digits of BLAKE2b over
  the text, or the image bytes and caption, or the raw bytes of a broken
  record). Public ids are made unique per run by ``transforms.io.ids``: when
  several records claim one id, the first in input order keeps it and the
  others get ``~2``, ``~3``, ... appended.
"""

import enum
from typing import NamedTuple, Optional

import apache_beam as beam


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
    return Record(uid=uid, id=id, kind=str(Kind(kind).value), source=source,
                  position=position, location=location, text=text,
                  caption=caption, image=image, image_format=None, width=None,
                  height=None, metadata=metadata, raw=raw,
                  defect=None if defect is None else defect.value,
                  defect_detail=defect_detail)


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


class Verdict(NamedTuple):
    """One stage's finding about one record."""
    uid: str
    reason: str                # a schemas.reasons.Reason value
    action: str                # "quarantine", "redact" (cleaned after redaction) or "flag"
    evidence: str              # JSON object, never raw personal data
    representative_id: Optional[str]
    group_size: Optional[int]


QUARANTINE = "quarantine"
REDACT = "redact"
FLAG = "flag"

for _type in (Record, Fingerprint, Verdict):
    beam.coders.registry.register_coder(_type, beam.coders.RowCoder)
