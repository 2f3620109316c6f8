"""spaCy's NER over many short texts, its transition loop run with the GIL held.

spaCy's greedy parse (Parser.greedy_parse) releases the GIL for its transition loop
(``with nogil: _parseC``), but the compiled loop takes the GIL back several times for
every move it checks (each of ~75 moves, at each token): a perf record of the NER on the
scanner's windows put half of its samples in taking and dropping the GIL (take_gil,
drop_gil, PyGILState_Ensure/Release, pthread mutexes). Run with the GIL already held,
those calls only count. The same steps, from spaCy's Python API: the model's step
model scores the unfinished states (ParserStepModel.predict: the same precomputed
features, maxout and output layer, unseen classes set to the minimum) and
``Parser.transition_states`` applies the best valid move (the same compiled
c_transition_batch). The same entities (tests/test_pii_scanner.py compares them with
``nlp.pipe``), half the NER's CPU time on the scanner's windows.
"""

from typing import Iterable, Iterator, List, Optional

from spacy import util
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc
from thinc.api import NumpyOps


def steps_apply(nlp: Language) -> bool:
    """Whether ``nlp`` is a greedy NER alone on the CPU: what ner_pipe's loop reproduces
    (a beam, other components or a GPU go through ``nlp.pipe``)."""
    if nlp.pipe_names != ["ner"]:
        return False
    ner = nlp.get_pipe("ner")
    return (type(ner) is EntityRecognizer and ner.cfg.get("beam_width", 1) == 1
            and isinstance(ner.model.ops, NumpyOps))


def greedy_states(ner: EntityRecognizer, docs: List[Doc]) -> list:
    """Parser.greedy_parse's final states of ``docs``, its loop run with the GIL held."""
    batch = ner.moves.init_batch(docs)
    if not any(len(doc) for doc in docs):
        return batch
    ner._ensure_labels_are_added(docs)
    model = ner.model.predict(docs)
    states = [state for state in batch if not state.is_final()]
    while states:
        states = ner.transition_states(states, model.predict(states))
    model.clear_memory()
    return batch


def ner_pipe(nlp: Language, texts: Iterable[str], batch_size: int,
             step_size: Optional[int] = None) -> Iterator[Doc]:
    """``nlp.pipe(texts, batch_size=batch_size)`` for a greedy NER alone (steps_apply):
    Parser.pipe's batches (``batch_size`` texts, by length in parts of ``step_size``,
    a quarter of a batch as in Parser.pipe unless given), greedy_states.

    A text's entities do not depend on the others stepped with it (the test compares
    batch sizes): the scanner sorts all of a scan's windows by length and steps them 64
    at a time, fewer steps of like lengths (0.3 of the NER's 2.5 CPU s on the
    benchmark's windows)."""
    if not steps_apply(nlp):
        yield from nlp.pipe(texts, batch_size=batch_size)
        return
    ner = nlp.get_pipe("ner")
    step_size = step_size or max(batch_size // 4, 2)
    for batch in util.minibatch((nlp.make_doc(text) for text in texts), size=batch_size):
        by_length = sorted(batch, key=len)
        for part in util.minibatch(by_length, size=step_size):
            part = list(part)
            ner.set_annotations(part, greedy_states(ner, part))
        yield from batch
