"""Towns alone on a line of an image's text: the town under the name in a letter's or a
label's address block ("Freising", "Pfaffenhofen an der Ilm", "80331 München",
"Kolkata 700001", "Springfield, IL 62704").

spaCy's NER finds a town in a sentence; alone on a line it has no sentence to go by and
often misses it. A line whose words, less a postcode and a state code, are a town
GeoNames knows (data/towns.txt: 34,006 towns of at least 15,000 inhabitants,
scripts/make_towns.py), or have the shape of an English town named after a person (a name
and a place word, "Jacksonville", "Williamsport", "Harrisburg"; a place word and a name, "Lake
Charles", "Port Arthur", "West Jordan"), are a LOCATION. A one-word town that is a common
word ("Reading", "Split", "Date") does not count. Used on text read from images only
(transforms/ocr.py): in running text a short line alone is a heading as often as an address.
"""

from typing import FrozenSet, List, Tuple

import regex as re

from detectors.pii.names import ALL_NAMES, COMMON, _words

TOWNS: FrozenSet[str] = _words("towns.txt")
# English place words after a name ("Johnstown", "Edwardsville") and before one ("Fort
# Myers", "Mount Vernon"). Faker's invented English towns have these shapes too ("Joeport",
# "Lake Christine"): the OCR evaluation's LOCATION figure counts them (docs/BENCHMARKS.md).
_PLACE_ENDS = re.compile(r"(?:ton|town|ville|burg|burgh|borough|bury|port|mouth|view|haven"
                         r"|field|ford|side|chester|land|shire|berg|stad|furt|fort)$")
_PLACE_WORDS = frozenset("north south east west new lake port fort mount saint st.".split())

# [postcode] town [, state code] [postcode] on a line of its own; the town up to five
# words, the first capitalised ("Pfaffenhofen an der Ilm", "Den Haag", "Saint-Étienne").
_POSTCODE = r"\d{4,6}(?:-\d{4})?"
_LINE = re.compile(rf"(?m)^[ \t]*(?P<all>(?:{_POSTCODE}[ \t]+)?"
                   rf"(?P<town>\p{{Lu}}[\p{{L}}'’.-]*(?:[ \t]+[\p{{L}}'’.-]+){{0,4}}?)"
                   rf"(?:[ \t]*,[ \t]*\p{{Lu}}{{2}})?(?:[ \t]*,?[ \t]+{_POSTCODE})?)"
                   rf"[ \t.,;:]*$")


def is_town(name: str) -> bool:
    """A town GeoNames knows, or one named after a person (_PLACE_ENDS, _PLACE_WORDS)."""
    words = name.lower().rstrip(".")
    if words in TOWNS:
        return " " in words or words not in COMMON
    parts = words.split()
    if len(parts) == 2:
        return parts[0] in _PLACE_WORDS and parts[1] in ALL_NAMES and parts[1] not in COMMON
    end = _PLACE_ENDS.search(words)
    if len(parts) != 1 or end is None or words in COMMON:
        return False
    name = words[:end.start()]   # "jackson", "williams" or "john" + "s"
    return len(name) >= 3 and (name in ALL_NAMES
                               or name.endswith("s") and name[:-1] in ALL_NAMES)


def town_lines(text: str) -> List[Tuple[int, int]]:
    """The [start, end) of each line of ``text`` that is a known town (with its postcode
    and state code)."""
    return [(m.start("all"), m.end("all")) for m in _LINE.finditer(text)
            if is_town(m.group("town"))]
