"""The policy: defaults, then a YAML file, then command-line flags.

Every setting is declared once in schemas/settings.py (type, default, bounds or choices,
help); this module reads and checks a policy against those declarations. The YAML layout
is one mapping per section, every key optional (README.md "Policy" lists them all with
their defaults: ``policy_yaml()`` writes that block):

    near_dedup_text:
      threshold: 0.8
    pii:
      entities: {URL: redact}      # a file names only the entities it changes
"""

import textwrap
from typing import Any, Dict, Optional

import yaml

from schemas import settings
from schemas.settings import SECTIONS, Policy


class PolicyError(ValueError):
    """A config file or flag value that cannot be used; the message says which and why."""


def load_policy(path: Optional[str] = None,
                overrides: Optional[Dict[str, Dict[str, Any]]] = None) -> Policy:
    """Defaults, then the YAML file at ``path``, then ``overrides`` (section -> key -> value;
    a None value leaves the file's)."""
    values: Dict[str, Dict[str, Any]] = _read_yaml(path) if path else {}
    for section, given in (overrides or {}).items():
        current = values.setdefault(section, {})
        if not isinstance(current, dict):
            continue   # reported by _build
        for key, value in given.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **value}  # pii.entities: flags over the file
            elif isinstance(value, list) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **dict(value)}
            elif value is not None:
                current[key] = value
    return _build(values)


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


def _build(values: Dict[str, Dict[str, Any]]) -> Policy:
    sections = {}
    for name, given in values.items():
        if name not in SECTIONS:
            raise PolicyError(f"unknown policy section {name!r} (known: {', '.join(SECTIONS)})")
        if not isinstance(given, dict):
            raise PolicyError(f"policy section {name!r} must be a mapping")
        sections[name] = _section(name, SECTIONS[name], given)
    return Policy(**sections)


def _section(name: str, cls: type, given: Dict[str, Any]):
    known = {f.name: f for f in settings.fields(cls)}
    values = {}
    for key, value in given.items():
        if key not in known:
            raise PolicyError(f"unknown key {name}.{key} (known: {', '.join(sorted(known))})")
        try:
            values[key] = settings.coerce(cls, known[key], value)
        except (TypeError, ValueError) as err:
            raise PolicyError(f"{name}.{key}: cannot use {value!r}: {err}") from None
    section = cls(**values)
    problem = next(iter(getattr(section, "problems", tuple)()), None)   # cross-field checks
    if problem:
        raise PolicyError(f"{name}: {problem}")
    return section


# ------------------------------------------------------------------ the README's block

COMMENT_COLUMN = 28   # where the help comments start
WIDTH = 92


def policy_yaml() -> str:
    """Every section and key with its default and help, as README.md "Policy" shows it."""
    lines = []
    for name, section in Policy().sections():
        lines.append(f"{name}:")
        for field in settings.fields(section):
            value = settings.shown(getattr(section, field.name))
            help_text = settings.declaration(field).help
            if isinstance(value, dict):
                lines.append(_commented(f"  {field.name}:", help_text))
                lines.extend(f"    {k}: {_scalar(v)}" for k, v in value.items())
            else:
                lines.append(_commented(f"  {field.name}: {_scalar(value)}", help_text))
    return "\n".join(lines) + "\n"


def _commented(line: str, comment: str) -> str:
    """``line`` with ``comment`` from COMMENT_COLUMN on, wrapped to WIDTH (below a long line)."""
    wrapped = textwrap.wrap(comment, WIDTH - COMMENT_COLUMN - 2)
    indent = " " * (COMMENT_COLUMN - 1)
    if len(line) >= COMMENT_COLUMN - 1:
        return "\n".join([line] + [f"{indent} # {part}" for part in wrapped])
    return "\n".join([f"{line.ljust(COMMENT_COLUMN - 1)} # {wrapped[0]}"]
                     + [f"{indent} # {part}" for part in wrapped[1:]])


def _scalar(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


if __name__ == "__main__":
    print(policy_yaml(), end="")
