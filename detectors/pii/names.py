"""Person names the small NER model misses, and a check of every PERSON finding.

en_core_web_sm finds about two thirds of the names in presidio-research's synthetic
sentences; it misses names in lists, short lines and most non-English names, and it
tags street names, headers and pieces of code as people. ``NameRecognizer`` adds the
cues a reader would use; ``person_span`` trims or rejects a PERSON finding of any
recognizer (the scanner applies it to the NER's).

Cues of NameRecognizer, each with how much it outweighs the NER (STRONG ignores the
model, MEDIUM gives way to its places, dates and nationalities, WEAK to its
organisations too):
- STRONG: a title ("Mrs. Barbara Yudina", "Dr Okafor"); an introduction ("my name is
  Rubija", "maiden name is Møller"); a greeting ("Hi Karola,"); a form field ("Name:
  Åsa Laine", "Account holder: Yatan Gola", "Kontoinhaber:", "Titulaire :"); the line
  after a sign-off ("Best regards,"); a chat speaker after a time stamp ("[10:33]
  Timothy: ..."); kinship ("my kid Lukas", "Amanda's daughter"); a known first name and
  a known surname ("Tünde Hoffmann": the model calls it a facility).
- MEDIUM: a person's verb ("Sandra lives on"); a dialogue ("Ubul: ...\nNicola: ..."); a
  list of mostly known names ("Kónya, Becker and Vasquez"), or of any names before a
  plural verb ("Usamov and Bowers were"); a known first name and a further capitalised
  word ("Sophie Lang"), a capitalised word and a known surname, a middle initial
  ("Ravil G Yefimov"), a surname's ending ("Bekbolat Musliyevich": -vich, -ović, -ová,
  -sson, -nen, -ov ...); a known first name alone that is no
  word ("Rebecca", "Vsevolod"), but not in German, French or Spanish text.
- WEAK: "named X", speech verbs ("X said", "shouted at X"), the maker of a work
  ("directed by X"), a vocative ("Danial, can I ..."), a line holding a name only; a
  surname alone counts only with a context word ("Walker said") or a surname's ending
  ("Sokolov"). In a text without capitals, known first names ("olga krylova").
Capitalised words that are all common words are no name ("Dear Sir", "Contact: Sales
Team"), nor is a run that goes on with a common word ("Davis Cup", "Customer Service
Team"), nor a list of surnames that names a firm ("at Jones, Mitchell and Williams",
"Lopez, Santos and Coleman is a design agency").
The NER's people are checked too (person_span): none holds a German, French or Spanish
function word ("Notieren Sie", "Ihr Kundenservice"), is a place made of a name ("Lake
Katieview", "Jasonmouth"), a street after its street word ("rue de Rousseau"), a firm
("Smith PLC"), part of a word ("sha" of "sha256"); one without a known name is dropped in
German, French or Spanish text and in table cells ("Oficina", "Preis": the English model
takes their capitalised nouns for people), or after a preposition of place ("I work for
Thinknum", "returned to Deanwell").
Word lists (detectors/pii/data): 1990 US census first names and surnames and the words
seen in lower case in real prose (scripts/make_first_names.py); first names and surnames
in Latin script of Faker's locales for other languages than English and German
(scripts/make_world_names.py). A name that is also a common word ("Will", "Young") is no
evidence on its own.
"""

import functools
import importlib.util
import pathlib
from typing import FrozenSet, List, Optional, Tuple

import regex as re
import spacy
from presidio_analyzer import LocalRecognizer, RecognizerResult

from detectors.pii.results import recognizer_result

_DATA = pathlib.Path(__file__).parent / "data"


def _stop_words(language: str) -> FrozenSet[str]:
    """spaCy's stop words of ``language``, read from their module alone: importing
    spacy.lang.fr runs its package, whose tokenizer exceptions compile for ~4 CPU s, a
    cost every worker paid once for a list of words."""
    path = pathlib.Path(spacy.__file__).parent / "lang" / language / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_stop_words_{language}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


_de_stop, _en_stop, _es_stop, _fr_stop = (_stop_words(lang) for lang in ("de", "en", "es", "fr"))


def _words(name: str) -> FrozenSet[str]:
    return frozenset(line.strip() for line in (_DATA / name).read_text().splitlines()
                     if line.strip() and not line.startswith("#"))


COMMON = _words("common_words.txt")
# Titles of rank that the census also lists as first names ("Princess Royal", "King").
_RANKS = frozenset("prince princess king queen duke duchess lord lady earl baron count "
                   "countess pope saint major general colonel captain judge".split())
FIRST = _words("first_names.txt") - COMMON - _RANKS
LAST = _words("last_names.txt") - COMMON - _RANKS
ALL_FIRST = _words("first_names.txt")
ALL_NAMES = ALL_FIRST | _words("last_names.txt")
# Names of other countries (Faker's lists for the languages the census misses: "Miklós",
# "Szczepańska", "Guðmundsdóttir"); English and German ones are left out, see the script.
WORLD_FIRST = _words("world_first_names.txt") - COMMON - _RANKS
WORLD_NAMES = WORLD_FIRST | (_words("world_last_names.txt") - COMMON - _RANKS)
FIRST |= WORLD_FIRST
LAST |= WORLD_NAMES - WORLD_FIRST
KNOWN = FIRST | LAST   # a known name that is no common word
# Countries, states and cities ("Victoria", "Jordan", "Hong Kong"): a name that is a place
# too is no person's on its own.
PLACES = _words("world_places.txt")

# One name word: "Lang", "O'Neil", "D’Alia", "McKay", "Hans-Walter", "Guðmundsdóttir".
_W = r"(?:\p{Lu}\p{Ll}*['’])?\p{Lu}\p{Ll}+(?:\p{Lu}\p{Ll}+)?(?:-\p{Lu}\p{Ll}+)*"
_INITIAL = r"\p{Lu}\.?(?=[ \t]+\p{Lu})"
_PARTICLES = frozenset("van von der den de del della di da dos das du la le ten ter bin ibn al "
                       "el".split())
_PARTICLE = rf"(?:{'|'.join(sorted(_PARTICLES))})"
# Up to four words on one line, initials and particles between them ("Willemine ten Pas").
_NAME = (rf"{_W}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?:{_W}|{_INITIAL})){{0,3}}"
         rf"(?![\w@])")
_SEQUENCE = re.compile(rf"(?<![\w.@/#&-]){_NAME}")
_TITLED = re.compile(rf"(?<!\w)(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame)\.?|(?:mr|mrs|ms|dr)\.)"
                     rf"[ \t]+"
                     rf"(?P<name>{_NAME})"
                     rf"|(?<!\w)(?:mr|mrs|ms|dr)\.[ \t]+(?P<lower>\p{{Ll}}{{2,}})(?![\w@])")
# How much a cue outweighs the model's entities: STRONG ignores them, MEDIUM gives way to
# its places, dates and nationalities, WEAK to its organisations as well.
STRONG, MEDIUM, WEAK = 2, 1, 0

# Where a name is expected: (group, pattern, strength[, trigger]). Labels are case-blind,
# the name is capitalised but for a few cues. One pattern each: the regex module finds
# each one's literal start fast, but not that of an alternation of them all (6x slower);
# a pattern that opens with the name is tried at every capital, so a rare word after the
# name is looked for first (the trigger).
_KIN = (r"(?:kid|kids|child|son|daughter|wife|husband|partner|boyfriend|girlfriend|mother|father|"
        r"mom|mum|dad|brother|sister|uncle|aunt|grandmother|grandfather|cousin|nephew|niece|"
        r"friend|colleague|boss|neighbou?r)")
_LOWER_NAME = r"\p{Ll}{2,}(?:[ \t]+(?:\p{Ll}\.?[ \t]+)?\p{Ll}{2,})?(?![\w@])"
_CUES = tuple((group, re.compile(pattern), strength, re.compile(trigger[0]) if trigger else None)
              for group, pattern, strength, *trigger in (
    # introductions: "my name is Rubija", "maiden name is Møller", "call me višeslav"
    ("intro", rf"(?i:\b(?:(?:my|first|last|maiden|full|middle|sur)[ \t]?name(?:[ \t]+is|'s|\?)|"
              rf"i am called|calls? me|i'm|i am))[ \t]+(?:(?P<intro>{_NAME})|"
              rf"(?<=(?i:name is|call me|calls me)[ \t]+)(?P<intro_lower>{_LOWER_NAME}))", STRONG),
    ("named", rf"\b(?:named|called)[ \t]+(?P<named>{_NAME})", WEAK),
    # kinship: "my kid Lukas", "Franciska's kid", "Amanda's daughter"
    ("kin", rf"(?i:\b(?:my|his|her|our|their|your)[ \t]+{_KIN})[ \t]+(?P<kin>{_NAME})", STRONG),
    ("kin_of", rf"(?P<kin_of>{_NAME})['’]s[ \t]+(?i:{_KIN})\b", STRONG,
     rf"['’]s[ \t]+(?i:{_KIN})\b"),
    # a verb whose subject is a person: "Sandra lives on ...", "Enrico shouted at"; firms
    # say, tell and write too, so the model's ORGs win over those
    ("agent", rf"(?P<agent>{_NAME})[ \t]+(?:lives|lived|shouted|whispered|smiled|laughed|"
              rf"spent (?:a|an|one|two|three|\d+|several|many) (?:year|month|week|day)s?)\b",
     MEDIUM,
     r"\b(?:lives|lived|shouted|whispered|smiled|laughed|spent)\b"),
    ("speech", rf"(?P<speech>{_NAME})[ \t]+(?:said|says|told|asked|wrote|replied)\b", WEAK),
    # what only people do, and the works they make: "Walker began writing", "Unlike the
    # Sokolov novel"
    ("activity", rf"(?P<activity>{_NAME})[ \t]+(?:began|started|stopped|quit|took up)[ \t]+"
                 rf"(?:writing|painting|singing|acting|composing|drawing|teaching|studying|"
                 rf"performing|directing)\b", MEDIUM,
     r"\b(?:began|started|stopped|quit|took up)[ \t]+(?:writing|painting|singing|acting|composing|"
     r"drawing|teaching|studying|performing|directing)\b"),
    ("work", rf"\b[Tt]he[ \t]+(?P<work>{_NAME})[ \t]+(?:novel|novels|film|films|movie|song|album|"
             rf"book|books|poem|play|opera|symphony|painting|biography|memoir|trilogy)\b", MEDIUM,
     r"\b(?:novels?|films?|movie|song|album|books?|poem|play|opera|symphony|painting|biography|"
     r"memoir|trilogy)\b"),
    # someone spoken to or of: "shouted at Todd", "said Gladys to Logan"
    ("spoken_to", rf"\b(?:said|asked|shouted|whispered|smiled|laughed|yelled|replied|wrote)"
                  rf"(?:[ \t]+{_W})?[ \t]+(?:at|to)[ \t]+(?P<spoken_to>{_NAME})", WEAK),
    # the maker of a work: "directed by Brad L Key", "starring Maclean"
    ("maker", rf"(?:\b(?:directed|written|produced|composed|painted|photographed|illustrated|"
              rf"edited|narrated|translated|authored|performed|sung)[ \t]+by|\bstarring)[ \t]+"
              rf"(?P<maker>{_NAME})", WEAK),
    # someone spoken to: "Danial, can I please speak ...", "Don't go to town, Mark!"
    ("vocative", rf"(?m:(?:^|(?<=[.!?][ \t]))[ \t]*(?P<vocative>{_W}),[ \t]+(?=(?:can|could|would|"
                 rf"will|please|I|we|you|do|did|are|have)\b)|,[ \t]+(?P<vocative_of>{_W})!)", WEAK),
    # a greeting that opens a line or a sentence, then the name and a comma or line end
    ("greeting", rf"(?m:(?:^|(?<=[.!?][ \t]))[ \t]*(?:Hi|Hello|Hey|Dear|Good (?:morning|afternoon|"
                 rf"evening)),?[ \t]+(?P<greeting>{_NAME})(?=[ \t]*(?:[,!:]|$)))", STRONG),
    # a form or header field
    ("field", rf"(?m:(?:^|(?<=[\s(|>]))(?i:(?:full |first |last |given |family |maiden |account |"
              rf"card ?|user ?|contact |customer |client |patient |employee |applicant |sender |"
              rf"recipient |owner |beneficiary )?name|account ?holder|card ?holder|"
              rf"contact(?: person)?|attn|attention|applicant|candidate|patient|employee|recipient|"
              rf"beneficiary|payee|sender|author|bill to|ship to|sold to|signed|from|to|cc|speaker|"
              rf"directed by|written by|"
              # German, French, Spanish
              rf"(?:konto)?inhaber(?:in)?|vorname|nachname|ansprechpartner(?:in)?|empfänger(?:in)?|"
              rf"absender(?:in)?|titulaire|nom|prénom|destinataire|expéditeur|nombre|apellidos?|"
              rf"titular|destinatario|remitente)[ \t]*:[ \t]*\n?[ \t]*(?:(?P<field>{_NAME})|"
              rf"(?P<field_lower>{_LOWER_NAME}))(?=[ \t]*(?:$|[,;()<]|\.(?:\s|$))))", STRONG),
    # the name alone on the line after a sign-off
    ("signature", rf"(?m:^[ \t]*(?i:(?:(?:best|kind|warm|warmest|many|with)[ \t]+)?"
                  rf"(?:regards|wishes|thanks)|sincerely(?: yours)?|yours(?: truly| sincerely|"
                  rf" faithfully)?|cheers|best|thank you|respectfully|cordially|take care)"
                  rf"[ \t]*[,!.]?[ \t]*\n(?:[ \t]*\n)?[ \t]*(?P<signature>{_NAME})[ \t]*$)",
     STRONG),
    # a chat speaker after a time stamp: "[10:33] Timothy: ..." or "10:33 - Timothy: ..."
    ("speaker", rf"(?m:^[ \t]*(?:\[[^\]\n]{{1,30}}\]|\d{{1,2}}:\d{{2}}(?::\d{{2}})?"
                rf"(?:[ \t]?[AaPp][Mm])?[ \t]*[-–]?)[ \t]*(?P<speaker>{_W}(?:[ \t]+{_W})?)[ \t]*:"
                rf"(?=[ \t\"“]))", STRONG),
    # a line that opens with one word and a colon, as in a chat log or a transcript
    ("line_speaker", rf"(?m:^[ \t]*(?P<line_speaker>{_W}|\p{{Ll}}{{2,}}):"
                     rf"(?=[ \t]*[\"“]?\p{{L}}))",
     MEDIUM),
    # a line that holds a name only: a letter head, a signature, a CV, a contact card
    ("name_line", rf"(?m:^[ \t]*(?:>+|\?+)?[ \t]*(?P<name_line>{_W}(?:[ \t]+(?:{_PARTICLE}[ \t]+)"
                  rf"{{0,2}}(?:{_W}|\p{{Lu}}\.?)){{1,3}})[ \t]*(?=\n))", WEAK),
))
# The line after a name line holds a role or job title: common words only, checked after.
_ROLE_LINE = re.compile(r"[ \t]*\n(?:[ \t]*\n)?[ \t]*(?:>+|\?+)?[ \t]*"
                        r"(?P<role>\p{L}+(?:[ \t]+\p{L}+){0,3})[ \t]*(?:\n|$)")
# A list of single capitalised words, "Kónya, Becker and Vasquez": all are names when most
# of them are known names. In lower case ("adam, kristina and chad") only when the text
# holds a census name in lower case at all.
_LIST = re.compile(rf"(?<![\w.@/#&-]){_W}(?:,[ \t]+{_W}){{0,8}},?[ \t]+(?:and|or|&)[ \t]+{_W}"
                   rf"(?![\w@])")
_LOWER_LIST = re.compile(r"(?<![\w.@/#&-])\p{Ll}{2,}(?:,[ \t]+\p{Ll}{2,}){1,8},?[ \t]+"
                         r"(?:and|or|&)[ \t]+\p{Ll}{2,}(?![\w@])")
# A full name in lower case ("naomi ryan"): a census first name and surname, neither a word.
_LOWER_PAIR = re.compile(r"(?<![\w.@/#&-])(?=(\p{Ll}{2,}[ \t]+(?:\p{Ll}\.?[ \t]+)?\p{Ll}{2,})"
                         r"(?![\w@]))")
_CODE_AFTER = re.compile(r"[ \t]*[\d:=({;]")
_LOWER_WORD = re.compile(r"(?<![\w.@/#&-])\p{Ll}{2,}(?![\w@])")
# Whole words around a known name alone that say it is a person's: "my kid Lukas",
# "maiden name is Møller", "Scott said", "Asya lives in".
_CONTEXT_BEFORE = re.compile(
    r"(?i:\b(?:name|name is|named|called|call me|dear|hi|hello|hey|thanks|thank you|regards|"
    r"met|meet|ask|asked|told|tell|contact|kid|son|daughter|wife|husband|partner|friend|"
    r"mother|father|sister|brother|uncle|aunt|boss|colleague|mr|mrs|ms|dr|said|says)\b)"
    r"\W{0,4}$")
_CONTEXT_AFTER = re.compile(r"\W{0,3}(?:said|says|told|asked|wrote|replied|shouted|whispered|"
                            r"smiled|laughed|lives|lived|spent)\b")
# Words that end a name: address parts and organisation words. "Barbara Yudina Apt. 675"
# is a name and an address line; "Jackson Street" and "Victoria University" are no names.
_UNIT_WORDS = frozenset("apt apartment suite ste unit flat floor fl room rm box po p.o".split())
# USPS street suffixes (Publication 28) and common ones elsewhere (India: marg, chowk).
STREET_WORDS = frozenset("""alley allee annex arcade avenue ave bayou beach bend bluff bluffs
bottom boulevard blvd branch bridge brook brooks burg burgs bypass camp canyon cape causeway
center centre circle circles cir cliff cliffs club common commons corner corners course court
courts ct cove coves creek crescent crest crossing crossroad curve dale dam divide drive drives
dr estate estates expressway extension extensions fall falls ferry field fields flats ford fords
forest forge forges fork forks fort freeway garden gardens gateway glen glens green greens grove
groves harbor harbors haven heights highway hwy hill hills hollow inlet island islands isle
junction junctions key keys knoll knolls lake lakes land landing lane ln light lights loaf lock
locks lodge loop mall manor manors meadow meadows mews mill mills mission motorway mount mountain
mountains neck orchard oval overpass park parks parkway parkways pass passage path pike pine pines
place pl plain plains plaza point points port ports prairie radial ramp ranch rapid rapids rest
ridge ridges river road roads rd route row rue run shoal shoals shore shores skyway spring springs
spur spurs square squares sq station stravenue stream street streets st str summit terrace
throughway trace track trafficway trail trailer tunnel turnpike underpass union unions valley
valleys via viaduct view views village villages ville vista walk walks wall way ways well wells
marg chowk nagar""".split())
# Words that open a street name in Romance and Slavic languages: "Rua João Pessoa",
# "Via Roma", "Cite Belle Vue", "ul. Jesionowa".
_STREET_PREFIXES = frozenset("""rua rue via viale vicolo avenida av avda avenue calle carrer camino
paseo plaza praça piazza piazzale largo corso strada cite cité chemin allée quai ul ulica aleja
travessa rambla estrada rodovia""".split())
# Street names written as one word in German, Dutch and Nordic languages.
_STREET_ENDING = re.compile(r"(?i:(?:stra(?:ss|ß)e|str\.?|gasse|allee|platz|weg|ring|damm|ufer|"
                            r"straat|laan|gracht|plein|vej|gade|gatan|vägen|katu|tie)$)")
_ORG_WORDS = frozenset("""university college school institute academy hospital clinic church
bank inc llc ltd corp co company group foundation hotel airport records studios orchestra band
club partners associates press plc gmbh ag kg kgaa gbr ohg ug sarl sa sas srl spa sl bv nv
oy ab""".split())
# A firm's legal form or "and Sons" right after the span: "Smith PLC", "Kramer GmbH".
_ORG_AFTER = re.compile(r"(?i:[ \t]*,?[ \t]*(?:inc|llc|ltd|plc|gmbh|ag|kg|kgaa|gbr|ohg|sarl|"
                        r"s\.?a\.?s?|s\.?r\.?l|s\.?l|b\.?v|n\.?v|corp|co|group|& co|and sons|"
                        r"& sons)\b)")
_NOT_AFTER_FIRST = STREET_WORDS | _UNIT_WORDS | _ORG_WORDS
_HOUSE_NUMBER_BEFORE = re.compile(r"(?:\d+[A-Za-z]?(?:[/-]\d+)?\.?,?|\bNo\.?)[ \t]*\n?[ \t]*$")
_NUMBER_AFTER = re.compile(r"[ \t]+\d{1,5}[A-Za-z]?\b(?![ \t]+\p{Ll})")
_NOT_NAME_CHAR = re.compile(r"[^\p{L}\p{M} .'’-]")
_SHOUTED = re.compile(r"\p{Lu}{3}")  # "ORD", "APO AA": codes, not names
# A model's one-word PERSON that is a noun by its ending ("Salesperson", "Partnership")
# or a place or firm by the preposition before it ("in Hirvli", "I work for Thinknum",
# "returned to Deanwell"); a known name after one is kept ("shouted at Todd").
_NOUN_ENDING = re.compile(r"(?:tion|sion|ment|ness|ship|ity|ism|ology|person|people|ware)$")
_PLACE_BEFORE = re.compile(r"\b(?:in|near|outside|across|at|from|to|into|for|via|visit|"
                           r"visited|visiting)[ \t]+$")
# Endings of surnames in Slavic, Nordic, Finnish, Romanian, Greek, Turkish and Georgian:
# a capitalised word with one is a surname unless the model says otherwise.
_SURNAME_ENDING = re.compile(r"\p{L}{2}(?:ović|ević|vić|ić|ová|ská|ský|wicz|czyk|sson|dóttir|"
                             r"dottir|nen|vich|vna|enko|escu|poulos|akis|oglu|oğlu|shvili|adze|"
                             r"ov|ova|ev|eva|ski|ska)$")
# "flew to Rémy", "originally from Dolores": a place, whatever the name lists say
_PLACE_VERB_BEFORE = re.compile(r"\b(?:in|from|near|into|across|outside|(?:flew|flown|moved|went|"
                                r"returned|travell?ed|drove|came|sailed|headed|back|trip|way) to)"
                                r"[ \t]+$")
_TITLE_WORDS = frozenset("mr mrs ms miss mx dr prof sir dame".split())
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame)\.?[ \t]+$")


# Labels that open a header or contact line, and a letter's salutation, in the four
# languages: the model takes "Tel" in "Tel. (301) 732-3129" and "Fax" for people, and "Dear"
# into the name after it ("Dear Melissa Wilson", though Dear is a surname too). Counted as
# common words.
LABEL_WORDS = frozenset("""tel fax phone mobile mob cell email e-mail re fwd fw subject attn
dear handy telefon mobil tél téléphone portable teléfono tfno móvil movil celular asunto
betreff objet""".split())


_SENTENCE_START = re.compile(r"(?:^|[.!?][\"”’)]?[ \t]+|\n[ \t]*)$")

# The function words of German, French and Spanish (spaCy's stop words less English
# words and names): the English model takes capitalised words of those languages for
# people ("Notieren Sie", "Ihr Kundenservice", "Oficina"), and a name holds none of them.
FOREIGN_WORDS = frozenset(w for lang in (_de_stop, _fr_stop, _es_stop) for w in lang
                          if w not in COMMON and w not in ALL_NAMES and w not in WORLD_NAMES
                          and w not in _PARTICLES and len(w) > 1)
# Counted to tell the language of the text around a span: all their function words.
_FOREIGN_STOP = frozenset(w for lang in (_de_stop, _fr_stop, _es_stop) for w in lang
                          if w not in _en_stop and len(w) > 1)
_ENGLISH_WORDS = frozenset(_en_stop)
_WORD = re.compile(r"\p{L}+")
# Compiled once: regex looks a pattern given as a string up in its cache on every call.
_LINE_BREAKS = re.compile(r"([\n\r\t]+)")
_POSSESSIVE = re.compile(r"['’]s\b")
_NON_SPACE = re.compile(r"\S+")
_LIST_ITEM = re.compile(r"[\w'’-]+")
# Place names made of a name ("Lake Katieview", "Port Christopher", "Matthewview",
# "Jasonmouth"): a leading place word, or a town ending fused to a name.
_PLACE_WORDS = frozenset("lake port mount mt fort ft new north south east west saint sainte st "
                         "san santa bad".split())
_TOWN_ENDING = re.compile(r"\p{Ll}(?:view|mouth|shire|ville|burgh|borough|bury|chester|haven|"
                          r"side|stad|berg|burg|ton|town|land|fort|port|furt|field|ford|hausen|"
                          r"heim|dorf|stadt|ingen|nec)$")
_STREET_BEFORE = re.compile(rf"(?i:\b(?:{'|'.join(sorted(_STREET_PREFIXES))})\.?)[ \t]+"
                            rf"(?:{_PARTICLE}[ \t]+)?(?:l['’])?$")


def _key(word: str) -> str:
    return word.strip(".,'’").lower()


def _is_common(words: List[str]) -> bool:
    """Every word, and every part of a hyphenated one ("Content-Type"), is a common word
    or the plural of one ("Pleasures")."""
    return all(part in COMMON or part in LABEL_WORDS or (part[-1:] == "s" and part[:-1] in COMMON)
               for w in words for part in _key(w).split("-"))


def _has_word_after_first(words: List[str]) -> bool:
    """A word after the first that is an address or organisation word, or a common word
    (or its plural) that is no name: "Davis Cup", "Elkhart County Sheriff", "Otc Markets"."""
    return any(_key(w) in _NOT_AFTER_FIRST or (_is_common([w]) and _key(w) not in ALL_NAMES
                                               and _key(w) not in _PARTICLES)
               for w in words[1:])


def _without_leading_words(text: str, start: int, end: int) -> Tuple[int, int]:
    """The span less its leading common words that are no first names ("Prime Minister
    John Howard" -> "John Howard"), unless all of it is such words."""
    s = start
    while True:
        space = text.find(" ", s, end)
        word = _key(text[s:space if space >= 0 else end])
        if word not in LABEL_WORDS and (word not in COMMON or word in FIRST or word in ALL_NAMES):
            return s, end
        if space < 0:
            return start, end
        s = space + 1
        while s < end and text[s] == " ":
            s += 1


def person_span(text: str, start: int, end: int, ner: bool = False) -> Optional[Tuple[int, int]]:
    """The part of a PERSON finding that can be a name, or None.

    A name lies on one line, holds letters, spaces, apostrophes, hyphens and periods
    only, begins with a capital and has no word in capitals; it ends before an
    address unit ("Barbara Yudina Apt. 675"); it is no street ("64879 Kimberly
    Extension", "Hübelstraße", "Glyn St", "Franscini 71") and no organisation
    ("Victoria University"). For a model's finding (``ner``) leading common words go
    ("Hi Paul", "Applicant Jill Edwards"), and one made of common words only
    ("Email", "Guilty Pleasures") is none.
    """
    line_start = start
    for piece in _LINE_BREAKS.split(text[start:end]):
        s, e = line_start, line_start + len(piece)
        line_start = e
        while s < e and not text[s].isalpha():
            s += 1
        while e > s and not (text[e - 1].isalpha() or text[e - 1] == "."):
            e -= 1
        possessive = _POSSESSIVE.search(text[s:e])
        if possessive:  # "Yuri Bulgakov's Cautionary Tales"
            e = s + possessive.start()
        if ner:
            s, e = _without_leading_words(text, s, e)
        if (s > 0 and text[s - 1].isalnum()) or (e < len(text) and text[e].isalnum()):
            continue   # part of a word: "sha" of "sha256"
        name = text[s:e]
        spans = [m.span() for m in _NON_SPACE.finditer(name)]
        words = [name[a:b] for a, b in spans]
        if (not words or _NOT_NAME_CHAR.search(name) or _SHOUTED.search(name)
                or not (words[0][0].isupper() or all(w in FIRST or w in LAST for w in words))):
            continue   # (a name in lower case only when the word lists know it: "mr. elliott")
        unit = next((i for i, w in enumerate(words) if i and _key(w) in _UNIT_WORDS), None)
        if unit is not None:
            words, e = words[:unit], s + spans[unit - 1][1]
        if (_is_street(text, s, e, words) or any(_key(w) in _ORG_WORDS for w in words[1:])
                or any(_key(w) in FOREIGN_WORDS for w in words)):
            continue   # (a name holds no German, French or Spanish function word: "Ihr Team")
        if ner and len(words) == 1 and _key(words[0]) not in ALL_NAMES and (
                _NOUN_ENDING.search(words[0]) or _PLACE_BEFORE.search(text, max(0, s - 10), s)):
            continue
        if (ner and _is_common(words) and not (len(words) > 1 and _key(words[0]) in ALL_NAMES)
                and not _TITLE_BEFORE.search(text, max(0, s - 6), s)):
            continue
        if _ORG_AFTER.match(text, e) or _in_firm(text, s, e):
            continue   # "Lloyd LLC", "at Jones, Mitchell and Williams"
        if ner and _ner_doubtful(text, s, e, words):
            continue
        return s, e
    return None


# A table cell that holds one word: "| Oficina | Teléfono |", a label, not a name.
_TABLE_CELL = re.compile(r"[ \t]*\|")


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def _foreign(text: str, start: int, end: int, reach: int = 200) -> bool:
    """The text around a span is German, French or Spanish: more of their function words
    than of English ones, and at least two."""
    words = [w.lower() for w in _WORD.findall(text, max(0, start - reach),
                                              min(len(text), end + reach))]
    foreign = sum(w in _FOREIGN_STOP for w in words)
    return foreign >= 2 and foreign > sum(w in _ENGLISH_WORDS for w in words)


def _known(key: str) -> bool:
    return key in KNOWN or key in ALL_NAMES


def _ner_doubtful(text: str, s: int, e: int, words: List[str]) -> bool:
    """A model's PERSON that is no name: it is a place made of a name ("Lake Katieview", "Jasonmouth")
    or a street's name ("rue de Rousseau"); or it holds no known name and stands in
    German, French or Spanish text ("Oficina", "Standort"), where the English model
    takes capitalised nouns for people."""
    keys = [_key(w) for w in words]
    if len(keys) > 1 and keys[0] in _PLACE_WORDS:
        return True
    for k in keys:
        ending = _TOWN_ENDING.search(k)
        if ending and not _known(k) and _known(k[:ending.start() + 1]):
            return True
    if _STREET_BEFORE.search(text, max(0, s - 24), s):
        return True
    known = any(k in KNOWN for k in keys) if len(keys) > 1 else keys[0] in FIRST
    if not known and (_foreign(text, s, e) or _TABLE_CELL.match(text, _line_start(text, s))):
        return True
    return False


# Three or more surnames in a list that is one thing, a firm's name as law firms (and
# Faker) write them: after "the", "at", "from", "of", "for", "with", or before a singular
# verb ("is", "sells", "grew its") or a further capitalised word ("The Davis, Reynolds and
# Williamson Orchestra", "a year at Jones, Mitchell and Williams", "Lopez, Santos and
# Coleman is a design agency").
_FIRM_BEFORE = re.compile(r"(?i:\b(?:the|at|from|of|for|with|joined|joining|left|buy|bought|"
                          r"acquire|acquired|shares of)[ \t]+)$")
_FIRM_AFTER = re.compile(r"[ \t]+(?:\p{Ll}+s\b|\p{Ll}+[ \t]+its\b|(?P<word>\p{Lu}\p{Ll}+))")


_PLURAL_AFTER = re.compile(r"[ \t]+(?:were|are|have|both)\b")


def _firm(text: str, match) -> bool:
    if match.group().count(",") < 1:   # three names or more
        return False
    after = _FIRM_AFTER.match(text, match.end())
    return bool(_FIRM_BEFORE.search(text, max(0, match.start() - 10), match.start()) or (
        after and not (after.group("word") and _known(_key(after.group("word"))))))


def _in_firm(text: str, s: int, e: int) -> bool:
    """The span lies in a list of surnames that names a firm (see _firm)."""
    line_start = text.rfind("\n", 0, s) + 1
    line_end = text.find("\n", e)
    for start, end, firm in _lists(text, line_start, len(text) if line_end < 0 else line_end):
        if start <= s and e <= end:
            return firm
    return False


@functools.lru_cache(maxsize=64)
def _lists(text: str, line_start: int, line_end: int) -> Tuple[Tuple[int, int, bool], ...]:
    """The lists of names on a line, and whether each names a firm: once per line, not once
    per name on it (a news paragraph is one line with a dozen names)."""
    return tuple((m.start(), m.end(), _firm(text, m))
                 for m in _LIST.finditer(text, line_start, line_end))


_STRONG_STREET_WORDS = frozenset("street st str avenue ave road rd boulevard blvd lane ln drive dr "
                                 "expressway highway hwy parkway turnpike marg chowk".split())


def _is_street(text: str, s: int, e: int, words: List[str]) -> bool:
    if len(words) > 1 and _key(words[0]) in _STREET_PREFIXES:
        return True
    if _STREET_ENDING.search(words[-1]) and (len(words[-1]) > 6 or "-" in words[-1]):
        return True   # "Hübelstraße", "Abdul-Aumann-Allee", "Søndergade"
    number_before = _HOUSE_NUMBER_BEFORE.search(text, max(0, s - 16), s) is not None
    number_after = _NUMBER_AFTER.match(text, e, min(len(text), e + 24)) is not None
    if len(words) > 1 and _key(words[-1]) in STREET_WORDS:
        return _key(words[-1]) in _STRONG_STREET_WORDS or number_before or number_after
    # "Franscini 71", "Joaquin Suarez 2906": a street, in most of Europe
    return number_after and (len(words) == 1 or not number_before)


class NameRecognizer(LocalRecognizer):
    """PERSON from titles, cue phrases and census names; see the module's docstring."""
    # A title or a phrase that announces a name is better evidence than the NER's flat
    # 0.85: on the same span, drop_contained keeps the higher score ("last name? Arcuri"
    # is a person's, though the model says LOCATION).
    STRONG_SCORE = 0.9
    CUE_SCORE = 0.7
    FULL_NAME_SCORE = 0.6
    SINGLE_NAME_SCORE = 0.3   # below the default threshold: needs a context word
    SINGLE_FIRST_SCORE = 0.55
    CONTEXT_BOOST = 0.35      # what presidio's context enhancer would add

    def __init__(self, supported_language: str = "en"):
        # No presidio context words: its enhancer matches them as substrings of the
        # tokens around ("hi" in "shipping"); the context here is whole words.
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        found = []  # (start, end, score, strength)
        for match in _TITLED.finditer(text):
            if match.group("name") and not _is_common(match.group("name").split()):
                found.append((*match.span("name"), self.STRONG_SCORE, STRONG))
            elif match.group("lower") in FIRST or match.group("lower") in LAST:  # "mr. elliott"
                found.append((*match.span("lower"), self.CUE_SCORE, MEDIUM))
        speakers = []  # (line number, start, end, known name)
        for group, pattern, strength, trigger in _CUES:
            if trigger is not None and trigger.search(text) is None:
                continue
            for match in pattern.finditer(text):
                name = next(g for g in (group, group + "_lower", group + "_of")
                            if g in pattern.groupindex and match.group(g))
                start, end = _without_leading_words(text, *match.span(name))
                words = text[start:end].split()
                if not words or (_is_common(words) and not (  # "Hi Team"; "Hi Victor"
                        len(words) == 1 and _key(words[0]) in ALL_FIRST)) or (
                        name == "field_lower" and not (
                        words[0] in FIRST or words[-1] in LAST)):  # "name: billing" in YAML
                    continue
                if (strength == WEAK and len(words) == 1 and _key(words[0]) not in ALL_NAMES
                        and (group != "speech"
                             or _SENTENCE_START.search(text, max(0, start - 6), start))):
                    # "called Objectivism", "Cyclists asked": one unknown capitalised word
                    # is a person's name only as the subject of speech inside a sentence
                    continue
                if (group == "work" and len(words) == 1 and _key(words[0]) not in KNOWN
                        and words[0].endswith("s")):
                    continue   # "the Beatles song": a band
                if group == "line_speaker":
                    speakers.append((text.count("\n", 0, match.start()), start, end,
                                     _key(words[0]) in FIRST or _key(words[0]) in LAST))
                elif not _has_word_after_first(words) or (
                        strength == STRONG and any(_key(w) in KNOWN for w in words)):
                    # "Best regards,\nCustomer Service Team": no name
                    level = strength
                    role = _ROLE_LINE.match(text, end) if group == "name_line" else None
                    if role and _is_common(role.group("role").split()):
                        level = MEDIUM  # "Maika van de Noort\nEmployment manager"
                    found.append((start, end, self.STRONG_SCORE if level == STRONG
                                  else self.CUE_SCORE, level))
        # A line speaker is a name when it is a known one or when the line next to it
        # has a speaker too (a dialogue; "Date:" and "Note:" are common words).
        lines = {line for line, *_ in speakers}
        # (a dialogue's score beats the model's 0.85, whose wider span, "Heather:\"I'm
        # Daniel's", would otherwise hide it and then fail person_span)
        found += [(start, end, *((self.STRONG_SCORE, STRONG) if dialogue else (self.CUE_SCORE, MEDIUM)))
                  for line, start, end, known in speakers
                  for dialogue in [line - 1 in lines or line + 1 in lines] if known or dialogue]
        lower_names = not FIRST.isdisjoint(_LOWER_WORD.findall(text))
        for pattern in (_LIST, _LOWER_LIST) if lower_names else (_LIST,):
            for match in pattern.finditer(text):
                found += self._list_items(match, nlp_artifacts)
        for match in _SEQUENCE.finditer(text):
            span = self._known_name(text, match)
            if span:
                found.append(span)
        # A text without a capital ("olga krylova's killers") gives no capitals to go by:
        # a known first name is a name there, and so is the word after it
        lower_text = not any(c.isupper() for c in text)
        if lower_names or lower_text:
            for match in _LOWER_PAIR.finditer(text):
                words = match.group(1).split()
                first, last = words[0], words[-1]
                if len(first) > 2 and first in FIRST and (last in LAST or lower_text and last not in COMMON
                                       and last not in _FOREIGN_STOP) or (
                        lower_text and len(words) == 3 and first not in COMMON
                        and last not in COMMON):   # "emidio p lombardo"
                    found.append((*match.span(1), self.FULL_NAME_SCORE, MEDIUM))
        if lower_text:   # a census first name alone, not a word of code ("server 10.0.0.1")
            taken = [(s, e) for s, e, *_ in found]
            found += [(*m.span(), self.SINGLE_FIRST_SCORE, WEAK) for m in _LOWER_WORD.finditer(text)
                      if not any(s <= m.start() < e for s, e in taken)
                      and m.group() in FIRST and m.group() in ALL_FIRST and len(m.group()) > 2
                      and m.group() not in PLACES
                      and not _CODE_AFTER.match(text, m.end())]
        return [recognizer_result(self, "PERSON", *span, score)
                for start, end, score, strength in found
                if not self._model_disagrees(nlp_artifacts, start, end, strength)
                for span in [(start, end) if text[start].islower()
                             else person_span(text, start, end)]
                if span]

    def _list_items(self, match, nlp_artifacts) -> list:
        """The items of a list of names, if most of them are known names and none is a word.

        No item counts when the list names a firm (_firm), or when the model calls two or
        more of them one organisation ("Davis, Reynolds and Williamson": a law firm) unless
        a plural verb follows ("Usamov and Bowers were": people; one known name is enough).
        """
        if _firm(match.string, match):
            return []
        items = [(m.group(), match.start() + m.start())
                 for m in _LIST_ITEM.finditer(match.group())
                 if m.group() not in ("and", "or")]
        known = sum(_key(w) in FIRST or _key(w) in LAST for w, _ in items)
        plural = _PLURAL_AFTER.match(match.string, match.end()) is not None
        if (not (plural and known) and (2 * known <= len(items) or (len(items) == 2 and known < 2))
                or any(_key(w) in COMMON and _key(w) not in ALL_NAMES for w, _ in items)):
            return []
        for e in [] if plural else getattr(nlp_artifacts, "entities", None) or []:
            if e.label_ == "ORGANIZATION" and sum(e.start_char <= at < e.end_char
                                                  for _, at in items) > 1:
                return []
        return [(at, at + len(w), self.CUE_SCORE, MEDIUM) for w, at in items]

    @staticmethod
    def _model_disagrees(nlp_artifacts, start: int, end: int, strength: int) -> bool:
        """The NER calls an overlapping stretch something else than a person.

        Its places, dates and nationalities win over the word lists. It calls many a
        name it does not know an ORGANIZATION, so that wins only over the weakest cues.
        (Labels are presidio's by now; those it ignores, such as WORK_OF_ART, are gone.)
        """
        if strength == STRONG:
            return False
        for e in getattr(nlp_artifacts, "entities", None) or []:
            if e.start_char < end and start < e.end_char and e.label_ != "PERSON" and (
                    e.label_ != "ORGANIZATION" or strength == WEAK):
                return True
        return False

    def _known_name(self, text: str, match) -> Optional[Tuple[int, int, float, int]]:
        """A census name in a run of capitalised words, after leading common words."""
        keys = [_key(w) for w in match.group().split()]
        if FIRST.isdisjoint(keys) and LAST.isdisjoint(keys) and not (
                _SURNAME_ENDING.search(keys[-1]) or (len(keys) > 2 and len(keys[-2]) == 1)):
            return None   # most runs: "The", "Sydney Harbour"
        words = [(m.group(), m.start()) for m in _NON_SPACE.finditer(match.group())]
        while words and (_key(words[0][0]) in COMMON and _key(words[0][0]) not in FIRST
                         or _key(words[0][0]) in _TITLE_WORDS):   # "Dr Okafor": the title goes
            if _key(words[0][0]) in _PLACE_WORDS:
                return None   # "Saint Martin", "Lake Marie"
            words.pop(0)   # "Thanks Sophie Lang", "The"
        if not words:
            return None
        # "Davis Cup", "Elkhart County Sheriff", "Jackson Street": a name is followed by
        # names and initials, not by words.
        if _has_word_after_first([w for w, _ in words]):
            return None
        start = match.start() + words[0][1]
        end = match.start() + words[-1][1] + len(words[-1][0])
        first, last = _key(words[0][0]), _key(words[-1][0])
        if len(words) > 1 and len(last) > 1 and first not in COMMON and last not in COMMON and (
                (len(words) == 3 and len(_key(words[1][0])) == 1)   # "Ravil G Yefimov"
                or (_SURNAME_ENDING.search(last) and last not in _FOREIGN_STOP)):  # "Irenke Sörös"?
            return start, end, self.FULL_NAME_SCORE, MEDIUM
        if len(words) > 1 and len(last) > 1 and (
                first in FIRST or (last in LAST and first not in COMMON)):
            # a known first name and a known surname outweigh the model's places
            # ("Tünde Hoffmann" is no facility, "Rebecca Moss" no town)
            both = (first in FIRST and (last in LAST or last in FIRST) and first not in PLACES
                    and last not in PLACES and f"{first} {last}" not in PLACES)
            return start, end, self.FULL_NAME_SCORE, STRONG if both else MEDIUM
        if (len(words) == 1 and first not in COMMON and first not in ALL_NAMES
                and _SURNAME_ENDING.search(first)):   # "Sokolov", "Ryhänen", "Živković"
            return start, end, self.SINGLE_FIRST_SCORE, WEAK
        if len(words) == 1 and (first in FIRST or first in LAST):
            context = (_CONTEXT_BEFORE.search(text, max(0, start - 24), start)
                       or _CONTEXT_AFTER.match(text, end, min(len(text), end + 16)))
            # a first name that is no word ("Rebecca", "Vsevolod") is a person's unless the
            # model says otherwise; a surname alone ("Walker") needs a context word
            alone = (first in FIRST and first not in _FOREIGN_STOP   # "Su equipo", "Les tests"
                     and first not in PLACES
                     and not _foreign(text, start, end)
                     and not _PLACE_VERB_BEFORE.search(text, max(0, start - 16), start))
            score = (self.SINGLE_FIRST_SCORE if alone else self.SINGLE_NAME_SCORE) + (
                self.CONTEXT_BOOST if context else 0)
            # the small model calls many a first name an organisation ("Scott is a very
            # sympathetic person"): only its places and dates outweigh one
            return start, end, round(min(score, 0.85), 2), MEDIUM if alone else WEAK
        return None

