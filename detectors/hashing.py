"""Identities and exact-match keys.

All hashes are BLAKE2b: fast, in the standard library, and stable across
platforms and Python versions (unlike ``hash()``).
"""

import hashlib
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def digest(data: bytes, size: int = 12) -> str:
    return hashlib.blake2b(data, digest_size=size).hexdigest()


def record_uid(source: str, location: str) -> str:
    """Internal id, unique by construction: one record per (file, location)."""
    return digest(f"{source}\x00{location}".encode("utf-8", "surrogatepass"))


def content_id(*parts: bytes) -> str:
    """Public id for records whose source has no key: a hash of their content."""
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))  # so ("ab","c") != ("a","bc")
        h.update(part)
    return "c" + h.hexdigest()


# How text_key and pixel_key are made (detectors/images.py pixel_key): two runs' exact keys
# compare only when these agree (the exact-duplicate index keeps them).
KEY_FORMAT = {"kind": "exact", "hash": "blake2b-128", "text": "nfkc casefold whitespace",
              "pixels": "rgb or rgba, 16-bit little-endian, WxH header"}


def normalize_text(text: str) -> str:
    """NFKC, case folding and whitespace collapse: what exact dedup compares."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", text).strip()


def text_key(text: str) -> str:
    return digest(normalize_text(text).encode("utf-8", "surrogatepass"), 16)


def bytes_key(data: bytes) -> str:
    return digest(data, 16)
