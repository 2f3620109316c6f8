"""Every setting reaches behaviour (issue 16, item 1).

For every setting declared in schemas/settings.py (found from the declarations, so a
setting added without a probe here fails), either a non-default value changes what its
stage does, or the setting is declared ``informational`` with the reason. A probe is a
value and a function that runs, on a small fixed input, the code the job runs for the
setting's stage, and returns something comparable. The test builds the job's graph
(pipeline/graph.py) with the section as it is and with that one setting changed, takes
the stage from it, runs the probe on both, and asserts the results differ. Taking the
stage from the job, not building it here, also proves the graph hands the stage its
section. A few settings show only with another one (chunks without overlap, bands with
rows): their probe names it as ``base``, and both runs share it.

How a stage runs here: ``Steps`` builds the job, then a stage, then a step within it,
against a stand-in pipeline that records each step with its inputs; the probe runs the
step a setting acts in (its DoFn with setup and process, its callable, its CombineFn, as
the stage made it from the section) on one element, and connected components count the
rounds they unroll. Measured on this project's 2-core machines, a real Beam graph costs
~10 ms a transform to build and a DirectRunner run ~1 s a round of components: too slow
for a hundred settings. One step, the report's Top.Of (no CombineFn), runs on the
DirectRunner.
"""

import atexit
import base64
import copy
import dataclasses
import functools
import gzip
import hashlib
import io
import json
import pathlib
import random
import re
import shutil
import tempfile
import threading
from typing import Any, Callable, NamedTuple, Optional

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam import pvalue
from apache_beam.internal.util import ArgumentPlaceholder
from apache_beam.io.filesystem import FileMetadata
from apache_beam.transforms import ptransform, window
from apache_beam.transforms.core import Windowing
from PIL import Image

from detectors.face_center import FACE_CENTER
from detectors.pii.spans import Finding
from pipeline.graph import RunSpec, build
from pipeline.options import HygieneOptions
from pipeline.policy import load_policy
from schemas import settings
from schemas.reasons import Reason
from detectors.spans import windows as span_text_windows
from schemas.records import (BLUR, COVER, REMOVE, FaceBox, Kind, Record, TextBox,
                              Verdict, make_record)
from schemas.settings import Policy, declaration, fields
from transforms.common.components import ConnectedComponents
from transforms.common.nodes import face_node, node_of
from transforms.dedup.exact import DuplicateGroups
from transforms.dedup.near_images import PairClusters
from transforms.dedup.spans import Hit as SpanHit
from transforms.dedup.spans import Occurrence as SpanOccurrence
from transforms.dedup.spans import SpanCount
from transforms.pii import _SCANNERS

from evaluation.documents import receipt
from tests.builders import HOPPER, TINY_CLIP, encode as encode_image, fingerprint, png, tar_bytes


# ------------------------------------------------------------------ building and running steps

class _StandIn:
    """Takes the place of a Beam pipeline while the job or a transform is built: records
    each step applied, by label, with its inputs, and answers with placeholders."""
    runner = None   # PTransform.__ror__ asks whether the runner is eager

    def __init__(self):
        self.steps, self.inputs = {}, {}

    def apply(self, transform, pvalueish=None, label=None):
        if isinstance(transform, ptransform._NamedPTransform):   # "Label" >> transform
            label, transform = label or transform.label, transform.transform
        label = label or transform.label
        self.steps[label], self.inputs[label] = transform, pvalueish
        return _Placeholder(self)

    def __or__(self, transform):   # pipeline | source
        return self.apply(transform, pvalue.PBegin(self))


class _Placeholder(pvalue.PCollection):
    """A PCollection no step fills; a step's named outputs (checked.records,
    decided[QUARANTINED], ReadCorpus's records and files) are placeholders too."""

    def __init__(self, stand_in: _StandIn):
        super().__init__(stand_in, windowing=Windowing(window.GlobalWindows()))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _Placeholder(self.pipeline)

    def __getitem__(self, tag):
        return _Placeholder(self.pipeline)

    def __iter__(self):   # records, matched = ReadCorpus(...)
        return iter((_Placeholder(self.pipeline), _Placeholder(self.pipeline)))


def _fresh(inputs, stand_in: _StandIn):
    """Inputs of the same shape, placeholders of ``stand_in``."""
    if isinstance(inputs, pvalue.PBegin):
        return pvalue.PBegin(stand_in)
    if isinstance(inputs, pvalue.PValue):
        return _Placeholder(stand_in)
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_fresh(part, stand_in) for part in inputs)
    if isinstance(inputs, dict):
        return {key: _fresh(part, stand_in) for key, part in inputs.items()}
    return inputs


class Steps(dict):
    """label -> step, for the steps applied while ``make(stand_in)`` ran; ``within(label,
    ...)``: the steps of one of them, built over the inputs it was given."""

    def __init__(self, make: Callable[[_StandIn], Any]):
        stand_in = _StandIn()
        make(stand_in)
        super().__init__(stand_in.steps)
        self.inputs = stand_in.inputs

    def within(self, *labels) -> "Steps":
        steps = self
        for label in labels:
            step, inputs = steps[label], steps.inputs[label]
            steps = Steps(lambda stand_in: step.expand(_fresh(inputs, stand_in)))
        return steps


JOB_INPUTS = ["corpus.jsonl", "images/"]   # a file and an image folder


def job(policy: Policy) -> Steps:
    """The stages pipeline/graph.py composes under ``policy``."""
    spec = RunSpec(inputs=JOB_INPUTS, output="out", policy=policy, manifest={})
    return Steps(lambda stand_in: build(stand_in, spec))


def _plain(output):
    """A DoFn's output as a comparable value: a tagged output as (tag, value), a verdict as
    (uid, reason, action, evidence)."""
    if isinstance(output, pvalue.TaggedOutput):
        return output.tag, _plain(output.value)
    if isinstance(output, Verdict):
        return output.uid, output.reason, output.action, json.loads(output.evidence)
    return output


def dofn_of(step) -> beam.DoFn:
    return getattr(step, "_do_transform", step).fn   # ParDo(...).with_outputs(...) wraps it


def run_step(step, element, *side_inputs, **named_side_inputs) -> list:
    """What one step (a ParDo, Map, FlatMap or Filter, as the stage made it) emits for one
    element, after its DoFn's setup; its side inputs are given in order, or by name."""
    pardo = getattr(step, "_do_transform", step)
    given = iter(side_inputs)
    args = [next(given) if isinstance(a, ArgumentPlaceholder) else a for a in pardo.args]
    kwargs = {k: named_side_inputs[k] if isinstance(v, ArgumentPlaceholder) else v
              for k, v in pardo.kwargs.items()}
    pardo.fn.setup()
    return [_plain(out) for out in pardo.fn.process(element, *args, **kwargs) or ()]


def combine(steps: Steps, label: str, values):
    """What a combining step (Top.PerKey, Top.SmallestPerKey) makes of one key's values: the
    CombineFn it is built of, applied to them."""
    while not isinstance(steps[label], beam.CombinePerKey):
        steps = steps.within(label)
        (label,) = steps
    return steps[label].fn.apply(values)


def rounds_unrolled(stage: Steps) -> int:
    """Rounds of large-star/small-star the stage's connected components unroll."""
    for label, step in stage.items():
        if isinstance(step, PairClusters):
            return rounds_unrolled(stage.within(label))
        if isinstance(step, ConnectedComponents):
            return sum(1 for inner in stage.within(label) if re.fullmatch(r"LargeStar\d+", inner))
    raise AssertionError("no connected components in the stage")


@functools.lru_cache(maxsize=None)
def on(stage_label: str, probe: Callable, *inputs) -> Callable:
    """A probe's run: the job -> probe(the steps of its stage ``stage_label``, *inputs); one
    function per arguments, so each default runs once."""
    def run(job: Steps):
        return probe(job.within(stage_label), *inputs)
    run.__doc__ = probe.__doc__
    return run


def composed(job: Steps):
    """The stages the job composes."""
    return list(job)


def refused(load: Callable, *errors):
    """load(), or why it refused to (settings that keep a stage from starting)."""
    try:
        return load()
    except errors as err:
        return f"refused: {type(err).__name__}: {err}"


@functools.lru_cache(maxsize=None)
def scratch() -> pathlib.Path:
    """A folder for the files some probes need, removed at exit."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="settings-reach-"))
    atexit.register(shutil.rmtree, path, True)
    return path


# ------------------------------------------------------------------ fixed inputs

def record(position: int = 0, **content) -> Record:
    kind = Kind.TEXT if "text" in content else Kind.IMAGE_TEXT
    return make_record(uid=f"uid{position}", id=f"r{position}", kind=kind, source="probe",
                       position=position, location=f"line {position}", **content)


TEXT = "the quick brown fox jumps over the lazy dog near the river bank"
TEXT_RECORD = record(0, text=TEXT)
FACE_RECORD = record(1, image=HOPPER, caption="a portrait")
DOCUMENT_RECORD = record(2, image=encode_image(receipt(random.Random(1))), caption="a receipt")
FACE_BOX = [140, 181, 326, 367]   # where the faces stage finds the face, top, left, bottom, right
FACE_EVIDENCE = json.dumps({"faces": [{"box": FACE_BOX}]})
NODES = [node_of(fingerprint(i)) for i in range(6)]   # six records, in input order


def digest(data: bytes) -> str:
    """Short stand-in for bytes in a result (an image)."""
    return hashlib.sha256(data).hexdigest()[:16]


def unit(*components, dims: int = 32) -> bytes:
    """A unit vector as an embedding's bytes."""
    vector = np.zeros(dims, np.float32)
    vector[:len(components)] = components
    return (vector / np.linalg.norm(vector)).astype("<f4").tobytes()


# ------------------------------------------------------------------ input

JSONL = json.dumps({"id": "a", "key": "k", "text": "the text", "body": "the body"}) + "\n"
CAPTIONS = json.dumps({"file_name": "a.jpg", "path": "b.jpg", "caption": "a cat",
                       "title": "a dog"}) + "\n"


@functools.lru_cache(maxsize=None)
def input_files() -> dict:
    """A JSON Lines corpus, the same named .txt, image-text Parquet rows (two image, id
    and caption columns each) and an image folder's captions file."""
    folder = scratch()
    buffer = io.BytesIO()
    pq.write_table(pa.table({"jpg": [png(1)], "pic": [png(2)], "key": ["k"],
                             "name": ["n"], "caption": ["a cat"], "title": ["a dog"]}), buffer)
    files = {"a.jsonl": JSONL.encode(), "corpus.txt": JSONL.encode(),
             "a.parquet": buffer.getvalue(), "captions.jsonl": CAPTIONS.encode()}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return {name: FileMetadata(str(folder / name), len(content)) for name, content in
            files.items()}


def parsed(read: Steps):
    """What the readers make of the files: (kind, id, text or caption, image, defect) per
    record; (image path, caption) per row of the captions file."""
    files, parse = input_files(), read.within("Files")["Parse"]
    records = [(r.kind, r.id, r.text or r.caption, r.image, r.defect)
               for name in ("corpus.txt", "a.jsonl", "a.parquet")
               for r in run_step(parse, files[name])]
    if "Folder0" not in read:   # the folder is not read as an image folder
        return records, None
    rows = run_step(read.within("Folder0")["ReadCaptions"], files["captions.jsonl"])
    return records, [(row.relpath, row.caption) for _, (_, row) in rows]


@functools.lru_cache(maxsize=None)
def capped_files() -> list:
    """Files over the readers' byte caps when the caps are small: a gzipped JSON Lines file
    of two 600 KB lines (random letters: it compresses ~2x), a WebDataset sample with a
    2 KB KEY.json and a Parquet file of one 2 KB row."""
    folder = scratch()
    letters = np.frombuffer(b"abcdefghijklmnop", np.uint8)
    rng = np.random.default_rng(0)
    lines = [json.dumps({"text": "short"}).encode()] + [
        json.dumps({"text": letters[rng.integers(0, 16, 600_000)].tobytes().decode()}).encode()
        for _ in range(2)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": ["a row"], "note": ["n" * 2000]}), buffer)
    files = {"caps.jsonl.gz": gzip.compress(b"\n".join(lines) + b"\n"),
             "caps.tar": tar_bytes([("k.jpg", b"jpg"), ("k.json", json.dumps(
                 {"caption": "c", "note": "n" * 2000}).encode())]),
             "caps.parquet": buffer.getvalue()}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return [FileMetadata(str(folder / name), len(content)) for name, content in files.items()]


def capped(read: Steps):
    """What the readers make of files over small byte caps: (source, position, defect)."""
    parse = read.within("Files")["Parse"]
    return [(r.source.rsplit("/", 1)[-1], r.position, r.defect)
            for metadata in capped_files() for r in run_step(parse, metadata)]


def validated(job: Steps, records=(TEXT_RECORD, FACE_RECORD)):
    """What validation (ValidateBatch) makes of records: the records, with their defects,
    and their fingerprints (MinHash signatures, pHashes)."""
    outputs = run_step(job.within("Validate")["Check"], list(records))
    return ([out for out in outputs if isinstance(out, Record)],
            [fingerprint for out in outputs if not isinstance(out, Record)
             for _, fingerprint in [out]])   # ("fingerprints", fingerprint)


def input_defects(job: Steps):
    """The defects validation finds in the text and the image record."""
    return [(r.id, r.defect) for r in validated(job)[0]]


def text_sketch(job: Steps):
    """The MinHash signature and shingles validation keeps for the text."""
    _, (text, _) = validated(job)
    return text.minhash, text.shingles


def image_hash(job: Steps):
    """The pHash(es) validation keeps for the image."""
    _, (_, image) = validated(job)
    return image.phash


def document_fine_hash(job: Steps):
    """The fine pHash validation keeps for a rendered receipt (a plain-ground picture)."""
    _, (document,) = validated(job, (DOCUMENT_RECORD,))
    return document.phash_fine


# ------------------------------------------------------------------ exact duplicates

def duplicate_groups(stage: Steps):
    """What the stage groups records by: the reasons of its duplicate groups."""
    return [step.reason for step in stage.values() if isinstance(step, DuplicateGroups)]


# ------------------------------------------------------------------ repeated spans

SPAN_TEXT = "One two. Three four. Five six.\nSeven eight. Nine ten."
SPAN_RECORD = record(0, text=SPAN_TEXT)


def span_windows(stage: Steps):
    """The windows the stage hashes in a text of five sentences on two lines."""
    return run_step(stage["Windows"], SPAN_RECORD)


def _span_count(documents: int) -> SpanCount:
    return SpanCount(documents=documents, distinct=documents, first_uid="uid0",
                     first_id="r0", personal=False)


def span_repeated(stage: Steps):
    """Whether a span two different texts hold is repeated."""
    return run_step(stage["Repeated"], ("span", _span_count(2)))


def span_hot(stage: Steps):
    """Whether a span three texts hold is hot (looked up, not joined)."""
    return run_step(stage["Hot"], ("span", _span_count(3)))


def span_hits(stage: Steps):
    """What the first and the second of two texts holding a span do with it."""
    occurrences = [SpanOccurrence("probe", i, f"uid{i}", f"r{i}", f"d{i}", False)
                   for i in range(2)]
    return run_step(stage["Hits"], ("span", {"count": [_span_count(2)],
                                             "occurrence": occurrences}))


def span_cut(stage: Steps):
    """The verdicts of a text of ten words whose last three sentences are repeated."""
    hits = [SpanHit(w.hash, REMOVE, 2, False, "r9") for w in span_text_windows(
        SPAN_TEXT, "sentence", 3)[2:]]
    return run_step(stage["Cut"], ("uid0", {"record": [SPAN_RECORD], "hit": hits}))


# ------------------------------------------------------------------ near-duplicate text

# Two texts of 40 words, one changed: Jaccard 0.76 of their 5-word shingles.
SIMILAR_TEXTS = [record(i, text=" ".join(f"w{k}" if k != 30 or i == 0 else "changed"
                                        for k in range(40))) for i in range(2)]


def text_band_keys(job: Steps):
    """The LSH buckets (band keys) the stage puts a text's signature in."""
    _, (text, _) = validated(job)
    return run_step(job.within("NearDedupText")["Buckets"],
                    ("node", (text.minhash, text.shingles)))


def text_verified(job: Steps):
    """Whether the stage keeps the candidate edge between two similar texts."""
    _, (a, b) = validated(job, SIMILAR_TEXTS)
    edge = ("b", {"sketch": [(b.minhash, b.shingles)], "half": [("a", (a.minhash, a.shingles))]})
    return run_step(job.within("NearDedupText")["Verify"], edge)


# ------------------------------------------------------------------ close pairs by keys
# The stages that find close pairs with transforms.common.buckets.BucketPairs ("Pairs").

def close_pairs(stage: Steps, a: bytes, b: bytes):
    """The pairs the stage's pair search keeps from a bucket of two vectors."""
    return run_step(stage.within("Pairs")["Pairs"], ("key", [("a", a), ("b", b)]))


def hot_key(stage: Steps):
    """Whether the pair search splits a key that three items hold."""
    return run_step(stage.within("Pairs")["Hot0"], ("key", 3))


def keys_by_level(stage: Steps, vector: bytes):
    """The keys an item gets at level 0, then, its first key being hot, one level down, and
    so on for every level the stage splits hot keys."""
    pairs = stage.within("Pairs")
    keyed = run_step(pairs["Level0"], ("node", vector))
    found, level = [[key for key, _ in keyed]], 1
    while f"Level{level}" in pairs:
        keyed = run_step(pairs[f"Level{level}"], keyed[0])
        found.append([key for key, _ in keyed])
        level += 1
    return found


HASH = bytes.fromhex("f0e1d2c3b4a59687")
HASH_10_BITS_AWAY = (int.from_bytes(HASH, "big") ^ 0x3FF).to_bytes(8, "big")
# Two plain-ground pictures with one coarse hash, their fine hashes (1,024 bits) 300 apart.
FINE_300_BITS_APART = (HASH + bytes(128), HASH + bytes([0xFF]) * 37 + bytes([0xF0]) + bytes(90))

ENCODING = (np.asarray(FACE_CENTER, np.float32)
            + np.random.default_rng(1).normal(0, 0.05, 128).astype(np.float32))
ENCODING_HALF_AWAY = ENCODING + np.full(128, 0.5 / np.sqrt(128), np.float32)   # distance 0.5
ENCODINGS = (ENCODING.astype("<f4").tobytes(), ENCODING_HALF_AWAY.astype("<f4").tobytes())

EMBEDDING = unit(1.0, 2.0, 3.0)
EMBEDDINGS_AT_COSINE_09 = (unit(1.0), unit(0.9, np.sqrt(1 - 0.81)))


# ------------------------------------------------------------------ PII

# Two e-mail addresses, a URL, a name only the name cues find, a name and a place the NER finds.
PII_SHORT = ("Write to alice@example.com or bob@example.net, see https://example.org/team. "
             "Hi, my name is Rubija and Mary Johnson lives in Paris.")
# A name across the 1,200th character, where a text cut in chunks of 1,200 is cut.
PII_LONG = "The weather was mild and the river was calm that day. " * 22 + (
    "Mary Johnson walked home along the river.")
PII_RECORDS = [record(0, text=PII_SHORT), record(1, text=PII_LONG)]


@functools.lru_cache(maxsize=None)
def _loaded_scanner(model: str, language: str, name_cues: bool):
    from detectors.pii.scanner import PiiScanner
    return PiiScanner(settings.PiiSettings(model=model, language=language, name_cues=name_cues))


def scanner(pii: settings.PiiSettings):
    """PiiScanner(pii), its spaCy model loaded once per model, language and name cues (what
    build_analyzer reads; ~1 s each): a loaded scanner given these settings and entities."""
    loaded = copy.copy(_loaded_scanner(pii.model, pii.language, pii.name_cues))
    loaded.settings, loaded.entities = pii, pii.scanned_entities()
    return loaded


def pii_found(stage: Steps):
    """What the PII stage finds in the fixed texts (its DoFn scanning them as a batch): per
    verdict, the entities it counts; or why its scanner refuses the settings."""
    from detectors.pii.scanner import PiiModelError
    scan = stage["Scan"]
    pii = dofn_of(scan).policy
    loaded = refused(lambda: scanner(pii), ValueError, PiiModelError)
    if isinstance(loaded, str):
        return loaded
    _SCANNERS.setdefault(pii, (loaded, threading.Lock()))   # what ScanPii.setup takes
    return _entities(run_step(scan, PII_RECORDS))


def _entities(verdicts):
    """Per verdict: uid, reason, action and the entities it counts."""
    return [(uid, reason, action, evidence["entities"])
            for uid, reason, action, evidence in verdicts]


def pii_counted(stage: Steps):
    """The PII stage's verdicts for fixed findings: two e-mail addresses, a name, a place."""
    from transforms.pii import pii_verdicts
    found = {"text": [Finding("EMAIL_ADDRESS", 9, 26, 1.0, "OfflineEmailRecognizer"),
                      Finding("EMAIL_ADDRESS", 30, 45, 1.0, "OfflineEmailRecognizer"),
                      Finding("PERSON", 103, 115, 0.85, "SpacyRecognizer"),
                      Finding("LOCATION", 125, 130, 0.85, "SpacyRecognizer")]}
    verdicts = pii_verdicts(PII_RECORDS[0], found, dofn_of(stage["Scan"]).policy)
    return _entities(_plain(v) for v in verdicts)


def blank_spacy_model() -> str:
    """A spaCy pipeline without NER, saved as a model directory."""
    import spacy
    path = scratch() / "blank-en"
    if not path.exists():
        spacy.blank("en").to_disk(path)
    return str(path)


# ------------------------------------------------------------------ faces

def faces_found(stage: Steps):
    """What the faces stage emits for the photo with a face: its verdict (boxes, sizes,
    scores, whether encoded, action) and the encodings."""
    return run_step(stage["Scan"], FACE_RECORD)


def faces_device(stage: Steps):
    """What runs the faces stage's detector once its DoFn is set up (onnxruntime on the CPU,
    torch on a GPU), and what it finds; or why it refuses the device."""
    from detectors.centerface import CenterFaceMissing, runner
    scan = dofn_of(stage["Scan"])
    problem = refused(scan.setup, CenterFaceMissing)
    if problem is not None:
        return problem
    return type(runner(scan.settings.device)).__name__, faces_found(stage)


def kept_image(stage: Steps):
    """The image Decide writes for the kept record whose face is to be blurred."""
    verdict = Verdict(uid=FACE_RECORD.uid, reason=Reason.FACE.value, action=BLUR,
                      evidence=FACE_EVIDENCE, representative_id=None, group_size=None,
                      faces=[FaceBox(*FACE_BOX)])
    grouped = {"record": [FACE_RECORD], "fingerprint": [], "verdicts": [verdict]}
    outputs = run_step(stage["Decide"], (FACE_RECORD.uid, grouped), {})
    return [digest(row["image"]) for tag, row in outputs if tag == Kind.IMAGE_TEXT.value]


def kept_plain_image(stage: Steps):
    """The image Decide writes for a kept record with no verdict (the portrait carries a
    JPEG comment)."""
    grouped = {"record": [FACE_RECORD], "fingerprint": [], "verdicts": []}
    outputs = run_step(stage["Decide"], (FACE_RECORD.uid, grouped), {})
    return [digest(row["image"]) for tag, row in outputs if tag == Kind.IMAGE_TEXT.value]


# ------------------------------------------------------------------ text in images

def ocr_read(stage: Steps):
    """What the OCR stage emits for the receipt: (reason, action, evidence, text written,
    boxes) per verdict."""
    scan = dofn_of(stage["Read"])
    scan.setup()
    return [(v.reason, v.action, json.loads(v.evidence), v.text, v.boxes)
            for v in scan.process(DOCUMENT_RECORD)]


COVER_BOX = TextBox(40, 30, 60, 120, "PERSON")


def covered_image(stage: Steps):
    """The image Decide writes for the kept receipt with words to cover."""
    verdict = Verdict(uid=DOCUMENT_RECORD.uid, reason=Reason.PII_IN_IMAGE.value, action=COVER,
                      evidence="{}", representative_id=None, group_size=None,
                      boxes=[COVER_BOX])
    grouped = {"record": [DOCUMENT_RECORD], "fingerprint": [], "verdicts": [verdict]}
    outputs = run_step(stage["Decide"], (DOCUMENT_RECORD.uid, grouped), {})
    return [digest(row["image"]) for tag, row in outputs if tag == Kind.IMAGE_TEXT.value]


# ------------------------------------------------------------------ identities

def identity_verdicts(stage: Steps):
    """The verdicts for an identity seen in six records, its first four by input order."""
    element = (face_node(NODES[0], 0), {"count": [6], "first": [NODES[:4]],
                                        "records": NODES})
    return run_step(stage["Verdicts"], element)


def first_of_six(stage: Steps):
    """The records the stage keeps first of a cluster of six."""
    return combine(stage, "First", NODES)


# ------------------------------------------------------------------ caption templates

def caption_candidates(stage: Steps):
    """The (template, (uid, filler)) candidates the stage cuts a caption into."""
    return run_step(stage["Candidates"], record(0, image=b"", caption=(
        "Floral Garden Unisex T-Shirt")))


def template_enough_records(stage: Steps):
    """Whether a template of 10 records is kept."""
    return run_step(stage["Enough"], ("<*> unisex t-shirt", 10))


def template_mined(stage: Steps):
    """Whether a template of 12 records with 5 distinct fillers is mined."""
    return run_step(stage["Mined"], ("<*> unisex t-shirt", {"records": [12], "fillers": [5]}))


def template_chosen(stage: Steps):
    """Which of its templates a record takes: the wide one (10 fillers) or the more
    specific one (6 fillers)."""
    mined = [("<*> t-shirt", 20, 10, "floral garden unisex"),
             ("<*> unisex t-shirt", 12, 6, "floral garden")]
    return run_step(stage["Verdicts"], ("uid0", mined))


# ------------------------------------------------------------------ layout templates

def layout_items(side: int):
    """Twelve mockups of two shops as the stage groups them: each shop one textured photo
    around a product square that changes, with re-encoding noise; one image of the first
    shop has a patch of its own, and that shop's photo has a face in its fixed area."""
    rng = np.random.default_rng(0)
    items = []
    for shop in range(2):
        picture = rng.integers(0, 256, (side, side, 3))
        for k in range(6):
            thumb = np.clip(picture + rng.integers(-8, 9, picture.shape), 0, 255)
            thumb[side // 4:3 * side // 4, side // 4:3 * side // 4] = rng.integers(0, 256, 3)
            if shop == 0 and k == 0:
                thumb[:side // 8, -side // 8:] = 255 - thumb[:side // 8, -side // 8:]
            boxes = [[0.0, 0.0, 0.2, 0.2]] if shop == 0 else []
            items.append((node_of(fingerprint(6 * shop + k)), thumb.astype(np.uint8).tobytes(),
                          400, 400, f"caption-{shop}", boxes, []))
    return items


def layouts_estimated(stage: Steps):
    """The layouts the stage estimates from the twelve mockups, in figures."""
    estimate = stage["Estimate"]
    group = ("caption", "caption-0", 400, 400)
    found = run_step(estimate, (group, layout_items(dofn_of(estimate).settings.side)))
    return [(s["layout"].layout_id, s["layout"].fixed_fraction, s["layout"].information,
             s["layout"].sample_members, s["informative"], s["face_in_fixed"])
            for _, summaries in found for s in summaries]


def layout_sample(stage: Steps):
    """The mockups of a group the stage estimates its layouts from."""
    return [item[0] for item in combine(stage, "Sample", layout_items(side=16))]   # any side


def layout_thumbnail(stage: Steps):
    """The size in bytes of the thumbnail the stage compares the photo by."""
    (_, (thumb, _, _)), = run_step(stage["Thumbnails"], FACE_RECORD)
    return len(thumb)


def layout_verdicts(stage: Steps):
    """The verdicts for two templates of six images, one with a face in its fixed area."""
    verdicts = []
    for face in (True, False):
        info = {"layout_id": f"layout-{face}", "group": "caption/x/400/400",
                "fixed_fraction": 0.75, "information": 50.0, "informative": True,
                "face_in_fixed": face, "mask_png": ""}
        element = (f"layout-{face}", {"count": [6], "info": [info], "first": [NODES[:3]],
                                      "members": [(node, 0.98) for node in NODES]})
        verdicts += run_step(stage["Verdicts"], element)
    return verdicts


# ------------------------------------------------------------------ CLIP

# CLIP is off by default, and the default model's weights are not on disk here: its
# probes run with CLIP on, a tiny config with random weights, on the CPU.
CLIP_ON = {"enabled": True, "model": TINY_CLIP, "pretrained": None, "device": "cpu"}


def clip_model(stage: Steps):
    """What the CLIP stage's DoFn loads: the width of the embedding it makes of a photo, the
    device and dtype its model runs in; or why it refuses the settings. (Random weights
    differ per load: the embeddings themselves are not compared.)"""
    from detectors.clip import ClipWeightsMissing
    embed = dofn_of(stage["Embed"])
    problem = refused(embed.setup, ClipWeightsMissing)
    if problem is not None:
        return problem
    (_, vector), = [_plain(out) for out in embed.process([FACE_RECORD])]
    weights = next(embed.encoder.model.parameters())
    return len(vector) // 4, str(weights.device), str(weights.dtype)


def narrow_clip_config() -> str:
    """tiny-clip.json with 16-wide embeddings."""
    config = json.loads(pathlib.Path(TINY_CLIP).read_text())
    path = scratch() / "tiny-clip-16.json"
    path.write_text(json.dumps({**config, "embed_dim": 16}))
    return str(path)


def on_gpu() -> bool:
    import torch
    return torch.cuda.is_available()


# ------------------------------------------------------------------ report

FACE_ROW = {"id": FACE_RECORD.id, "kind": "image_text", "risk": 0.5, "source": "probe",
            "location": "line 1", "caption": "a portrait", "image": FACE_RECORD.image,
            "reasons": [], "flags": [{"reason": "face", "stage": "faces", "action": BLUR,
                                      "detail": FACE_EVIDENCE}]}


def report_steps(stage: Steps):
    """The steps the report applies (previews and the page, or not)."""
    return list(stage)


def report_thumbnail(stage: Steps):
    """The size and a digest of the thumbnail the report shows of a kept record with a face."""
    preview = stage.within("Previews")["Preview"]
    (_, shown), = run_step(preview, (FACE_ROW["id"], {"row": [("cleaned", FACE_ROW)],
                                                      "clusters": []}))
    thumbnail = base64.b64decode(shown["thumbnail"])
    return Image.open(io.BytesIO(thumbnail)).size, digest(thumbnail)


_RISKIEST = []   # what the DirectRunner run below collects (it runs in this process)


def _collect_riskiest(ids):
    _RISKIEST.append(ids)


def report_riskiest(stage: Steps):
    """The quarantined records the report lists, riskiest first: the report's own steps (its
    Top.Of is built of no CombineFn) run on the DirectRunner over three rows."""
    rows = [{"id": f"r{i}", "risk": risk} for i, risk in enumerate((0.2, 0.9, 0.5))]
    _RISKIEST.clear()
    with beam.Pipeline("DirectRunner") as pipeline:
        (pipeline | beam.Create(rows)
         | "RiskAndId" >> stage["RiskAndId"] | "Riskiest" >> stage["Riskiest"]
         | "Ids" >> stage["Ids"] | beam.Map(_collect_riskiest))
    return list(_RISKIEST)


# ------------------------------------------------------------------ the probes

class Probe(NamedTuple):
    value: Any        # a non-default value valid under the declaration, or a function
                      # that makes one (a model on disk)
    run: Callable     # the job's steps -> what the setting's stage does with a fixed input
    base: Optional[dict] = None   # other settings both runs share, where it needs them
    needs_gpu: bool = False


SECTION_BASE = {"clip": CLIP_ON, "repeated_spans": {"enabled": True}}   # shared by every probe of the section

PROBES = {
    "input": {
        "format": Probe("jsonl", on("Read", parsed)),
        "text_field": Probe("body", on("Read", parsed)),
        "id_field": Probe("key", on("Read", parsed)),
        "caption_field": Probe("title", on("Read", parsed)),
        "image_id_field": Probe("name", on("Read", parsed)),
        "image_field": Probe("pic", on("Read", parsed)),
        "file_field": Probe(("path",), on("Read", parsed)),
        "max_text_chars": Probe(5, input_defects),
        "max_caption_chars": Probe(3, input_defects),
        "max_image_pixels": Probe(1000, input_defects),
        "accepted_image_modes": Probe(("L",), input_defects),
        "max_record_bytes": Probe(1024, on("Read", capped)),
        "max_field_bytes": Probe(1024, on("Read", capped)),
        "max_row_group_bytes": Probe(1024, on("Read", capped)),
        "max_decompressed_bytes": Probe(1024, on("Read", capped)),
        "max_decompression_ratio": Probe(1.1, on("Read", capped)),
    },
    "exact_dedup": {
        "text": Probe(False, on("ExactDedup", duplicate_groups)),
        "images": Probe(False, on("ExactDedup", duplicate_groups)),
    },
    "near_dedup_text": {
        "enabled": Probe(False, composed),
        "ngram": Probe(3, text_sketch),
        "threshold": Probe(0.7, text_verified),
        "num_perm": Probe(128, text_sketch),
        # bands and rows go together (both, or neither for the optimum)
        "bands": Probe(16, text_band_keys, base={"bands": 32, "rows": 8}),
        "rows": Probe(16, text_band_keys, base={"bands": 16, "rows": 8}),
        "seed": Probe(2, text_sketch),
        "false_negative_weight": Probe(0.5, text_band_keys),
        "rounds": Probe(1, on("NearDedupText", rounds_unrolled)),
        "verify": Probe("estimate", text_sketch),
    },
    "repeated_spans": {
        "enabled": Probe(False, composed),
        "unit": Probe("line", on("RepeatedSpans", span_windows)),
        "window": Probe(2, on("RepeatedSpans", span_windows)),
        "min_documents": Probe(3, on("RepeatedSpans", span_repeated)),
        "action": Probe("all", on("RepeatedSpans", span_hits)),
        "min_words": Probe(2, on("RepeatedSpans", span_cut)),
        "max_bucket": Probe(2, on("RepeatedSpans", span_hot)),
    },
    "near_dedup_images": {
        "enabled": Probe(False, composed),
        "hash_size": Probe(16, image_hash),
        "max_distance": Probe(12, on("NearDedupImages", close_pairs, HASH, HASH_10_BITS_AWAY)),
        "orientations": Probe(8, image_hash),
        "max_bucket": Probe(2, on("NearDedupImages", hot_key)),
        "levels": Probe(0, on("NearDedupImages", keys_by_level, HASH)),
        "rounds": Probe(1, on("NearDedupImages", rounds_unrolled)),
        "fine_check": Probe(False, document_fine_hash),
        "fine_max_distance": Probe(400, on("NearDedupImages", close_pairs,
                                           *FINE_300_BITS_APART)),
        "plain_share": Probe(0.99, document_fine_hash),
        "plain_level": Probe(255, document_fine_hash),
    },
    "pii": {
        "enabled": Probe(False, composed),
        "model": Probe(blank_spacy_model, on("Pii", pii_found)),
        "language": Probe("es", on("Pii", pii_found)),
        "score_threshold": Probe(0.88, on("Pii", pii_found)),
        "allow_list": Probe(("alice@example.com",), on("Pii", pii_found)),
        "max_spans": Probe(1, on("Pii", pii_counted)),
        "max_spans_exempt": Probe((), on("Pii", pii_counted), base={"max_spans": 2}),
        # Overlapping chunks hide where a text is cut (by design): each shows without the other.
        "chunk_chars": Probe(1200, on("Pii", pii_found), base={"chunk_overlap": 0}),
        "chunk_overlap": Probe(0, on("Pii", pii_found), base={"chunk_chars": 1200}),
        "name_cues": Probe(False, on("Pii", pii_found)),
        "entities": Probe(settings.entity_actions({"URL": "redact"}), on("Pii", pii_found)),
    },
    "ocr": {
        "enabled": Probe(False, composed),
        "time_limit_s": Probe(0.01, on("Ocr", ocr_read)),
        "min_text_share": Probe(0.9, on("Ocr", ocr_read), base={"write_text": True}),
        "cover_margin": Probe(1.0, on("Decide", covered_image)),
        "write_text": Probe(True, on("Ocr", ocr_read)),
    },
    "faces": {
        "enabled": Probe(False, composed),
        "action": Probe("quarantine", on("Faces", faces_found)),
        # the CNN takes ~18 s on a CPU at 1200 px: both detectors look at a 200 px copy
        "model": Probe("cnn", on("Faces", faces_found), base={"detect_side": 200}),
        "detect_side": Probe(600, on("Faces", faces_found)),   # the copy encodings are made on
        "centerface_side": Probe(480, on("Faces", faces_found)),
        "centerface_threshold": Probe(0.95, on("Faces", faces_found)),   # Hopper scores 0.91
        "centerface_nms": Probe(0.95, on("Faces", faces_found)),
        "device": Probe("gpu", on("Faces", faces_device)),
        "max_upscale": Probe(1.5, on("Faces", faces_found)),
        "min_face": Probe(200, on("Faces", faces_found)),
        "encode_min_face": Probe(200, on("Faces", faces_found)),
        "encode_min_score": Probe(1.5, on("Faces", faces_found)),
        "encode_jitters": Probe(2, on("Faces", faces_found)),
        "blur_margin": Probe(0.0, on("Decide", kept_image)),
    },
    "image_metadata": {
        "keep": Probe(("icc", "comment"), on("Decide", kept_plain_image)),
    },
    "identities": {
        "enabled": Probe(False, composed),
        "min_records": Probe(7, on("Identities", identity_verdicts)),
        "action": Probe("quarantine", on("Identities", identity_verdicts)),
        "cap": Probe(2, on("Identities", first_of_six)),
        "max_distance": Probe(0.4, on("Identities", close_pairs, *ENCODINGS)),
        "bands": Probe(8, on("Identities", keys_by_level, ENCODINGS[0])),
        "bits": Probe(4, on("Identities", keys_by_level, ENCODINGS[0])),
        "probes": Probe(0, on("Identities", keys_by_level, ENCODINGS[0])),
        "seed": Probe(2, on("Identities", keys_by_level, ENCODINGS[0])),
        "max_bucket": Probe(2, on("Identities", hot_key)),
        "levels": Probe(0, on("Identities", keys_by_level, ENCODINGS[0])),
        "rounds": Probe(1, on("Identities", rounds_unrolled)),
    },
    "templates": {
        "enabled": Probe(False, composed),
        "max_fixed": Probe(1, on("CaptionTemplates", caption_candidates)),
        "min_records": Probe(11, on("CaptionTemplates", template_enough_records)),
        "min_fillers": Probe(6, on("CaptionTemplates", template_mined)),
        "max_tokens": Probe(3, on("CaptionTemplates", caption_candidates)),
        "specific_share": Probe(0.7, on("CaptionTemplates", template_chosen)),
    },
    "layouts": {
        "enabled": Probe(False, composed),
        "face_action": Probe("keep", on("Layouts", layout_verdicts)),
        "cluster_action": Probe("quarantine", on("Layouts", layout_verdicts)),
        "keep": Probe(1, on("Layouts", first_of_six)),
        "side": Probe(32, on("Layouts", layout_thumbnail)),
        "tolerance": Probe(0, on("Layouts", layouts_estimated)),
        "agree": Probe(0.9, on("Layouts", layouts_estimated)),
        "min_similarity": Probe(0.99, on("Layouts", layouts_estimated)),
        "min_fixed": Probe(0.8, on("Layouts", layouts_estimated)),
        "min_information": Probe(1000.0, on("Layouts", layouts_estimated)),
        "min_members": Probe(7, on("Layouts", layouts_estimated)),
        "max_sample": Probe(5, on("Layouts", layout_sample)),
        "max_layouts": Probe(1, on("Layouts", layouts_estimated)),
    },
    "clip": {
        "enabled": Probe(True, composed, base={"enabled": False}),
        "model": Probe(narrow_clip_config, on("ClipEmbed", clip_model)),
        "pretrained": Probe("openai", on("ClipEmbed", clip_model)),
        "device": Probe("cuda", on("ClipEmbed", clip_model)),
        # ClipEncoder runs fp32 on a CPU: precision shows on a GPU only
        "precision": Probe("fp16", on("ClipEmbed", clip_model), base={"device": "cuda"},
                           needs_gpu=True),
        "semantic_dedup": Probe(False, composed),
        "threshold": Probe(0.85, on("SemanticDedup", close_pairs, *EMBEDDINGS_AT_COSINE_09)),
        "bands": Probe(4, on("SemanticDedup", keys_by_level, EMBEDDING)),
        "bits": Probe(6, on("SemanticDedup", keys_by_level, EMBEDDING)),
        "seed": Probe(2, on("SemanticDedup", keys_by_level, EMBEDDING)),
        "max_bucket": Probe(2, on("SemanticDedup", hot_key)),
        "levels": Probe(0, on("SemanticDedup", keys_by_level, EMBEDDING)),
        "rounds": Probe(1, on("SemanticDedup", rounds_unrolled)),
    },
    "report": {
        "enabled": Probe(False, on("Report", report_steps)),
        "show_faces": Probe(True, on("Report", report_thumbnail)),
        "thumbnail_side": Probe(64, on("Report", report_thumbnail)),
        "records": Probe(1, on("Report", report_riskiest)),
    },
}


# ------------------------------------------------------------------ the tests

DECLARED = [(name, field) for name, section in Policy().sections() for field in fields(section)]


@functools.lru_cache(maxsize=None)
def _unchanged(run: Callable, policy: Policy):
    return run(job(policy))


def _assert_valid(section) -> None:
    """Every value is one the policy accepts, and the section passes its own checks."""
    for field in fields(section):
        value = getattr(section, field.name)
        assert settings.coerce(type(section), field, value) == value, field.name
    assert not list(getattr(section, "problems", tuple)())


@pytest.mark.parametrize("section_name, field", [
    pytest.param(name, field, id=f"{name}.{field.name}") for name, field in DECLARED])
def test_every_setting_reaches_behaviour(section_name, field):
    name = f"{section_name}.{field.name}"
    probe = PROBES.get(section_name, {}).get(field.name)
    why = declaration(field).informational
    if why is not None:
        assert why.strip() and probe is None, f"{name}: informational, or probed?"
        return
    assert probe is not None, (
        f"{name} has no probe: add one to PROBES (a value and what its stage does with "
        "it), or declare the setting informational with the reason no output depends on it")
    if probe.needs_gpu and not on_gpu():
        pytest.skip(f"{name} shows on a GPU only")
    value = probe.value() if callable(probe.value) else probe.value
    base = dataclasses.replace(getattr(Policy(), section_name),
                               **{**SECTION_BASE.get(section_name, {}), **(probe.base or {})})
    changed = dataclasses.replace(base, **{field.name: value})
    _assert_valid(base)
    _assert_valid(changed)
    before = _unchanged(probe.run, dataclasses.replace(Policy(), **{section_name: base}))
    after = probe.run(job(dataclasses.replace(Policy(), **{section_name: changed})))
    assert after != before, (f"{name} = {value!r} changed nothing its stage does "
                             f"({(probe.run.__doc__ or '').strip()}): {str(after)[:300]}")


def test_every_probe_is_of_a_declared_setting():
    declared = {(name, field.name) for name, field in DECLARED}
    probed = {(name, key) for name, section in PROBES.items() for key in section}
    assert probed <= declared, sorted(probed - declared)


def test_informational_settings_are_few_and_each_says_why():
    informational = {f"{name}.{field.name}": declaration(field).informational
                     for name, field in DECLARED if declaration(field).informational}
    assert len(informational) <= len(DECLARED) // 20, sorted(informational)
    for name, why in informational.items():
        assert len(why.split()) >= 5, f"{name}: say why no output depends on it"


# ------------------------------------------------------------------ flags

def _other_value(section, field):
    """A valid value of the setting other than its default."""
    declared, default = declaration(field), getattr(section, field.name)
    if declared.parse is not None:
        return declared.parse({"URL": "redact"})   # pii.entities, the one parsed setting
    if declared.choices and isinstance(default, tuple):   # several of the choices
        return tuple(choice for choice in declared.choices if choice not in default)[:1]
    if declared.choices:
        return next(choice for choice in declared.choices if choice != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, tuple):
        return ("other",)
    if isinstance(default, int):
        return default + 1 if declared.high is None or default < declared.high else default - 1
    if isinstance(default, float):
        return (default + declared.high) / 2 if declared.high is not None else default + 1
    return f"{default}-other" if default else "other"


def _flag_args(section, field, value) -> list:
    declared = declaration(field)
    if isinstance(value, bool):
        return [declared.flag if value else "--no-" + declared.flag[2:]]
    if declared.flag_type is not None:   # ENTITY=ACTION, one flag per change
        changed = set(value) - set(getattr(section, field.name))
        return [arg for entity, action in sorted(changed)
                for arg in (declared.flag, f"{entity}={action}")]
    if isinstance(value, tuple):
        return [declared.flag, *value]
    return [declared.flag, str(value)]


@pytest.mark.parametrize("section_name, field", [
    pytest.param(name, field, id=declaration(field).flag)
    for name, field in DECLARED if declaration(field).flag])
def test_every_flag_reaches_its_setting(section_name, field):
    section = getattr(Policy(), section_name)
    value = _other_value(section, field)
    options = HygieneOptions(_flag_args(section, field, value))
    policy = load_policy(overrides=options.policy_overrides())
    assert getattr(getattr(policy, section_name), field.name) == value
