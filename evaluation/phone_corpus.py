"""Labelled phone-number set: numbers of eight countries in their written forms, in English,
German, French and Spanish text, with hard negatives (digits that are no phone number).

Every number is drawn at random in its country's shape (leading digits of the kind: a
mobile, a capital's area code), whether or not its range is assigned: a number written
as a phone number is personal data either way. Each document is one layout (a sentence,
a list, a signature, a table row) in one language, with or without a word that says
"phone" close before the number, and holds phone numbers, hard negatives or both.
The fixed text of every template holds no other personal data (no names, no e-mail
addresses), so any other finding on this set is a false alarm.

Labels: PHONE_NUMBER spans (the extension included) and, unlabelled for scoring but
kept with their kind, the hard negatives: dates, times, ISBNs, order and tracking
numbers, prices, versions, coordinates, scores, year ranges, ZIP+4 codes.

    python -m evaluation.phone_corpus --n 1200 --seed 11 [--out /tmp/phones.jsonl]

The same n and seed give the same documents (one random.Random, no clock).
"""

import argparse
import collections
import dataclasses
import json
import random
import re
from typing import Callable, Dict, List, Tuple

LANGUAGES = ("en", "de", "fr", "es")
LAYOUTS = ("sentence", "list", "signature", "table")


@dataclasses.dataclass(frozen=True)
class Item:
    start: int
    end: int
    kind: str        # "PHONE_NUMBER" or "negative"
    form: str        # the phone's country and form ("NANP paren"), or the negative's type


@dataclasses.dataclass(frozen=True)
class PhoneDoc:
    text: str
    items: Tuple[Item, ...]
    language: str
    layout: str
    context: bool    # the phone numbers have a context word close before them


# ------------------------------------------------------------------ phone numbers

def _d(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _nanp(rng):
    area = _d(rng, 3, "23456789")
    while area[1:] == "11":
        area = _d(rng, 3, "23456789")
    return area, _d(rng, 3, "23456789"), _d(rng, 4)


def _nanp_forms(rng) -> Dict[str, str]:
    a, b, c = _nanp(rng)
    ext = rng.choice(("ext. ", "x", "ext ", "x ")) + _d(rng, rng.choice((2, 3, 4)), "123456789")
    return {
        "NANP paren": f"({a}) {b}-{c}", "NANP dash": f"{a}-{b}-{c}", "NANP dot": f"{a}.{b}.{c}",
        "NANP space": f"{a} {b} {c}", "NANP +1": f"+1 {a} {b} {c}",
        "NANP +1 dash": f"+1-{a}-{b}-{c}", "NANP +1 paren": f"+1 ({a}) {b}-{c}",
        "NANP 1-": f"1-{a}-{b}-{c}", "NANP plain": f"{a}{b}{c}",
        "NANP ext": f"({a}) {b}-{c} {ext}" if rng.random() < 0.5 else f"{a}-{b}-{c} {ext}",
    }


def _uk(rng):
    if rng.random() < 0.5:
        n = "20 " + _d(rng, 4, "378") + " " + _d(rng, 4)
    else:
        n = "7" + _d(rng, 3, "1234579") + " " + _d(rng, 6)
    return {"UK national": "0" + n, "UK +44": "+44 " + n}


def _de(rng):
    area, rest = rng.choice((("30", 8), ("40", 7), ("89", 8), ("221", 7), ("6221", 6),
                             ("15" + _d(rng, 1, "1279"), 8), ("17" + _d(rng, 1, "0123456789"), 8)))
    sub = _d(rng, rest, "123456789")
    sep = rng.choice((" ", "/", " ", "-"))
    national = rng.choice((f"0{area}{sep}{sub}", f"(0{area}) {sub}", f"0{area} {sub[:3]} {sub[3:]}"))
    intl = rng.choice((f"+49 {area} {sub}", f"+49 (0){area} {sub}", f"+49-{area}-{sub}"))
    return {"DE national": national, "DE +49": intl}


def _fr(rng):
    digits = _d(rng, 1, "1234567") + _d(rng, 8)
    pairs = [digits[1:3], digits[3:5], digits[5:7], digits[7:9]]
    sep = rng.choice((" ", " ", ".", "-"))
    return {"FR national": sep.join(["0" + digits[0]] + pairs),
            "FR +33": rng.choice((f"+33 {digits[0]} " + " ".join(pairs),
                                  f"+33 (0){digits[0]} " + " ".join(pairs),
                                  f"+33{digits[0]}{''.join(pairs)}"))}


def _in(rng):
    if rng.random() < 0.6:
        mobile = _d(rng, 5, "6789") + " " + _d(rng, 5)
        return {"IN national": rng.choice(("0" + mobile, mobile)),
                "IN +91": rng.choice((f"+91 {mobile}", "+91-" + mobile.replace(" ", "-")))}
    area, sub = rng.choice((("22", 8), ("11", 8), ("80", 8), ("44", 8)))
    s = _d(rng, sub, "23456")
    return {"IN national": f"0{area} {s[:4]} {s[4:]}", "IN +91": f"+91 {area} {s[:4]} {s[4:]}"}


def _au(rng):
    if rng.random() < 0.5:
        area, s = rng.choice("2378"), _d(rng, 8, "2345689")
        return {"AU national": f"(0{area}) {s[:4]} {s[4:]}", "AU +61": f"+61 {area} {s[:4]} {s[4:]}"}
    s = _d(rng, 8, "0123456789")
    return {"AU national": f"04{s[0]}{s[1]} {s[2:5]} {s[5:]}",
            "AU +61": f"+61 4{s[0]}{s[1]} {s[2:5]} {s[5:]}"}


def _br(rng):
    area = _d(rng, 2, "123456789")
    while area[1] == "0":
        area = _d(rng, 2, "123456789")
    sub = ("9" + _d(rng, 4)) if rng.random() < 0.6 else _d(rng, 4, "2345")
    line = _d(rng, 4)
    return {"BR national": rng.choice((f"({area}) {sub}-{line}", f"{area} {sub}-{line}",
                                       f"(0{area}) {sub}-{line}")),
            "BR +55": rng.choice((f"+55 {area} {sub}-{line}", f"+55 ({area}) {sub}-{line}"))}


def _jp(rng):
    if rng.random() < 0.5:
        area, a, b = rng.choice(("3", "6")), _d(rng, 4), _d(rng, 4)
    else:
        area, a, b = rng.choice(("90", "80", "70")), _d(rng, 4, "123456789"), _d(rng, 4)
    return {"JP national": f"0{area}-{a}-{b}", "JP +81": rng.choice((f"+81 {area}-{a}-{b}",
                                                                      f"+81 {area} {a} {b}"))}


COUNTRIES: Tuple[Callable, ...] = (_uk, _de, _fr, _in, _au, _br, _jp)


def phone(rng: random.Random) -> Tuple[str, str]:
    """(number, form): half North-American, half the seven other countries."""
    forms = _nanp_forms(rng) if rng.random() < 0.4 else rng.choice(COUNTRIES)(rng)
    form = rng.choice(sorted(forms))
    return forms[form], form


# ------------------------------------------------------------------ hard negatives

def _isbn13(rng):
    body = rng.choice(("978", "979")) + _d(rng, 9)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    digits = body + str(check)
    if rng.random() < 0.5:
        return digits
    return f"{digits[:3]}-{digits[3]}-{digits[4:7]}-{digits[7:12]}-{digits[12]}"


def _isbn10(rng):
    body = _d(rng, 9)
    value = (11 - sum((10 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
    check = "X" if value == 10 else str(value)
    return f"{body[0]}-{body[1:4]}-{body[4:9]}-{check}"


def negative(rng: random.Random, kind: str) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    if kind == "date":
        return rng.choice((f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}", f"{m:02d}/{d:02d}/{y}",
                           f"{d}/{m}/{y}", f"{d:02d}-{m:02d}-{y}", f"{y}/{m:02d}/{d:02d}"))
    if kind == "time":
        h, mi = rng.randint(0, 23), rng.randint(0, 59)
        return rng.choice((f"{h:02d}:{mi:02d}", f"{h}:{mi:02d}:{rng.randint(0, 59):02d}",
                           f"{h:02d}.{mi:02d}", f"{h:02d}h{mi:02d}"))
    if kind == "ISBN":
        return _isbn13(rng) if rng.random() < 0.7 else _isbn10(rng)
    if kind == "order number":
        return rng.choice((f"{_d(rng, 3, '123456789')}-{_d(rng, 7)}-{_d(rng, 7)}",
                           _d(rng, 10, "123456789"), f"{_d(rng, 2, '123456789')}-{_d(rng, 6)}",
                           _d(rng, 9, "123456789"), f"{_d(rng, 4, '123456789')} {_d(rng, 4)} {_d(rng, 4)}"))
    if kind == "tracking number":
        return rng.choice((f"1Z{_d(rng, 3)}{rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}"
                           f"{rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}{_d(rng, 11)}",
                           "9400 " + " ".join(_d(rng, 4) for _ in range(4)) + " " + _d(rng, 2),
                           f"{_d(rng, 4, '123456789')} {_d(rng, 4)} {_d(rng, 4)}",
                           _d(rng, 12, "123456789"), f"JJD{_d(rng, 18)}"))
    if kind == "price":
        whole, cents = rng.randint(1000, 9_999_999), rng.randint(0, 99)
        us = f"{whole:,}"
        eu = us.replace(",", ".")
        return rng.choice((f"${us}.{cents:02d}", f"€ {eu},{cents:02d}", f"{eu},{cents:02d} €",
                           f"USD {us}", f"EUR {eu}", f"{us.replace(',', ' ')},{cents:02d} €",
                           f"£{us}"))
    if kind == "version":
        parts = [str(rng.randint(0, 20)), str(rng.randint(0, 40)), str(rng.randint(0, 200))]
        if rng.random() < 0.5:
            parts.append(str(rng.randint(1000, 99999)))
        return rng.choice(("v", "", "")) + ".".join(parts)
    if kind == "coordinates":
        lat, lon = rng.uniform(-80, 80), rng.uniform(-179, 179)
        if rng.random() < 0.5:
            return f"{lat:.6f}, {lon:.6f}"
        return (f"{abs(lat):.4f}° {'N' if lat >= 0 else 'S'}, "
                f"{abs(lon):.4f}° {'E' if lon >= 0 else 'W'}")
    if kind == "score":
        big = rng.random() < 0.5
        a, b = (rng.randint(70, 130), rng.randint(70, 130)) if big else \
            (rng.randint(0, 7), rng.randint(0, 7))
        return rng.choice((f"{a}-{b}", f"{a}:{b}", f"{a}–{b}"))
    if kind == "year range":
        a = rng.randint(1900, 2025)
        return rng.choice((f"{a}-{a + rng.randint(1, 30)}", f"{a}–{a + rng.randint(1, 30)}",
                           f"{a}-{str(a + rng.randint(1, 9))[2:]}"))
    if kind == "ZIP+4":
        return f"{_d(rng, 5)}-{_d(rng, 4)}"
    raise ValueError(kind)


NEGATIVE_KINDS = ("date", "time", "ISBN", "order number", "tracking number", "price", "version",
                  "coordinates", "score", "year range", "ZIP+4")

# ------------------------------------------------------------------ templates
# {P}: a phone number. With context: the template says it is one; without: it does not.
SENTENCES = {
    "en": {True: ["Call the office on {P} for bookings.", "Call me at {P} tomorrow.",
                  "You can reach our support team by phone at {P}.",
                  "For urgent matters, text or call {P} any time.",
                  "Our new fax number is {P}.", "Questions? Phone {P} between 9 and 5."],
           False: ["The office ({P}) is closed on Mondays.", "Bookings: {P} or at the front desk.",
                   "Write it down: {P}, then ask for the manager.",
                   "We are at {P} if anything comes up."]},
    "de": {True: ["Rufen Sie uns unter {P} an.", "Telefonisch erreichen Sie uns unter {P}.",
                  "Meine Handynummer ist {P}, ruf einfach an.", "Für Rückfragen: Tel. {P}",
                  "Bitte faxen Sie das Formular an {P}."],
           False: ["Das Büro ({P}) ist montags geschlossen.", "Buchungen unter {P} oder an der Rezeption.",
                   "Notieren Sie sich {P} für später."]},
    "fr": {True: ["Appelez-nous au {P} pour réserver.", "Vous pouvez me joindre au {P} demain.",
                  "Mon numéro de portable est le {P}.", "Pour toute question, téléphonez au {P}.",
                  "Envoyez le formulaire par fax au {P}."],
           False: ["Le bureau ({P}) est fermé le lundi.", "Réservations au {P} ou à l'accueil.",
                   "Notez bien le {P} pour plus tard."]},
    "es": {True: ["Llámenos al {P} para reservar.", "Puedes llamarme al {P} mañana.",
                  "Mi número de móvil es {P}.", "Para más información, teléfono {P}.",
                  "Envíe el formulario por fax al {P}."],
           False: ["La oficina ({P}) cierra los lunes.", "Reservas en el {P} o en recepción.",
                   "Apunta el {P} para más tarde."]},
}
PHONE_LABELS = {"en": ["Phone", "Tel.", "Mobile", "Fax", "Cell", "Office", "T:", "Call"],
                "de": ["Telefon", "Tel.", "Handy", "Mobil", "Fax", "Festnetz"],
                "fr": ["Téléphone", "Tél.", "Portable", "Mobile", "Fax"],
                "es": ["Teléfono", "Tel.", "Móvil", "Celular", "Fax", "Tfno."]}
# Departments, not places: a city is a LOCATION, and the set holds no other personal data.
UNITS = {"en": ["Sales", "Support", "Accounts", "Reception", "Bookings", "Repairs"],
         "de": ["Vertrieb", "Kundendienst", "Buchhaltung", "Empfang", "Reparaturen"],
         "fr": ["Ventes", "Assistance", "Comptabilité", "Accueil", "Réparations"],
         "es": ["Ventas", "Soporte", "Contabilidad", "Recepción", "Reparaciones"]}
TEAMS = {"en": ("Best regards,", "Customer Service Team", "Acme Supplies Ltd"),
         "de": ("Mit freundlichen Grüßen", "Ihr Kundenservice", "Beispiel GmbH"),
         "fr": ("Cordialement,", "Le service client", "Exemple SARL"),
         "es": ("Saludos cordiales,", "El equipo de atención", "Ejemplo S.L.")}
TABLE_HEADS = {"en": ("Office", "Phone", "Hours"), "de": ("Standort", "Telefon", "Öffnungszeiten"),
               "fr": ("Agence", "Téléphone", "Horaires"), "es": ("Oficina", "Teléfono", "Horario")}

# {N}: a hard negative, in a sentence that names its kind as people write it.
NEGATIVE_SENTENCES = {
    "date": {"en": "The meeting moved to {N}.", "de": "Der Termin ist am {N}.",
             "fr": "La réunion est prévue le {N}.", "es": "La reunión es el {N}."},
    "time": {"en": "The train leaves at {N}.", "de": "Der Zug fährt um {N} ab.",
             "fr": "Le train part à {N}.", "es": "El tren sale a las {N}."},
    "ISBN": {"en": "ISBN {N}, second edition.", "de": "Das Buch (ISBN {N}) ist vergriffen.",
             "fr": "ISBN : {N}, deuxième édition.", "es": "ISBN {N}, segunda edición."},
    "order number": {"en": "Your order {N} has shipped.", "de": "Ihre Bestellung {N} wurde versandt.",
                     "fr": "Votre commande n° {N} a été expédiée.", "es": "Su pedido {N} ha sido enviado."},
    "tracking number": {"en": "Tracking number: {N}", "de": "Sendungsnummer: {N}",
                        "fr": "Numéro de suivi : {N}", "es": "Número de seguimiento: {N}"},
    "price": {"en": "The total comes to {N}.", "de": "Der Preis beträgt {N}.",
              "fr": "Le prix total est de {N}.", "es": "El precio total es {N}."},
    "version": {"en": "Upgrade to version {N} now.", "de": "Bitte auf Version {N} aktualisieren.",
                "fr": "Passez à la version {N}.", "es": "Actualice a la versión {N}."},
    "coordinates": {"en": "The site lies at {N}.", "de": "Der Standort liegt bei {N}.",
                    "fr": "Le site se trouve à {N}.", "es": "El sitio está en {N}."},
    "score": {"en": "They won {N} on Sunday.", "de": "Sie gewannen am Sonntag {N}.",
              "fr": "Ils ont gagné {N} dimanche.", "es": "Ganaron {N} el domingo."},
    "year range": {"en": "She lived there {N}.", "de": "Sie wohnte dort {N}.",
                   "fr": "Elle y a vécu {N}.", "es": "Vivió allí {N}."},
    "ZIP+4": {"en": "Use ZIP code {N} for the parcel.", "de": "Die US-Postleitzahl lautet {N}.",
              "fr": "Le code postal américain est {N}.", "es": "El código postal es {N}."},
}


class _Doc:
    """Text built piece by piece, with the items' offsets."""

    def __init__(self):
        self.parts: List[str] = []
        self.items: List[Item] = []
        self.length = 0

    def add(self, text: str, kind: str = "", form: str = "") -> None:
        if kind:
            self.items.append(Item(self.length, self.length + len(text), kind, form))
        self.parts.append(text)
        self.length += len(text)

    def fill(self, template: str, value: str, kind: str, form: str) -> None:
        before, after = re.split(r"\{[PN]\}", template)
        self.add(before)
        self.add(value, kind, form)
        self.add(after)


def _phones(rng, doc: _Doc, language: str, layout: str, context: bool) -> None:
    count = rng.randint(1, 3)
    if layout == "sentence":
        for i in range(count):
            number, form = phone(rng)
            doc.fill(rng.choice(SENTENCES[language][context]), number, "PHONE_NUMBER", form)
            doc.add(" " if i < count - 1 else "\n")
    elif layout == "list":
        for place in rng.sample(UNITS[language], count):
            number, form = phone(rng)
            label = f"{rng.choice(PHONE_LABELS[language])} " if context else ""
            doc.add(f"- {place}: {label}")
            doc.add(number, "PHONE_NUMBER", form)
            doc.add("\n")
    elif layout == "signature":
        closing, team, company = TEAMS[language]
        doc.add(f"{closing}\n{team}\n{company}\n")
        for _ in range(min(count, 2)):
            number, form = phone(rng)
            doc.add(f"{rng.choice(PHONE_LABELS[language])} " if context else "")
            doc.add(number, "PHONE_NUMBER", form)
            doc.add("\n")
    else:  # a table; with context the column is headed by a phone word, the number far from it
        office, phone_head, hours = TABLE_HEADS[language]
        doc.add(f"| {office} | {phone_head if context else ''} | {hours} |\n|---|---|---|\n")
        for place in rng.sample(UNITS[language], count):
            number, form = phone(rng)
            doc.add(f"| {place} | ")
            doc.add(number, "PHONE_NUMBER", form)
            doc.add(f" | {rng.randint(7, 10)}-{rng.randint(16, 20)} |\n")


def _negatives(rng, doc: _Doc, language: str) -> None:
    for i in range(rng.randint(1, 3)):
        kind = rng.choice(NEGATIVE_KINDS)
        doc.fill(NEGATIVE_SENTENCES[kind][language], negative(rng, kind), "negative", kind)
        doc.add(" " if i < 2 else "\n")


def generate(n: int = 1200, seed: int = 11) -> List[PhoneDoc]:
    """n documents: three in five with phone numbers, three in five with hard negatives
    (some with both, the negatives after the numbers)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        language, layout, context = rng.choice(LANGUAGES), rng.choice(LAYOUTS), rng.random() < 0.5
        doc = _Doc()
        roll = rng.random()
        if roll < 0.6:
            _phones(rng, doc, language, layout, context)
        if roll >= 0.4:
            _negatives(rng, doc, language)
        docs.append(PhoneDoc("".join(doc.parts).rstrip("\n") + "\n", tuple(doc.items),
                             language, layout, context))
    return docs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=11)
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
