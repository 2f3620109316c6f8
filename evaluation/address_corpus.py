"""Labelled postal-address set: US, UK, German and French addresses in their written forms, in
English, German and French text, and, since issue 18's second round, the European forms
presidio-research's set holds that have no street word or put it first: Czech, Danish, Dutch,
Hungarian, Spanish and Polish addresses ("Pivovarská 276, 110 00 Praha", "Havnegade 87",
"Arany János utca 195.", "Cuesta Ambrosio Porta 19", "al. Leśna 74/39") in English text; US
units before the street ("Suite 200, 123 Main St"); with hard negatives (numbers and
capitalised words that are no address, and the words that say an address follows before
things that are none: "she lives on Floor 3", "Apollo 11, 1969 Mission").

Streets, towns and postcodes come from Faker's locales (en_US, en_GB, de_DE, fr_FR, seeded
from the same random.Random), half of the US and UK streets with a common postal suffix
(Street, Ave, Rd, Close, Mews ...) instead of Faker's; units (Apt, Suite, Flat, #) on some.
Each document is one layout (a sentence, a list, a letter block, a table row) in its
address's language, and holds addresses, hard negatives or both. The fixed text holds no
other personal data (no names, no e-mail addresses), but the negatives include sentences
naming only a city, which the NER rightly calls a LOCATION.

Labels: one span per address, from the unit or house number through the postcode or town
(the whole address, on one line or several); and, unlabelled for scoring but kept with their
kind, the hard negatives: product names with numbers, dates, version strings, rooms and gates,
company names, counts before capitalised words, sentences with a city only.

    python -m evaluation.address_corpus --n 800 --seed 5 [--out /tmp/addresses.jsonl]

The same n and seed give the same documents (one random.Random, no clock).
"""

import argparse
import collections
import dataclasses
import json
import random
from typing import Dict, List, Tuple

from faker import Faker

from evaluation.phone_corpus import _Doc

COUNTRIES = ("US", "UK", "DE", "FR", "CZ", "DK", "NL", "HU", "ES", "PL")
# The second round's countries are written about in English text.
LANGUAGE = {"US": "en", "UK": "en", "DE": "de", "FR": "fr", "CZ": "en", "DK": "en", "NL": "en",
            "HU": "en", "ES": "en", "PL": "en"}
LOCALE = {"US": "en_US", "UK": "en_GB", "DE": "de_DE", "FR": "fr_FR", "CZ": "cs_CZ", "DK": "da_DK",
          "NL": "nl_NL", "HU": "hu_HU", "ES": "es_ES", "PL": "pl_PL"}
LAYOUTS = ("sentence", "list", "letter", "table")


@dataclasses.dataclass(frozen=True)
class Item:
    start: int
    end: int
    kind: str        # "ADDRESS" or "negative"
    form: str        # the address's country and form ("US one line"), or the negative's kind


@dataclasses.dataclass(frozen=True)
class AddressDoc:
    text: str
    items: Tuple[Item, ...]
    language: str
    layout: str


US_SUFFIXES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Drive", "Dr",
               "Lane", "Ln", "Court", "Ct", "Place", "Pl", "Way", "Terrace", "Parkway", "Circle")
UK_SUFFIXES = ("Road", "Street", "Lane", "Avenue", "Close", "Crescent", "Gardens", "Drive", "Way",
               "Place", "Square", "Terrace", "Grove", "Hill", "Mews", "Row", "Walk", "Rd", "St")


class _Places:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.fakers: Dict[str, Faker] = {}
        for country, locale in LOCALE.items():
            self.fakers[country] = Faker(locale)
            self.fakers[country].seed_instance(rng.randrange(2 ** 32))

    def address(self, country: str) -> Tuple[str, str]:
        """(address, form): one line or several, with or without a unit."""
        rng, f = self.rng, self.fakers[country]
        lines = rng.random() < 0.4
        if country in ("US", "UK"):
            suffixes = US_SUFFIXES if country == "US" else UK_SUFFIXES
            street = (f.street_address().replace("\n", ", ") if rng.random() < 0.5 else
                      f"{rng.randint(1, 9999 if country == 'US' else 250)} {f.last_name()} "
                      f"{rng.choice(suffixes)}")
            unit = rng.random() < 0.3
            if country == "US":
                if unit and "Apt." not in street and "Suite" not in street:
                    after = rng.choice((f" Apt {rng.randint(1, 40)}{rng.choice(['', 'B'])}",
                                        f", Suite {rng.randint(100, 900)}", f" #{rng.randint(2, 99)}",
                                        f", Unit {rng.randint(1, 30)}"))
                    if rng.random() < 0.3 and "#" not in after:   # "Suite 200, 123 Main St"
                        street = f"{after.strip(', ')}, {street}"
                    else:
                        street += after
                zip_code = f.zipcode() if rng.random() < 0.8 else f.zipcode_plus4()
                town = f"{f.city()}, {f.state_abbr()} {zip_code}"
            else:
                if unit and not street.startswith(("Flat", "Studio")):
                    street = f"Flat {rng.randint(1, 30)}, {street}"
                town = f"{f.city()}" + (f"\n{f.postcode()}" if lines else f" {f.postcode()}")
        elif country in ("CZ", "DK", "NL", "HU", "ES", "PL"):
            street = f.street_address().strip()
            town = f"{f.postcode()} {f.city()}"
        elif country == "DE":
            street = f.street_address()
            town = f"{f.postcode()} {f.city()}"
        else:
            street = f.street_address()
            if rng.random() < 0.5:
                street = street.replace(", ", " ", 1)     # "12 rue de la Paix" as often as "12, rue"
            town = f"{f.postcode()} {f.city()}"
        form = f"{country} {'lines' if lines else 'one line'}"
        return (f"{street}\n{town}" if lines else f"{street}, {town}"), form


# ------------------------------------------------------------------ hard negatives

def negative(rng: random.Random, kind: str, language: str, places: _Places) -> str:
    n = rng.randint(2, 99)
    if kind == "product":
        return rng.choice((f"iPhone {rng.randint(11, 16)} Pro", f"Windows {rng.choice([10, 11])} Home",
                           f"PlayStation {rng.randint(3, 5)} Slim", f"Galaxy S{rng.randint(20, 24)} Ultra",
                           f"Boeing {rng.choice([737, 747, 777, 787])}", "Model 3 Long Range",
                           f"Pixel {rng.randint(6, 9)} Pro", f"Airbus A{rng.choice([320, 330, 350])}"))
    if kind == "date":
        y, d = rng.randint(1990, 2030), rng.randint(1, 28)
        months = {"en": ("March", "May", "June", "October"), "de": ("März", "Mai", "Juni", "Oktober"),
                  "fr": ("mars", "mai", "juin", "octobre")}[language]
        m = rng.choice(months)
        return rng.choice((f"{d} {m} {y}", f"{m} {d}, {y}" if language == "en" else f"{d}. {m} {y}"))
    if kind == "version":
        return rng.choice((f"Python 3.{rng.randint(6, 13)}.{rng.randint(0, 9)}",
                           f"Version {rng.randint(1, 9)}.{rng.randint(0, 20)}",
                           f"Firefox {rng.randint(100, 130)}", f"Ubuntu {rng.choice(['22.04', '24.04'])} LTS"))
    if kind == "room":
        return rng.choice((f"Room {n}", f"Gate {n}", f"Platform {rng.randint(1, 12)}",
                           f"Floor {rng.randint(1, 30)}", f"Terminal {rng.randint(1, 5)}",
                           f"Building {rng.randint(1, 20)}", f"Saal {n}", f"Salle {n}"))
    if kind == "company":
        return rng.choice(("3M Company", "Forever 21", "7-Eleven Inc.", "Channel 4 Television",
                           "Studio 54 Records", "Acme Supplies Ltd", "Beispiel GmbH", "Exemple SARL",
                           "Route 1 Logistics", "Century 21 Real Estate"))
    if kind == "count":
        return rng.choice((f"{n} Apple Watches", f"{n} Park Rangers", f"{n} Main Course dishes",
                           f"{n} Oak Trees", f"{n} Green Party members", f"{n} Bridge players",
                           f"{n} Ring binders", f"{n} Star Wars films"))
    if kind == "city only":
        return places.fakers[rng.choice(COUNTRIES)].city()
    if kind == "cued":         # the words before an address, before no address
        return rng.choice({"en": (f"Floor {rng.randint(1, 30)}", f"Room {n}", f"Level {rng.randint(1, 9)}",
                                  f"Building {rng.randint(1, 20)}", f"Deck {rng.randint(1, 9)}",
                                  f"Block {rng.choice('ABCD')} {n}", f"Ward {n}"),
                           "de": (f"Raum {n}", f"Etage {rng.randint(1, 9)}", f"Haus {rng.choice('ABC')} {n}",
                                  f"Zimmer {n}", f"Bau {n}"),
                           "fr": (f"Salle {n}", f"Bureau {n}", f"Étage {rng.randint(1, 9)}",
                                  f"Porte {n}", f"Bâtiment {rng.choice('ABC')} {n}")}[language])
    if kind == "name number year":
        return rng.choice((f"Apollo {rng.randint(7, 17)}, {rng.randint(1968, 1972)} Mission",
                           f"Super Bowl {rng.randint(40, 58)}, {rng.randint(2006, 2024)} Final",
                           f"Formula {rng.choice([1, 2, 3])}, {rng.randint(1990, 2024)} Season",
                           f"Chapter {n}, {rng.randint(1900, 2024)} Edition",
                           f"Studio {n}, {rng.randint(1990, 2024)} Berlin"))
    raise ValueError(kind)


NEGATIVE_KINDS = ("product", "date", "version", "room", "company", "count", "city only", "cued",
                  "name number year")

# ------------------------------------------------------------------ templates
SENTENCES = {
    "en": ["Please send the parcel to {A}.", "Our office is at {A}, next to the station.",
           "I moved to {A} last month.", "Invoices go to {A} from now on.",
           "The meeting will be held at {A}."],
    "de": ["Bitte schicken Sie das Paket an {A}.", "Unser Büro befindet sich in der {A}.",
           "Ich bin umgezogen, die neue Adresse lautet {A}.", "Rechnungen bitte an {A} senden."],
    "fr": ["Merci d'envoyer le colis au {A}.", "Nos bureaux se trouvent au {A}.",
           "J'habite désormais au {A}.", "Les factures sont à adresser au {A}."],
}
LIST_LABELS = {"en": ("Head office", "Warehouse", "Billing address", "Shipping address", "Returns"),
               "de": ("Hauptsitz", "Lager", "Rechnungsadresse", "Lieferadresse", "Rücksendungen"),
               "fr": ("Siège", "Entrepôt", "Adresse de facturation", "Adresse de livraison", "Retours")}
LETTER = {"en": ("Customer Service Team", "Acme Supplies Ltd"),
          "de": ("Ihr Kundenservice", "Beispiel GmbH"), "fr": ("Le service client", "Exemple SARL")}
TABLE_HEADS = {"en": ("Office", "Address", "Hours"), "de": ("Standort", "Adresse", "Öffnungszeiten"),
               "fr": ("Agence", "Adresse", "Horaires")}
NEGATIVE_SENTENCES = {
    "product": {"en": "I finally upgraded to the {N} this week.", "de": "Ich habe mir das {N} gekauft.",
                "fr": "J'ai enfin acheté le {N} cette semaine."},
    "date": {"en": "The contract starts on {N}.", "de": "Der Vertrag beginnt am {N}.",
             "fr": "Le contrat commence le {N}."},
    "version": {"en": "The tests run on {N} only.", "de": "Die Tests laufen nur unter {N}.",
                "fr": "Les tests tournent sous {N} seulement."},
    "room": {"en": "The workshop is in {N} this year.", "de": "Der Workshop findet in {N} statt.",
             "fr": "L'atelier a lieu en {N} cette année."},
    "company": {"en": "We ordered the chairs from {N} again.", "de": "Wir haben wieder bei {N} bestellt.",
                "fr": "Nous avons encore commandé chez {N}."},
    "count": {"en": "The club now has {N} on its list.", "de": "Der Verein zählt jetzt {N}.",
              "fr": "Le club compte désormais {N}."},
    "city only": {"en": "The team flew to {N} for the final.", "de": "Das Team flog nach {N} zum Finale.",
                  "fr": "L'équipe s'est envolée pour {N} pour la finale."},
    "cued": {"en": "She lives on {N} now.",
             "de": "Die Adresse lautet: {N}, gleich neben dem Aufzug.",
             "fr": "Mon adresse est {N}, au fond du couloir."},
    "name number year": {"en": "We watched {N} again last night.", "de": "Wir haben {N} wieder gesehen.",
                         "fr": "Nous avons revu {N} hier soir."},
}


def _addresses(rng, doc: _Doc, places: _Places, country: str, layout: str) -> None:
    language = LANGUAGE[country]
    count = rng.randint(1, 3)
    if layout == "sentence":
        for i in range(count):
            address, form = places.address(country)
            doc.fill(rng.choice(SENTENCES[language]).replace("{A}", "{P}"), address, "ADDRESS", form)
            doc.add(" " if i < count - 1 else "\n")
    elif layout == "list":
        for label in rng.sample(LIST_LABELS[language], count):
            address, form = places.address(country)
            doc.add(f"- {label}: ")
            doc.add(address.replace("\n", ", "), "ADDRESS", form.replace("lines", "one line"))
            doc.add("\n")
    elif layout == "letter":
        team, company = LETTER[language]
        address, form = places.address(country)
        doc.add(f"{team}\n{company}\n")
        doc.add(address.replace(", ", "\n", 1) if "\n" not in address else address, "ADDRESS",
                form.replace("one line", "lines"))
        doc.add("\n")
    else:
        office, head, hours = TABLE_HEADS[language]
        doc.add(f"| {office} | {head} | {hours} |\n|---|---|---|\n")
        for label in rng.sample(LIST_LABELS[language], count):
            address, form = places.address(country)
            doc.add(f"| {label} | ")
            doc.add(address.replace("\n", ", "), "ADDRESS", form.replace("lines", "one line"))
            doc.add(f" | {rng.randint(7, 10)}-{rng.randint(16, 20)} |\n")


def _negatives(rng, doc: _Doc, places: _Places, language: str) -> None:
    for i in range(rng.randint(1, 3)):
        kind = rng.choice(NEGATIVE_KINDS)
        doc.fill(NEGATIVE_SENTENCES[kind][language].replace("{N}", "{P}"),
                 negative(rng, kind, language, places), "negative", kind)
        doc.add(" " if i < 2 else "\n")


def generate(n: int = 800, seed: int = 5) -> List[AddressDoc]:
    """n documents: three in five with addresses, three in five with hard negatives."""
    rng = random.Random(seed)
    places = _Places(rng)
    docs = []
    for _ in range(n):
        country, layout = rng.choice(COUNTRIES), rng.choice(LAYOUTS)
        language = LANGUAGE[country]
        doc = _Doc()
        roll = rng.random()
        if roll < 0.6:
            _addresses(rng, doc, places, country, layout)
        if roll >= 0.4:
            _negatives(rng, doc, places, language)
        docs.append(AddressDoc("".join(doc.parts).rstrip("\n") + "\n", tuple(doc.items),
                               language, layout))
    return docs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", help="write the documents here as JSON lines")
    args = parser.parse_args(argv)
    docs = generate(args.n, args.seed)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for d in docs:
                out.write(json.dumps(dataclasses.asdict(d), ensure_ascii=False) + "\n")
    counts = collections.Counter(i.form for d in docs for i in d.items)
    for form, count in sorted(counts.items()):
        print(f"{form:24s}{count:6d}")


if __name__ == "__main__":
    main()
