"""presidio's e-mail, URL and phone recognizers, fixed where they fail on web and code text."""

import regex as re
import tldextract
from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer, UrlRecognizer

# Offline public-suffix lookup: tldextract's default instance fetches the list from
# the network on first use (and logs a traceback when it cannot); the snapshot it
# ships is enough to tell a real domain.
_OFFLINE_TLDS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    def validate_result(self, pattern_text: str):
        return _OFFLINE_TLDS(pattern_text).fqdn != ""


class BoundedUrlRecognizer(UrlRecognizer):
    """presidio's URL patterns, matched as whole words, and no file names in code.

    presidio's patterns have no boundaries, so a top-level domain at the start of a
    longer word is a URL ("requests.ge" in requests.get, "boto3.cl" in boto3.client),
    and so is a script path ("./deploy.sh"). A host name must neither follow a
    word character, "." or "/" nor run on into a word character; and one with no
    scheme, no www. and no path whose top-level domain is also a common file name
    extension (deploy.sh, setup.py, README.md) is taken for a file.
    """
    _FILE_TLDS = frozenset("sh py pl md rs so ps cc zip mov bat cs hs ml rb ts go".split())
    # presidio's list of top-level domains lacks a few old generic ones (".biz" matched as
    # Burundi's ".bi" only because nothing ended the match).
    _BASE = UrlRecognizer.BASE_URL_REGEX.replace(
        "(?:(?:com)|", "(?:(?:com)|(?:biz)|(?:aero)|(?:coop)|(?:museum)|(?:jobs)|(?:travel)|", 1)
    PATTERNS = [
        Pattern("Standard Url", rf"(?i)(?<![\w.@/-])https?://{_BASE}(?![\w-])", 0.6),
        Pattern("Non schema URL", rf"(?i)(?<![\w.@/-]){_BASE}(?![\w-])", 0.5),
        Pattern("Quoted URL", rf'(?i)["\'](https?://{_BASE})["\']', 0.6),
        Pattern("Quoted Non-schema URL", rf'(?i)["\']({_BASE})["\']', 0.5),
    ]

    def validate_result(self, pattern_text: str):
        text = pattern_text.strip("\"'").lower()
        if "://" in text or text.startswith("www") or "/" in text:
            return None
        return None if text.rsplit(".", 1)[-1] not in self._FILE_TLDS else False


class GatedPhoneRecognizer(PhoneRecognizer):
    """presidio's phone recognizer, skipped on text that holds no 7 digits close together.

    It runs libphonenumber's matcher once per region (8 by default); most text
    has no phone number, and this cheap test says so first.

    Leniency POSSIBLE (0) instead of presidio's VALID (1): VALID drops numbers from
    ranges not yet assigned, which is much of what people type and all of what
    test data makes up, and a number is personal data whether or not its range is
    in service. POSSIBLE also takes short digit runs ("14" before a street name),
    so a match needs 7 digits. The score stays presidio's: below the threshold
    unless a context word ("phone", "call", ...) is near.
    """
    _CANDIDATE = re.compile(r"(?:\d\D{0,3}){6}\d")
    MIN_DIGITS = 7

    # presidio's words and a few more; matched as substrings of the tokens before the
    # number, so none that hides in common words ("tel" is in "hotel").
    CONTEXT = PhoneRecognizer.CONTEXT + ["fax", "contact", "reach", "whatsapp", "sms", "dial",
                                         "landline"]

    def __init__(self, supported_language: str = "en", leniency: int = 0, **kwargs):
        super().__init__(supported_language=supported_language, leniency=leniency,
                         context=self.CONTEXT, **kwargs)

    def analyze(self, text, entities, nlp_artifacts=None):
        if not self._CANDIDATE.search(text):
            return []
        return [r for r in super().analyze(text, entities, nlp_artifacts)
                if sum(c.isdigit() for c in text[r.start:r.end]) >= self.MIN_DIGITS]
