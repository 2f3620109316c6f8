"""Repeated spans: a text's units, the windows of consecutive units hashed as exact dedup
normalizes them, and what a document keeps once repeated windows are cut out. Beam-free.

Units are sentences, lines or paragraphs, found locally (a unit ends where its line,
paragraph or sentence ends), so a footer pasted into many pages is cut into the same units
and hashed the same in each of them, whatever surrounds it. Units without a letter or digit
("---", "|") are skipped: they never start or end a window. Sentences end at ., !, ?, …
(with closing quotes or brackets) before whitespace, at CJK full stops, and at line ends;
abbreviations split too ("Lt." "Gen."), the same way in every copy, which is all hashing
needs. A unit never depends on the text around it: joining an abbreviation to the next
sentence would change a pasted block's first unit wherever a page's text before it ends in
one (measured: two missed copies in 300 on the evaluation's planted set).

A window is ``window`` consecutive units; its hash is BLAKE2b (8 bytes, hex) over the
units normalized as exact dedup normalizes texts (NFKC, case folding, whitespace
collapse; detectors/hashing.py), one per line. A window's cut is the text it takes with
it when removed: from its first unit to the start of the unit after it (so separators go
too), or, at the end of the text, from the end of the unit before it to the end.
Offsets are Python string indices (code points), as the PII stage's.
"""

import re
from typing import Iterable, List, NamedTuple, Sequence, Tuple

from detectors.hashing import digest, normalize_text
from schemas.settings import SPAN_UNITS

UNITS = SPAN_UNITS
HASHING = "units-nfkc-casefold/blake2b-64/v1"   # changes here invalidate earlier span indexes

_LINE = re.compile(r"[^\n]+")
_PARAGRAPH = re.compile(r"(?:[^\n]|\n(?![ \t\r\f\v]*\n))+")   # up to a blank line
_SENTENCE = re.compile(
    r"\S.*?(?:[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+|$)", re.M)
_CONTENT = re.compile(r"\w")
# Words as detectors/minhash.py counts them: every CJK ideograph, kana or hangul syllable
# is one.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+")


class Unit(NamedTuple):
    start: int
    end: int     # exclusive, trailing whitespace not included


class Window(NamedTuple):
    hash: str    # 16 hex digits
    start: int   # of its first unit
    end: int     # of its last unit (what is shown and checked for personal data)
    cut_start: int   # what removing it takes out: separators included (see above)
    cut_end: int


def units(text: str, unit: str = "sentence") -> List[Unit]:
    """The units of ``text`` with a letter or digit in them, in order."""
    pattern = {"sentence": _SENTENCE, "line": _LINE, "paragraph": _PARAGRAPH}.get(unit)
    if pattern is None:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    found = []
    for m in pattern.finditer(text):
        piece = m.group()
        start = m.start() + len(piece) - len(piece.lstrip())
        end = m.start() + len(piece.rstrip())
        if end > start and _CONTENT.search(text, start, end):
            found.append(Unit(start, end))
    return found


def span_hash(normalized_units: Sequence[str]) -> str:
    return digest("\n".join(normalized_units).encode("utf-8", "surrogatepass"), 8)


def windows(text: str, unit: str = "sentence", size: int = 3) -> List[Window]:
    """Every window of ``size`` consecutive units of ``text`` (none when it has fewer)."""
    found = units(text, unit)
    normalized = [normalize_text(text[u.start:u.end]) for u in found]
    out = []
    for i in range(len(found) - size + 1):
        j = i + size - 1
        if j + 1 < len(found):
            cut = (found[i].start, found[j + 1].start)
        else:
            cut = (found[i - 1].end if i > 0 else found[i].start, len(text))
        out.append(Window(span_hash(normalized[i:j + 1]), found[i].start, found[j].end, *cut))
    return out


def span_format(settings) -> dict:
    """What two runs' span hashes and counts must share to be compared (in every span
    index): how spans are cut and hashed, and how many document keys a count keeps."""
    return {"kind": "spans", "hashing": HASHING, "unit": settings.unit,
            "window": settings.window, "min_documents": settings.min_documents}


def document_key(text: str, unit: str = "sentence") -> str:
    """The same for texts exact dedup calls the same (their normalized units agree): a
    span in two exact copies of one text is not repeated across documents."""
    return digest("\n".join(normalize_text(text[u.start:u.end])
                            for u in units(text, unit)).encode("utf-8", "surrogatepass"), 8)


def merge(ranges: Iterable[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Overlapping or touching [start, end) ranges as their unions, in order."""
    merged: List[List[int]] = []
    for start, end in sorted(ranges):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def holds(start: int, end: int, ranges: Iterable[Tuple[int, int]]) -> bool:
    """Whether [start, end) holds one of ``ranges`` whole. A finding that only spills into
    a window (a name NER runs on from a host's "Mr." into the boilerplate after it: "Mr.
    Want") does not make the window personal data in every document; the window that
    holds the whole finding does (and with the host's own text in it, it is not repeated)."""
    return any(start <= s and e <= end for s, e in ranges if e > s)


def remove(text: str, ranges: Sequence[Tuple[int, int]]) -> str:
    """``text`` without the (merged, ordered) ``ranges``."""
    pieces, cursor = [], 0
    for start, end in ranges:
        pieces.append(text[cursor:start])
        cursor = max(cursor, end)
    pieces.append(text[cursor:])
    return "".join(pieces)


def shift(offset: int, ranges: Sequence[Tuple[int, int]]) -> int:
    """Where ``offset`` of the text lands once the (merged, ordered) ``ranges`` are removed;
    an offset inside a removed range lands where the range was."""
    removed = 0
    for start, end in ranges:
        if offset <= start:
            break
        removed += min(offset, end) - start
    return offset - removed


def word_count(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))
