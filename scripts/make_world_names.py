"""Build detectors/pii/data/world_first_names.txt and world_last_names.txt: the first names
and surnames in Latin script of Faker's person providers for the languages the census
lists do not cover (Czech, Hungarian, Icelandic, Finnish, Polish, Slovene, Dutch, Japanese
romanized, ...).

    python scripts/make_world_names.py      (needs the eval extra: faker==40.54.0; offline)

English and German locales are left out on purpose: the project's own labelled set
(evaluation/pii_corpus.py) draws its names from Faker's en_US, en_GB, en_IN and de_DE
lists, and a detector that knew those lists would score itself. English names come from
the census lists (make_first_names.py) instead; German ones are found by context only.
"""

import importlib
import pathlib
import pkgutil

import faker
import faker.providers.person as person
import regex as re

DATA = pathlib.Path(__file__).resolve().parents[1] / "detectors" / "pii" / "data"
LEFT_OUT = ("en", "de")   # language prefixes of the locales left out (see above)
LATIN = re.compile(r"^[\p{Latin}'’-]{3,}$")


def _values(provider, attrs):
    out = set()
    for attr in attrs:
        value = provider.__dict__.get(attr)
        if isinstance(value, dict):
            value = list(value)
        if isinstance(value, (list, tuple, set)):
            out.update(value)
    return out


def world_names():
    first, last, used = set(), set(), []
    for module in pkgutil.iter_modules(person.__path__):
        if module.name.split("_")[0] in LEFT_OUT:
            continue
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        names = (_values(provider, ("first_names", "first_names_male", "first_names_female")),
                 _values(provider, ("last_names", "last_names_male", "last_names_female")))
        found = False
        for words, out in zip(names, (first, last)):
            for name in words:
                for word in str(name).split():
                    if LATIN.match(word):
                        out.add(word.lower())
                        found = True
        if found:
            used.append(module.name)
    return sorted(first), sorted(last), used


def main():
    first, last, used = world_names()
    for name, words, what in (("world_first_names.txt", first, "First names"),
                              ("world_last_names.txt", last, "Surnames")):
        header = [f"{what} in Latin script of Faker {faker.VERSION}'s person providers (MIT), "
                  f"locales {' '.join(used)};",
                  f"{len(words)} names; made by scripts/make_world_names.py."]
        (DATA / name).write_text("\n".join([f"# {h}" for h in header] + words) + "\n")
    print(f"{len(first)} first names, {len(last)} surnames from {len(used)} locales")


if __name__ == "__main__":
    main()
