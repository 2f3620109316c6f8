"""Checks behind three claims about the PII stage's spaCy set-up and its name cues.

    .venv/bin/python -m evaluation.pii_model_checks

1. Leaving the parser, tagger, attribute ruler and lemmatizer out changes the NER little:
   sentences of presidio-research's synth set whose entities differ from the full pipeline's.
2. numpy's BLAS against blis for the same model: NER docs/s on 300 Lee news articles
   (one process pinned to one core, median of 3), and whether the entities are identical.
3. What the name cues (detectors/pii/names.py) add on encyclopedic and news text: PERSON
   findings of NameRecognizer against the NER's on 60 Wikipedia pages and 100 Lee articles,
   with the added findings listed so a reader can judge them.
"""

import os
import statistics
import time

import spacy
from thinc.api import use_ops

from detectors.pii.scanner import PiiScanner
from schemas.settings import PiiSettings
from evaluation.corpora import lee_documents, wiki_documents
from evaluation.pii import synth_set

SLIM = ["parser", "tagger", "attribute_ruler", "lemmatizer"]


def entities(nlp, texts):
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]


def main() -> int:
    if hasattr(os, "sched_setaffinity"):  # per core: BLAS may not spread over the others
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    synth = [text for text, _ in synth_set()]
    if synth:
        full = spacy.load(PiiSettings().model)
        slim = spacy.load(PiiSettings().model, exclude=SLIM)
        differ = sum(a != b for a, b in zip(entities(full, synth), entities(slim, synth)))
        print(f"1. NER without {', '.join(SLIM)}: entities differ in {differ} of "
              f"{len(synth)} synth sentences")
    news = lee_documents()[:300]
    rates, found = {}, {}
    for name, kwargs in (("blis", {"use_blis": True}), ("numpy BLAS", {"use_blis": False})):
        with use_ops("numpy", **kwargs):
            nlp = spacy.load(PiiSettings().model, exclude=SLIM)
        found[name] = entities(nlp, news)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            list(nlp.pipe(news, batch_size=32))
            times.append(time.perf_counter() - started)
        rates[name] = len(news) / statistics.median(times)
    print(f"2. NER on {len(news)} Lee articles: blis {rates['blis']:.1f} docs/s, numpy BLAS "
          f"{rates['numpy BLAS']:.1f} docs/s ({rates['numpy BLAS'] / rates['blis']:.2f}x); "
          f"identical entities: {found['blis'] == found['numpy BLAS']}")
    scanner = PiiScanner(PiiSettings(), entities=("PERSON",))
    for name, docs in (("Wikipedia", wiki_documents()[:60]), ("Lee news", lee_documents()[:100])):
        results = scanner.scan(docs)
        cues = [d[f.start:f.end] for d, fs in zip(docs, results) for f in fs
                if f.recognizer == "NameRecognizer"]
        ner = sum(f.recognizer != "NameRecognizer" for fs in results for f in fs)
        print(f"3. {name} ({len(docs)} docs): NER {ner} PERSON findings, name cues add "
              f"{len(cues)}: {', '.join(cues)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
