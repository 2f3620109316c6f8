"""What the tests build, in one place: pictures and their encoded bytes, tar shards and JSONL
files, records and their fingerprints, and one stage run alone on a small PCollection.

Plain functions (``from tests.builders import ...``); tests/conftest.py holds the fixtures.
"""

import gzip
import io
import itertools
import json
import pathlib
import random
import tarfile
from typing import Dict, List, Optional, Sequence

import apache_beam as beam
import numpy as np
from apache_beam.metrics.metric import MetricsFilter
from PIL import Image, ImageEnhance

from schemas.records import Fingerprint, Record, make_record
from schemas.settings import InputSettings, NearImageSettings, NearTextSettings

DATA = pathlib.Path(__file__).parent / "data"
HOPPER = (DATA / "grace_hopper.jpg").read_bytes()   # one face (dlib's HOG finds it)
TINY_CLIP = str(DATA / "tiny-clip.json")            # an open_clip config for random weights


# ---------------------------------------------------------------- pictures

def picture(seed: int = 0, size=(64, 48)) -> Image.Image:
    """Random RGB noise: every seed a different picture, nothing shared between seeds."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def photo(seed: int, size=(320, 240)) -> Image.Image:
    """A picture with structure at every scale (smoothed noise), as a photo has: its
    perceptual hash survives resizing and re-encoding."""
    rng = np.random.RandomState(seed)
    small = rng.rand(6, 8, 3)
    image = Image.fromarray((small * 255).astype("uint8")).resize(size, Image.BICUBIC)
    noise = (rng.rand(size[1], size[0], 3) * 40).astype("int16")
    return Image.fromarray(np.clip(np.asarray(image, "int16") + noise - 20, 0, 255).astype("uint8"))


def sample(name: str) -> Image.Image:
    """One of scikit-image's sample photos ("astronaut", "coffee", ...), as RGB."""
    from skimage import data
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def astronaut_variants() -> Dict[str, Image.Image]:
    """Edits of one photo of one person (NASA's, public domain)."""
    a = sample("astronaut")
    return {
        "crop": a.crop((60, 0, 400, 340)),
        "mirror": a.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "dark": ImageEnhance.Brightness(a).enhance(0.6),
        "grey": a.convert("L").convert("RGB"),
        "turned": a.rotate(8, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0)),
        "large": a.resize((700, 700), Image.Resampling.LANCZOS),
        "rough": a,   # meant for JPEG quality 25
    }


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """The image in ``fmt``; a JPEG at quality 90 unless ``options`` say otherwise."""
    if fmt.upper() in ("JPEG", "JPG"):
        options = {"quality": 90, **options}
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png(seed: int = 0, size=(8, 6)) -> bytes:
    """A small PNG of noise."""
    return encode(picture(seed, size))


def jpeg(image: Image.Image, **options) -> bytes:
    return encode(image, "JPEG", **options)


# ---------------------------------------------------------------- texts

WORDS = [f"w{i}" for i in range(5000)]


def document(rng: random.Random, length: int = 200) -> str:
    """Random words: two documents share next to no 5-word shingle."""
    return " ".join(rng.choice(WORDS) for _ in range(length))


def edit(rng: random.Random, text: str, changes: int) -> str:
    """``text`` with ``changes`` words replaced (each costs up to 5 of its shingles)."""
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


# ---------------------------------------------------------------- files

def tar_bytes(members, compress: bool = False) -> bytes:
    """members: (name, data) for regular files, or (name, TarInfo type, linkname)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            info = tarfile.TarInfo(member[0])
            if len(member) == 2:
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
            else:
                info.type, info.linkname = member[1], member[2]
                tar.addfile(info)
    data = buffer.getvalue()
    return gzip.compress(data) if compress else data


def write_tar(path: pathlib.Path, members) -> pathlib.Path:
    """A WebDataset shard: members (name, data), e.g. ("k1.jpg", ...), ("k1.txt", ...)."""
    path.write_bytes(tar_bytes(members))
    return path


def write_jsonl(path: pathlib.Path, rows) -> pathlib.Path:
    """rows: dicts, or (id, text) pairs for {"id": ..., "text": ...} lines."""
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            if not isinstance(row, dict):
                row = {"id": row[0], "text": row[1]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------- records and fingerprints

def text_record(i: int, text: Optional[str], *, id: Optional[str] = None,
                source: str = "docs.jsonl", position: Optional[int] = None, **fields) -> Record:
    """Record ``i`` of a JSONL file: uid u<i>, public id r<i> and position i unless given."""
    position = i if position is None else position
    return make_record(uid=f"u{i:04d}", id=f"r{i}" if id is None else id, kind="text",
                       source=source, position=position, location=f"line {position + 1}",
                       text=text, **fields)


def image_record(i: int, image: Optional[bytes], caption: Optional[str] = "a picture", *,
                 id: Optional[str] = None, source: str = "shard.tar",
                 position: Optional[int] = None, **fields) -> Record:
    """Record ``i`` of a shard: uid u<i>, public id r<i> and position i unless given."""
    record_id = f"r{i}" if id is None else id
    return make_record(uid=f"u{i:04d}", id=record_id, kind="image_text", source=source,
                       position=i if position is None else position,
                       location=f"key {record_id!r}", image=image, caption=caption, **fields)


def fingerprint(i: int, *, id: Optional[str] = None, kind: str = "text",
                source: str = "s", position: Optional[int] = None, **keys) -> Fingerprint:
    """A fingerprint with the keys given (text_key, pixel_key, bytes_key, minhash, shingles,
    phash) and no others."""
    fields = dict(text_key=None, pixel_key=None, bytes_key=None, minhash=None, shingles=None,
                  phash=None)
    fields.update(keys)
    return Fingerprint(uid=f"u{i:04d}", id=f"r{i}" if id is None else id, kind=kind,
                       source=source, position=i if position is None else position, **fields)


def checked(records: Sequence[Record], limits: InputSettings = InputSettings(),
            near_text: NearTextSettings = NearTextSettings(),
            near_images: NearImageSettings = NearImageSettings()):
    """(checked records, their fingerprints) as the validate stage makes them (its DoFn on
    one batch, without Beam): keys, MinHash signatures and pHashes included."""
    from transforms.io.validate import ValidateBatch
    out = list(ValidateBatch(limits, near_text, near_images).process(list(records)))
    return ([o for o in out if isinstance(o, Record)],
            [o.value for o in out if isinstance(o, beam.pvalue.TaggedOutput)])


def node(fp: Fingerprint):
    """The node the graph's stages name a record by (built from its fingerprint)."""
    from transforms.common.nodes import node_of
    return node_of(fp)


def nodes_of(records: Sequence[Record]):
    """(uid, node) of each record, as the graph's Nodes step hands them to the record-level
    stages (built from the fingerprint the record would have)."""
    return [(r.uid, node(fingerprint(int(r.uid[1:]), id=r.id, kind=r.kind, source=r.source,
                                     position=r.position))) for r in records]


def record_nodes(count: int, source: str = "s"):
    """(uid, node) of image records 0 .. count-1 of ``source`` (uid u0000, id r0, ...), as
    the graph's Nodes step hands them to the record-level stages."""
    return [(fp.uid, node(fp)) for fp in (fingerprint(i, kind="image_text", source=source)
                                          for i in range(count))]


# ---------------------------------------------------------------- one stage alone

_COLLECTED: Dict[str, list] = {}   # the DirectRunner runs in this process: outputs land here
_RUNS = itertools.count()


def _collect(element, key):
    _COLLECTED[key].append(element)


class Ran:
    """A stage's outputs (``.main``, or ``ran[tag]``) and its counters."""

    def __init__(self, outputs: Dict[Optional[str], list], result):
        self.outputs = outputs
        self.result = result

    @property
    def main(self) -> list:
        return self.outputs[None]

    def __getitem__(self, tag: str) -> list:
        return self.outputs[tag]

    def counters(self, namespace: str) -> dict:
        found = self.result.metrics().query(MetricsFilter().with_namespace(namespace))
        return {c.key.metric.name: c.committed for c in found["counters"]}


class SideBySide(beam.PTransform):
    """Several transforms over the same input, their (main) outputs by name: one pipeline
    (one start-up on the DirectRunner) for several settings of a stage."""

    def __init__(self, **transforms: beam.PTransform):
        super().__init__()
        self.transforms = transforms

    def expand(self, pcoll):
        outputs = {name: pcoll | name >> t for name, t in self.transforms.items()}
        return {name: next(iter(out)) if isinstance(out, beam.pvalue.DoOutputsTuple) else out
                for name, out in outputs.items()}


def run_stage(transform: beam.PTransform, *inputs: List, tags: Sequence[str] = ()) -> Ran:
    """Run ``transform`` on the DirectRunner over PCollections made from ``inputs`` (one list:
    one PCollection; several: a tuple of them, as Decide and LayoutTemplates take), and
    collect its output: the main PCollection, or each of ``tags`` of a tagged output (or of
    a SideBySide)."""
    pipeline = beam.Pipeline("DirectRunner")
    made = [pipeline | f"Input{i}" >> beam.Create(list(items))
            for i, items in enumerate(inputs)]
    out = (made[0] if len(made) == 1 else tuple(made)) | "Stage" >> transform
    run = next(_RUNS)
    keys = {}
    for tag in tags or (None,):
        keys[tag] = f"{run}/{tag}"
        _COLLECTED[keys[tag]] = []
        (out if tag is None else out[tag]) | f"Collect{tag or ''}" >> beam.Map(
            _collect, keys[tag])
    result = pipeline.run()
    result.wait_until_finish()
    return Ran({tag: _COLLECTED.pop(key) for tag, key in keys.items()}, result)


def evidence(verdict) -> dict:
    return json.loads(verdict.evidence)


def union_find_labels(edges) -> dict:
    """node -> the smallest node of its component: the reference for distributed clustering."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: find(node) for node in parent}
