"""Strings that must survive UTF-8: JSON lets "\\ud800" through, Arrow does not."""

import math


def utf8_clean(text: str) -> bool:
    """False for strings holding lone surrogates (from JSON escapes or undecodable file names)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def utf8_safe(text):
    """``text`` with any lone surrogate spelled out as ``\\udXXX``, so it can be written."""
    if text is None or utf8_clean(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def json_safe(value):
    """A copy of ``value`` that strict JSON can hold: NaN and infinities become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {utf8_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, str):
        return utf8_safe(value)
    return value
