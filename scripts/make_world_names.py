"""Build detectors/pii/data/world_first_names.txt and world_last_names.txt: the first names
and surnames in Latin script of Faker's person providers for the languages the census
lists do not cover (Czech, Hungarian, Icelandic, Finnish, Polish, Slovene, Dutch, ...);
and world_places.txt: the countries, states, provinces, regions and cities in Latin script
of Faker's address providers, names that are places too ("Victoria", "Jordan", "India")
being no evidence of a person on their own.

    python scripts/make_world_names.py      (needs the eval extra: faker==40.54.0; offline)

English and German locales are left out on purpose: the project's own labelled set
(evaluation/pii_corpus.py) draws its names from Faker's en_US, en_GB, en_IN and de_DE
lists, and a detector that knew those lists would score itself. English names come from
the census lists (make_first_names.py) instead; German ones are found by context only.
For the same reason the places leave out the city lists of those four locales (their
countries and states are kept: general knowledge, not the set's draws).
"""

import importlib
import pathlib
import pkgutil

import faker
import faker.providers.address as address
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


PLACE_LISTS = ("cities", "city_names", "countries", "states", "provinces", "regions",
               "prefectures")
EVAL_LOCALES = ("en_US", "en_GB", "en_IN", "de_DE")   # evaluation/pii_corpus.py's LOCALES
PLACE = re.compile(r"^[\p{Latin}'’ .-]{3,}$")


def world_places():
    places, used = set(), []
    for module in pkgutil.iter_modules(address.__path__):
        provider = importlib.import_module(f"{address.__name__}.{module.name}").Provider
        lists = [a for a in PLACE_LISTS if not (module.name in EVAL_LOCALES and a.startswith("cit"))]
        found = {str(p).lower() for p in _values(provider, lists) if PLACE.match(str(p))}
        if found:
            places |= found
            used.append(module.name)
    return sorted(places), used


def main():
    places, used_places = world_places()
    (DATA / "world_places.txt").write_text("\n".join(
        [f"# Countries, states, provinces, regions and cities in Latin script of Faker "
         f"{faker.VERSION}'s address providers (MIT), locales {' '.join(used_places)} (not the "
         f"cities of {' '.join(EVAL_LOCALES)});",
         f"# {len(places)} places, lower case; made by scripts/make_world_names.py."]
        + places) + "\n")
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
