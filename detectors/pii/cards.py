"""Card numbers that presidio's CreditCardRecognizer misses.

presidio's pattern takes 13-19 digits that start with 1, 3, 4, 5 (51-55 only) or 6, so
it misses Mastercard's 2-series (2221-2720), 12-digit Maestro, 19-digit Visa and
15-digit JCB numbers that start 2131. A run of 12-19 digits that passes the Luhn check
is a card number one time in ten by chance, so this recognizer asks for a word that
says "card" close before the number as well.

Numbers read from images break their groups: tesseract reads "3051-538829-0190" as
"305 1-538829-0190", "6011-6860-9142-4796" as "6011-6860-9142.4796" and "4027428593277514"
as "402742859327751 4". For text read from images (transforms/ocr.py), broken_card_numbers
takes digit groups split by single spaces, dots or dashes in any mix after a card word, the
longest run of them that passes Luhn.
"""

from typing import List, Tuple

import regex as re
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from detectors.pii.patterns import luhn_valid
from detectors.pii.results import recognizer_result

_SEPARATORS = re.compile(r"[ -]")
_ANY_SEPARATOR = re.compile(r"[ .-]")


class LuhnCardRecognizer(LocalRecognizer):
    """12-19 digits, plain or in groups split by single spaces or dashes, passing Luhn.

    The first digit is 1-6 (the major industry identifiers of card networks: airlines'
    UATP, Mastercard, Amex/JCB/Diners, Visa, Maestro, Discover/UnionPay). Scored
    below the threshold unless one of CONTEXT (in English, German, French or Spanish)
    stands as a whole word in the 40 characters before the number. (presidio's context enhancer is not used: it
    matches context words as substrings of tokens, and "cc" is in "account" and
    "access".)
    """
    ENTITY = "CREDIT_CARD"
    SCORE = 0.3
    CONTEXT_SCORE = 0.65
    PATTERN = re.compile(r"(?<![\w.,/+-])(?:[1-6]\d{11,18}|[1-6]\d{3}(?P<sep>[ -])\d{3,6}"
                         r"(?:(?P=sep)\d{3,6}){1,3})(?![\w-]|[.,/]\d)")
    # English, German, French and Spanish ("Kreditkarte", "carte bancaire", "tarjeta").
    CONTEXT = re.compile(r"(?i:\b(?:cards?|credit|debit|visa|master ?card|maestro|amex|american "
                         r"express|discover|jcb|diners|unionpay|cc|cardholder|payment|paid|"
                         r"\w*karte|karteninhaber|kredit|zahlung|bezahlt|"
                         r"cartes?|cb|cr[ée]dit|paiement|pay[ée]e?|"
                         r"tarjetas?|cr[ée]dito|d[ée]bito|pago|pagado|titular)\b)")
    WINDOW = 40

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        results = []
        for match in self.PATTERN.finditer(text):
            digits = _SEPARATORS.sub("", match.group())
            if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
                continue
            score = self.CONTEXT_SCORE if after_card_word(text, match.start()) else self.SCORE
            results.append(recognizer_result(self, self.ENTITY, *match.span(), score))
        return results


def after_card_word(text: str, start: int) -> bool:
    window = LuhnCardRecognizer.WINDOW
    return bool(LuhnCardRecognizer.CONTEXT.search(text[max(0, start - window):start]))


# Digit groups of any length split by single spaces, dots or dashes in any mix.
_BROKEN = re.compile(r"(?<![\w.,/+-])[1-6]\d{0,18}(?:[ .-]\d{1,18}){1,7}")


def broken_card_numbers(text: str) -> List[Tuple[int, int]]:
    """[start, end) of the card numbers of ``text`` whose groups OCR broke: after a card
    word, the longest run of digit groups (split by spaces, dots or dashes in any mix)
    that holds 12-19 digits and passes Luhn."""
    spans = []
    for match in _BROKEN.finditer(text):
        end = broken_card_end(match.group())
        if end and after_card_word(text, match.start()):
            spans.append((match.start(), match.start() + end))
    return spans


def broken_card_end(groups: str) -> int:
    """The end of the longest run of the first digit groups of ``groups`` that holds 12-19
    digits and passes Luhn (0: none), so a price or a date after the number stays out."""
    ends = [m.start() for m in _ANY_SEPARATOR.finditer(groups)] + [len(groups)]
    for end in reversed(ends):
        digits = _ANY_SEPARATOR.sub("", groups[:end])
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            return end
    return 0


class BoundedCreditCardRecognizer(CreditCardRecognizer):
    """presidio's card recognizer, less its matches inside a longer run of digit groups.

    Its pattern has no boundary, so 16 digits inside a 22-digit parcel number ("9400 3850
    4000 0791 6999 ...") or an order number ("640-6923542-3356054") pass Luhn one time in
    ten and count as a card.
    """
    _BEFORE = re.compile(r"\d[ -]?$")
    _AFTER = re.compile(r"[ -]?\d")

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        return [r for r in super().analyze(text, entities, nlp_artifacts, regex_flags)
                if not self._BEFORE.search(text[max(0, r.start - 2):r.start])
                and not self._AFTER.match(text, r.end, min(len(text), r.end + 2))]
