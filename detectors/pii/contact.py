"""presidio's e-mail and URL recognizers, fixed where they fail on web and code text (phone
numbers: detectors/pii/phones.py)."""

import tldextract
from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer

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
