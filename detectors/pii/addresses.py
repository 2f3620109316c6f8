"""Postal addresses as one span, street through town and postcode: US, UK, German, French
forms and the European layouts they share (street words before or after the name, the house
number before or after it).

spaCy's NER finds a town or a country, rarely the street: presidio-research's street
addresses were found 18% of the time. This recognizer finds a street first, by shape:

- a house number, words, and a street word after them ("221 Baker Street", "24 Elm Ave");
- a street word before the name ("rue de la Paix", "Via Roma", "Calle Mayor", "ul. Zamkowa"),
  with a house number before or after it;
- one word ending in a street word and a house number ("Hauptstraße 5", "Parijsstraat 8",
  "Harjukuja 54", "Östbygatan 14");
- US military mail ("PSC 1234, Box 5678 / APO AE 12345", "USS Vincent / FPO AA 12345");
- a house number, a street word before the name in a language other than English, then any
  words to the end of the clause ("26 rue des lieutenants Thomazo", "36 rue de pologne");
- a name and a house number with no street word ("Pivovarská 276", "Boazweg 805"): only with
  a postcode after it that is no year, or after words that say an address follows
  ("address:", "lives on", "located at", "send it to", "Anschrift", "dirección") and then
  with a house number before it or two words ("Joaquin Suarez 2906"), never a counted thing
  ("Floor 3", "Windows 11", "Fax 0118", a month and a day);
- a unit before any of them ("Apt. 675 62314 Mellemvej 32", "Suite 200, 123 Main St");

then extends it over what follows on the same or the next lines while it looks like an
address: a unit ("Apt. 5", "Suite 12", "Flat 3"), a postcode (US ZIP, UK "SW1A 1AA",
four or five digits), a state code, and towns and countries in capitals. A lower-case word,
a full stop or a blank line after a sentence ends it. After a unit a town may run on to a
lower-case word; in lower case, a unit ("suite 463") and a town and country before a postcode
("…, mohács, hungary 24743") belong to it too. A number and a capitalised word
alone ("Room 5", "Windows 10", "iPhone 15") are no street: no street word, no address.
"""

from typing import List, Tuple

import regex as re
from presidio_analyzer import LocalRecognizer, RecognizerResult

from detectors.pii.results import recognizer_result

_NUM = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
# A word of a street's name: capitalised (or in capitals), or a short joining word.
_NOT_NAME = r"(?!(?:Suite|Ste|Apt|Apartment|Unit|Flat|Floor|Room|Bldg|Building|Box)\b)"
_NAME = r"(?!(?:Suite|Ste|Apt|Apartment|Unit|Flat|Floor|Room|Bldg|Building|Box)\b)(?:\p{Lu}[\p{L}'’.-]*|[dl]['’]\p{Lu}[\p{L}-]*|\d{1,2}(?:st|nd|rd|th)|" \
        r"(?:de|du|des|la|le|les|del|della|di|da|do|dos|das|van|der|den|von|vom|zur|zum|am|" \
        r"of|the|z|y|e|et|und|dei|degli|delle|l'|d')(?=\s))"
# Street words after the name (English, German, Dutch, Nordic, Hungarian ...).
_SUFFIX = (r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|"
           r"Place|Pl|Square|Sq|Terrace|Ter|Crescent|Cres|Close|Garden|Gdns|Grove|Parkway|"
           r"Pkwy|Highway|Hwy|Circle|Cir|Trail|Trl|Crossroad|Crossing|Xing|Loop|Row|Mews|Walk|"
           r"Green|Path|Pike|Alley|Pass|Ridge|Heights|Hts|Plaza|Expressway|Freeway|Cove|"
           r"Bend|Hollow|Meadow|Mill|Parade|Quay|Rise|Vale|View|Villa|Wharf|"
           # Faker's English street suffixes, which presidio-research's addresses use
           r"Branch|Bridge|Brook|Burg|Bypass|Camp|Canyon|Cape|Causeway|Cliff|Common|Corner|Creek|Crest|"
           r"Divide|Trailer|"
           r"Curve|Dale|Extension|Ferry|Field|Flat|Ford|Forge|Fork|Fort|Gateway|Glen|Harbor|"
           r"Haven|Inlet|Junction|Knoll|Landing|Manor|Motorway|Orchard|Oval|Overpass|Park|"
           r"Parkway|Passage|Pine|Plain|Port|Prairie|Radial|Ramp|Ranch|Rapid|Shoal|Shore|"
           r"Skyway|Spur|Stravenue|Summit|Throughway|Trace|Trafficway|Turnpike|Underpass|"
           r"Union|Valley|Viaduct|Village|Vista|Hill|Lake|Island|Isle|Mount|Mountain|Spring|"
           r"River|Station|Track|Tunnel|Well|Wall|Ville|Land|Lodge|Mall|Mission|Neck|Point|"
           r"Key|Light|Lock|Loaf|Rest|Run|Stream|Fall|Forest|Plain|Pines|Dam|Rue|"
           r"Marg|Path|Zila|Ganj|Chowk|Nagar|"          # India
           r"tee|maantee|puiestee|iela|"                 # Estonia, Latvia
           r"Straße|Strasse|Str|Weg|Gasse|Platz|Allee|Damm|Ufer|Chaussee|"
           r"út|utca|u|tér|körút|útja|vej|gade|gata|gate|gatan|terrasse|väg|vägen|tie|katu|kuja|vei"
           r")s?(?![\p{L}\d])\.?"
           r"(?:[ \t\u00a0]+(?:North|South|East|West|N|S|E|W|NE|NW|SE|SW)\b\.?)?")
# Street words before the name (French, Italian, Spanish, Portuguese, Polish ...).
_PREFIX = (r"rue|Rue|RUE|avenue|Avenue|av\.?|Av\.?|C/|Rúa|boulevard|Boulevard|bd|Bd|BD|chemin|Chemin|"
           r"impasse|Impasse|allée|Allée|Place|quai|Quai|Route|Cours|"
           r"Passage|Square|Via|Viale|Piazza|Piazzetta|Piazzale|Vicolo|Corso|"
           r"Largo|Contrada|Borgo|Strada|Calle|Avenida|Avda\.|Paseo|Plaza|Camino|Carrer|"
           r"Carretera|Ronda|Travesía|Rua|Travessa|Praça|Alameda|Estrada|Largo|ul\.|ulica|"
           r"Vial|Rambla|Glorieta|Urbanización|Callejón|Cañada|Acceso|Pasaje|Cuesta|Pasadizo|"
           r"al\.|aleja|pl\.|plac|Plac|Rruga|Odos|Leoforos|Sokak|Cadde|Calea|Strada|Bulevardul")
# Those that are no English word ("took place on December 7"), for streets in lower case.
_LOWER_PREFIX = r"rue|boulevard|chemin|impasse|allée|quai|via|viale|piazza|calle|avenida|rua|rúa|ul\.|ulica"
# Those that are no English word in any case ("3 Square meters", "5 Route buses", "3 via ...").
_FOREIGN_PREFIX = r"rue|boulevard|chemin|impasse|allée|quai|calle|avenida|rua|rúa|viale|piazza"
# One word ending in a street word: Hauptstraße, Parijsstraat, Vesterskovvej, Harjukuja.
_COMPOUND = (r"\p{Lu}[\p{L}-]{2,}?(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|ring|"
             r"-Straße|-Strasse|-Weg|-Gasse|-Platz|-Allee|-Ring|-Damm|-Ufer|"
             r"pfad|steig|graben|chaussee|straat|laan|plein|gracht|kade|singel|dijk|"
             r"baan|boulevard|dreef|hof|pad|steeg|"
             r"vej|(?<![ie])gade|vænget|stræde|allé|veien|vegen|vei|gata|gatan|vägen|väg|gränd|"
             r"torget|stigen|tie|katu|kuja|polku|kaari|rinne|raitti|tanhua|vegur|braut|"
             r"stræti|stígur|gatvė|põik|utca|ulice|cesta|trida|třída)(?!\p{L})")
# Hungarian street words, after a name in any case ("hegyalja út 98.", "Belgrád rkp. 18.")
_HU_STREET = r"(?:út|útja|utca|körút|tér|rakpart|rkp\.)"
_UNIT = (r"(?:H\.\s?No\.?|Studio|Suite|Ste\.?|Apt\.?|Apartment|Unit|Flat|Floor|Fl\.|Room|Rm\.?|Bldg\.?|Building|"
         r"#|No\.?|Box|Etage|Wohnung|Bât\.?|Bâtiment|Appt\.?|Escalier|Piso|Puerta|Planta|Portal)"
         r"(?:\s?#?(?=\w{0,5}\d)\w{1,6}|\s\p{Lu})\b\.?")     # a number in it: not "United"
_SP = r"[ \t\u00a0]"
# Words that count or number things, no street: "lives on Floor 3", "moved to Windows 11".
_COUNTER = (r"(?!(?:Windows|Version|Room|Gate|Floor|Level|Platform|Terminal|Building|Channel|"
            r"Chapter|Page|Section|Season|Episode|Series|Model|Number|Track|Exit|Door|Box|Suite|"
            r"Apt|Unit|Flat|Block|Lot|Plot|Stand|Desk|Seat|Row|Table|Ward|Bed|Bay|Pier|Dock|Hall|"
            r"Area|Zone|Sector|Phase|Stage|Step|Part|Volume|Vol|Issue|Item|Article|Rule|No|Nr|"
            r"Studio|Saal|Salle|Etage|Python|Ubuntu|Firefox|iPhone|Galaxy|Pixel|"
            # a date: "February 12, 1809"
            r"January|February|March|April|May|June|July|August|September|Sept|October|November|"
            r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Januar|Februar|März|Juni|"
            r"Juli|Oktober|Dezember|Enero|Febrero|Marzo|Abril|Mayo|Junio|Julio|Agosto|"
            r"Septiembre|Octubre|Noviembre|Diciembre|"
            # a sentence's first word: "On 28 October 1892", "In 1843, he married"
            r"In|On|At|By|To|Of|The|And|For|From|Since|Until|Before|After|Around|About|Seit|Vor|"
            r"Nach|Dans|Depuis|Avant|Après|Desde|Hasta|"
            # a label before a number: "Fax 0118 496 0848", "Konto 1234"
            r"Tel|Tél|Fax|Phone|Mobile|Handy|Telefon|Ref|Reference|Order|Invoice|Account|Konto|"
            r"Customer|Kunde|Ticket|Case|Code|Pin)\b)")
# A name's words do not run over a full stop ("... to Kentucky. In 1843").
_NO_STOP = rf"(?!\S+\.{_SP})"
_CORE = (
    # Flat 7, Jeffrey Lake / Flat 24, 7 Faulkner Fort
    rf"{_UNIT},?(?:{_SP}+|\n)(?:(?:{_NUM},?{_SP}+)?(?:{_NAME}{_SP}+){{1,3}}{_SUFFIX}(?:{_SP}+{_NUM}\b\.?)?)|"
    # 221 Baker Street / 363 52 Huntly Street / 24 Clarke Avenue
    rf"(?:{_NUM}{_SP}+)?{_NUM},?(?:{_SP}+|\n)(?:{_NAME}{_SP}+){{1,4}}{_SUFFIX}(?:{_SP}+{_NUM}\b\.?)?"
    # rue de la Paix 12 / 12, rue de la Paix / Via Roma 131 / 974 Via Roma 131
    rf"|(?:{_NUM}{_SP}+)?(?:{_NUM},?{_SP}+)?(?<![\p{{L}}])(?:{_PREFIX}){_SP}+(?:{_NAME}{_SP}+){{0,4}}"
    rf"{_NOT_NAME}(?:\p{{Lu}}[\p{{L}}'’-]*|[dl]['’]\p{{Lu}}[\p{{L}}-]*|\d{{1,2}}(?:st|nd|rd|th))(?:{_SP}+{_NUM}\b\.?)?"
    # 3 place de la Concorde: French street words that are English words too, after a number
    rf"|{_NUM},?{_SP}+(?:place|route|cours|passage|square){_SP}+(?:{_NAME}{_SP}+){{0,4}}"
    rf"{_NOT_NAME}\p{{Lu}}[\p{{L}}'’-]*"
    # rue du centre 320, in lower case: a street word, words and a house number
    rf"|(?:{_NUM}{_SP}+)?(?:{_NUM},?{_SP}+)?(?<![\p{{L}}])(?:{_LOWER_PREFIX}){_SP}+(?:[\p{{L}}'’-]+{_SP}+){{0,3}}?"
    rf"[\p{{L}}'’-]+{_SP}+{_NUM}\b\.?"
    # Hauptstraße 5 / 91215 Harjukuja 54 / Rákóczi út 13.
    rf"|(?:{_NUM}{_SP}+)?(?:{_NAME}{_SP}+){{0,2}}(?:{_COMPOUND}|\p{{Lu}}\p{{L}}+{_SP}+{_SUFFIX}"
    rf"|\p{{L}}[\p{{L}}-]+{_SP}+{_HU_STREET})"
    rf"{_SP}+{_NUM}\b\.?"
    # 26 rue des lieutenants Thomazo / 36 rue de pologne: a house number, a street word before
    # the name, then any words to the end of the clause
    rf"|(?:{_NUM}{_SP}+)?{_NUM},?{_SP}+(?<![\p{{L}}])(?i:{_FOREIGN_PREFIX})"
    rf"(?:{_SP}+[\p{{L}}'’-]+){{1,4}}(?:{_SP}+{_SUFFIX})?(?=[ \t]*(?:[\n,;)>|]|\.(?!\w)|$))"
    # US military mail
    r"|(?i:PSC \d{3,5},? Box \d{3,5}\s*\n?\s*[AFD]PO A[AEP] \d{5})"
    r"|(?i:Unit \d{3,5},? Box \d{3,5}\s*\n?\s*[AFD]PO A[AEP] \d{5})"
    r"|(?i:US[NC]?[SVG]C? \p{L}+\s*\n?\s*[AFD]PO A[AEP] \d{5})"
    r"|(?:\d{1,6} )?P\.? ?O\.? Box \d{1,6}"
    # 20789 Allika 46: a number, a name and a number, an address only with a tail
    rf"|(?P<bare>\d{{1,6}}{_SP}+(?:{_NAME}{_SP}+){{0,2}}{_COUNTER}\p{{Lu}}[\p{{L}}'’-]+{_SP}+\d{{1,5}}\b\.?)"
    # Pivovarská 276, 110 00 Praha / Havnegade 87, 1008 Hørning: a name and a number, an
    # address only with a postcode after it
    rf"|(?P<named>(?=\p{{Lu}}[\p{{L}}'’.-]*(?:{_SP}+\S+){{0,2}}?{_SP}+\d)(?:{_NO_STOP}{_NAME}{_SP}+){{0,2}}{_COUNTER}\p{{Lu}}\p{{Ll}}[\p{{L}}'’-]*{_SP}+\d{{1,5}}(?:/\d{{1,4}})?\b\.?"
    rf"(?![ \t]?\d+[ \t-]\d))"     # a run of digit groups is a number: "Visa 4111 1111 1111 1111"
)
# "the corner of ...", or the other street of a crossing before it ("Oak and Hauptstraße 5")
_CORNER = r"(?:the corner of |\p{Lu}[\p{L}'’-]+ and )?"
# "the corner of Csabai kapu 39. and Mathias Pass": two streets, named any way.
_CROSSING = (rf"the corner of (?:(?:[\p{{L}}.'’-]+{_SP}+){{1,4}}?{_NUM}\b\.?(?:{_SP}+{_SUFFIX})?"
             rf"|{_NUM}(?:{_SP}+[\p{{L}}.'’-]+){{1,4}}?){_SP}+and{_SP}+"
             rf"(?:[\p{{L}}.'’-]+{_SP}+){{0,3}}?[\p{{L}}'’-]+(?:{_SP}+{_NUM}\b\.?)?(?:{_SP}+{_SUFFIX})?")
# What may follow a street, piece by piece.
_POSTCODE = (r"(?:\p{Lu}{1,2}\d[\p{Lu}\d]? ?\d\p{Lu}{2}"         # UK: SW1A 1AA
             r"|\p{Lu}\d\p{Lu} ?\d\p{Lu}\d"                   # Canada: K1A 0B1
             r"|\d{4} ?\p{Lu}{2}"                              # Netherlands: 1234 AB
             r"|(?:[A-Z]{1,2}-)?\d{4,5}(?:-\d{4})?|\d{3} \d{2}|\d{2}-\d{3})\b")
# A town's word; a contact label on the line after an address is none ("Phone 04995 ...").
_LABEL = (r"(?!(?:Phone|Tel|Tél|Telephone|Telefon|Téléphone|Teléfono|Fax|Mobile|Mobil|Handy|"
          r"Email|E-mail|Mail|Web|Website|Contact|Kontakt)\b)")
_PLACE_WORD = (rf"(?:(?:St|Ste|Ft|Mt)\.|{_LABEL}\p{{Lu}}[\p{{L}}'’-]*"   # "St. Louis"
               rf"|\(\p{{Lu}}\p{{L}}+\))")
_PLACE = rf"{_PLACE_WORD}(?:[ \t-]+(?:(?:de|do|da|del|di|du|la|le|sur|sul|am|an|upon|on|nad|pod|u|v|z|na|ob|der|im|en)[ \t]+)?{_PLACE_WORD}){{0,3}}"
# A state or province code in lower case, when a postcode follows ("springfield, il 62704").
_LOWER_STATE = rf"(?:\p{{Ll}}{{2,3}}|\d{{1,3}})(?=[ \t]*\n?[ \t>?*|]*{_POSTCODE})"
_LOWER_UNIT = r"(?:suite|apt\.?|apartment|unit|flat)[ \t]?#?\d{1,5}[a-z]?\b\.?"
_LOWER_WORDS = r"\p{Ll}[\p{Ll}'’-]+(?:[ \t]+\p{Ll}[\p{Ll}'’-]+){0,2}"
_LOWER_PLACE = (rf"{_LOWER_WORDS}(?=(?:[ \t]*\n?[ \t>?*|]*,?[ \t]*\n?[ \t>?*|]*{_LOWER_WORDS})?"
                rf"[ \t]+(?!(?:19|20)\d\d\b)(?:\d{{4,5}}\b|\d{{3}} \d{{2}}\b))")   # not "since may 2019"
# A town without a postcode ends its line or clause: "…, 35721 Erding\nDie Tests laufen" ends
# before "Die".
_TAIL_PIECE = (rf"(?:{_LOWER_STATE}|{_UNIT}|{_LOWER_UNIT}|{_LOWER_PLACE}|{_POSTCODE}(?:[ \t]+{_PLACE})?|{_PLACE}[ \t]+{_POSTCODE}"
               rf"|{_PLACE}(?=[ \t]*(?:[\n,;.)|]|$)|[ \t]+{_LOWER_STATE}))")
# A piece after a comma, or on the next line (quoted "> " lines and one blank line allowed).
_BREAK = r"(?:[ \t]*\n?[ \t>?*|]*,[ \t]*\n?[ \t>?*|]*|[ \t]*\n[ \t>?*|]*(?:\n[ \t>?*|]*)?|[ \t]+)"
ADDRESS = re.compile(
    rf"(?<![\w-])(?:{_CROSSING}|{_CORNER}(?P<core>(?:{_UNIT},?{_SP}+(?=\d))?(?:{_CORE}))"
    rf"(?:{_SP}+and{_SP}+(?:{_NAME}{_SP}+){{0,3}}\p{{Lu}}[\p{{L}}'’-]*(?:{_SP}+{_SUFFIX})?)?)"
    rf"(?P<tail>(?:(?:{_BREAK}{_TAIL_PIECE}|[ \t]+{_PLACE}(?![ \t]+\p{{Ll}}))(?![\w-])){{0,6}})")
# A piece after only a space must be a unit or a postcode, or a place followed by one of
# them: "24 Elm St Springfield IL 62704", not "12 Main St Tomorrow ...".
_SPACE_PIECE = re.compile(rf"[ \t]+(?:{_UNIT}|{_LOWER_UNIT}|{_LOWER_STATE}|{_POSTCODE}|(?:{_PLACE}[ \t]+)?(?:{_POSTCODE}|\p{{Lu}}{{2}}\b)"
                          rf"|(?:{_NAME}[ \t]+){{1,3}}{_SUFFIX})")   # a second street name
_UNIT_END = re.compile(rf"(?:{_UNIT}|{_LOWER_UNIT}|{_POSTCODE})$")
# After a unit a town may run on to a lower-case word ("Apt. 678 Velenje, where ...").
_COMMA_OR_BREAK = re.compile(r"[ \t]*[,\n]")
_PLACE_AFTER_UNIT = re.compile(rf"[ \t]+{_PLACE}(?![\w-])")
# On the same line a town may run on to a capitalised word, not to a lower-case one.
_PIECE = re.compile(rf"(?:{_BREAK}{_TAIL_PIECE}|[ \t]+{_PLACE}(?![ \t]+\p{{Ll}}))(?![\w-])")
_GATE = re.compile(r"\d")
# An address has a digit (a house number, a unit, a postcode) within its first few lines: the
# pattern is tried only from this many characters before each digit, and text without digits
# near it is not searched (the same findings on all 5,504 texts of the evaluation sets; a
# tenth less time on the benchmark's documents, which are dense with numbers).
_DIGITS = re.compile(r"\d+")
# Where ADDRESS may match: it opens with the same look-behind.
_MAY_START = re.compile(r"(?<![\w-])")
_BEFORE_DIGIT, _AFTER_DIGIT = 120, 400
# A postcode that is no year: "Apollo 11, 1969 Mission" is no address.
_POSTCODE_NOT_YEAR = re.compile(rf"(?<![\w-])(?!(?:19|20)\d\d\b){_POSTCODE}")
# A street name and a house number with no street word ("Pivovarská 276", "Pod Floriánem
# 1677", "255 hersnapvej 18") is an address only where the text says one follows: after
# "address:", "lives on", "located at", "send it to" ... (English, German, French, Spanish).
_CUE = (r"(?i:\baddress(?:e|es)?(?:[ \t]+(?:is|was|of[ \t]+[^.\n:]{1,40}?[ \t]+is))?[ \t]*[:\-–]?"
        r"|\b(?:lives?|living|resides?|located|situated)[ \t]+(?:on|at|in)"
        r"(?:[ \t]+the[ \t]+(?:north|south|east|west)(?:ern)?[ \t]+side[ \t]+of)?"
        r"|\b(?:send|sent|ship|shipped|deliver|delivered|mail|mailed|return|returned|forward)"
        r"[ \t]+(?:(?:it|this|them|the[ \t]+\w+|me|us)[ \t]+)?to"
        r"|\b(?:drops?[ \t]+you[ \t]+off|meet[ \t]+(?:me|us))[ \t]+at|\benter[ \t]+(?:on|at|from)"
        r"|\b(?:station|office|shop|store|restaurant|house|home|flat|apartment|entrance)[ \t]+is[ \t]+"
        r"(?:on|at|in)"
        r"|\b(?:Anschrift|Adresse)(?:[ \t]+(?:ist|lautet|est))?[ \t]*:?|\bwohn(?:t|e|en)[ \t]+(?:in|am|an)"
        r"(?:[ \t]+der)?|\bhabite[ \t]+(?:au|à)|\b(?:dirección|domicilio)(?:[ \t]+es)?[ \t]*:?"
        r"|\bvive[ \t]+en)")
CUED = re.compile(
    rf"{_CUE}[ \t]+(?P<core>(?:{_UNIT},?{_SP}+)?"
    rf"(?:(?:{_NUM},?{_SP}+){{1,2}}(?:[\p{{L}}'’-]+{_SP}+){{0,2}}\p{{L}}[\p{{L}}'’-]+"
    rf"|(?:{_NO_STOP}{_NAME}{_SP}+){{1,2}}{_COUNTER}\p{{Lu}}[\p{{L}}'’-]+"
    rf"|{_COUNTER}\p{{Lu}}[\p{{L}}'’-]+(?={_SP}+\d{{1,5}}{_SP}+(?i:street|st\.?|road|rd\.?)(?!\w)))"
    rf"{_SP}+{_NUM}\b\.?)(?![\w-])")   # one word alone, "Zimmer 99", is no address
# Words that read as a street word but name something else after a number: "5 Ring", "3 Way".
_NOT_STREET = re.compile(r"(?i)^\d+\s+(?:ways?|rings?|pass|views?|rows?|walks?)$")


class AddressRecognizer(LocalRecognizer):
    ENTITY = "LOCATION"
    SCORE = 0.9            # above the NER's 0.85: a merged span keeps this recognizer's name

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        if not _GATE.search(text):
            return []
        spans, searched = [], 0
        for start, end in self.windows(text):
            # A match starts in the window and may run on past it: tried where a word may
            # start, not searched for (a search that finds nothing in the window runs on
            # through the _AFTER_DIGIT characters after it, 60% of this recognizer's time).
            stop = min(len(text), end + _AFTER_DIGIT)
            for candidate in _MAY_START.finditer(text, max(start, searched), end):
                if candidate.start() < searched:
                    continue
                match = ADDRESS.match(text, candidate.start(), stop)
                if match:
                    searched = max(match.end(), candidate.start() + 1)
                    spans += self._span(text, match)
        for match in CUED.finditer(text):
            spans.append((match.start("core"), self._tail_end(text, match.end("core"))))
        return [recognizer_result(self, self.ENTITY, start, end, self.SCORE)
                for start, end in _merged(spans)]

    @staticmethod
    def windows(text: str) -> List[List[int]]:
        """[start, end) where an address may start: before each run of digits, merged."""
        windows: List[List[int]] = []
        for digits in _DIGITS.finditer(text):
            start = max(0, digits.start() - _BEFORE_DIGIT)
            if windows and start <= windows[-1][1]:
                windows[-1][1] = digits.end()
            else:
                windows.append([start, digits.end()])
        return windows

    def _span(self, text: str, match) -> List[Tuple[int, int]]:
        """The match with its tail, or nothing where its form needs a tail it lacks."""
        if match.group("core") and _NOT_STREET.match(match.group("core")):
            return []
        end = self._tail_end(text, match.start("tail"))
        if match.group("bare") and end == match.start("tail"):
            return []
        if match.group("named") and not _POSTCODE_NOT_YEAR.search(text, match.end("core"), end):
            return []
        return [(match.start(), end)]

    @staticmethod
    def _tail_end(text: str, pos: int) -> int:
        """Where the address ends: pieces from ``pos`` up to the first one that follows only
        a space and is not a unit, a postcode or a place with a postcode or state code."""
        after_unit = False
        while True:
            piece = _PIECE.match(text, pos)
            if piece and not (after_unit or _COMMA_OR_BREAK.match(piece.group())
                              or _SPACE_PIECE.match(text, pos)):
                piece = None
            if after_unit:      # the longer: "Suite 451 HUTTON HENRY", not "... HUTTON"
                town = _PLACE_AFTER_UNIT.match(text, pos)
                if town and (piece is None or town.end() > piece.end()):
                    piece = town
            if piece is None or piece.end() == pos:
                return pos
            after_unit = _UNIT_END.search(piece.group()) is not None
            pos = piece.end()


def _merged(spans):
    """Overlapping spans as one (a cued address the pattern also found)."""
    merged = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
