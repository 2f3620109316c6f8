"""Strings shown to people (summary.json, the report, log lines, the review CSV's display
columns) made safe to show: no terminal control and no personal data.

Ids, file names, tar member names and metadata fields come from the scraped data: a file
name may hold an e-mail address, or an ANSI escape that rewrites a reviewer's terminal
when a log line prints it. Only what is shown changes: the Parquet outputs keep the true
values, and so does the review CSV's id column, which decisions are matched on.
"""

import functools
import re
from typing import Optional

from detectors.pii.patterns import find_pii
from detectors.pii.spans import mask

# ANSI/ECMA-48 escape sequences: CSI (ESC [ or 0x9B) with its parameters, OSC, DCS, SOS,
# PM and APC strings up to their terminator (or the end), and two-character escapes.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -~]?", re.DOTALL)
# What is left that a terminal or a text renderer acts on: C0 and C1 controls, DEL, bidi
# embeddings, overrides and isolates (they reorder what follows: "evil\u202egpj.exe"),
# line and paragraph separators, and lone surrogates (undecodable file names).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                       "\u2066-\u2069\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def terminal_safe(text: Optional[str]) -> Optional[str]:
    """``text`` without escape sequences, and with every other control, bidi or separator
    character replaced by U+FFFD (so a reader sees that something was there)."""
    if text is None:
        return None
    text = str(text)
    if text.isprintable() and text.isascii():   # the common case, fast
        return text
    return _CONTROLS.sub(REPLACEMENT, _ESCAPES.sub("", text))


@functools.lru_cache(maxsize=65536)   # the same ids and paths are shown many times
def _for_display(text: str) -> str:
    text = terminal_safe(text)
    pieces, cursor = [], 0
    for finding in find_pii(text):
        if finding.start < cursor:   # inside one already masked
            continue
        pieces += [text[cursor:finding.start],
                   mask(text[finding.start:finding.end], finding.entity_type)]
        cursor = finding.end
    return "".join(pieces) + text[cursor:]


def for_display(text: Optional[str]) -> Optional[str]:
    """``text`` as a person may see it: terminal-safe (see terminal_safe), personal data
    found by pattern (detectors/pii/patterns.py) masked to its shape (j***@e***.com)."""
    return None if text is None else _for_display(str(text))
