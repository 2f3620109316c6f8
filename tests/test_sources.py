"""Beam-free parsers in transforms/io/sources: one Record per line, row or sample, or a counted skip.

Every input is built in memory (PIL, pyarrow, tarfile, gzip); no Beam pipeline runs here.
"""

import collections
import datetime
import io
import json
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from detectors.hashing import content_id, record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record
from detectors.strings import utf8_clean
from detectors.validate import validate
from transforms.io.sources.common import defect, file_defect, public_id, to_metadata
from transforms.io.sources.image_folder import (CaptionRow, caption_file_rows, join_image,
                                             normalize_relpath)
from transforms.io.sources.jsonl import parse_jsonl
from transforms.io.sources.parquet_rows import BATCH_ROWS, image_column, parse_parquet
from transforms.io.sources.webdataset import parse_webdataset, split_member_name
from schemas.settings import InputSettings
from tests.builders import png, tar_bytes

FIELDS = InputSettings()


# ---------------------------------------------------------------- helpers

def jsonl(lines, source="corpus.jsonl", fields=FIELDS):
    stats = collections.Counter()
    return list(parse_jsonl(lines, source, fields, stats)), stats


def parquet_bytes(table: pa.Table, **kwargs) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **kwargs)
    return buffer.getvalue()


def parquet(data: bytes, source="part.parquet", fields=FIELDS):
    stats = collections.Counter()
    return list(parse_parquet(io.BytesIO(data), source, fields, stats)), stats


def wds(data: bytes, source="shard-000.tar", fields=FIELDS):
    stats = collections.Counter()
    return list(parse_webdataset(io.BytesIO(data), source, fields, stats)), stats


def member_offsets(data: bytes):
    """name -> (header offset, data offset) of each member of an uncompressed tar."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return {m.name: (m.offset, m.offset_data) for m in tar.getmembers()}


def captions(data: bytes, source: str, fields=FIELDS):
    stats = collections.Counter()
    return list(caption_file_rows(io.BytesIO(data), source, fields, stats)), stats


def defects(records):
    """(position, defect) in input order (a parser may yield a record before an earlier one)."""
    return sorted((r.position, r.defect) for r in records)


def assert_well_formed(records):
    """What every parser promises: Records, unique uids, defect values are Reasons."""
    assert all(isinstance(r, Record) for r in records)
    assert len({r.uid for r in records}) == len(records)
    for r in records:
        assert r.defect is None or Reason(r.defect)
        assert r.uid == record_uid(r.source, r.location)
        json.loads(r.metadata)


# ---------------------------------------------------------------- common

def test_public_id_uses_a_usable_key_else_a_content_hash():
    assert public_id("  doc-7 ") == "doc-7"
    assert public_id(0) == "0"  # a falsy but real key
    assert public_id(None, b"abc") == content_id(b"abc")
    assert public_id("   ", b"abc") == content_id(b"abc")
    assert public_id({"a": 1}, b"abc") == content_id(b"abc")
    assert public_id([1], b"abc") == content_id(b"abc")


def test_to_metadata_is_sorted_json_and_stringifies_bytes():
    encoded = to_metadata({"b": b"\x00\x01\x02", "a": "é", "c": datetime.date(2024, 1, 2)})
    assert encoded == '{"a": "é", "b": "<3 bytes>", "c": "2024-01-02"}'


def test_utf8_clean_detects_lone_surrogates():
    assert utf8_clean("plain é 日本")
    assert not utf8_clean("bad \ud800 here")
    assert not utf8_clean("\udcff")


def test_file_defect_stands_for_the_whole_file():
    record = file_defect(Kind.UNKNOWN, "gs://b/x.bin", Reason.UNREADABLE_FILE, "why")
    assert (record.kind, record.position, record.location) == ("unknown", 0, "file")
    assert record.defect == "unreadable_file" and record.defect_detail == "why"
    assert record.uid == record_uid("gs://b/x.bin", "file")
    assert record.id.startswith("c") and len(record.id) == 25


def test_defect_ids_differ_per_location_for_identical_raw_bytes():
    a = defect(Kind.TEXT, "f.jsonl", 1, "line 1", Reason.MALFORMED_JSON, "x", raw=b"{")
    b = defect(Kind.TEXT, "f.jsonl", 2, "line 2", Reason.MALFORMED_JSON, "x", raw=b"{")
    assert a.id != b.id and a.uid != b.uid


# ---------------------------------------------------------------- JSONL

def test_jsonl_good_line_keeps_id_text_and_other_fields_as_metadata():
    line = json.dumps({"id": "doc-1", "text": "Hello river", "lang": "en",
                       "score": 0.5, "tags": ["a"]}).encode() + b"\n"
    (record,), stats = jsonl([line])
    assert record.defect is None and record.defect_detail is None
    assert (record.id, record.kind, record.text) == ("doc-1", "text", "Hello river")
    assert (record.source, record.position, record.location) == ("corpus.jsonl", 1, "line 1")
    assert record.uid == record_uid("corpus.jsonl", "line 1")
    assert json.loads(record.metadata) == {"lang": "en", "score": 0.5, "tags": ["a"]}
    assert record.raw is None and record.image is None and record.caption is None
    assert stats["blank_lines"] == 0


def test_jsonl_missing_id_gets_a_content_id_of_the_text():
    (record,), _ = jsonl([b'{"text": "no id here"}\n'])
    assert record.defect is None
    assert record.id == content_id("no id here".encode("utf-8"))
    assert record.id.startswith("c") and len(record.id) == 1 + 24
    # A numeric id is used as it is, as a string.
    (numbered,), _ = jsonl([b'{"id": 42, "text": "x"}'])
    assert numbered.id == "42"


def test_jsonl_custom_field_names():
    fields = InputSettings(text_field="body", id_field="uid")
    (record,), _ = jsonl([b'{"uid": "u1", "body": "b", "text": "kept as metadata"}'],
                         fields=fields)
    assert (record.id, record.text) == ("u1", "b")
    assert json.loads(record.metadata) == {"text": "kept as metadata"}


@pytest.mark.parametrize("line, reason, detail_part", [
    (b'{"id": "x", "text": "unterminated}', Reason.MALFORMED_JSON, "Unterminated string"),
    (b'["a", "list"]', Reason.MALFORMED_JSON, "list"),
    (b'42', Reason.MALFORMED_JSON, "int"),
    (b'"just a string"', Reason.MALFORMED_JSON, "str"),
    (b'{"id": "x", "text": "caf\xe9"}', Reason.INVALID_UTF8, "byte 24"),
    (b'{"id": "x"}', Reason.MISSING_TEXT, "NoneType"),
    (b'{"id": "x", "text": null}', Reason.MISSING_TEXT, "NoneType"),
    (b'{"id": "x", "text": 5}', Reason.MISSING_TEXT, "int"),
    (b'{"id": "x", "text": ["a"]}', Reason.MISSING_TEXT, "list"),
])
def test_jsonl_bad_line_is_one_defect_record_with_its_raw_bytes(line, reason, detail_part):
    (record,), _ = jsonl([b'\n', line + b"\r\n"])
    assert record.defect == reason.value
    assert detail_part in record.defect_detail
    assert record.raw == line  # newline stripped, bytes untouched
    assert (record.position, record.location, record.kind) == (2, "line 2", "text")
    assert record.text is None


def test_jsonl_defect_keeps_the_source_id_when_it_was_parsed():
    (missing,), _ = jsonl([b'{"id": "k9", "text": 1}'])
    assert missing.id == "k9"
    (surrogate,), _ = jsonl([b'{"id": "k8", "text": "\\udfff"}'])
    assert surrogate.id == "k8"
    # Before the JSON is parsed there is no key: the id is a content hash.
    (broken,), _ = jsonl([b'{"id": "k7", '])
    assert broken.id.startswith("c") and broken.id != "k7"


def test_jsonl_every_line_is_one_record_or_a_counted_blank_line():
    lines = [
        b'{"id": "a", "text": "first"}\n',
        b"\n",
        b"   \t \r\n",
        b'{"id": "b", "text": "second"}\n',
        b"not json\n",
        b"\n",
        b'{"text": "last line without newline"}',
    ]
    records, stats = jsonl(lines)
    assert stats["blank_lines"] == 3
    assert len(records) + stats["blank_lines"] == len(lines)
    assert [(r.position, r.location) for r in records] == [
        (1, "line 1"), (4, "line 4"), (5, "line 5"), (7, "line 7")]
    assert defects(records) == [(1, None), (4, None), (5, "malformed_json"), (7, None)]
    assert records[3].text == "last line without newline"
    assert_well_formed(records)


def test_jsonl_text_keeps_inner_whitespace_and_crlf_is_not_part_of_it():
    (record,), _ = jsonl([b'{"text": "  two\\nlines  "}\r\n'])
    assert record.text == "  two\nlines  "


@pytest.mark.parametrize("line", [
    b'{"id": "a", "text": "ok", "note": "\\ud800"}',
    b'{"id": "\\udfff", "text": "ok"}',
])
def test_jsonl_lone_surrogate_outside_the_text_is_caught(line):
    (record,), _ = jsonl([line])
    assert record.defect == Reason.INVALID_UNICODE.value or (
        utf8_clean(record.id) and utf8_clean(record.metadata))


def test_jsonl_metadata_is_strict_json():
    (record,), _ = jsonl([b'{"text": "x", "score": NaN}'])

    def reject(constant):
        raise ValueError(constant)

    if record.defect is None:
        json.loads(record.metadata, parse_constant=reject)


# ---------------------------------------------------------------- Parquet

def test_parquet_text_rows():
    table = pa.table({
        "id": ["a", None, "c", "d"],
        "text": ["alpha", "beta", None, "delta"],
        "lang": ["en", "fr", "de", "it"],
    })
    records, _ = parquet(parquet_bytes(table))
    assert [r.kind for r in records] == ["text"] * 4
    assert [(r.position, r.location) for r in records] == [
        (0, "row 0"), (1, "row 1"), (2, "row 2"), (3, "row 3")]
    assert defects(records) == [(0, None), (1, None), (2, "missing_text"), (3, None)]
    assert records[0].id == "a" and records[0].text == "alpha"
    assert records[1].id == content_id(b"beta")
    assert records[2].id == "c"  # the defect keeps the row's key
    assert json.loads(records[3].metadata) == {"lang": "it"}
    assert json.loads(records[2].metadata) == {"lang": "de"}
    assert_well_formed(records)


def test_parquet_without_the_text_column_is_missing_text_on_every_row():
    records, _ = parquet(parquet_bytes(pa.table({"body": ["x", "y"]})))
    assert defects(records) == [(0, "missing_text"), (1, "missing_text")]
    assert all("'text'" in r.defect_detail for r in records)


def test_parquet_streams_more_rows_than_one_batch_in_order():
    n = BATCH_ROWS * 2 + 7
    table = pa.table({"id": [f"r{i}" for i in range(n)], "text": [f"t{i}" for i in range(n)]})
    records, _ = parquet(parquet_bytes(table, row_group_size=100))
    assert len(records) == n
    assert [r.position for r in records] == list(range(n))
    assert [r.id for r in records] == [f"r{i}" for i in range(n)]


def test_parquet_img2dataset_style_image_rows():
    image_a, image_b = png(1), png(2)
    table = pa.table({
        "key": ["000000001", "000000002", None],
        "caption": ["a red kite", None, "orphan"],
        "jpg": pa.array([image_a, image_b, None], pa.binary()),
        "width": [8, 8, None],
        "status": ["success", "success", "failed_to_download"],
    })
    records, _ = parquet(parquet_bytes(table), source="shard.parquet")
    assert [r.kind for r in records] == ["image_text"] * 3
    assert all(r.defect is None for r in records)  # content checks come later, in validate
    first, second, third = records
    assert (first.id, first.caption, first.image) == ("000000001", "a red kite", image_a)
    assert json.loads(first.metadata) == {"status": "success", "width": 8}
    assert (second.id, second.caption, second.image) == ("000000002", None, image_b)
    assert third.image is None
    assert third.id == content_id(b"", b"orphan")
    assert (third.position, third.location) == (2, "row 2")
    assert_well_formed(records)


def test_parquet_hugging_face_image_struct():
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    image = png(3)
    table = pa.table({
        "image": pa.array([{"bytes": image, "path": "imgs/a.png"},
                           {"bytes": None, "path": "imgs/b.png"}], struct),
        "caption": ["a cat", "no bytes"],
        "key": ["k1", "k2"],
    })
    records, _ = parquet(parquet_bytes(table))
    assert [(r.id, r.kind, r.caption) for r in records] == [
        ("k1", "image_text", "a cat"), ("k2", "image_text", "no bytes")]
    assert records[0].image == image and records[1].image is None
    assert json.loads(records[0].metadata) == {"image_path": "imgs/a.png"}
    assert json.loads(records[1].metadata) == {"image_path": "imgs/b.png"}


def test_parquet_non_string_caption_becomes_a_string():
    table = pa.table({"key": ["k"], "caption": [17], "png": pa.array([png()], pa.binary())})
    (record,), _ = parquet(parquet_bytes(table))
    assert record.caption == "17"


@pytest.mark.parametrize("names, fields, expected", [
    (["key", "caption", "jpg", "png"], FIELDS, "jpg"),
    (["key", "caption", "image"], FIELDS, "image"),
    (["id", "text"], FIELDS, None),
    (["id", "text", "pixels"], InputSettings(image_field="pixels"), "pixels"),
    (["id", "text", "jpg"], InputSettings(image_field="pixels"), None),
    (["id", "text", "url:image"], FIELDS, None),           # an image column of strings
    (["key", "caption", "url:jpg", "png"], FIELDS, "png"),
])
def test_parquet_kind_is_decided_by_the_schema(names, fields, expected):
    # "url:NAME": a string column NAME; every other candidate name holds bytes.
    schema = pa.schema([(n.split(":")[-1], pa.string() if n.startswith("url:") or n in (
        "key", "caption", "id", "text") else pa.binary()) for n in names])
    assert image_column(schema, fields) == expected


def test_parquet_explicit_image_field_overrides_the_candidates():
    table = pa.table({"key": ["k"], "caption": ["c"], "jpg": pa.array([b"thumb"], pa.binary()),
                      "full": pa.array([b"full size"], pa.binary())})
    (record,), _ = parquet(parquet_bytes(table), fields=InputSettings(image_field="full"))
    assert record.image == b"full size"
    assert json.loads(record.metadata) == {"jpg": "<5 bytes>"}


@pytest.mark.parametrize("data", [b"this is not parquet at all" * 10, b"PAR1" + b"\x00" * 64])
def test_parquet_unreadable_file_is_one_record(data):
    (record,), _ = parquet(data, source="bad.parquet")
    assert record.defect == Reason.UNREADABLE_FILE.value
    assert (record.kind, record.position, record.location) == ("unknown", 0, "file")
    assert record.defect_detail.startswith("not a Parquet file")


def test_parquet_cut_in_half_is_one_unreadable_record():
    table = pa.table({"id": [str(i) for i in range(200)], "text": ["words " * 10] * 200})
    data = parquet_bytes(table)
    (record,), _ = parquet(data[: len(data) // 2])
    assert record.defect == "unreadable_file" and record.source == "part.parquet"


def test_parquet_one_non_utf8_string_does_not_sink_the_good_rows():
    text = pa.array([b"good 0", b"good 1", b"bad \xff", b"good 3"], pa.binary()).view(pa.string())
    table = pa.table({"id": ["0", "1", "2", "3"], "text": text})
    records, _ = parquet(parquet_bytes(table, row_group_size=2))
    assert [r.id for r in records if r.defect is None] == ["0", "1", "3"]
    assert [(r.id, r.defect) for r in records if r.defect] == [("2", "invalid_utf8")]


# ---------------------------------------------------------------- WebDataset

def test_webdataset_groups_adjacent_members_by_key():
    image_a, image_b, image_c = png(1), png(2), png(3)
    data = tar_bytes([
        ("000001.jpg", image_a),
        ("000001.txt", "a kite over the sea".encode()),
        ("000001.json", json.dumps({"url": "http://x/a", "width": 8}).encode()),
        ("000002.png", image_b),
        ("000002.json", json.dumps({"url": "http://x/b", "caption": "from json"}).encode()),
        ("sub.dir/000003.webp", image_c),
        ("sub.dir/000003.json", json.dumps({"url": "http://x/c"}).encode()),
    ])
    records, stats = wds(data)
    assert [(r.id, r.position) for r in records] == [
        ("000001", 0), ("000002", 3), ("sub.dir/000003", 5)]
    assert all(r.kind == "image_text" and r.defect is None for r in records)
    a, b, c = records
    assert (a.image, a.caption) == (image_a, "a kite over the sea")
    assert json.loads(a.metadata) == {"url": "http://x/a", "width": 8}
    assert a.location == "key '000001' (member 0)"
    # No .txt: the caption comes from the json, and leaves the metadata.
    assert (b.image, b.caption) == (image_b, "from json")
    assert json.loads(b.metadata) == {"url": "http://x/b"}
    # Neither: no caption (validate makes it missing_caption).
    assert (c.image, c.caption) == (image_c, None)
    assert_well_formed(records)
    assert sum(stats.values()) == 0


def test_webdataset_txt_wins_over_json_caption_and_extras_are_listed():
    data = tar_bytes([
        ("k.jpg", png()),
        ("k.JPG", b"second jpg"),
        ("k.txt", b"from txt"),
        ("k.json", b'{"caption": "from json"}'),
        ("k.cls", b"3"),
    ])
    (duplicate, record), _ = wds(data)   # the second k.jpg is its own record, first out
    assert record.caption == "from txt"
    assert record.image == png()
    assert json.loads(record.metadata) == {"caption": "from json", "extra_members": ["cls"]}
    assert (duplicate.defect, duplicate.image, duplicate.position) == (
        "duplicate_member", b"second jpg", 1)


def test_webdataset_json_that_is_not_an_object_is_kept_under_json():
    (record,), _ = wds(tar_bytes([("k.jpg", png()), ("k.json", b"[1, 2]")]))
    assert record.defect is None
    assert json.loads(record.metadata) == {"json": [1, 2]}


def test_webdataset_sample_without_image_has_no_image():
    (record,), _ = wds(tar_bytes([("k.txt", b"caption only")]))
    assert record.image is None and record.caption == "caption only" and record.defect is None


def test_webdataset_repeated_key_later_in_the_tar_is_a_duplicate_member_record():
    data = tar_bytes([("a.jpg", png(1)), ("b.jpg", png(2)), ("a.txt", b"late caption")])
    records, _ = wds(data)
    assert [(r.position, r.defect or r.id) for r in records] == [
        (0, "a"), (1, "b"), (2, "duplicate_member")]
    assert records[2].id != "a" and records[2].raw == b"late caption"
    assert len({r.uid for r in records}) == 3


@pytest.mark.parametrize("name, why", [
    ("/abs/000009.jpg", "absolute"),
    ("../000009.jpg", "'..'"),
    ("dir/../000009.jpg", "'..'"),
    ("000009", "no extension"),
    (".000009.jpg", "hidden"),
    ("dir/.hidden.txt", "hidden"),
    ("bad\x01name.jpg", "control characters"),
    ("tab\tname.jpg", "control characters"),
    ("back\\slash.jpg", "backslash"),
    ("000009.", "empty extension"),
])
def test_webdataset_bad_member_name_is_its_own_record(name, why):
    data = tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"), (name, b"payload"),
                      ("b.jpg", png(2)), ("b.txt", b"cap b")])
    records, _ = wds(data)
    assert defects(records) == [(0, None), (2, "bad_member_name"), (3, None)]
    records.sort(key=lambda r: r.position)
    bad = records[1]
    assert why in bad.defect_detail
    assert bad.raw == b"payload"
    assert bad.location == f"member 2: {name!r}"
    assert bad.kind == "image_text"
    assert [r.caption for r in records if r.defect is None] == ["cap a", "cap b"]
    assert_well_formed(records)


def test_webdataset_member_name_that_is_not_utf8():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as tar:
        info = tarfile.TarInfo("caf\udce9.jpg")  # the raw byte 0xE9
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    (record,), _ = wds(buffer.getvalue())
    assert record.defect == "bad_member_name"
    assert "not UTF-8" in record.defect_detail


def test_webdataset_symlink_and_directory_members():
    data = tar_bytes([
        ("shard", tarfile.DIRTYPE, ""),
        ("shard/a.jpg", png(1)),
        ("shard/a.txt", b"cap"),
        ("shard/b.jpg", tarfile.SYMTYPE, "a.jpg"),
        ("shard/c.jpg", tarfile.LNKTYPE, "shard/a.jpg"),
    ])
    records, stats = wds(data)
    assert stats["tar_directories"] == 1
    assert defects(records) == [(1, None), (3, "bad_member_name"), (4, "bad_member_name")]
    records.sort(key=lambda r: r.position)
    assert records[0].id == "shard/a"
    assert "not a regular file" in records[1].defect_detail
    assert records[1].location == "member 3: 'shard/b.jpg'"


def test_webdataset_invalid_utf8_caption():
    image = png()
    data = tar_bytes([("k.jpg", image), ("k.txt", b"caf\xe9 au lait"), ("k.json", b"{}")])
    (record,), _ = wds(data)
    assert record.defect == "invalid_utf8"
    assert record.defect_detail == "k.txt byte 3"
    assert (record.id, record.raw, record.image) == ("k", b"caf\xe9 au lait", image)


@pytest.mark.parametrize("payload", [b'{"url": ', b'{"a": "caf\xe9"}'])
def test_webdataset_malformed_json_member(payload):
    image = png()
    (record,), _ = wds(tar_bytes([("k.jpg", image), ("k.txt", b"ok"), ("k.json", payload)]))
    assert record.defect == "malformed_json"
    assert record.defect_detail.startswith("k.json: ")
    assert (record.id, record.raw, record.image) == ("k", payload, image)


def _three_samples():
    big = bytes(range(256)) * 20  # 5120 bytes: ten data blocks
    members = [("a.jpg", png(1)), ("a.txt", b"cap a"), ("b.jpg", big), ("b.txt", b"cap b"),
               ("c.jpg", big), ("c.txt", b"cap c")]
    return tar_bytes(members)


def test_webdataset_intact_tar_gives_every_sample():
    data = _three_samples()
    records, _ = wds(data)
    assert [(r.id, r.defect) for r in records] == [("a", None), ("b", None), ("c", None)]


def test_webdataset_truncated_inside_a_member_gives_what_was_read_and_one_defect():
    data = _three_samples()
    _, c_data = member_offsets(data)["c.jpg"]
    records, _ = wds(data[: c_data + 100], source="cut.tar")
    assert [(r.id, r.defect) for r in records[:2]] == [("a", None), ("b", None)]
    assert records[1].caption == "cap b"
    assert len(records) == 3
    rest = records[2]
    assert rest.defect == "unreadable_file"
    assert (rest.source, rest.kind) == ("cut.tar", "image_text")
    assert "unexpected end of data" in rest.defect_detail
    assert rest.position > records[1].position


def test_webdataset_truncated_gzip_gives_what_was_read_and_one_defect():
    compressed = tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a")]
                           + [(f"k{i}.bin", np.random.default_rng(i).bytes(4000))
                              for i in range(6)], compress=True)
    records, _ = wds(compressed[: len(compressed) * 2 // 3], source="cut.tar.gz")
    assert records[0].id == "a" and records[0].defect is None
    assert records[-1].defect == "unreadable_file"
    assert sum(r.defect == "unreadable_file" for r in records) == 1


@pytest.mark.parametrize("data", [b"definitely not a tar archive" * 40, b""])
def test_webdataset_not_a_tar_is_one_unreadable_record(data):
    (record,), _ = wds(data)
    assert record.defect == "unreadable_file"
    assert (record.position, record.location) == (0, "members 0-")


@pytest.mark.parametrize("damage", ["cut at member boundary", "cut inside header",
                                    "corrupt header"])
def test_webdataset_damage_at_a_header_is_not_silent(damage):
    data = _three_samples()
    header, _ = member_offsets(data)["b.jpg"]
    if damage == "cut at member boundary":
        data = data[:header]
    elif damage == "cut inside header":
        data = data[: header + 100]
    else:
        data = data[:header] + b"\xff" * 512 + data[header + 512:]
    records, _ = wds(data)
    assert records[0].id == "a"
    assert [r.defect for r in records].count("unreadable_file") == 1


def test_webdataset_truncation_record_covers_the_member_being_read():
    data = _three_samples()
    _, b_data = member_offsets(data)["b.jpg"]  # b.jpg is member 2
    records, _ = wds(data[: b_data + 100])
    assert [r.id for r in records[:-1]] == ["a"]
    assert (records[-1].position, records[-1].location) == (2, "members 2-")


@pytest.mark.parametrize("name, expected", [
    ("000001.jpg", ("000001", "jpg")),
    ("000001.JPG", ("000001", "jpg")),
    ("dir/000001.seg.png", ("dir/000001", "seg.png")),
    ("d.v1/k.txt", ("d.v1/k", "txt")),
    ("a/b/c.json", ("a/b/c", "json")),
])
def test_split_member_name_good(name, expected):
    assert split_member_name(name) == (expected, None)


@pytest.mark.parametrize("name, why", [
    ("", "empty name"),
    ("/x.jpg", "absolute path or backslash"),
    ("a\\x.jpg", "absolute path or backslash"),
    ("../x.jpg", "'.' or '..' path component"),
    ("a/./x.jpg", "'.' or '..' path component"),
    ("x", "no extension"),
    ("dir/x", "no extension"),
    (".x.jpg", "hidden file or empty base name"),
    ("dir/", "hidden file or empty base name"),
    ("x.", "empty extension"),
    ("x\x7f.jpg", "control characters or bytes that are not UTF-8"),
    ("x\n.jpg", "control characters or bytes that are not UTF-8"),
    ("x\udcff.jpg", "control characters or bytes that are not UTF-8"),
])
def test_split_member_name_bad(name, why):
    assert split_member_name(name) == (None, why)


def test_webdataset_json_caption_with_lone_surrogate_is_invalid_unicode():
    (record,), _ = wds(tar_bytes([("k.jpg", png()), ("k.json", b'{"caption": "x \\ud800"}')]))
    checked, _ = validate(record, InputSettings())
    assert checked.defect == record.defect == "invalid_unicode"


# ---------------------------------------------------------------- image folder: captions file

CSV_WITH_EVERYTHING = (
    "\ufefffile_name,caption,license\r\n"          # 1: header behind a BOM
    "a.jpg,plain caption,cc0\r\n"                   # 2
    '"sub\\b.jpg","quoted, with comma",cc-by\r\n'   # 3
    "\r\n"                                          # 4: blank
    "./c.png,\"two\r\nlines\",cc0\r\n"              # 5-6
    ",no file named,cc0\r\n"                        # 7
).encode("utf-8") + b"d.jpg,caf\xe9,cc0\r\n" + b"e.jpg,last,x\r\n"  # 8, 9


def test_caption_csv_rows():
    items, _ = captions(CSV_WITH_EVERYTHING, "folder/captions.csv")
    rows = [i for i in items if isinstance(i, CaptionRow)]
    bad = [i for i in items if isinstance(i, Record)]
    assert [(r.relpath, r.caption) for r in rows] == [
        ("a.jpg", "plain caption"),
        ("sub/b.jpg", "quoted, with comma"),
        ("c.png", "two\r\nlines"),
        ("e.jpg", "last"),
    ]
    assert json.loads(rows[0].metadata) == {"license": "cc0"}  # the BOM is not in the name
    assert all(r.source == "folder/captions.csv" for r in rows)
    assert [r.position for r in rows][:2] == [2, 3]
    assert rows[-1].position == 9
    assert [(r.position, r.defect) for r in bad] == [(7, "missing_image"), (8, "invalid_utf8")]
    assert bad[0].caption == "no file named"
    assert bad[1].raw == b"d.jpg,caf\xe9,cc0"
    assert all(r.kind == "image_text" and r.location == f"line {r.position}" for r in bad)
    # Header, blank line and the continuation of line 5 are the only lines without an item.
    assert len(items) == 6


def test_caption_csv_multiline_row_is_located_at_its_first_line():
    data = b'file_name,caption\n"a.jpg","two\nlines"\nb.jpg,one\n'
    items, _ = captions(data, "captions.csv")
    assert [(i.relpath, i.position) for i in items] == [("a.jpg", 2), ("b.jpg", 4)]


def test_caption_jsonl_rows():
    data = b"\n".join([
        b'{"file_name": "a.jpg", "caption": "a", "license": "cc0"}',
        b'{"file": "b/c.png", "caption": "second field name"}',
        b'{"caption": "names no image"}',
        b'{"file_name": "d.jpg", "caption": 12}',
        b'not json',
        b'{"file_name": "e.jpg", "caption": "caf\xe9"}',
        b'["file_name", "f.jpg"]',
        b'{"file_name": "   ", "caption": "blank name"}',
    ]) + b"\n"
    items, _ = captions(data, "folder/captions.jsonl")
    assert [(type(i).__name__, i.position) for i in items] == [
        ("CaptionRow", 1), ("CaptionRow", 2), ("Record", 3), ("CaptionRow", 4),
        ("Record", 5), ("Record", 6), ("Record", 7), ("Record", 8)]
    a, c, missing, d, malformed, utf8, array, blank = items
    assert (a.relpath, a.caption, json.loads(a.metadata)) == ("a.jpg", "a", {"license": "cc0"})
    assert (c.relpath, c.caption) == ("b/c.png", "second field name")
    assert (missing.defect, missing.caption) == ("missing_image", "names no image")
    assert (d.relpath, d.caption) == ("d.jpg", None)  # a non-string caption is no caption
    assert malformed.defect == "malformed_json" and malformed.raw == b"not json"
    assert utf8.defect == "invalid_utf8"
    assert array.defect == "malformed_json"
    assert blank.defect == "missing_image"


def test_caption_custom_file_field():
    fields = InputSettings(file_field=("img",), caption_field="alt")
    (row,), _ = captions(b'{"img": "x.jpg", "alt": "alt text", "file_name": "y"}\n',
                         "captions.jsonl", fields)
    assert (row.relpath, row.caption, json.loads(row.metadata)) == (
        "x.jpg", "alt text", {"file_name": "y"})


@pytest.mark.parametrize("source, data", [
    ("captions.jsonl", b'{"file_name": "a.jpg", "caption": "a"}\n\n  \n'),
    ("captions.csv", b"file_name,caption\na.jpg,a\n\n\n"),
])
def test_caption_file_blank_lines_are_counted(source, data):
    items, stats = captions(data, source)
    assert len(items) == 1
    assert stats["blank_lines"] == 2


def test_caption_jsonl_lone_surrogate_is_invalid_unicode():
    (row,), _ = captions(b'{"file_name": "a.jpg", "caption": "x \\ud800"}\n', "captions.jsonl")
    (record,) = join_image("f", row.relpath, ["f/a.jpg"], [png()], [row])
    checked, _ = validate(record, InputSettings())
    assert checked.defect == record.defect == "invalid_unicode"


@pytest.mark.parametrize("name, expected", [
    ("a.jpg", "a.jpg"), ("./a.jpg", "a.jpg"), ("/a.jpg", "a.jpg"), (" sub\\a.jpg ", "sub/a.jpg"),
    ("sub//x/../a.jpg", "sub/a.jpg"),
])
def test_normalize_relpath(name, expected):
    assert normalize_relpath(name) == expected


# ---------------------------------------------------------------- image folder: join

def caption_row(relpath, position, caption="cap", source="f/captions.jsonl", metadata="{}"):
    return CaptionRow(relpath=relpath, source=source, position=position, caption=caption,
                      metadata=metadata)


def test_join_image_with_its_caption_row():
    image = png()
    row = caption_row("sub/a.jpg", 3, "a caption", metadata='{"license": "cc0"}')
    (record,) = join_image("f", "sub/a.jpg", ["f/sub/a.jpg"], [image], [row])
    assert (record.id, record.kind, record.defect) == ("sub/a", "image_text", None)
    assert (record.source, record.position, record.location) == ("f/sub/a.jpg", 0,
                                                                 "file sub/a.jpg")
    assert (record.image, record.caption, record.metadata) == (image, "a caption",
                                                               '{"license": "cc0"}')


def test_join_image_without_a_caption_row():
    (record,) = join_image("f", "a.png", ["f/a.png"], [png()], [])
    assert (record.id, record.caption, record.metadata, record.defect) == ("a", None, "{}", None)


def test_join_caption_row_without_image_is_missing_image():
    rows = [caption_row("gone.jpg", 5, "lost"), caption_row("gone.jpg", 2, "also lost")]
    records = list(join_image("f", "gone.jpg", [], [], rows))
    assert [(r.position, r.defect) for r in records] == [(2, "missing_image"),
                                                         (5, "missing_image")]
    assert all(r.source == "f/captions.jsonl" and r.image is None for r in records)
    assert [r.caption for r in records] == ["also lost", "lost"]
    assert records[0].location == "line 2"
    assert "'gone.jpg'" in records[0].defect_detail


def test_join_second_caption_row_is_duplicate_caption_row():
    image = png()
    rows = [caption_row("a.jpg", 9, "later"), caption_row("a.jpg", 4, "first")]
    records = list(join_image("f", "a.jpg", ["f/a.jpg"], [image], rows))
    assert [(r.position, r.defect) for r in records] == [(0, None), (9, "duplicate_caption_row")]
    kept, dup = records
    assert kept.caption == "first"  # the earliest row wins, whatever the input order
    assert (dup.caption, dup.image, dup.location) == ("later", None, "line 9")
    assert dup.id != kept.id  # the image keeps its id
    assert len({r.uid for r in records}) == 2


def test_join_one_record_per_input():
    """An image and its rows: one record each, never more, never fewer."""
    rows = [caption_row("a.jpg", p) for p in (1, 2, 3)]
    assert len(list(join_image("f", "a.jpg", ["f/a.jpg"], [png()], rows))) == 3
    assert len(list(join_image("f", "a.jpg", [], [], rows))) == 3
