"""Caption templates: the fixed words of captions that many records share with different fillers.

E-commerce mockups come with captions made from one pattern: "<design> Unisex T-Shirt",
"<design> Throw Pillow", "Shower Curtain - <design>". A caption is cut into tokens, slot
tokens anyone would vary (colours, sizes, numbers with units, quoted titles) are masked,
and every way to keep a prefix of up to ``max_fixed`` tokens and a suffix of up to
``max_fixed`` tokens fixed, with the rest as the filler, is a candidate template. Mining
(transforms/templates/captions.py) counts records and distinct fillers per candidate over
the whole corpus: nothing is listed in advance, so templates nobody knew about are found.
A record's template is the most specific (most fixed tokens) mined candidate it has.
"""

import re
import unicodedata
from typing import Iterator, List, Tuple

from detectors.hashing import digest
from schemas.settings import TemplateSettings

FILLER = "<*>"

COLOURS = frozenset("""
black white grey gray silver gold red maroon crimson burgundy pink rose magenta purple
violet lavender lilac blue navy azure cyan teal turquoise aqua green olive lime mint sage
yellow mustard orange coral peach brown tan beige khaki cream ivory charcoal heather
multicolor multicolour rainbow
""".split())
SIZES = frozenset("""
xxs xs s m l xl xxl xxxl 2xl 3xl 4xl 5xl small medium large x-large xx-large one-size
""".split())
STOPWORDS = frozenset("""
a an the and or of for with in on at to by from as is are this that these those it its
your my our their his her new best top free sale
""".split())

_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„]{1,80})[\"“”«»„]")
_NUMBER = re.compile(r"^[#x×]?\d+([.,x×]\d+)*(\"|'|%|cm|mm|m|in|inch|inches|oz|ml|l|g|kg|lb"
                     r"|lbs|pcs|pack|px|k)?$")
_TOKEN = re.compile(r"[\w][\w'’&+\-./]*")


def tokens(caption: str) -> List[str]:
    """Lower-cased word tokens, a quoted title as one slot token."""
    text = unicodedata.normalize("NFKC", caption).casefold()
    text = _QUOTED.sub(" <title> ", text)
    return [t if t == "<title>" else t.strip("-./") for t in
            re.findall(r"<title>|" + _TOKEN.pattern, text) if t.strip("-./")]


def slot(token: str) -> str:
    """The token, or its slot name when it is a colour, size, number or title."""
    if token == "<title>":
        return token
    if token in COLOURS:
        return "<colour>"
    if token in SIZES:
        return "<size>"
    if _NUMBER.match(token):
        return "<number>"
    return token


def _content(words) -> bool:
    return any(not w.startswith("<") and w not in STOPWORDS and len(w) > 1 for w in words)


def candidates(caption: str, settings: TemplateSettings) -> Iterator[Tuple[str, str]]:
    """(template, filler) for every prefix/suffix split of the masked caption whose fixed
    part holds a content word and whose filler is not empty."""
    words = [slot(t) for t in tokens(caption)]
    if not 2 <= len(words) <= settings.max_tokens:
        return
    limit = min(settings.max_fixed, len(words) - 1)
    for head in range(limit + 1):
        for tail in range(limit + 1):
            if head + tail == 0 or head + tail >= len(words):
                continue
            fixed = words[:head] + words[len(words) - tail:]
            if not _content(fixed):
                continue
            template = " ".join(words[:head] + [FILLER] + words[len(words) - tail:])
            yield template, " ".join(words[head:len(words) - tail])


def specificity(template: str) -> Tuple[int, int, str]:
    """More fixed words, then more fixed characters, then the text (so a choice never
    depends on arrival order)."""
    fixed = [w for w in template.split() if w != FILLER]
    return len(fixed), sum(len(w) for w in fixed), template


def choose(mined: List[Tuple[str, int, int, str]], share: float):
    """A record's template among its mined candidates (template, records, fillers, filler):
    the most specific with at least ``share`` of the most fillers among them."""
    if not mined:
        return None
    most = max(fillers for _, _, fillers, _ in mined)
    wide = [m for m in mined if m[2] >= share * most]
    return max(wide, key=lambda m: specificity(m[0]))


def template_id(template: str) -> str:
    return "caption-" + digest(template.encode("utf-8"), 8)
