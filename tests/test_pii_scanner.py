"""The scanner's shortcuts find what the long way finds: the NER on windows around capitalised
words, the gates before pattern recognizers, and presidio's AnalyzerEngine without its no-op
pass (detectors/pii/scanner.py)."""

import pytest

pytest.importorskip("presidio_analyzer")

import detectors.pii.scanner as scanner_module  # noqa: E402
from detectors.pii.scanner import GATES, PiiScanner, ner_windows  # noqa: E402
from evaluation.pii_corpus import generate  # noqa: E402
from presidio_analyzer import AnalyzerEngine  # noqa: E402
from schemas.settings import PiiSettings  # noqa: E402

STOP = frozenset({"the", "he", "she", "it", "in", "a", "we"})

# News-like prose: people, places and organisations inside sentences, at their starts, in
# titles and in lower-case stretches between them.
PROSE = [
    "Firefighters spent the night on the fire line west of Sydney. The blaze near Warragamba "
    "Dam was contained by dawn, said Rural Fire Service commissioner Phil Koperberg, who "
    "thanked volunteers from as far away as Queensland and Victoria.",
    "He said the talks in Geneva would go on. Yasser Arafat's envoy met the Israeli foreign "
    "minister Shimon Peres late on Tuesday, and both sides said they would return next week "
    "with new proposals for the European Union and the United Nations.",
    "the river rose slowly all week and the town waited. On Friday the water reached the "
    "bridge at Wagga Wagga, where Mayor Kevin Poynter and two engineers from Murray Water "
    "inspected the levee with reporters from the Daily Advertiser.",
    "Shares in Qantas fell after the airline warned of lower profits. Chief executive "
    "Geoff Dixon told analysts in Melbourne that fuel costs and a weaker dollar had cut "
    "earnings; it was the first warning since the collapse of Ansett Australia.",
]
NER_KINDS = ("PERSON", "LOCATION", "ORGANIZATION", "NRP")


@pytest.fixture(scope="module")
def scanner():
    settings = PiiSettings()
    return PiiScanner(settings, settings.scanned_entities(all_entities=True))


def test_ner_windows_cover_capitalised_words_and_four_words_around():
    text = "we walked for hours and then met Anna Smith near the old mill in the rain today ok"
    (start, end), = ner_windows(text, STOP)
    assert text[start:end] == "hours and then met Anna Smith near the old mill"
    assert ner_windows("The cat sat on the mat. It slept.", STOP) == []     # openers only
    title = "a song by The Who"                                              # not an opener
    assert ner_windows(title, STOP) == [(0, len(title))]
    lower = "i'm originally from switzerland"                               # no capitals
    assert ner_windows(lower, STOP) == [(0, len(lower))]
    assert ner_windows("  \n ", STOP) == []
    two = ("Anna left early. " + "x " * 30 + "Then Bob came.")
    assert [two[s:e].split()[0] for s, e in ner_windows(two, STOP)] == ["Anna", "x"]


def test_i_and_days_open_no_window_but_stay_in_their_neighbours(scanner):
    assert ner_windows("then I said that I would go on Tuesday or in February", STOP) == []
    text = "so I told them on Tuesday we met Anna Smith in Oslo at noon"
    (start, end), = ner_windows(text, STOP)
    assert text[start:end] == "on Tuesday we met Anna Smith in Oslo at noon"
    found = {(f.entity_type, text[f.start:f.end]) for f in scanner.scan([text])[0]}
    assert {("PERSON", "Anna Smith"), ("LOCATION", "Oslo")} <= found


def _capitalised(value: str) -> bool:
    return any(c.isupper() and (i == 0 or not value[i - 1].isalnum())
               for i, c in enumerate(value))


def _entities(engine, texts, whole: bool):
    original = scanner_module.ner_windows
    if whole:
        scanner_module.ner_windows = lambda text, stop_words: [(0, len(text))]
    try:
        return [{(e.start_char, e.end_char, e.label_) for e in artifacts.entities
                 if e.label_ in NER_KINDS} for artifacts in engine.parse(texts, "en", 32)]
    finally:
        scanner_module.ner_windows = original


def test_the_ner_on_windows_finds_what_it_finds_in_the_whole_text(scanner):
    texts = PROSE + [doc.text for doc in generate(150, seed=3)]
    engine = scanner.analyzer.nlp_engine
    whole, windows = _entities(engine, texts, True), _entities(engine, texts, False)
    people_and_places = sum(1 for found in whole for *_, label in found
                            if label in ("PERSON", "LOCATION"))
    assert people_and_places > 100
    for text, w, f in zip(texts, whole, windows):
        # Only what holds no capitalised word is lost: what the NER takes for a person, place
        # or organisation in lower case inside text written with capitals ("eu-west-1", a
        # key "oQ449HrgiD...").
        lost = {text[s:e] for s, e, _ in w - f}
        assert not [value for value in lost if _capitalised(value)], text
    assert sum(len(f - w) for w, f in zip(whole, windows)) <= 2     # nearly nothing new


def test_lower_case_text_gets_the_ner_everywhere(scanner):
    text = "i'm originally from switzerland and my friend naomi lives in kiel"
    (found,) = scanner.scan([text])
    assert "switzerland" in {text[f.start:f.end] for f in found if f.entity_type == "LOCATION"}


GATE_TEXTS = [
    "my iban is gb42nawi04454264788619",                     # lower case: the registry's flags
    "IBAN: DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
    "ssn 078-05-1120 and 078051120 on file",
    "server at 10.0.0.1 and fe80::1ff:fe23:4567:890a, gateway ::1",
    "write to jane.doe@example.org today",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n"
    "-----END RSA PRIVATE KEY-----",
    'api_key = "a8f5f167f44f4964e6c998dee827110c3d2f"',
    "Authorization: Bearer 3f8a9c2b7d1e4f60a5b9c8d7e6f5a4b3c2d1",
    "la clé d'API est 9fK2mQ7xL4pZ8wR1tY6uI3oE5aS0dF",
    "The weather was fine and nobody called.",
]


def test_a_gate_skips_only_text_where_its_recognizer_finds_nothing(scanner):
    texts = GATE_TEXTS + [doc.text for doc in generate(300, seed=7)]
    gated = [r for r in scanner.analyzer.registry.recognizers if r.name in GATES]
    assert sorted(r.name for r in gated) == sorted(GATES)
    entities = list(scanner.entities)
    for recognizer in gated:
        ungated = recognizer.analyze.__wrapped__
        found = 0
        for text in texts:
            want = [(r.entity_type, r.start, r.end, r.score) for r in ungated(text, entities, None)]
            got = [(r.entity_type, r.start, r.end, r.score)
                   for r in recognizer.analyze(text, entities, None)]
            assert got == want, (recognizer.name, text)
            found += bool(want)
        assert found, f"{recognizer.name} found nothing to check its gate on"


def test_the_analyzer_gives_presidio_s_results(scanner):
    ours = scanner.analyzer
    plain = AnalyzerEngine(registry=ours.registry, nlp_engine=ours.nlp_engine,
                           supported_languages=["en"],
                           context_aware_enhancer=ours.context_aware_enhancer)
    texts = GATE_TEXTS + PROSE + [doc.text for doc in generate(60, seed=5)]
    artifacts = ours.nlp_engine.parse(texts, "en", 32)
    for text, nlp_artifacts in zip(texts, artifacts):
        results = [sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in
                          engine.analyze(text, "en", entities=list(scanner.entities),
                                         nlp_artifacts=nlp_artifacts, score_threshold=0.3))
                   for engine in (ours, plain)]
        assert results[0] == results[1], text


def test_dates_get_the_ner_everywhere():
    # The NER finds dates without capitals: with DATE_TIME scanned it reads the whole text.
    text = "Anna Smith arrived. the meeting moved to next week and lasted four years"
    dates = PiiScanner(PiiSettings(), entities=("PERSON", "DATE_TIME"))
    found = {(f.entity_type, text[f.start:f.end]) for f in dates.scan([text])[0]}
    assert ("DATE_TIME", "four years") in found and ("PERSON", "Anna Smith") in found
    assert PiiScanner(PiiSettings(), entities=("PERSON",)).analyzer.nlp_engine.windows
    assert not dates.analyzer.nlp_engine.windows


def test_the_ner_steps_with_the_gil_held_give_nlp_pipe_s_entities(scanner):
    from detectors.pii.ner_steps import ner_pipe, steps_apply
    from evaluation.corpora import lee_documents
    engine = scanner.analyzer.nlp_engine
    nlp = engine.nlp["en"]
    assert steps_apply(nlp)     # else ner_pipe is nlp.pipe and this compares nothing
    news = lee_documents()[:40]
    texts = PROSE + news + [doc.text for doc in generate(150, seed=11)] + ["", " ", "Anna"]
    texts += [text[s:e] for text in news for s, e in ner_windows(text, engine.stop_words("en"))]
    for batch_size in (7, 256):
        want = [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
                for doc in nlp.pipe(texts, batch_size=batch_size)]
        got = [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
               for doc in ner_pipe(nlp, texts, batch_size)]
        assert got == want
    assert sum(map(len, want)) > 500


def test_the_ner_runs_on_one_blas_thread(scanner, monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():     # numpy's, which the model's products run on (scipy has its own)
        return {lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas" and "numpy" in lib["filepath"]}

    seen, original = [], scanner_module.ner_pipe

    def watched(*args):
        for doc in original(*args):
            seen.append(blas_threads())
            yield doc

    monkeypatch.setattr(scanner_module, "ner_pipe", watched)
    scanner.analyzer.nlp_engine.window_entities.clear()   # else the windows read before
    with threadpool_limits(limits=2, user_api="blas"):   # as numpy starts on 2 cores
        assert blas_threads() == {2}
        scanner.scan(PROSE)
        assert blas_threads() == {2}                     # given back after the NER
    assert seen and all(threads == {1} for threads in seen)


def test_a_pipeline_other_than_a_greedy_ner_alone_goes_through_nlp_pipe():
    import spacy

    from detectors.pii.ner_steps import ner_pipe, steps_apply
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    assert not steps_apply(nlp)
    docs = list(ner_pipe(nlp, ["One here. Two there.", "Three"], 8))
    assert [len(list(doc.sents)) for doc in docs] == [2, 1]   # the sentencizer ran


def _window_entities(artifacts):
    return [[(e.start_char, e.end_char, e.label_) for e in a.entities] for a in artifacts]


def test_a_window_seen_before_is_not_read_again_and_gives_the_same_entities(scanner,
                                                                            monkeypatch):
    from evaluation.corpora import lee_documents
    engine = scanner.analyzer.nlp_engine
    nlp = engine.nlp["en"]
    signature = "\n\nBest regards,\nMaria Keller\nAcme Logistics GmbH, Hamburg"
    texts = ([f"Order {n} left the depot on time.{signature}" for n in range(6)]
             + lee_documents()[:12] + PROSE + PROSE)
    read = []
    original = scanner_module.ner_pipe

    def watched(nlp, windows, *args):
        windows = list(windows)
        read.extend(windows)
        return original(nlp, windows, *args)

    monkeypatch.setattr(scanner_module, "ner_pipe", watched)
    engine.window_entities.clear()
    first = _window_entities(engine.parse(texts, "en", 32))
    windows = [text[s:e] for text in texts for s, e in ner_windows(text, engine.stop_words("en"))]
    assert len(read) == len(set(windows)) < len(windows)    # each distinct window once
    read.clear()
    again = _window_entities(engine.parse(texts[::-1], "en", 32))[::-1]   # from the cache
    assert read == [] and again == first
    # what the NER finds in each window read on its own, as nlp.pipe reads it, in
    # presidio's labels (those it ignores left out)
    config = engine.ner_model_configuration
    want = []
    for text in texts:
        spans = ner_windows(text, engine.stop_words("en"))
        docs = nlp.pipe([text[s:e] for s, e in spans])
        want.append([(e.start_char + s, e.end_char + s,
                      config.model_to_presidio_entity_mapping.get(e.label_, e.label_))
                     for (s, _), doc in zip(spans, docs) for e in doc.ents
                     if e.label_ not in config.labels_to_ignore])
    assert first == want
    assert sum(map(len, first)) > 50


def test_the_window_cache_keeps_the_windows_seen_last():
    from detectors.pii.scanner import WindowCache
    cache = WindowCache(2)
    cache["a"], cache["b"] = (1,), (2,)
    assert cache["a"] == (1,)       # a read keeps it
    cache["c"] = (3,)
    assert list(cache) == ["a", "c"]
