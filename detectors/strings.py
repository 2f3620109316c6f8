"""Strings that must survive UTF-8: JSON lets "\\ud800" through, Arrow does not."""

import math

# Deeper JSON is not metadata anyone wrote by hand; it would also take the stdlib's
# recursive encoder close to the interpreter's recursion limit.
MAX_DEPTH = 200


class TooDeep(ValueError):
    """A value nested deeper than MAX_DEPTH."""


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


def json_safe(value, max_depth: int = MAX_DEPTH):
    """A copy of ``value`` that strict JSON can hold: NaN and infinities become strings,
    lone surrogates are spelled out. Iterative, so depth costs no stack; TooDeep past
    ``max_depth`` levels."""
    root = [None]
    stack = [(root, 0, value, 0)]   # (container, slot, value, depth)
    while stack:
        container, slot, item, depth = stack.pop()
        if depth > max_depth:
            raise TooDeep(f"nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            copy = {}
            for key, inner in item.items():
                key = utf8_safe(str(key))
                copy[key] = None
                stack.append((copy, key, inner, depth + 1))
            container[slot] = copy
        elif isinstance(item, (list, tuple)):
            copy = [None] * len(item)
            stack.extend((copy, index, inner, depth + 1) for index, inner in enumerate(item))
            container[slot] = copy
        elif isinstance(item, float) and not math.isfinite(item):
            container[slot] = str(item)
        elif isinstance(item, str):
            container[slot] = utf8_safe(item)
        else:
            container[slot] = item
    return root[0]
