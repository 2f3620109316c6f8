"""Property-based fuzzing of every input parser (issue 23 item 7).

Property: whatever the bytes, a parser yields Records (a bad one with a reason) and never
raises; every Record can be written (its strings are UTF-8, its metadata strict JSON);
and records are conserved where the format says how many there are (one per non-blank
JSONL line). Inputs are valid files mutated (bytes flipped, cut, spliced) and raw bytes.

CI runs a bounded, derandomized number of examples per parser; more with
HYGIENE_FUZZ_EXAMPLES=N (``make fuzz``). What they found, all fixed: JSON nested ~1000 deep
in a line or a KEY.json (RecursionError took the rest of the file), lone surrogates in a
text (the job crashed writing it), a captions CSV cell over csv's field limit (the job
crashed), a decisions file that is not UTF-8 (a crash, not a usage error).
"""

import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.validate import validate
from pipeline.review import ReviewError, read_decisions
from schemas.records import Kind, Record, make_record
from schemas.settings import InputSettings
from tests.builders import encode, picture, tar_bytes
from transforms.io.sources.common import Stats
from transforms.io.sources.image_folder import CaptionRow, caption_file_rows
from transforms.io.sources.jsonl import parse_jsonl
from transforms.io.sources.parquet_rows import parse_parquet
from transforms.io.sources.webdataset import _Sample, parse_webdataset

EXAMPLES = int(os.environ.get("HYGIENE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=EXAMPLES <= 200, deadline=None,
                database=None, suppress_health_check=list(HealthCheck))
FIELDS = InputSettings(max_image_pixels=1_000_000)


def mutated(seed: bytes):
    """``seed`` with a few edits: bytes replaced, a cut, a splice, or raw bytes."""
    edit = st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]),
                     st.integers(0, max(len(seed) - 1, 0)), st.binary(min_size=1, max_size=8))

    def apply(edits):
        data = bytearray(seed)
        for op, at, chunk in edits:
            at = min(at, len(data))
            if op == "flip":
                data[at:at + len(chunk)] = chunk
            elif op == "cut":
                del data[at:]
            elif op == "insert":
                data[at:at] = chunk
            else:
                del data[at:at + len(chunk)]
        return bytes(data)

    return st.one_of(st.lists(edit, min_size=1, max_size=6).map(apply),
                     st.binary(max_size=len(seed) + 64))


def writable(record: Record) -> None:
    """What the output writers need: UTF-8 strings, strict-JSON metadata."""
    assert isinstance(record, Record), type(record)
    for name, value in record._asdict().items():
        if isinstance(value, str):
            value.encode("utf-8")   # a lone surrogate raises here, as Beam's row coder does
    json.loads(record.metadata)
    assert record.defect is None or record.defect_detail


# ---------------------------------------------------------------- JSONL lines

JSON_PIECES = st.sampled_from([
    b'{"id": "a", "text": "fine"}', b'"\\ud800"', b'"\\udc80 x"', b"NaN", b"1e999",
    b"-Infinity", b"[" * 3000, b"]", b"{", b"}", b'"text"', b":", b",", b"\xef\xbb\xbf",
    b"\xff", b"\x00", b"\r", b'"\\u0000"', b"1" * 5000, b'{"text": ', b'{"id": ', b"null",
    b'"caf\xc3\xa9"', b"true"])
JSON_LINES = st.lists(st.one_of(st.lists(JSON_PIECES, max_size=6).map(b"".join),
                                st.binary(max_size=40)), max_size=8)


def _jsonl(lines):
    blobs = [line.replace(b"\n", b" ") + b"\n" for line in lines]
    records = list(parse_jsonl(iter(blobs), "fuzz.jsonl", FIELDS, Stats()))
    for record in records:
        writable(record)
    assert len(records) == sum(1 for b in blobs if b.strip()), "one record per non-blank line"


@FUZZ
@given(JSON_LINES)
def test_jsonl_lines_become_writable_records(lines):
    _jsonl(lines)


@pytest.mark.parametrize("line", [
    pytest.param(b'{"id": "a", "text": "x \\ud800 y"}', id="surrogate-text"),
    pytest.param(b'{"id": "a\\udc80", "text": "x"}', id="surrogate-id"),
    pytest.param(b'{"text": "x", "m": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="deep-nesting"),
    pytest.param(b"\xef\xbb\xbf" + b'{"text": "bom"}', id="bom"),
    pytest.param(b'{"text": "x", "n": 1' + b"0" * 5000 + b"}", id="huge-int"),
    pytest.param(b'{"text": "x", "n": NaN}', id="nan"),
])
def test_jsonl_examples_fuzzing_found(line):
    """The cases the property above shrinks to, one by one."""
    _jsonl([line])


# ---------------------------------------------------------------- captions CSV

CSV_SEED = (b"file_name,caption,extra\r\na.png,\"a caption, quoted\",1\r\n"
            b"b.png,\"two\nlines\",2\r\nc.png,plain,3\r\n")


@FUZZ
@given(mutated(CSV_SEED))
def test_captions_csv_rows_never_raise(data):
    _captions(data, "folder/captions.csv")


@FUZZ
@given(mutated(b'{"file_name": "a.png", "caption": "x"}\n{"file_name": "b.png"}\n'))
def test_captions_jsonl_rows_never_raise(data):
    _captions(data, "folder/captions.jsonl")


def _captions(data, source):
    for item in caption_file_rows(io.BytesIO(data), source, FIELDS, Stats()):
        if isinstance(item, CaptionRow):
            json.loads(item.metadata)
            if item.caption is not None:
                item.caption.encode("utf-8")
            item.relpath.encode("utf-8")
        else:
            writable(item)


def test_captions_csv_cell_over_the_csv_field_limit():
    """What the CSV property finds: csv.Error ends the generator; read.guarded then fails
    on the CaptionRow it last saw (no .location), so the whole job crashes."""
    data = b"file_name,caption\na.png," + b"z" * 200_000 + b"\nb.png,ok\n"
    _captions(data, "folder/captions.csv")


# ---------------------------------------------------------------- WebDataset

PNG = encode(picture(1, (8, 6)))
TAR_SEED = tar_bytes([("k0.png", PNG), ("k0.txt", b"a caption"), ("k0.json", b'{"u": 1}'),
                      ("k1.png", PNG[:40]), ("k1.txt", b"cut")])


def _webdataset(data):
    records = list(parse_webdataset(io.BytesIO(data), "fuzz.tar", FIELDS, Stats()))
    for record in records:
        writable(record)
    return records


@FUZZ
@given(mutated(TAR_SEED))
def test_tar_members_never_raise(data):
    _webdataset(data)


KEY_JSON = st.one_of(st.lists(JSON_PIECES, max_size=6).map(b"".join), st.binary(max_size=60),
                     st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                                  lambda inner: st.lists(inner, max_size=3)
                                  | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                                  max_leaves=10).map(lambda v: json.dumps(v).encode()))


@FUZZ
@given(KEY_JSON, st.binary(max_size=20))
def test_key_json_and_caption_become_one_writable_record(key_json, caption):
    sample = _Sample("k0", 0)
    sample.members.update(png=PNG, json=key_json, txt=caption)
    writable(sample.record("fuzz.tar", FIELDS))


# ---------------------------------------------------------------- Parquet

def _parquet_seed(image: bool) -> bytes:
    columns = {"key": ["r0", "r1", None], "caption": ["one", None, "three"],
               "text": ["a text", "", None], "n": [1.5, float("nan"), None]}
    if image:
        columns["jpg"] = pa.array([PNG, None, b"junk"], pa.binary())
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer, row_group_size=2)
    return buffer.getvalue()


@pytest.mark.parametrize("image", [False, True], ids=["text", "image"])
def test_parquet_never_raises(image):
    @FUZZ
    @given(mutated(_parquet_seed(image)))
    def check(data):
        for record in parse_parquet(io.BytesIO(data), "fuzz.parquet", FIELDS, Stats()):
            writable(record)
    check()


# ---------------------------------------------------------------- decisions file

DECISIONS_SEED = (b"scope,id,decision,reviewer,note,reviewed_at\n"
                  b"record,00012345,reject,ann,,2026-11-23T09:30:00Z\n"
                  b"cluster,c-1,release,bob,\"a, note\",\n")


@FUZZ
@given(mutated(DECISIONS_SEED))
def test_decisions_file_is_read_or_refused_as_a_usage_error(tmp_path_factory, data):
    """A bad decisions file is a ReviewError (launch turns it into exit 2), never a crash."""
    path = tmp_path_factory.mktemp("decisions") / "decisions.csv"
    path.write_bytes(data)
    try:
        read_decisions([str(path)])
    except ReviewError:
        pass


# ---------------------------------------------------------------- images

IMAGE_SEEDS = [PNG, encode(picture(2, (8, 6)), "JPEG"), encode(picture(3, (8, 6)), "WEBP"),
               encode(picture(4, (8, 6)), "GIF"), encode(picture(5, (8, 6)), "TIFF"),
               encode(picture(6, (8, 6)), "BMP")]


@pytest.mark.parametrize("seed", range(len(IMAGE_SEEDS)),
                         ids=["png", "jpeg", "webp", "gif", "tiff", "bmp"])
def test_image_validator_gives_a_reason_never_an_exception(seed):
    """validate() names the defect (undecodable, truncated, bomb...); an exception here
    would make the record a detector_error instead (transforms/io/validate.py)."""
    @FUZZ
    @given(mutated(IMAGE_SEEDS[seed]))
    def check(data):
        record = make_record(uid="u", id="i", kind=Kind.IMAGE_TEXT, source="fuzz", position=0,
                             location="file", image=data, caption="a caption")
        checked, _ = validate(record, FIELDS)
        writable(checked)
        assert checked.defect is not None or checked.width
    check()
