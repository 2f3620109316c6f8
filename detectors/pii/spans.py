"""Findings of the PII scan, and what we do with their offsets: merge, redact, mask.

Offsets are Python string indices (code points), as presidio and spaCy give them.
"""

import re
from typing import Iterable, List, NamedTuple, Tuple


class Finding(NamedTuple):
    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


def shifted(finding: Finding, offset: int) -> Finding:
    return finding._replace(start=finding.start + offset, end=finding.end + offset)


def merge_same_type(findings: Iterable[Finding]) -> List[Finding]:
    """One finding per stretch of text per entity type.

    Overlapping chunks and several recognizers of one type (a pattern and its
    context-boosted twin) report one entity more than once, sometimes cut at a
    chunk edge: same-type findings that overlap or touch become their union,
    with the highest score and the recognizer that gave it.
    """
    merged: List[Finding] = []
    for f in sorted(findings, key=lambda f: (f.entity_type, f.start, -f.end)):
        last = merged[-1] if merged else None
        if last is not None and last.entity_type == f.entity_type and f.start <= last.end:
            best = last if last.score >= f.score else f
            merged[-1] = best._replace(start=last.start, end=max(last.end, f.end))
        else:
            merged.append(f)
    return sorted(merged, key=lambda f: (f.start, f.end, f.entity_type))


# How much a finding's type says, for drop_contained: a checksum, a prefix or a validated
# format (4) above a generic secret (3), above a bare pattern (2), above a model's guess (1).
SPECIFICITY = {
    **dict.fromkeys(("EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD", "US_SSN", "IP_ADDRESS",
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN",
                     "SLACK_TOKEN", "PRIVATE_KEY", "JWT"), 4),
    "API_KEY": 3,
    "URL": 2, "PHONE_NUMBER": 2,
    **dict.fromkeys(("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME"), 1),
}
_DEFAULT_SPECIFICITY = 2


def drop_contained(findings: Iterable[Finding]) -> List[Finding]:
    """Findings less the ones that lie wholly inside a finding of a type at least as specific.

    Recognizers look at the same characters independently: the domain of an e-mail
    address is also a URL, a token after "token:" is an API_KEY and a GITHUB_TOKEN,
    the NER calls a piece of a key or an address a PERSON, digits inside an IBAN or a
    Slack token pass the card checksum. The inner finding adds nothing to redaction
    (the outer one covers its characters) and gives the record a wrong reason, so it
    goes; on equal spans the more specific type stays (then the higher score). Only
    containment counts: a finding that sticks out of the other one on either side
    (a name overlapping a URL's end) is kept, since dropping it would leave
    characters of it unredacted. A more specific finding inside a vaguer one (an
    e-mail address inside a URL, an IP address inside a URL) is kept too.
    """
    rank = lambda f: SPECIFICITY.get(f.entity_type, _DEFAULT_SPECIFICITY)  # noqa: E731
    # Every finding that contains another comes before it in this order.
    ordered = sorted(findings, key=lambda f: (f.start, -f.end, -rank(f), -f.score, f.entity_type))
    reach = {}  # specificity -> furthest end of a finding seen so far with it
    kept = []
    for f in ordered:
        if any(end >= f.end for r, end in reach.items() if r >= rank(f)):
            continue
        kept.append(f)
        reach[rank(f)] = max(reach.get(rank(f), f.end), f.end)
    return sorted(kept, key=lambda f: (f.start, f.end, f.entity_type))


def redact(text: str, findings: Iterable[Finding]) -> Tuple[str, List[Finding]]:
    """``text`` with every finding replaced by a typed placeholder such as <EMAIL_ADDRESS>.

    Findings of different types may overlap (an e-mail address inside a URL):
    each overlapping group is replaced as a whole, so no character of any
    finding survives, by the placeholder of its highest-scoring member (the
    longer one on a tie). Returns the new text and one finding per placeholder,
    with offsets into the new text.
    """
    groups: List[List[Finding]] = []
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.end <= f.start:
            continue
        if groups and f.start < max(g.end for g in groups[-1]):
            groups[-1].append(f)
        else:
            groups.append([f])
    pieces, placed, cursor, length = [], [], 0, 0
    for group in groups:
        start, end = min(f.start for f in group), max(f.end for f in group)
        top = max(group, key=lambda f: (f.score, f.end - f.start))
        placeholder = f"<{top.entity_type}>"
        pieces.append(text[cursor:start])
        length += start - cursor
        placed.append(top._replace(start=length, end=length + len(placeholder)))
        pieces.append(placeholder)
        length += len(placeholder)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), placed


_WORD = re.compile(r"\w+", re.UNICODE)
PREVIEW_CHARS = 48
_TLD = re.compile(r"\.[A-Za-z]{2,24}(?=$|[/:?#])")  # the end of a host name


def mask(value: str, entity_type: str = "") -> str:
    """A preview that shows the shape of a value, not the value: j***@e***.com.

    Every run of letters and digits becomes three stars (so its length does not
    show), after its first character when that is a letter; separators stay. An e-mail address or
    URL keeps its top-level domain, which identifies nobody.
    """
    def stars(part: str) -> str:
        return _WORD.sub(lambda m: "***" if m.group()[0].isdigit() else m.group()[0] + "***",
                         part)

    tld = _TLD.search(value) if entity_type in ("EMAIL_ADDRESS", "URL") else None
    if tld:
        masked = stars(value[:tld.start()]) + tld.group() + stars(value[tld.end():])
    else:
        masked = stars(value)
    masked = " ".join(masked.split())  # no raw newlines of a key block in a preview
    return masked if len(masked) <= PREVIEW_CHARS else masked[:PREVIEW_CHARS - 1] + "…"
