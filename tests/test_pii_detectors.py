"""The PII detectors one by one: secret, card and name recognizers, the span rules
(containment, redaction, masks), chunking, and one scan through the whole engine.

Recognizers are called without the spaCy model (nlp_artifacts=None) where they do
not need it; the one PiiScanner test loads it once for the module (about 1 s).
"""

import pytest

from detectors.pii.addresses import AddressRecognizer
from detectors.pii.cards import BoundedCreditCardRecognizer, LuhnCardRecognizer, luhn_valid
from detectors.pii.names import NameRecognizer, person_span
from detectors.pii.contact import BoundedUrlRecognizer
from detectors.pii.phones import PhoneNumberRecognizer
from detectors.pii.scanner import PiiScanner, chunk_bounds
from schemas.settings import PiiSettings
from detectors.pii.secrets import (AwsAccessKeyIdRecognizer, AwsSecretAccessKeyRecognizer,
                                   GenericApiKeyRecognizer, GitHubTokenRecognizer,
                                   GitLabTokenRecognizer, JwtRecognizer, PrivateKeyRecognizer,
                                   SlackTokenRecognizer)
from detectors.pii.spans import Finding, drop_contained, mask, merge_same_type, redact

# Made-up secrets in the documented formats (none is a real credential).
AKIA = "AKIAQ3EGRVZ7TNYLXW4P"
AWS_SECRET = "q8Jd2LwZ9sXv+Tn4Rk/Pb7Hc1Ym6Ge0Fa3Ui5OzW"   # 40 characters
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PAT = "github_pat_" + "A1b2C3d4E5f6G7h8I9j0K1" + "_" + "x" * 59
GLPAT = "glpat-" + "x9Y8w7V6u5T4s3R2q1P0"
XOXB = "xoxb-123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
HOOK = "https://hooks.slack.com/services/T01ABCDEF/B01ABCDEF/abcdefghijklmnopqrstuvwx"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM_BODY = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Vx3k9aQ2Lm4Z",
                      "p8Wq1RtY5uI0oP3aS6dF9gH2jK4lZ7xC1vB5nM8qW0eR3tY6uI9oP2aS5dF8gH1j"])
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"


def spans(recognizer, text, entity=None):
    """(matched text, score) of every result, in order."""
    return [(text[r.start:r.end], r.score) for r in
            sorted(recognizer.analyze(text, [entity or ""], None), key=lambda r: r.start)]


def found(recognizer, text):
    return [value for value, _ in spans(recognizer, text)]


# ---------------------------------------------------------------- secrets

@pytest.mark.parametrize("text, expected", [
    (f"aws_access_key_id = {AKIA}", [AKIA]),
    (f"key={AKIA.replace('AKIA', 'ASIA')}", [AKIA.replace("AKIA", "ASIA")]),
    (f"id {AKIA}X", []),                                   # runs on into a longer token
    ("Long-term key ids begin with AKIA and temporary ones with ASIA.", []),
    ("AKIA1234567890123456", []),                           # 0, 1, 8, 9 are no base32
])
def test_aws_access_key_id(text, expected):
    assert found(AwsAccessKeyIdRecognizer(), text) == expected


@pytest.mark.parametrize("text, expected", [
    (f"aws_secret_access_key = {AWS_SECRET}", [AWS_SECRET]),
    (f'"SecretAccessKey": "{AWS_SECRET}"', [AWS_SECRET]),
    (f"use access key {AKIA}, the secret key is {AWS_SECRET} - delete this", [AWS_SECRET]),
    (f"{AKIA} {AWS_SECRET}", [AWS_SECRET]),
    # a plain "secret key" with no AWS cue before it: some other service's
    (f"Stripe: the secret key is {AWS_SECRET}", []),
    (f"Clé secrète AWS : {AWS_SECRET}", [AWS_SECRET]),
    (f"Zugang {AKIA}, geheimer Schlüssel lautet {AWS_SECRET}", [AWS_SECRET]),
    (f"La clave secreta de AWS es {AWS_SECRET}", [AWS_SECRET]),
    (f"Stripe : la clé secrète est {AWS_SECRET}", []),
    ("aws_secret_access_key = " + "a" * 40, []),            # no randomness: a placeholder
    (f"aws_secret_access_key = {AWS_SECRET}xyz", []),        # 43 characters: not this format
    ("AWS_SECRET_ACCESS_KEY=<your-secret-here>", []),
])
def test_aws_secret_access_key(text, expected):
    assert found(AwsSecretAccessKeyRecognizer(), text) == expected


@pytest.mark.parametrize("recognizer, text, expected", [
    (GitHubTokenRecognizer, f"export GITHUB_TOKEN={GHP}", [GHP]),
    (GitHubTokenRecognizer, f"token {PAT}", [PAT]),
    (GitHubTokenRecognizer, "GITHUB_TOKEN=ghp_xxx", []),
    (GitHubTokenRecognizer, GHP + "Z", []),                  # 37 characters after ghp_
    (GitLabTokenRecognizer, f"GITLAB_TOKEN: {GLPAT}", [GLPAT]),
    (GitLabTokenRecognizer, "glpat-short", []),
    (SlackTokenRecognizer, f"bot token {XOXB} was pasted", [XOXB]),
    (SlackTokenRecognizer, "Bot tokens begin with xoxb- and user tokens with xoxp-.", []),
    (SlackTokenRecognizer, f"POST {HOOK} now", [HOOK]),
])
def test_prefixed_tokens(recognizer, text, expected):
    assert found(recognizer(), text) == expected


def test_jwt_needs_a_header_with_alg():
    assert found(JwtRecognizer(), f"Authorization: Bearer {JWT}") == [JWT]
    # same shape, but the first part decodes to {"typ":"JWT"}: no "alg"
    no_alg = "eyJ0eXAiOiJKV1QifQ." + JWT.split(".", 1)[1]
    assert found(JwtRecognizer(), no_alg) == []


@pytest.mark.parametrize("text, expected", [
    (f"Here is the key:\n\n{PEM}\n", [PEM]),
    # a service-account JSON file: the line breaks are the two characters \n
    ('{"private_key": "' + PEM.replace("\n", "\\n") + '\\n", "client_email": "x"}',
     [PEM.replace("\n", "\\n")]),
    # cut short: from BEGIN to the end of the body
    (f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}",
     [f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}"]),
    # the tail of a block whose BEGIN line is elsewhere (the previous chunk)
    (f"{PEM_BODY}\n-----END PRIVATE KEY-----", [f"{PEM_BODY}\n-----END PRIVATE KEY-----"]),
    ("Keys are stored as -----BEGIN PRIVATE KEY----- blocks; the header is no secret.", []),
    ("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----", []),   # a placeholder
    ("-----BEGIN PUBLIC KEY-----\n" + PEM_BODY + "\n-----END PUBLIC KEY-----", []),
])
def test_private_key(text, expected):
    assert found(PrivateKeyRecognizer(), text) == expected


@pytest.mark.parametrize("text, expected", [
    ('API_KEY = "Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"', ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ('{"apiKey": "Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"}', ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ("X-API-Key: Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL", ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ("Der API-Schlüssel lautet Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL", ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ("Ma clé d'API : Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL", ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ("La clave de API es Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL", ["Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL"]),
    ("api_key=YOUR_API_KEY_HERE_PLEASE", []),                # no digit, little randomness
    ("api_key=jAIxNKu8  # placeholder", []),                 # too short
    ("Zk3vQ9mW2xR7tY5uI8oP1aS4dF6gH0jL", []),                # no key name before it
])
def test_generic_api_key(text, expected):
    assert found(GenericApiKeyRecognizer(), text) == expected


# ---------------------------------------------------------------- cards

def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("4131034282458809939")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize("text, value, boosted", [
    ("My card 4131034282458809939 is expiring", "4131034282458809939", True),   # 19-digit Visa
    ("card number 630427373398 is lost", "630427373398", True),                 # 12-digit Maestro
    ("for this card: 213161594239298", "213161594239298", True),                # 15-digit JCB
    ("my card 2224-1607-6404-3830 was charged twice", "2224-1607-6404-3830", True),  # 2-series MC
    ("billed amount for cc 503802053770 on my e-mail", "503802053770", True),
    ("Reference 4131034282458809939 in the ledger", "4131034282458809939", False),  # no context
    ("Meine Kreditkarte: 2224-1607-6404-3830", "2224-1607-6404-3830", True),
    ("Ma carte bancaire : 630427373398, merci.", "630427373398", True),
    ("Mi tarjeta es 213161594239298.", "213161594239298", True),
])
def test_card_numbers(text, value, boosted):
    (matched, score), = spans(LuhnCardRecognizer(), text)
    assert matched == value
    assert (score >= 0.5) == boosted


@pytest.mark.parametrize("text", [
    "my card 4131034282458809938",                        # fails Luhn
    "card ISBN 978-1-4028-9462-6",                        # groups of an ISBN-13
    "card 9781402894626",                                 # starts with 9: no card network
    "card 0604260700118",                                 # starts with 0
    "card 41310342824588099391",                          # 20 digits
    "card 4111 1111  1111 1111",                          # separators must be single
    "paid by card: 4111-1111 1111-1111",                  # and the same throughout
    "card 12345678901.5",
])
def test_card_near_misses(text):
    assert spans(LuhnCardRecognizer(), text) == []


def test_no_card_inside_a_longer_number():
    # 16 digits inside a parcel or order number that pass Luhn by chance
    for text in ("Tracking number: 9400 3850 4000 0791 6999", "Your order 640-6923542-3356054",
                 "Sendungsnummer: 9400 1919 8659 5355 1052"):
        assert spans(BoundedCreditCardRecognizer(), text, "CREDIT_CARD") == []
    (value, score), = spans(BoundedCreditCardRecognizer(), "Visa 4111 1111 1111 1111.",
                            "CREDIT_CARD")
    assert value == "4111 1111 1111 1111"


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("text, expected", [
    ("Please ask Mrs. Barbara Yudina Apt. 675 to sign.", ["Barbara Yudina"]),   # stops at Apt
    ("Dr Okafor will see you.", ["Okafor"]),
    ("My name is Rubija", ["Rubija"]),
    ("my name is lena andersson.", ["lena andersson"]),
    ("Hi Karola,\n\nThanks for getting in touch.", ["Karola"]),
    ("Name: Götz Pergande\nSSN: 166-13-4478", ["Götz Pergande"]),
    ("Account holder: Yatan Gola\nIBAN: ES96", ["Yatan Gola"]),
    ("Best regards,\nAdrian Parkes\nCustomer Care", ["Adrian Parkes"]),
    ("[10:33] Timothy: heads up, the bot token was pasted", ["Timothy"]),
    ("Ubul: What a wife.\nNicola: Indeed.", ["Ubul", "Nicola"]),
    ("I would like to remove my kid Tadzio from the will.", ["Tadzio"]),
    ("Billing address: Sophie Lang\n    3482 Via Franscini 71", ["Sophie Lang"]),
    ("The founders: Kónya, Becker and Vasquez.", ["Kónya", "Becker", "Vasquez"]),
    # names of other countries (world lists), cues in German, French and Spanish
    ("Maybe it's under Miklós Hajdu", ["Miklós Hajdu"]),
    ("Betrag auf das Konto DE12 (Kontoinhaber: Cilly Gnatz).", ["Cilly Gnatz"]),
    ("Titulaire : Gaëtane Roux", ["Gaëtane Roux"]),
    ('Mehrudin shouted at Todd: "What are you doing here?"', ["Mehrudin", "Todd"]),
    ("Usamov and Bowers were precision engineers.", ["Usamov", "Bowers"]),
    ("Why is Rebecca so impulsive?", ["Rebecca"]),        # a first name that is no word
])
def test_name_cues(text, expected):
    # several cues may find one name; the scanner merges them
    names = {value: start for value, start in
             ((text[r.start:r.end], r.start) for r in NameRecognizer().analyze(text, [], None)
              if r.score >= 0.5)}
    assert sorted(names, key=names.get) == expected


@pytest.mark.parametrize("text", [
    "customer: 64879 Kimberly Extension Suite 069, Ulhasnagar",    # a street after a number
    "Dear Sir or Madam,\n\nyour order has shipped.",               # common words only
    "Date: today\nNote: the build is green",                       # field labels
    "service:\n  name: billing\n  port: 8080",                     # a YAML value
    "The Davis Cup final starts on Friday.",                       # a name and a word
    "The bus stops on Jackson Street.",
    "Victoria University",
    # labels, firms named after people, streets and towns made of names, other languages
    "Subject: Re: Across Thing Rather\nTel. (301) 732-3129\nFax 01331791717\nMobile: 0690",
    "Best regards,\nCustomer Service Team\nAcme Supplies Ltd",
    "The Davis, Reynolds and Williamson Orchestra was founded in 1977.",
    "She spent a year at Jones, Mitchell and Williams as an assistant.",
    "Lopez, Santos and Coleman is a design agency based in Espoo.",
    "Griffin, Griffith and Perez grew its revenue to $2,498.",
    "Buses to Saint Martin and Lake Marie are diverted.",
    "Apunte el número de pedido. Su equipo de atención al cliente",
    "Les tests tournent sous Version 9.8 seulement.",
])
def test_name_near_misses(text):
    assert [(v, s) for v, s in spans(NameRecognizer(), text) if s >= 0.5] == []


@pytest.mark.parametrize("text, ner, expected", [
    ("Ayaan Bal\nCustomer Care", True, "Ayaan Bal"),                 # one line only
    ("Hi Paul, thanks", True, "Paul"),                               # leading greeting
    ("Emmie Ström's Cautionary Tales", False, "Emmie Ström"),        # ends at a possessive
    ("Guilty Pleasures", True, None),                                # common words
    ("Order ORD-7639960", True, None),                               # digits, capitals
    ("64879 Kimberly Extension", False, None),
    ("Gertraude-Kitzmann-Weg", False, None),
    ("Rua João Pessoa", False, None),
    ("Franscini 71 Suite 838", False, None),
    ("mr. elliott flew", True, "elliott"),                           # known name, lower case
    ("eu-west-1", True, None),
    # the English model's people that are no names
    ("Notieren Sie sich 590-957-9383 für später.", True, None),      # German words
    ("Der Preis beträgt EUR 4. Sie gewannen am Sonntag.", True, None),   # German text
    ("| Oficina | Teléfono | Horario |", True, None),                # a table cell
    ("Lake Katieview", True, None), ("Matthewview", True, None),      # towns made of names
    ("Smith PLC", True, None), ("Mentzel GbR", True, None),           # firms
    ("sha256=af9e", True, None),                                      # part of a word
    ("Tomomi is from Hawkins, Richardson and Santana", True, None),   # a firm of three
    ("Der Kontoinhaber ist Peter Scholl.", True, "Peter Scholl"),     # a known name stays
    ('"I am glad," says Izumi.', True, "Izumi"),                     # so does a name in English
])
def test_person_span(text, ner, expected):
    where = {"Hi Paul, thanks": (0, 7), "mr. elliott flew": (4, 11),
             "Notieren Sie sich 590-957-9383 für später.": (0, 12),
             "Der Preis beträgt EUR 4. Sie gewannen am Sonntag.": (4, 9),
             "| Oficina | Teléfono | Horario |": (2, 9), "sha256=af9e": (0, 3),
             "Tomomi is from Hawkins, Richardson and Santana": (24, 34),
             "Der Kontoinhaber ist Peter Scholl.": (21, 33),
             '"I am glad," says Izumi.': (18, 23)}
    start, end = where.get(text, (0, len(text)))
    span = person_span(text, start, end, ner=ner)
    assert (text[span[0]:span[1]] if span else None) == expected


# ---------------------------------------------------------------- url and phone

@pytest.mark.parametrize("text, expected", [
    ("see https://www.padilla.biz/terms for details", ["https://www.padilla.biz/terms"]),
    ("visit example.com today", ["example.com"]),
    ('resp = requests.get("x", headers=h)', []),
    ("s3 = boto3.client('s3')", []),
    ("  script:\n    - ./deploy.sh", []),
    ("run setup.py first", []),
])
def test_url_boundaries(text, expected):
    assert [v for v, s in spans(BoundedUrlRecognizer(), text, "URL")] == expected


@pytest.mark.parametrize("text, expected", [
    # found on their shape alone (an unassigned area code is still a number)
    ("Call the office on (780) 844-4252 for bookings.", ["(780) 844-4252"]),
    ("Call me at +1 780 844 4252 tomorrow.", ["+1 780 844 4252"]),
    ("the hotel can reach them on +1-823-899-2551.", ["+1-823-899-2551"]),
    ("Tel. (301) 732-3129", ["(301) 732-3129"]),
    ("Notez le 590-957-9383 ext 117 pour plus tard.", ["590-957-9383 ext 117"]),
    ("Das Büro (+49 (0)30 1234567) ist zu.", ["+49 (0)30 1234567"]),
    ("La oficina (0176 466 03653) cierra.", ["0176 466 03653"]),
    ("Bookings: 01.23.45.67.89 or at the desk.", ["01.23.45.67.89"]),
    ("| Sales | (11) 98765-4321 | 9-17 |", ["(11) 98765-4321"]),
    ("| Sales | 98765 43210 | 9-17 |", ["98765 43210"]),
    ("Bitte faxen Sie an 07285 419248.", ["07285 419248"]),
    ("Write it down: 03-1234-5678, then ask.", ["03-1234-5678"]),
    ("The office (011 2931 5873) is closed.", ["011 2931 5873"]),   # "011" is no US number
    # a bare shape only with a phone word before it, in any of the four languages
    ("Tel. 7459273340", ["7459273340"]),
    ("Meine Handynummer ist 7459273340.", ["7459273340"]),
    ("Mon portable : 7459273340", ["7459273340"]),
    ("Llámame al 612 345 678 mañana.", ["612 345 678"]),
    ("| Oficina | Teléfono |\n|---|---|\n| Ventas | 7459273340 |", ["7459273340"]),
    ("Notieren Sie sich 7459273340 für später.", []),              # a bare 10 digits: anything
    ("Jane Doe\nT 7459273340\njane@example.com", ["7459273340"]),   # a business card's T, M, F
    ("M. 0171 234 5678", ["0171 234 5678"]),
    ("Room T 7459273340", []),                                    # a letter inside a line
    # hard negatives
    ("Der Termin ist am 15.03.2024. Meeting moved to 2024-03-15.", []),
    ("ISBN 978-3-16-148410-0, second edition.", []),
    ("Your order 112-4567890-1234567 has shipped; order 4021883190.", []),
    ("Votre commande n° 2858 3171 0089 a été expédiée.", []),
    ("Tracking number: 7489 2234 1123", []),
    ("Der Preis beträgt € 3.663.877,05 oder EUR 1.299.000.", []),
    ("Upgrade to version 10.4.1.2033 now.", []),
    ("The site lies at -33.868820, 151.209296.", []),
    ("She lived there 1999-2004; they won 102-98.", []),
    ("Use ZIP code 90210-1234 for the parcel.", []),
    ("Die IP-Adresse ist 192.168.10.4, SSN 536-22-8726.", []),
    ("call me at 14 Crown Street, 1987 74 Diakou", []),
])
def test_phone_numbers(text, expected):
    assert [v for v, score in spans(PhoneNumberRecognizer(), text, "PHONE_NUMBER")
            if score >= 0.5] == expected


def test_phone_labels_are_no_names():
    for text in ("Tel. (301) 732-3129", "Fax: +49 30 1234567", "Handy 0151 23456789"):
        assert person_span(text, 0, text.index(" "), ner=True) is None
    assert person_span("Tel Peter Smith", 0, 15, ner=True) == (4, 15)
    # A letter's salutation is no part of the name (Dear is a surname, too).
    assert person_span("Dear Melissa Wilson,", 0, 19, ner=True) == (5, 19)


# ---------------------------------------------------------------- postal addresses

@pytest.mark.parametrize("text, expected", [
    # US: number, street, suffix, unit, town, state, ZIP, on one line or several
    ("Please send it to 1600 Pennsylvania Ave NW, Washington, DC 20500.",
     ["1600 Pennsylvania Ave NW, Washington, DC 20500"]),
    ("Invoices go to 742 Evergreen Terrace, Apt 4B, Springfield, IL 62704 from now on.",
     ["742 Evergreen Terrace, Apt 4B, Springfield, IL 62704"]),
    ("Acme Supplies Ltd\n24 Clarke Avenue Suite 300\nBoston, MA 02110-1234\nDear customer,",
     ["24 Clarke Avenue Suite 300\nBoston, MA 02110-1234"]),
    # UK: number, street, Road/Lane/Close, town, postcode
    ("Our office is at 221B Baker Street, London NW1 6XE, next to the station.",
     ["221B Baker Street, London NW1 6XE"]),
    ("- Returns: Flat 3, 14 Crown Lane, Bristol, BS1 4DJ", ["Flat 3, 14 Crown Lane, Bristol, BS1 4DJ"]),
    # German: Straßenname Hausnummer, PLZ Ort
    ("Bitte schicken Sie das Paket an Hauptstraße 5, 10115 Berlin.", ["Hauptstraße 5, 10115 Berlin"]),
    ("Lieferadresse: Karl-Marx-Allee 12/3\n04109 Leipzig", ["Karl-Marx-Allee 12/3\n04109 Leipzig"]),
    # French: numéro, rue ..., code postal, ville
    ("Merci d'envoyer le colis au 12 rue de la Paix, 75002 Paris.", ["12 rue de la Paix, 75002 Paris"]),
    ("Nos bureaux : 7, boulevard Saint-Michel, 75005 Paris", ["7, boulevard Saint-Michel, 75005 Paris"]),
    # the street alone, and US military mail
    ("The bus station is on Vesterskovvej 79", ["Vesterskovvej 79"]),
    ("Address:\nPSC 5217, Box 4854\nAPO AP 43617.", ["PSC 5217, Box 4854\nAPO AP 43617"]),
    # hard negatives: a number and capitalised words are no street without a street word
    ("The workshop is in Room 5 this year; the gate is Gate 12.", []),
    ("I finally upgraded to the iPhone 15 Pro and Windows 11 Home.", []),
    ("The contract starts on March 5, 2024; tests run on Python 3.11.4.", []),
    ("During 1971, Mayo-Walters invested heavily.", []),
    ("The team flew to Berlin, then to Paris and Lyon.", []),
    ("We ordered from Century 21 Real Estate; the club has 39 Main Course dishes.", []),
    ("Der Termin ist am 12. März 2024 in Saal 4.", []),
    # real prose (Lee news, Wikipedia): no unit in "United", no French street word in English
    ("The invasion took place on December 7; the shootout took place at Dora village some 50 km",
     []),
    ("At a hearing in United States Federal Court, the boundaries place Asia to the east.", []),
    ("Nos bureaux sont au 3 place de la Concorde, 75008 Paris.", ["3 place de la Concorde, 75008 Paris"]),
    # issue 18, second round: presidio-research's forms. A name and a house number with no
    # street word, before a postcode or after words that say an address follows
    ("I moved to Pivovarská 276, 110 00 Praha last month.", ["Pivovarská 276, 110 00 Praha"]),
    ("- Returns: Boazweg 805, 7614OW Erica\n", ["Boazweg 805, 7614OW Erica"]),
    ("Gerth had given Gerth his address: 329 Arenales 9462", ["329 Arenales 9462"]),
    ("He lives on the north side of Joaquin Suarez 2906.", ["Joaquin Suarez 2906."]),
    ("eva kleist lives at 255 hersnapvej 18, københavn k", ["255 hersnapvej 18"]),
    ("Trivo lives on Grössgstötten 50 street.", ["Grössgstötten 50"]),
    # a unit first; a street word first and lower-case words; Spanish, Estonian, Hungarian
    ("Mrs. Barbara Yudina Apt. 675 62314 Mellemvej 32\nAalborg NO 9100",
     ["Apt. 675 62314 Mellemvej 32\nAalborg NO 9100"]),
    (">770 26 rue des lieutemants Thomazo\n>Apt. 735\n>DOLE\n>France 35910",
     ["770 26 rue des lieutemants Thomazo\n>Apt. 735\n>DOLE\n>France 35910"]),
    ("my address: 2613 avenida praia 1 suite 463, mohács, hungary 24743",
     ["2613 avenida praia 1 suite 463, mohács, hungary 24743"]),
    ("Pasaje de Concha Belmonte 30 Puerta 4, 03282 Girona", ["Pasaje de Concha Belmonte 30 Puerta 4, 03282 Girona"]),
    ("6614 Luite tee 87\n Apt. 931\n Salumäe\n Estonia 62031", ["6614 Luite tee 87\n Apt. 931\n Salumäe\n Estonia 62031"]),
    ("pedestrians must enter on hegyalja út 98. the first three months", ["hegyalja út 98."]),
    ("The Mint office is at 9243 Avenue d'Ouchy 109 Apt. 758, Montealegre del Castillo, Spain 49079",
     ["9243 Avenue d'Ouchy 109 Apt. 758, Montealegre del Castillo, Spain 49079"]),
    ("Address: the corner of 159 Eleftheriou Venizelou str and Rennie Union",
     ["the corner of 159 Eleftheriou Venizelou str and Rennie Union"]),
    ("Cite Sfaxi\n704 1436 Redbud Drive\nCite Essanaouber\n, 32\n 60810. It serves",
     ["704 1436 Redbud Drive\nCite Essanaouber\n, 32\n 60810"]),
    # ... and what those forms must not take
    ("She lives on Floor 3 now; send it to Room 12; die Adresse lautet: Zimmer 99, hinten.", []),
    ("We watched Apollo 11, 1969 Mission again. On 28 October 1892, he projected a film.", []),
    ("He returned to Kentucky. In 1843, he married. IBAN: NL02 ATUK 8870 8884 17", []),
    ("Fax 0118 496 0848; there are 3 Square meters left; he took 5 Route buses to town.", []),
    ("Please charge the Visa 4111 1111 1111 1111 for the renewal.", []),
    # a shipping label: the contact line after the town is no part of the address
    ("SHIP TO:\n885 Jumeferweg Street\nRavensburg\nPhone 04995 123456",
     ["885 Jumeferweg Street\nRavensburg"]),
    ("221 Baker Street\nLondon NW1 6XE\nTel 020 7946 0018", ["221 Baker Street\nLondon NW1 6XE"]),
])
def test_addresses(text, expected):
    assert [v for v, score in spans(AddressRecognizer(), text, "LOCATION")] == expected


def _searched_matches(text):
    """ADDRESS's matches as a search window by window finds them (the recognizer tries
    each place a word may start instead): the reference for the test below."""
    from detectors.pii.addresses import _AFTER_DIGIT, ADDRESS
    found, searched = [], 0
    for start, end in AddressRecognizer.windows(text):
        for match in ADDRESS.finditer(text, max(start, searched), min(len(text), end + _AFTER_DIGIT)):
            if match.start() >= end:
                break
            searched = match.end()
            found.append(match.span())
    return found


def test_addresses_tried_where_a_word_starts_are_those_a_search_finds(monkeypatch):
    from detectors.pii import addresses
    from evaluation.address_corpus import generate as address_docs
    from evaluation.pii import faker_set
    texts = [text for text, _ in faker_set(150)] + [d.text for d in address_docs(150, 3)] + [
        "Ship it to 12-14 Rue de la Paix, 75002 Paris or to (5) Baker Street, London NW1 6XE.",
        "---221B Baker Street; 'Hauptstraße 5, 10115 Berlin' and 1 2 3 4 5 Oak Lane " * 3]
    tried = []
    real_match = addresses.ADDRESS.match

    class Spy:   # the recognizer's own calls to ADDRESS, with their results
        def __getattr__(self, name):
            return getattr(real_match.__self__, name)

        def match(self, *args):
            result = real_match(*args)
            if result:
                tried[-1].append(result.span())
            return result
    monkeypatch.setattr(addresses, "ADDRESS", Spy())
    recognizer = AddressRecognizer()
    for text in texts:
        tried.append([])
        recognizer.analyze(text, ["LOCATION"])
    monkeypatch.undo()
    assert sum(map(len, tried)) > 100
    assert tried == [_searched_matches(text) for text in texts]


def test_an_address_is_redacted_whole_by_default():
    assert PiiSettings().actions()["LOCATION"] == "redact"
    text = "I moved to 742 Evergreen Terrace, Springfield, IL 62704 last month."
    found = PiiScanner(PiiSettings(), entities=("LOCATION",)).scan([text])[0]
    assert redact(text, found)[0] == "I moved to <LOCATION> last month."


# ---------------------------------------------------------------- spans

def f(entity, start, end, score=0.9):
    return Finding(entity, start, end, score, "test")


def test_drop_contained():
    email, url = f("EMAIL_ADDRESS", 10, 30, 1.0), f("URL", 19, 30, 0.5)
    assert drop_contained([url, email]) == [email]                 # a URL inside an e-mail
    inner_email, outer_url = f("EMAIL_ADDRESS", 20, 40), f("URL", 0, 60)
    assert drop_contained([inner_email, outer_url]) == [outer_url, inner_email]  # kept both
    token, key = f("GITHUB_TOKEN", 5, 45, 0.95), f("API_KEY", 5, 45, 0.8)
    assert drop_contained([key, token]) == [token]                 # same span: the specific one
    person, secret = f("PERSON", 12, 20, 0.85), f("AWS_SECRET_ACCESS_KEY", 10, 50)
    assert drop_contained([person, secret]) == [secret]
    name, link = f("PERSON", 0, 12), f("URL", 8, 30)
    assert drop_contained([name, link]) == [name, link]            # overlap is not containment
    location, who = f("LOCATION", 3, 9, 0.85), f("PERSON", 3, 9, 0.9)
    assert drop_contained([location, who]) == [who]                # equal rank: the higher score
    assert drop_contained([]) == []


def test_merge_then_drop():
    merged = merge_same_type([f("URL", 0, 10), f("URL", 5, 20), f("EMAIL_ADDRESS", 0, 25)])
    assert merged == [f("URL", 0, 20), f("EMAIL_ADDRESS", 0, 25)]
    assert drop_contained(merged) == [f("EMAIL_ADDRESS", 0, 25)]


def test_redact_overlapping_types_and_unicode():
    text = "Grüße 🍞 日本 — mail maria@example.com or call 555-0100 now"
    start = text.index("maria")
    findings = [f("EMAIL_ADDRESS", start, start + 17, 1.0), f("URL", start + 6, start + 17, 0.5),
                f("PHONE_NUMBER", text.index("555"), text.index("555") + 8, 0.75)]
    redacted, placed = redact(text, findings)
    assert redacted == "Grüße 🍞 日本 — mail <EMAIL_ADDRESS> or call <PHONE_NUMBER> now"
    assert [redacted[p.start:p.end] for p in placed] == ["<EMAIL_ADDRESS>", "<PHONE_NUMBER>"]
    # a group's placeholder is its highest-scoring member's, and covers all of the group
    redacted, placed = redact("abcdefghij", [f("URL", 2, 6, 0.5), f("PERSON", 4, 9, 0.9)])
    assert redacted == "ab<PERSON>j" and placed[0].entity_type == "PERSON"


def test_mask():
    assert mask("john.smith@example.com", "EMAIL_ADDRESS") == "j***.s***@e***.com"
    assert mask("https://www.example.org/a/b", "URL") == "h***://w***.e***.org/a***/b***"
    assert mask("4111 1111 1111 1111", "CREDIT_CARD") == "*** *** *** ***"
    assert mask("Zoë Ångström", "PERSON") == "Z*** Å***"
    masked = mask(PEM, "PRIVATE_KEY")
    assert masked.startswith("-----B*** P*** K***----- M*** p*** ")
    assert "\n" not in masked and len(masked) == 48 and masked.endswith("…")


# ---------------------------------------------------------------- chunks and the scanner

def test_chunk_bounds():
    assert chunk_bounds("short text", 100, 10) == [(0, 10)]
    text = " ".join(f"word{i:03d}" for i in range(400))          # 3,199 characters
    bounds = chunk_bounds(text, 500, 60)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    for (s1, e1), (s2, e2) in zip(bounds, bounds[1:]):
        assert e1 - s1 <= 500 and s1 < s2 < e1                    # bounded, overlapping, advancing
        assert e1 - s2 >= 30                                       # about the overlap
        assert text[e1 - 1] == " " and (s2 == 0 or text[s2 - 1] == " ")   # cut at spaces
    unbroken = "x" * 1200                                          # no whitespace to cut at
    assert chunk_bounds(unbroken, 500, 60) == [(0, 500), (440, 940), (880, 1200)]


@pytest.fixture(scope="module")
def scanner():
    return PiiScanner(PiiSettings(), entities=("EMAIL_ADDRESS", "PERSON", "URL", "CREDIT_CARD",
                                               "GITHUB_TOKEN", "API_KEY", "PHONE_NUMBER"))


def test_scanner(scanner):
    texts = [
        "Hi Karola,\n\nyour card 4131034282458809939 is expiring; write to kh@example.com.\n\n"
        "Best regards,\nAdrian Parkes",
        f"🍞 token: {GHP}",
        "The ferry timetable changes on the first of the month.",
    ]
    first, second, third = scanner.scan(texts)
    assert [(x.entity_type, texts[0][x.start:x.end]) for x in first] == [
        ("PERSON", "Karola"), ("CREDIT_CARD", "4131034282458809939"),
        ("EMAIL_ADDRESS", "kh@example.com"), ("PERSON", "Adrian Parkes")]   # no URL "example.com"
    assert [(x.entity_type, texts[1][x.start:x.end]) for x in second] == [("GITHUB_TOKEN", GHP)]
    assert third == []


def test_capitalised_words_at_a_sentence_start_are_not_names():
    # Plain prose: the only capitals open sentences ("Cyclists asked" is no person).
    prose = ("Cyclists asked for a painted lane on the hill road after two near misses. "
             "Volunteers counted forty-two species of birds along the marsh trail. "
             "Pilots call the wind over the ridge rotor, and they give it a wide berth.")
    assert NameRecognizer().analyze(prose, ["PERSON"]) == []
    # A known name, or an unknown one inside a sentence, with the same cue still counts.
    for text, name in (("Scott asked for a lane.", "Scott"),
                       ("Then Zbigniewa asked for a lane.", "Zbigniewa")):
        found = {text[r.start:r.end] for r in NameRecognizer().analyze(text, ["PERSON"])}
        assert name in found


def test_hard_negatives_hold_no_person(scanner):
    # the whole scanner, the English model included: labels, firms, streets and towns
    # made of names, German, French and Spanish text; a name beside them is still found
    texts = ["Tel. (301) 732-3129\nFax 01331791717",
             "Roadworks close Kathleen Highway between 01:59 and 23:26; buses to Lake Katieview "
             "and Jasonmouth are diverted.",
             "Quarterly results: Butler, Faulkner and Griffiths grew its revenue, and Kramer GmbH "
             "reported its first loss.",
             "Notieren Sie sich die Bestellnummer 4471. Der Preis beträgt EUR 30. Ihr Kundenservice",
             "| Oficina | Teléfono | Horario |\n|---|---|---|\n| Recepción | 603-469-9102 | 10-16 |",
             "Veuillez noter le numéro de commande. Votre service client"]
    for text, found in zip(texts, scanner.scan(texts)):
        assert [text[f.start:f.end] for f in found if f.entity_type == "PERSON"] == [], text
    text = "Kontoinhaber: Cilly Gnatz. Der Preis beträgt EUR 30."
    assert [text[f.start:f.end] for f in scanner.scan([text])[0]
            if f.entity_type == "PERSON"] == ["Cilly Gnatz"]


def test_name_cues_are_a_setting(scanner):
    text = "My name is Rubija."
    assert [text[f.start:f.end] for f in scanner.scan([text])[0]] == ["Rubija"]
    without = PiiScanner(PiiSettings(name_cues=False), entities=("PERSON",))
    assert without.scan([text]) == [[]]
