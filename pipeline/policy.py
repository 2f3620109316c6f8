"""The policy: every threshold and action, from a YAML file, overridden by CLI flags.

YAML layout (every key optional; see policy.example.yaml for all of them):

    input:
      format: auto            # auto | jsonl | parquet | webdataset | image-folder
      text_field: text
      ...
    exact_dedup:
      text: true
      images: true
"""

import dataclasses
from typing import Any, Dict, Optional

import yaml

from detectors.validate import InputLimits
from transforms.sources.common import SourceFields


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
class Policy:
    input: InputPolicy = InputPolicy()
    exact_dedup: ExactDedupPolicy = ExactDedupPolicy()

    def to_dict(self) -> Dict[str, Dict[str, Any]]:
        """The flat per-section form the YAML file uses (and the manifest records)."""
        return {
            "input": {"format": self.input.format,
                      **dataclasses.asdict(self.input.fields),
                      **dataclasses.asdict(self.input.limits)},
            "exact_dedup": dataclasses.asdict(self.exact_dedup),
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
}
FORMATS = ("auto", "jsonl", "parquet", "webdataset", "image-folder")


def load_policy(path: Optional[str] = None, overrides: Optional[Dict[str, Dict[str, Any]]] = None) -> Policy:
    """Defaults, then the YAML file at ``path``, then ``overrides`` (section -> key -> value)."""
    settings: Dict[str, Dict[str, Any]] = {}
    if path:
        settings = _read_yaml(path)
    for section, values in (overrides or {}).items():
        settings.setdefault(section, {}).update(
            {k: v for k, v in values.items() if v is not None})
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
    parts = {"input": {}, "fields": {}, "limits": {}, "exact_dedup": {}}
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
        exact_dedup=ExactDedupPolicy(**parts["exact_dedup"]))
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
