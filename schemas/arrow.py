"""Arrow schemas of every Parquet output. Readers of our outputs can rely on them."""

import json

import pyarrow as pa

_PROVENANCE = [
    pa.field("source", pa.string(), nullable=False),
    pa.field("location", pa.string(), nullable=False),
    pa.field("metadata", pa.string(), nullable=False),  # JSON object
]

# One per placeholder put into the cleaned text or caption, with its offsets there.
REDACTION = pa.struct([
    pa.field("field", pa.string(), nullable=False),        # text or caption
    pa.field("entity_type", pa.string(), nullable=False),
    pa.field("start", pa.int64(), nullable=False),
    pa.field("end", pa.int64(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("recognizer", pa.string(), nullable=False),
])

# One per range cut out of the text (repeated spans), with its offsets in the text as read.
REMOVED = pa.struct([
    pa.field("field", pa.string(), nullable=False),        # text
    pa.field("start", pa.int64(), nullable=False),
    pa.field("end", pa.int64(), nullable=False),
    pa.field("span", pa.string(), nullable=False),         # the repeated span's hash
    pa.field("documents", pa.int64(), nullable=False),     # documents that hold it
])

EVIDENCE = pa.struct([
    pa.field("reason", pa.string(), nullable=False),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("action", pa.string(), nullable=False),  # quarantine, redact, blur or flag
    pa.field("detail", pa.string(), nullable=False),  # JSON object
])

CLEANED_TEXT = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("redactions", pa.list_(REDACTION), nullable=False),
    pa.field("removed", pa.list_(REMOVED), nullable=False),
    # What a stage noted about a kept record (faces blurred or kept, a repeated identity
    # under its cap), with the evidence.
    pa.field("flags", pa.list_(EVIDENCE), nullable=False),
    pa.field("risk", pa.float64(), nullable=False),   # detectors/risk.py
    *_PROVENANCE,
])

CLEANED_IMAGE_TEXT = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("image", pa.binary(), nullable=False),   # faces blurred when the policy says so
    pa.field("image_format", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("caption", pa.string(), nullable=False),
    pa.field("redactions", pa.list_(REDACTION), nullable=False),
    pa.field("flags", pa.list_(EVIDENCE), nullable=False),
    pa.field("risk", pa.float64(), nullable=False),
    *_PROVENANCE,
])



def cleaned_image_text(ocr_text: bool = False) -> pa.Schema:
    """The cleaned image-text rows' schema; with ``ocr_text`` (ocr.write_text) a last column
    holds the text read in the image, its personal data replaced by placeholders as in
    captions (null where no text was read)."""
    return (CLEANED_IMAGE_TEXT.append(pa.field("ocr_text", pa.string())) if ocr_text
            else CLEANED_IMAGE_TEXT)


QUARANTINE = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("primary_reason", pa.string(), nullable=False),
    pa.field("reasons", pa.list_(pa.string()), nullable=False),
    pa.field("evidence", pa.list_(EVIDENCE), nullable=False),
    pa.field("kept_id", pa.string()),        # the representative a duplicate lost to
    pa.field("group_size", pa.int64()),      # size of the duplicate group
    pa.field("risk", pa.float64(), nullable=False),   # detectors/risk.py: ranks the review
    pa.field("text", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("image", pa.binary()),
    pa.field("image_format", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("raw", pa.binary()),            # undecoded bytes of a record we could not parse
    *_PROVENANCE,
    # The duplicate groups, templates and people it belongs to (detectors/clusters.py):
    # what a reviewer's cluster decision names.
    pa.field("clusters", pa.list_(pa.string()), nullable=False),
    # Filled when a reviewer's decision reached the record (--review-decisions):
    # review_status "rejected", or "release_refused" for bad input that was released.
    pa.field("review_status", pa.string()),
    pa.field("review_note", pa.string()),
    pa.field("reviewer", pa.string()),
    pa.field("reviewed_at", pa.timestamp("us", tz="UTC")),
])

INDEX_FORMAT_KEY = b"hygiene.index"
SPANS_FOLDER = "spans"   # an index folder's span index: INDEX_OUT/spans/part-*.parquet
EXACT_FOLDER = "exact"   # its exact-duplicate keys: INDEX_OUT/exact/part-*.parquet
IMAGES_FOLDER = "images"   # its image hashes: INDEX_OUT/images/part-*.parquet
CLIP_FOLDER = "clip"   # its CLIP embeddings: INDEX_OUT/clip/part-*.parquet
FACES_FOLDER = "faces"   # its face encodings: INDEX_OUT/faces/part-*.parquet
TEMPLATES_FOLDER = "templates"   # its caption template counts
LAYOUTS_FOLDER = "layouts"   # its images' layout thumbnails
IDS_FOLDER = "ids"   # every record's public id
IDS_FORMAT = {"kind": "ids"}
INDEX_VERSION = 2   # 2: the running index (every part merged, texts with their clusters)


def _indexed(fields, key_format: dict) -> pa.Schema:
    """An index part's schema, with how its keys were made (and the index version) in its
    metadata: a run compares it with its own before reading (transforms/io/index.py)."""
    fmt = json.dumps({"version": INDEX_VERSION, **key_format}, sort_keys=True)
    return pa.schema(fields, metadata={INDEX_FORMAT_KEY: fmt.encode()})


def index_schema(signature_format: dict) -> pa.Schema:
    """The cross-run near-duplicate text index: every text a run saw with a signature, and
    the root of the cluster it is in (itself when none: the record one run over all nights
    keeps), with that root's place in input order over all runs (transforms/common/nodes.py
    input_order).

    Only signatures made the same way can be compared, so the format travels in
    the Parquet file's schema metadata and is checked before a run uses it.
    """
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("minhash", pa.binary(), nullable=False),  # uint32 little-endian x num_perm
        pa.field("root", pa.string(), nullable=False),
        pa.field("order", pa.string(), nullable=False),
    ], signature_format)


def image_index_schema(phash_format: dict) -> pa.Schema:
    """The cross-run near-duplicate image index: every image a run hashed (its pHashes, one
    per orientation, and its fine hashes when a plain-ground picture), and the root of the
    cluster it is in with that root's place in input order, as the text index."""
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("phash", pa.binary(), nullable=False),
        pa.field("phash_fine", pa.binary()),
        pa.field("root", pa.string(), nullable=False),
        pa.field("order", pa.string(), nullable=False),
    ], phash_format)


def clip_index_schema(clip_format: dict) -> pa.Schema:
    """The cross-run semantic-duplicate index: every image a run embedded (float32, unit
    length) and the root of its cluster, as the image index."""
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("embedding", pa.binary(), nullable=False),
        pa.field("root", pa.string(), nullable=False),
        pa.field("order", pa.string(), nullable=False),
    ], clip_format)


def faces_index_schema(faces_format: dict) -> pa.Schema:
    """The cross-run identity index: every face a run encoded (its record and number, the
    encoding), and the identity it is in: the root face (record and number) of its
    component, itself when none, with that root's place in input order."""
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("face", pa.int64(), nullable=False),
        pa.field("encoding", pa.binary(), nullable=False),
        pa.field("root_id", pa.string(), nullable=False),
        pa.field("root_face", pa.int64(), nullable=False),
        pa.field("order", pa.string(), nullable=False),
    ], faces_format)


def templates_index_schema(templates_format: dict) -> pa.Schema:
    """The cross-run caption template index: per candidate template and distinct filler
    (its digest), the records that held them over all runs so far."""
    return _indexed([
        pa.field("template", pa.string(), nullable=False),
        pa.field("filler", pa.string(), nullable=False),
        pa.field("records", pa.int64(), nullable=False),
    ], templates_format)


def ids_index_schema() -> pa.Schema:
    """The cross-run id index: every public id a run gave a record (after making them unique,
    transforms/io/ids.py) and the run that gave it, so a later run renames tonight's record
    that reuses one, as one run over all nights would."""
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("run", pa.string(), nullable=False),
    ], IDS_FORMAT)


def layouts_index_schema(layouts_format: dict) -> pa.Schema:
    """The cross-run layout index: every image a run made a thumbnail of, with what groups
    it (its size, caption template, CLIP keys) and its face boxes (fractions of the image),
    so a later run estimates and counts layouts over every night's images."""
    return _indexed([
        pa.field("id", pa.string(), nullable=False),
        pa.field("order", pa.string(), nullable=False),
        pa.field("thumb", pa.binary(), nullable=False),   # side x side x 3 uint8
        pa.field("width", pa.int64(), nullable=False),
        pa.field("height", pa.int64(), nullable=False),
        pa.field("template", pa.string()),
        pa.field("faces", pa.list_(pa.list_(pa.float64())), nullable=False),
        pa.field("clip_keys", pa.list_(pa.list_(pa.int64())), nullable=False),
    ], layouts_format)


def exact_index_schema(key_format: dict) -> pa.Schema:
    """The cross-run exact-duplicate index: one row per text or pixel key any run saw, the
    id of the record that came first with it (the one kept: later copies are duplicates of
    it), how many records held it so far, and the run that first saw it (started_at)."""
    return _indexed([
        pa.field("kind", pa.string(), nullable=False),    # "text" or "image"
        pa.field("key", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("records", pa.int64(), nullable=False),
        pa.field("run", pa.string(), nullable=False),
    ], key_format)


def span_index_schema(span_format: dict) -> pa.Schema:
    """The cross-run span index (repeated spans): per span hash a run's texts held, how many
    documents held it, up to min_documents of their document keys, and whether any copy
    held personal data; how spans were cut and hashed in the file's metadata."""
    return _indexed([
        pa.field("span", pa.string(), nullable=False),
        pa.field("documents", pa.int64(), nullable=False),
        pa.field("keys", pa.list_(pa.string()), nullable=False),
        pa.field("personal", pa.bool_(), nullable=False),
    ], span_format)
