"""Personal data found by pattern alone, with no NLP model and no presidio: what the display
masks in ids, file names and member names (detectors/display.py), and what is looked for
in image metadata text (EXIF Artist, PNG text, comments).

Tuned for names and short fields, where "_", "." and "-" join words: an e-mail address
followed by "_photo.jpg" is still found. A phone number needs a shape (3-3-4 digits or a
leading +), so dates and serial numbers are not taken for one; a card number is 13-19
digits passing Luhn. People's names are not looked for here (that needs the NER).
"""

import re
from typing import List

from detectors.pii.spans import Finding

_NOT_DIGIT = re.compile(r"\D")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
PATTERNS = (
    ("EMAIL_ADDRESS", re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]*@"
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9])")),
    ("US_SSN", re.compile(r"(?<!\d)(?<!\d-)\d{3}-\d{2}-\d{4}(?!\d)(?!-\d)")),
    ("CREDIT_CARD", re.compile(r"(?<!\d)[1-6](?:[ -]?\d){12,18}(?!\d)")),
    ("PHONE_NUMBER", re.compile(
        r"(?<![A-Za-z0-9+])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,4}\d{2,4}"
        r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![A-Za-z0-9])")),
    ("IP_ADDRESS", re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\d.])")),
)


def find_pii(text: str) -> List[Finding]:
    """Findings in ``text`` (score 1.0, recognizer "pattern"), in text order."""
    found = []
    for entity, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if entity == "CREDIT_CARD" and not luhn_valid(_NOT_DIGIT.sub("", match.group())):
                continue
            if entity == "PHONE_NUMBER" and sum(c.isdigit() for c in match.group()) < 7:
                continue
            found.append(Finding(entity, match.start(), match.end(), 1.0, "pattern"))
    return sorted(found, key=lambda f: (f.start, -f.end))
