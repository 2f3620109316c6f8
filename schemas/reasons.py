"""Every reason a record can be held back, as one enumeration.

The order of members is the order of precedence: when a record has several
reasons, the first one in this list is its primary reason. Input defects come
first (they say the record is unusable), then the stages in pipeline order.
"""

import enum


class Stage(str, enum.Enum):
    INPUT = "input"
    EXACT_DEDUP = "exact_dedup"
    NEAR_DEDUP_TEXT = "near_dedup_text"
    NEAR_DEDUP_IMAGES = "near_dedup_images"
    REPEATED_SPANS = "repeated_spans"
    PII = "pii"
    OCR = "ocr"
    FACES = "faces"
    TEMPLATES = "templates"
    REVIEW = "review"


class Reason(str, enum.Enum):
    # Input: the file or record could not be read as what it claims to be.
    UNREADABLE_FILE = "unreadable_file"
    DECOMPRESSION_LIMIT = "decompression_limit"
    UNSUPPORTED_FILE = "unsupported_file"
    EMPTY_FILE = "empty_file"
    BAD_MEMBER_NAME = "bad_member_name"
    DUPLICATE_MEMBER = "duplicate_member"
    OVERSIZED_RECORD = "oversized_record"
    MALFORMED_JSON = "malformed_json"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_UNICODE = "invalid_unicode"
    MISSING_TEXT = "missing_text"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    MISSING_IMAGE = "missing_image"
    MISSING_CAPTION = "missing_caption"
    DUPLICATE_CAPTION_ROW = "duplicate_caption_row"
    UNDECODABLE_IMAGE = "undecodable_image"
    TRUNCATED_IMAGE = "truncated_image"
    DECOMPRESSION_BOMB = "decompression_bomb"
    UNSUPPORTED_IMAGE_MODE = "unsupported_image_mode"
    # A detector failed on this record (the record could not be checked).
    DETECTOR_ERROR = "detector_error"
    # A reviewer's decision (--review-decisions): rejected records stay out for good,
    # released ones are kept with this flag.
    REVIEW_REJECTED = "review_rejected"
    REVIEW_RELEASED = "review_released"
    # Exact duplicates.
    EXACT_DUPLICATE_TEXT = "exact_duplicate_text"
    EXACT_DUPLICATE_IMAGE = "exact_duplicate_image"
    # Near duplicates.
    NEAR_DUPLICATE_TEXT = "near_duplicate_text"
    NEAR_DUPLICATE_PREVIOUS_RUN = "near_duplicate_previous_run"
    NEAR_DUPLICATE_IMAGE = "near_duplicate_image"
    SEMANTIC_DUPLICATE_IMAGE = "semantic_duplicate_image"
    # Text repeated across different documents (boilerplate): removed from all but its
    # first document (a flag), and the documents left with too little text.
    MOSTLY_REPEATED = "mostly_repeated"
    REPEATED_SPAN = "repeated_span"
    # Personal data and secrets in a text or caption (the policy says which entity
    # types quarantine a record and which are redacted).
    SECRET = "secret"
    PII_GOVERNMENT_ID = "pii_government_id"
    PII_FINANCIAL = "pii_financial"
    PII_DENSE = "pii_dense"
    PII_CONTACT = "pii_contact"
    PII_NAME = "pii_name"
    PII_OTHER = "pii_other"
    # Text printed in an image (OCR): personal data in it covered with solid boxes or the
    # record quarantined, per pii.entities; the text read, noted for ocr.write_text.
    PII_IN_IMAGE = "pii_in_image"
    TEXT_IN_IMAGE = "text_in_image"
    # Faces (blurred, quarantined or kept by policy) and one person in many records.
    FACE = "face"
    REPEATED_IDENTITY = "repeated_identity"
    # Templated captions and layouts (mockups that share one picture around a product).
    CAPTION_TEMPLATE = "caption_template"
    TEMPLATE_FACE = "template_face"
    TEMPLATE_CLUSTER = "template_cluster"

    @property
    def stage(self) -> Stage:
        return _STAGE_OF.get(self, Stage.INPUT)

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def rank(self) -> int:
        return _RANK[self]


_STAGE_OF = {
    Reason.EXACT_DUPLICATE_TEXT: Stage.EXACT_DEDUP,
    Reason.EXACT_DUPLICATE_IMAGE: Stage.EXACT_DEDUP,
    Reason.NEAR_DUPLICATE_TEXT: Stage.NEAR_DEDUP_TEXT,
    Reason.NEAR_DUPLICATE_PREVIOUS_RUN: Stage.NEAR_DEDUP_TEXT,
    Reason.NEAR_DUPLICATE_IMAGE: Stage.NEAR_DEDUP_IMAGES,
    Reason.SEMANTIC_DUPLICATE_IMAGE: Stage.NEAR_DEDUP_IMAGES,
    Reason.MOSTLY_REPEATED: Stage.REPEATED_SPANS,
    Reason.REPEATED_SPAN: Stage.REPEATED_SPANS,
    Reason.SECRET: Stage.PII,
    Reason.PII_GOVERNMENT_ID: Stage.PII,
    Reason.PII_FINANCIAL: Stage.PII,
    Reason.PII_DENSE: Stage.PII,
    Reason.PII_CONTACT: Stage.PII,
    Reason.PII_NAME: Stage.PII,
    Reason.PII_OTHER: Stage.PII,
    Reason.PII_IN_IMAGE: Stage.OCR,
    Reason.TEXT_IN_IMAGE: Stage.OCR,
    Reason.FACE: Stage.FACES,
    Reason.REPEATED_IDENTITY: Stage.FACES,
    Reason.CAPTION_TEMPLATE: Stage.TEMPLATES,
    Reason.TEMPLATE_FACE: Stage.TEMPLATES,
    Reason.TEMPLATE_CLUSTER: Stage.TEMPLATES,
    Reason.REVIEW_REJECTED: Stage.REVIEW,
    Reason.REVIEW_RELEASED: Stage.REVIEW,
}

_DESCRIPTIONS = {
    Reason.UNREADABLE_FILE: "the file (or its remainder) could not be read: corrupt archive, compression or Parquet",
    Reason.DECOMPRESSION_LIMIT: "the rest of a compressed file whose output passed input.max_decompressed_bytes or input.max_decompression_ratio (what was read before stays)",
    Reason.UNSUPPORTED_FILE: "the file name matches no supported input format",
    Reason.EMPTY_FILE: "the file has zero bytes",
    Reason.BAD_MEMBER_NAME: "a tar member whose name cannot be a WebDataset key (absolute, '..', no extension, control characters)",
    Reason.DUPLICATE_MEMBER: "a tar member whose name an earlier member of the same sample already has, or a sample whose key an earlier, non-adjacent sample of the tar has",
    Reason.OVERSIZED_RECORD: "a line, tar member, sidecar, CSV cell, Parquet row or row group over its byte cap (input.max_*_bytes): streamed past, not read",
    Reason.MALFORMED_JSON: "the line is not a JSON object, or is nested too deeply or holds a number too large to read",
    Reason.INVALID_UTF8: "the bytes are not valid UTF-8",
    Reason.INVALID_UNICODE: "a text or caption holds a lone surrogate (a JSON escape such as \\ud800): it cannot be written as UTF-8",
    Reason.MISSING_TEXT: "the text field is absent, null or not a string",
    Reason.EMPTY_TEXT: "the text is empty or whitespace only",
    Reason.TEXT_TOO_LONG: "the text is longer than the configured cap",
    Reason.MISSING_IMAGE: "an image-text record without image bytes",
    Reason.MISSING_CAPTION: "an image-text record without a caption, or with a blank one",
    Reason.DUPLICATE_CAPTION_ROW: "a second caption row for an image that already has one",
    Reason.UNDECODABLE_IMAGE: "the bytes are not an image Pillow can decode",
    Reason.TRUNCATED_IMAGE: "the image data ends early",
    Reason.DECOMPRESSION_BOMB: "the image declares more pixels than the configured cap",
    Reason.UNSUPPORTED_IMAGE_MODE: "the image's pixel mode is not one the pipeline accepts",
    Reason.DETECTOR_ERROR: "a detector raised on this record, so it could not be checked (the evidence names the detector and the exception type)",
    Reason.REVIEW_REJECTED: "a reviewer rejected the record or a cluster it belongs to (--review-decisions): it stays out in every later run",
    Reason.REVIEW_RELEASED: "a reviewer released the record or its cluster (--review-decisions): kept, redacted and blurred per policy (a flag)",
    Reason.EXACT_DUPLICATE_TEXT: "the same text (after NFKC, case folding and whitespace collapse) as a kept record",
    Reason.EXACT_DUPLICATE_IMAGE: "the same decoded pixels as a kept record's image",
    Reason.NEAR_DUPLICATE_TEXT: "a text whose word 5-grams overlap a kept text's by the Jaccard threshold or more",
    Reason.NEAR_DUPLICATE_PREVIOUS_RUN: "a near duplicate of a text an earlier run kept (from --index-in)",
    Reason.NEAR_DUPLICATE_IMAGE: "an image whose perceptual hash is within the Hamming radius of a kept image's",
    Reason.SEMANTIC_DUPLICATE_IMAGE: "an image whose CLIP embedding is within the cosine threshold of a kept image's (needs real weights; off by default)",
    Reason.MOSTLY_REPEATED: "a text left with fewer than repeated_spans.min_words words once the spans it shares with other documents are removed",
    Reason.REPEATED_SPAN: "text (repeated_spans.window units) found in repeated_spans.min_documents or more documents: removed from the record's cleaned text, or flagged (repeated_spans.action)",
    Reason.SECRET: "a credential: cloud access key, GitHub/GitLab/Slack token, private key, JWT or API key",
    Reason.PII_GOVERNMENT_ID: "a government id such as a US social security number",
    Reason.PII_FINANCIAL: "a payment card number or an IBAN",
    Reason.PII_DENSE: "more personal-data spans than pii.max_spans: a contact list, not text",
    Reason.PII_CONTACT: "contact data: e-mail address, phone number, IP address, location or URL",
    Reason.PII_NAME: "a person's name",
    Reason.PII_OTHER: "personal data of another entity type the policy names",
    Reason.PII_IN_IMAGE: "personal data or a secret printed in the image, read by OCR and found by the same scanner and policy as captions: by default contact data and names are covered with solid boxes in the kept image (action cover), a government id, card number or secret quarantines the record",
    Reason.TEXT_IN_IMAGE: "text read in the image without personal data: a note that carries it to the ocr_text column (ocr.write_text), never a flag nor a quarantine",
    Reason.FACE: "a person's face (faces.action: blur, the default, keeps the record with the faces blurred)",
    Reason.CAPTION_TEMPLATE: "a caption made from a template many records share with different fillers (a flag: the record is kept)",
    Reason.TEMPLATE_FACE: "one of many images sharing a fixed picture with a face in it (a mockup rendered around a real person): the highest memorization risk",
    Reason.TEMPLATE_CLUSTER: "one of many images sharing a fixed, informative picture around a changing part (beyond the representatives kept)",
    Reason.REPEATED_IDENTITY: "the same person's face in identities.min_records or more records (identities.action: cap keeps the first identities.cap)",
}

_RANK = {reason: index for index, reason in enumerate(Reason)}

# Bad input and detector errors: nothing was checked, so a reviewer cannot release them.
INPUT_DEFECTS = frozenset(r for r in Reason if r.stage is Stage.INPUT)


def primary(reasons) -> Reason:
    """The reason that explains a record best: the earliest in the enumeration."""
    return min((Reason(r) for r in reasons), key=lambda r: r.rank)
