"""Real text for evaluations and benchmarks, and near duplicates planted in it at known rates.

The text is what gensim ships in its wheel for its own tests: the Lee corpus
(300 Australian news articles, median 162 words: unrelated documents of one
topic) and 206 pages of an English Wikipedia dump. The wheel is fetched once
with pip (no install: gensim would pin other numpy/scipy versions) and read
as a zip.
"""

import bz2
import dataclasses
import io
import pathlib
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from typing import List, Optional

import numpy as np

from detectors.minhash import exact_jaccard, shingle_hashes

GENSIM = "gensim==4.4.0"
CACHE = pathlib.Path.home() / ".cache" / "hygiene-eval"
_DATA = "gensim/test/test_data/"


def gensim_wheel() -> zipfile.ZipFile:
    wheels = sorted(CACHE.glob("gensim-4.4.0-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", str(CACHE), GENSIM], check=True)
        wheels = sorted(CACHE.glob("gensim-4.4.0-*.whl"))
    return zipfile.ZipFile(wheels[0])


def lee_documents() -> List[str]:
    with gensim_wheel() as wheel:
        text = wheel.read(_DATA + "lee_background.cor").decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


_WIKI_MARKUP = [
    (re.compile(r"\{\{[^{}]*\}\}"), " "),                       # templates (innermost first)
    (re.compile(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", re.S), " "),
    (re.compile(r"<[^>]+>"), " "),
    (re.compile(r"\[\[(?:File|Image|Category):[^\]]*\]\]"), " "),
    (re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]"), r"\1"),     # [[target|label]] -> label
    (re.compile(r"\[https?://\S+ ([^\]]*)\]"), r"\1"),
    (re.compile(r"'{2,}|={2,}|^\*+|^#+|\{\||\|\}|^\|.*$", re.M), " "),
]


def wiki_documents(min_words: int = 150, max_words: int = 400) -> List[str]:
    with gensim_wheel() as wheel:
        name = next(n for n in wheel.namelist() if n.startswith(_DATA + "enwiki-latest"))
        xml = bz2.decompress(wheel.read(name))
    documents = []
    for _, element in ElementTree.iterparse(io.BytesIO(xml)):
        if not element.tag.endswith("}text") or not element.text:
            continue
        text = element.text
        if text.lstrip().upper().startswith("#REDIRECT"):
            continue
        for _ in range(3):  # nested templates
            text = _WIKI_MARKUP[0][0].sub(" ", text)
        for pattern, replacement in _WIKI_MARKUP[1:]:
            text = pattern.sub(replacement, text)
        words = text.split()
        if len(words) >= min_words:
            documents.append(" ".join(words[:max_words]))
    return documents


def sentences(documents: List[str]) -> List[str]:
    found = []
    for document in documents:
        found += [s.strip() + "." for s in re.split(r"(?<=[.!?])\s+", document)
                  if len(s.split()) >= 6]
    return found


def unrelated(documents: List[str], max_jaccard: float = 0.5):
    """(documents with every later near duplicate of an earlier one dropped, dropped pairs).

    The Lee corpus itself holds the same story more than once; a labelled set of
    "unrelated documents" must not.
    """
    kept, shingles, dropped = [], [], []
    for index, text in enumerate(documents):
        own = shingle_hashes(text, 5)
        match = next((k for k, other in zip(kept, shingles)
                      if len(np.intersect1d(own, other, assume_unique=True))
                      / len(np.union1d(own, other)) > max_jaccard), None)
        if match is None:
            kept.append(index)
            shingles.append(own)
        else:
            dropped.append((index, match))
    return [documents[i] for i in kept], dropped


# ---------------------------------------------------------------- planted near duplicates

EDITS = ("substitute", "insert", "delete", "swap", "header")
RATES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20)
BOILERPLATE = ("Subscribe to our newsletter for the latest updates. Share this article on "
               "social media. All rights reserved. Cookie policy and terms of use apply.")


@dataclasses.dataclass
class Planted:
    id: str
    text: str
    original: Optional[str]   # id of the document it was made from; None for an original
    edit: Optional[str] = None
    rate: Optional[float] = None
    jaccard: Optional[float] = None  # exact Jaccard of word 5-grams with the original


def edit_text(text: str, edit: str, rate: float, rng: random.Random, vocabulary: List[str]) -> str:
    words = text.split()
    count = max(1, round(rate * len(words)))
    if edit == "substitute":
        for i in rng.sample(range(len(words)), min(count, len(words))):
            words[i] = rng.choice(vocabulary)
    elif edit == "insert":
        for _ in range(count):
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocabulary))
    elif edit == "delete":
        for _ in range(min(count, len(words) - 1)):
            del words[rng.randrange(len(words))]
    elif edit == "swap":
        for _ in range(count):
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    elif edit == "header":  # boilerplate around the text; rate scales how much of it
        extra = BOILERPLATE.split()
        take = max(3, round(rate * 5 * len(extra)))
        words = extra[:take] + words + extra[-take:]
    return " ".join(words)


def plant(originals: List[str], share: float = 0.4, variants: int = 2,
          seed: int = 0) -> List[Planted]:
    """Originals first (so the keep rule keeps them), then edited copies of a share of them."""
    rng = random.Random(seed)
    vocabulary = sorted({w for t in originals for w in t.split()})
    planted = [Planted(f"orig-{i:04d}", text, None) for i, text in enumerate(originals)]
    for i in sorted(rng.sample(range(len(originals)), round(share * len(originals)))):
        for k in range(variants):
            edit, rate = rng.choice(EDITS), rng.choice(RATES)
            text = edit_text(originals[i], edit, rate, rng, vocabulary)
            planted.append(Planted(f"var-{i:04d}-{k}", text, f"orig-{i:04d}", edit, rate,
                                   exact_jaccard(originals[i], text, 5)))
    return planted
