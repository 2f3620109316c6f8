"""Phone numbers as people write them, in English, German, French and Spanish text.

presidio's PhoneRecognizer runs libphonenumber's matcher once per region and scores
every match below the threshold unless an English context word is near: it found
13% of the numbers in evaluation/phone_corpus.py's set (none in a table, none without
a context word). This recognizer finds digit runs split by spaces, dashes, dots,
slashes and parentheses in one pass, and decides by their shape:

- a number with +CC (or 00CC) that libphonenumber calls possible for that country
  (its length fits; whether the range is assigned does not matter: a number written as
  a phone number is personal data either way), a North-American 3-3-4 number in its
  written forms, a national number with its trunk 0 or its area code in parentheses,
  and a few countries' own layouts: found on the shape alone;
- any other run of 7-15 digits that is a possible number in one of REGIONS: found only
  with a phone word close before it (CONTEXT, in the four languages, as whole words),
  or under a table column headed by one;
- dates, year ranges, decimals, amounts with thousands separators or a currency, ISBNs,
  ZIP+4 codes, and numbers after a word that names another kind of number (order,
  tracking, invoice, version, ISBN, account... in the four languages): none, unless a
  phone word is closer.
"""

from typing import List, Optional

import phonenumbers
import regex as re
from presidio_analyzer import LocalRecognizer, RecognizerResult

from detectors.pii.results import recognizer_result

_NOT_DIGIT = re.compile(r"\D")

_SP = r"[ \u00a0]"
_SEP = rf"(?:{_SP}?[-./–]{_SP}?|{_SP}{{1,2}})"
_GROUP = r"(?:\(\+?\d{1,5}\)|\d{1,12})"
CANDIDATE = re.compile(
    rf"(?<![\w+@#$€£¥./,:°-])(?P<number>(?:\+{_SP}?|00(?=[1-9]))?{_GROUP}"
    rf"(?:(?:{_SEP}|(?<=\)){_SP}?|(?=\())(?:{_GROUP})){{0,7}}+)"
    rf"(?P<ext>{_SP}?,?{_SP}?(?i:ext\.?|extension|x|durchwahl|dw\.?|poste|ext)"
    rf"{_SP}?[.:]?{_SP}?\d{{1,6}})?"
    r"(?![\w@°%]|[.,:/–-]\d)")
# Any 7 digits close together: what a chunk must hold before the pattern runs at all.
_GATE = re.compile(r"(?:\d\D{0,3}){6}\d")

# Words that say a number is a phone number, as whole words, case-blind (stems end in \w*).
CONTEXT = re.compile(
    r"(?i)(?<!\w)(?:"
    r"phone\w*|telephon\w*|tel|ph|call\w*|mobile?|mob|cell\w*|fax\w*|contact\w*|reach\w*|text|"
    r"sms|whats ?app|dial\w*|landline|hotline|helpline|switchboard|"            # en
    r"telefon\w*|handy\w*|mobil\w*|rufnummer|ruf|rufen|anruf\w*|erreich\w*|durchwahl|"
    r"festnetz\w*|kontakt\w*|"                                                  # de
    r"t[ée]l[ée]phon\w*|t[ée]l|portable|appel\w*|joind\w*|joignable|standard|"  # fr
    r"tel[ée]fono|tfno|tlf|m[óo]vil|celular|ll[aá]m\w*|contacto|"                  # es
    r"[tmfpwh]{1,2}(?=\s?:)|"                                                   # T:, M:, Ph:
    r"(?-i:(?:^|(?<=\n))[TMFPWH]\.?(?=[ \t]*$))"        # a business card's "T 0171 ..."
    r")(?!\w)\.?"
    r"|[\w.+-]+@[\w-]+\.[\w.-]*\w")     # an e-mail address: contact details follow
# Words that name another kind of number.
OTHER_NUMBER = re.compile(
    r"(?i)(?<!\w)(?:order\w*|tracking|track|shipment|parcel|invoice|receipt|isbn|issn|doi|"
    r"version|v|build|release|ref|reference|ticket|case|account|acct|serial|sku|part|item|"
    r"zip|postal|postcode|price|total|amount|ssn|social|security|"
    r"bestell\w*|auftrag\w*|sendung\w*|rechnung\w*|konto\w*|kundennummer|artikel\w*|"
    r"postleitzahl|plz|preis|betrag|summe|sozialversicherung\w*|"
    r"commande|suivi|colis|facture|compte|r[ée]f[ée]rence|prix|montant|code postal|s[ée]curit[ée]|"
    r"pedido|seguimiento|env[íi]o|factura|cuenta|referencia|precio|importe|c[óo]digo postal|"
    r"versi[óo]n|seguro"
    r")(?!\w)")
CURRENCY = re.compile(r"[$€£¥₹]|(?<![A-Za-z])(?:USD|EUR|GBP|CHF|JPY|INR|AUD|CAD|BRL)(?![A-Za-z])")

# libphonenumber's regions tried for a number without a country code.
REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "BR", "JP", "ES", "IT", "NL", "CH", "AT", "BE",
           "CA", "MX", "IE")

_NANP = re.compile(r"(?:1[-. ]?)?(?:\([2-9]\d\d\) ?|[2-9]\d\d([-. ]))[2-9]\d\d(?(1)\1|[-. ])\d{4}")
_NATIONAL = re.compile(r"\(?0\d{1,4}\)?(?:[ /.-]\d{2,8}){1,4}")      # 030 1234567, 01 23 45 67 89
_AREA_IN_PARENS = re.compile(r"\(\d{2,5}\) ?\d{2,5}(?:[ -]\d{2,5}){1,3}")  # (11) 98765-4321
_OWN_LAYOUTS = re.compile(r"0?[6-9]\d{4} \d{5}"                    # India: 98765 43210
                          r"|\d\d 9?\d{4}-\d{4}")                  # Brazil: 11 98765-4321
_DATE = re.compile(r"(?:(?:19|20)\d\d([-./ ])\d{1,2}\1\d{1,2}|\d{1,2}([-./ ])\d{1,2}\2(?:19|20)\d\d)")
_YEARS = re.compile(r"(?:1[89]|20)\d\d ?[-–/] ?(?:(?:1[89]|20)\d\d|\d\d)")
_ZIP4 = re.compile(r"\d{5}-\d{4}")
_SSN = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_THOUSANDS = re.compile(r"\d{1,3}(?:([.,  ])\d{3})(?:\1\d{3})*")
_DECIMAL = re.compile(r"\d+[.,]\d+")
WINDOW = 48
# A word naming another kind of number wins over a phone word only when it names this
# number ("phone orders: order no. 4021883190"), not when it is only closer ("the phone
# number on your account to ...").
_NAMES_IT = re.compile(r"(?i)\W*(?:(?:number|no|nr|n°|num[ée]ro|n[úu]mero|nummer|is|ist|est|es|"
                       r"lautet|#)(?!\w)\W*)*")
# A label after the number ("085 175 7641-Office", "555-0100 (mobile)").
_CONTEXT_AFTER = re.compile(r"[ \t]*[-–(,]?[ \t]*(?i:office|mobile|cell|home|work|fax|tel|"
                            r"phone|handy|mobil|portable|m[óo]vil|celular|festnetz)\b")
# A house number before a street: "17031 2202 Rissik St".
_STREET_AFTER = re.compile(r"[ \t]+\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}\p{Ll}+)?[ \t]+(?:St|Street|Rd|Road|"
                           r"Ave|Avenue|Blvd|Boulevard|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl)\b")


def _possible(number: str, international: bool) -> bool:
    digits = _NOT_DIGIT.sub("", number)
    for region in (None,) if international else REGIONS:
        try:   # a region can refuse what another takes ("011..." is the US exit code)
            if phonenumbers.is_possible_number(
                    phonenumbers.parse("+" + digits if international else digits, region)):
                return True
        except phonenumbers.NumberParseException:
            pass
    return False


def _table_header(text: str, line_start: int) -> str:
    """The first line of the table (lines opening with "|") the line at line_start is in."""
    start = line_start
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        if not text.startswith("|", previous):
            break
        start = previous
    return text[start:text.find("\n", start)] if start < line_start else ""


def phone_context(text: str, start: int, end: int) -> Optional[bool]:
    """True when a phone word is close before the number at [start, end) (on its line, on
    the line before when the number opens its line, or heading its table column) or is its
    label right after it; False when a word naming another kind of number names this one
    ("order no. ..."), or there is such a word and no phone word; else None. (Walking up
    to a table's header is bounded by the scanner's chunks.)"""
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip(" \t-*•>:") and line_start > 0:
        line_start = text.rfind("\n", 0, line_start - 1) + 1    # "Phone:\n467 3395"
    before = text[max(line_start, start - WINDOW):start]
    phone = [m.end() for m in CONTEXT.finditer(before)]
    other = [m.end() for m in OTHER_NUMBER.finditer(before)]
    if other and (not phone or (other[-1] > phone[-1]
                                and _NAMES_IT.fullmatch(before, other[-1]) is not None)):
        return False
    if phone or _CONTEXT_AFTER.match(text, end, min(len(text), end + 20)):
        return True
    if text.startswith("|", line_start) and CONTEXT.search(_table_header(text, line_start)):
        return True
    return None


class PhoneNumberRecognizer(LocalRecognizer):
    ENTITY = "PHONE_NUMBER"
    SCORE = 0.7            # on its shape alone, above the default threshold (0.5)
    WEAK_SCORE = 0.3       # a possible number in a bare shape: below it
    CONTEXT_SCORE = 0.75
    MIN_DIGITS, MAX_DIGITS = 7, 15

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        if not _GATE.search(text):
            return []
        results = []
        for match in CANDIDATE.finditer(text):
            score = self.score(text, match)
            if score:
                end = match.end("ext") if match.group("ext") else match.end("number")
                results.append(recognizer_result(self, self.ENTITY, match.start(), end, score))
        return results

    def score(self, text: str, match) -> float:
        number = match.group("number")
        digits = sum(c.isdigit() for c in number.replace("(0)", ""))
        if not self.MIN_DIGITS <= digits <= self.MAX_DIGITS:
            return 0
        context = phone_context(text, match.start(), match.end())
        if context is False or _STREET_AFTER.match(text, match.end()):
            return 0
        international = number.startswith("+") or (
            number.startswith("00") and _possible(number[2:], True))   # "00 44..." or a 0 area
        if international:
            shaped = _possible(number.replace("(0)", "").lstrip("+0"), True)
        elif self._not_a_phone(text, match, number, context):
            return 0
        else:
            shaped = (_NANP.fullmatch(number) or _NATIONAL.fullmatch(number)
                      or _AREA_IN_PARENS.fullmatch(number)
                      or _OWN_LAYOUTS.fullmatch(number)) is not None and _possible(number, False)
        if shaped:
            return self.CONTEXT_SCORE if context else self.SCORE
        if not _possible(number, international):
            return 0
        return self.CONTEXT_SCORE if context else self.WEAK_SCORE

    @staticmethod
    def _not_a_phone(text: str, match, number: str, context: Optional[bool]) -> bool:
        """A date, a year range, an amount, a decimal, an ISBN, a ZIP+4 code, a US social
        security number or an IPv4 address."""
        digits = _NOT_DIGIT.sub("", number)
        if any(p.fullmatch(number) for p in (_DATE, _YEARS, _DECIMAL, _SSN, _IPV4)):
            return True
        if len(digits) == 13 and digits.startswith(("978", "979")):
            return True
        if _ZIP4.fullmatch(number) and not context:
            return True
        around = text[max(0, match.start() - 6):match.end() + 6]
        return _THOUSANDS.fullmatch(number) is not None and CURRENCY.search(around) is not None
