"""Hostile input at the readers (issue 23, items 1, 2, 5 and an input matched twice): one bad
record costs one record, in bounded memory, and every record made can be encoded.

Each hostile file is built here, with good records around the bad one; the readers are
the real ones (transforms/io/sources, ParseFile), run without Beam but one job at the end.
"""

import bz2
import collections
import csv
import gzip
import io
import json
import lzma
import os
import random
import re
import subprocess
import sys
import tarfile
import textwrap

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from apache_beam.io.filesystem import FileMetadata

from detectors.strings import TooDeep, json_safe
from schemas.reasons import Reason
from schemas.records import Kind, Record
from schemas.settings import InputSettings
from tests.builders import png, tar_bytes, write_jsonl
from tests.jobs import ROOT, assert_conserved, run_job
from transforms.io.read import ParseFile, _JoinImage, guarded
from transforms.io.sources import compressed, image_folder
from transforms.io.sources.compressed import iter_lines
from transforms.io.sources.image_folder import CaptionRow, caption_file_rows
from transforms.io.sources.jsonl import parse_jsonl
from transforms.io.sources.parquet_rows import parse_parquet
from transforms.io.sources.webdataset import parse_webdataset

FIELDS = InputSettings()
CODER = beam.coders.registry.get_coder(Record)


def good(i: int) -> bytes:
    return json.dumps({"id": f"good-{i}", "text": f"an ordinary document number {i}"}).encode()


def encodable(records):
    """Every record survives Beam's row coder (a lone surrogate anywhere would raise)."""
    for record in records:
        assert CODER.decode(CODER.encode(record)) == record
    return records


def jsonl(data: bytes, source="corpus.jsonl", fields=FIELDS):
    """The JSON Lines reader as ParseFile runs it: an error in the file itself (a
    decompression cap) ends it with one record for the rest."""
    stats = collections.Counter()
    records = parse_jsonl(iter_lines(io.BytesIO(data), source, fields), source, fields, stats)
    return encodable(list(guarded(records, source, Kind.TEXT)))


def wds(data: bytes, source="shard.tar", fields=FIELDS):
    return encodable(list(parse_webdataset(io.BytesIO(data), source, fields,
                                           collections.Counter())))


def parquet(data: bytes, fields=FIELDS):
    return encodable(list(parse_parquet(io.BytesIO(data), "part.parquet", fields,
                                        collections.Counter())))


def outcome(records):
    """(position, id or defect) per record, in input order."""
    return sorted((r.position, r.defect or r.id) for r in records)


# ---------------------------------------------------------------- 1. Unicode

def test_lone_surrogate_in_a_jsonl_text_is_invalid_unicode_and_the_rest_flows():
    data = b"\n".join([good(1), b'{"id": "bad", "text": "a \\ud800 b"}', good(3)])
    records = jsonl(data)
    assert outcome(records) == [(1, "good-1"), (2, "invalid_unicode"), (3, "good-3")]
    assert records[1].id == "bad" and records[1].text == "a \\ud800 b"   # spelled out


def test_lone_surrogate_in_an_id_or_metadata_is_spelled_out_and_the_record_kept():
    data = b"\n".join([b'{"id": "k\\udfff", "text": "fine", "note": "x \\ud800"}', good(2)])
    first, second = jsonl(data)
    assert (first.defect, first.id, json.loads(first.metadata)) == (
        None, "k\\udfff", {"note": "x \\ud800"})
    assert second.id == "good-2"


def test_lone_surrogate_in_a_webdataset_json_caption_is_invalid_unicode():
    records = wds(tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"),
                             ("b.jpg", png(2)), ("b.json", b'{"caption": "x \\udc00"}'),
                             ("c.jpg", png(3)), ("c.txt", b"cap c")]))
    assert [(r.id, r.defect) for r in records] == [
        ("a", None), ("b", "invalid_unicode"), ("c", None)]


def test_a_file_name_that_is_not_utf8_is_read_and_its_records_encode(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.jsonl")
    with open(path, "wb") as f:
        f.write(good(1) + b"\n" + good(2) + b"\n")
    name = os.fsdecode(path)                  # '\udce9' in it, as the file system gives it
    parse = ParseFile(FIELDS)
    parse.setup()
    records = encodable(list(parse.process(FileMetadata(name, os.path.getsize(path)))))
    assert [(r.id, r.defect) for r in records] == [("good-1", None), ("good-2", None)]
    assert records[0].source.endswith("caf\\udce9.jsonl")


# ---------------------------------------------------------------- 2. byte caps

SMALL = InputSettings(max_record_bytes=4096, max_field_bytes=2048)


def test_a_jsonl_line_over_the_cap_is_oversized_and_its_neighbours_read():
    big = json.dumps({"id": "big", "text": "x" * 50_000}).encode()
    records = jsonl(b"\n".join([good(1), big, good(3)]) + b"\n", fields=SMALL)
    assert outcome(records) == [(1, "good-1"), (2, "oversized_record"), (3, "good-3")]
    held = records[1]
    assert f"{len(big) + 1:,} bytes" in held.defect_detail
    assert "input.max_record_bytes" in held.defect_detail
    assert held.raw is not None and len(held.raw) <= 256 and held.text is None


def test_split_lines_is_splitting_with_a_cap_whatever_the_chunks(monkeypatch):
    """Against bytes.split on 300 seeded random streams, chunk sizes and caps."""
    for trial in range(300):
        rnd = random.Random(trial)
        data = b"".join(rnd.choice([b"a", b"bb", b"\n", b"c" * 10, b"\n\n"])
                        for _ in range(rnd.randint(0, 400)))
        cap = rnd.randint(1, 30)
        monkeypatch.setattr(compressed, "CHUNK", rnd.randint(1, 50))
        monkeypatch.setattr(compressed, "SPILL", rnd.randint(1, 40))   # lines on disk too
        expected = [line for line in re.findall(b"[^\n]*\n|[^\n]+$", data)]
        expected = [("over", len(line)) if len(line) > cap else line for line in expected]
        got = [("over", line.size) if isinstance(line, compressed.Oversized) else line
               for line in compressed.split_lines(io.BytesIO(data).read, cap)]
        assert got == expected, (trial, data, cap)


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress,
                                      zstandard.ZstdCompressor().compress])
def test_a_decompression_bomb_keeps_the_records_before_and_is_one_record(compress):
    # Zeros compress far past the default ratio cap (1000): reading stops after 1 MiB.
    bomb = b'{"text": "' + b"0" * (8 << 20) + b'"}\n'
    data = compress(good(1) + b"\n" + good(2) + b"\n" + bomb + good(4) + b"\n")
    records = jsonl(data, source="corpus.jsonl.x")   # compression found from the content
    assert [r.id for r in records[:2]] == ["good-1", "good-2"]
    (rest,) = records[2:]
    assert rest.defect == "decompression_limit"
    assert "ratio cap of 1000" in rest.defect_detail and "the file itself" in rest.defect_detail


def test_gzip_output_is_bounded_by_the_total_cap():
    data = gzip.compress(good(1) + b"\n" + os.urandom(3 << 20).hex().encode() + b"\n")
    records = jsonl(data, source="corpus.jsonl.gz",
                    fields=InputSettings(max_decompressed_bytes=1 << 20))
    assert outcome(records) == [(1, "good-1"), (2, "decompression_limit")]
    assert "input.max_decompressed_bytes" in records[1].defect_detail


def sparse_member(name: str, real_size: int) -> bytes:
    """A GNU sparse member header (and its 512 stored bytes) whose file is ``real_size``
    bytes: one 512-byte data region at offset 0, the rest a hole."""
    info = tarfile.TarInfo(name)
    info.type, info.size = tarfile.GNUTYPE_SPARSE, 512
    header = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    header[386:398] = tarfile.itn(0, 12, tarfile.GNU_FORMAT)        # region offset
    header[398:410] = tarfile.itn(512, 12, tarfile.GNU_FORMAT)      # region size
    header[483:495] = tarfile.itn(real_size, 12, tarfile.GNU_FORMAT)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + b"\xff" * 512


def tar_with(before, raw_member: bytes, after) -> bytes:
    """A tar of ``before`` members, a hand-made member, and ``after`` members."""
    head = tar_bytes(before)
    with tarfile.open(fileobj=io.BytesIO(head)) as tar:   # cut at the end of its last member
        last = tar.getmembers()[-1]
    return head[:last.offset_data + -(-last.size // 512) * 512] + raw_member + tar_bytes(after)


def test_a_sparse_tar_member_declaring_gigabytes_is_oversized_and_not_read():
    data = tar_with([("a.jpg", png(1)), ("a.txt", b"cap a")], sparse_member("b.jpg", 5 << 30),
                    [("c.jpg", png(3)), ("c.txt", b"cap c")])
    records = wds(data)
    assert [(r.id, r.defect) for r in records] == [
        ("a", None), ("b", "oversized_record"), ("c", None)]
    assert "5,368,709,120 bytes" in records[1].defect_detail


def test_a_tar_header_declaring_more_than_the_cap_ends_the_archive_without_reading_it():
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 3 << 20
    pax = info.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * (3 << 20)
    data = tar_with([("a.jpg", png(1)), ("a.txt", b"cap a")], pax, [("c.jpg", png(3))])
    records = wds(gzip.compress(data), source="shard.tar.gz")
    assert [(r.id, r.defect) for r in records[:1]] == [("a", None)]
    (rest,) = records[1:]
    assert rest.defect == "unreadable_file" and rest.location == "members 2-"
    assert "header declares 3,145,728 bytes" in rest.defect_detail


def test_tar_members_and_sidecars_over_their_caps_make_their_sample_oversized():
    records = wds(tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"),
                             ("b.jpg", b"\xff" * 5000), ("b.txt", b"cap b"),
                             ("c.jpg", png(3)), ("c.json", b'{"caption": "' + b"c" * 3000 + b'"}'),
                             ("d.jpg", png(4)), ("d.txt", b"cap d")]), fields=SMALL)
    assert [(r.id, r.defect) for r in records] == [
        ("a", None), ("b", "oversized_record"), ("c", "oversized_record"), ("d", None)]
    assert "b.jpg is 5,000 bytes" in records[1].defect_detail
    assert "input.max_field_bytes" in records[2].defect_detail


def test_a_tar_gz_member_past_the_decompression_cap_keeps_what_was_read():
    data = tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"),
                      ("b.jpg", os.urandom(3 << 20)), ("c.jpg", png(3))], compress=True)
    records = wds(data, source="shard.tar.gz",
                  fields=InputSettings(max_decompressed_bytes=1 << 20))
    assert [(r.id, r.defect) for r in records[:1]] == [("a", None)]
    assert records[-1].defect == "decompression_limit" and len(records) == 2


def test_a_csv_cell_over_the_cap_is_one_oversized_row():
    data = ("file_name,caption\r\n" + "a.jpg,first\r\n" + "b.jpg," + "x" * 3000 + "\r\n"
            + "c.jpg,third\r\n").encode()
    rows = list(caption_file_rows(io.BytesIO(data), "captions.csv", SMALL, collections.Counter()))
    assert [getattr(r, "relpath", None) or r.defect for r in rows] == [
        "a.jpg", "oversized_record", "c.jpg"]


def csv_rows(data: bytes, fields=SMALL):
    return list(caption_file_rows(io.BytesIO(data), "captions.csv", fields,
                                  collections.Counter()))


def test_a_multi_line_csv_cell_over_the_cap_costs_its_row_only():
    cell = "\n".join(['a line of a long caption, "quoted" words'] * 200)   # 9 KB, 2 KB cap
    data = ('file_name,caption\na.jpg,one\nghost.png,"' + cell.replace('"', '""')
            + '"\nb.jpg,two\nc.jpg,"three\nlines"\n').encode()
    rows = csv_rows(data)
    assert [(r.position, getattr(r, "relpath", None) or r.defect) for r in rows] == [
        (2, "a.jpg"), (3, "oversized_record"), (203, "b.jpg"), (204, "c.jpg")]
    assert "a cell spanning lines" in rows[1].defect_detail
    assert rows[3].caption == "three\nlines"


def test_a_line_over_the_cap_inside_a_quoted_cell_costs_its_row_only():
    # Its quotes are counted while it streams past: the closing one ends the row.
    data = ('file_name,caption\na.jpg,"one\n' + "y" * 5000 + '" end\nb.jpg,"two ""x"""\n'
            'c.jpg,three\n').encode()
    rows = csv_rows(data)
    assert [(r.position, getattr(r, "relpath", None) or r.defect) for r in rows] == [
        (2, "oversized_record"), (4, "b.jpg"), (5, "c.jpg")]
    assert rows[1].caption == 'two "x"'


class _Generated(io.RawIOBase):
    """read() of a captions file made as it is read: its middle row is one quoted cell of
    ``lines`` lines of a KB, never in memory whole."""

    def __init__(self, lines: int):
        self.parts = iter([b'file_name,caption\na.jpg,one\nghost.png,"']
                          + [b"a line of a long cell " * 45 + b"\n"] * lines
                          + [b'"\nb.jpg,two\n'])
        self.pending = b""

    def read(self, size=-1):
        while len(self.pending) < size:
            part = next(self.parts, None)
            if part is None:
                break
            self.pending += part
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


def test_a_multi_line_csv_cell_is_streamed_past_not_held():
    import tracemalloc
    fields = InputSettings(max_record_bytes=1 << 20, max_field_bytes=1 << 16)
    tracemalloc.start()
    try:
        rows = list(caption_file_rows(_Generated(40_000), "captions.csv", fields,
                                      collections.Counter()))   # a 40 MB cell
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [getattr(r, "relpath", None) or r.defect for r in rows] == [
        "a.jpg", "oversized_record", "b.jpg"]
    assert peak < 8 << 20, f"peak {peak >> 20} MiB"


def test_csv_rows_end_where_the_csv_module_ends_them():
    """Rows split by quotes and commas only, as the csv module splits a whole file."""
    rng = random.Random(23)
    for _ in range(3000):
        text = "".join(rng.choice('"",,ab\n\n\r') for _ in range(rng.randrange(1, 40)))
        lines = io.StringIO(text, newline="").readlines()
        expected = list(csv.reader(lines))
        got = [next(csv.reader(row.lines), []) for row in image_folder._csv_records(
            image_folder._pieces(line.encode() for line in lines), 1 << 20, 1 << 20)]
        assert got == expected, repr(text)


def test_an_image_file_over_the_cap_is_oversized_and_keeps_its_caption(tmp_path):
    image = tmp_path / "big.png"
    image.write_bytes(png(1) + b"\0" * 5000)
    join = _JoinImage(f"{tmp_path}/", SMALL)
    join.setup()
    row = CaptionRow(relpath="big.png", source="captions.jsonl", position=1,
                     caption="a big one", metadata="{}")
    element = ("big.png", {"image": [FileMetadata(str(image), image.stat().st_size)],
                           "caption": [row]})
    (record,) = encodable(list(join.process(element)))
    assert (record.id, record.defect, record.caption, record.image) == (
        "big", "oversized_record", "a big one", None)


def test_csv_lines_may_end_in_a_bare_carriage_return():
    data = b'\xef\xbb\xbffile_name,caption\ra.jpg,one\rb.jpg,"two\rlines"\rc.jpg,three\r'
    rows = list(caption_file_rows(io.BytesIO(data), "captions.csv", FIELDS, collections.Counter()))
    assert [(r.relpath, r.caption, r.position) for r in rows] == [
        ("a.jpg", "one", 2), ("b.jpg", "two\rlines", 3), ("c.jpg", "three", 5)]


def parquet_bytes(table, **kwargs) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **kwargs)
    return buffer.getvalue()


def test_a_parquet_row_over_the_cap_is_oversized_and_the_others_read():
    table = pa.table({"id": ["a", "b", "c"], "text": ["first", "y" * 10_000, "third"]})
    records = parquet(parquet_bytes(table), fields=SMALL)
    assert outcome(records) == [(0, "a"), (1, "oversized_record"), (2, "c")]
    assert records[1].id == "b"   # its key is known without reading the row


def test_a_parquet_row_group_over_the_cap_is_one_record_not_read():
    table = pa.table({"id": [f"r{i}" for i in range(6)],
                      "text": ["short"] * 3 + ["z" * 3000] * 3})
    data = parquet_bytes(table, row_group_size=3, compression="none")
    records = parquet(data, fields=InputSettings(max_row_group_bytes=4096))
    assert outcome(records) == [(0, "r0"), (1, "r1"), (2, "r2"), (3, "oversized_record")]
    assert records[3].location == "rows 3-5" and "3 rows, one record" in records[3].defect_detail


def dictionary_bomb(rows: int, value_bytes: int) -> bytes:
    """One dictionary value repeated: a few KB stored, rows x value_bytes decoded."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()),
                                            pa.array(["v" * value_bytes]))
    table = pa.table({"id": [f"r{i}" for i in range(rows)], "text": column})
    return parquet_bytes(table, compression="zstd")


def nested_dictionary_bomb(rows: int, items: int, value_bytes: int) -> bytes:
    """One dictionary value repeated inside lists and a struct: a few KB stored, rows x
    (items + 1) x value_bytes decoded. Written without Arrow's schema, as Spark or DuckDB
    write, so nothing in the file asks for the values to be read as dictionaries."""
    def repeated(count, letter):
        return pa.DictionaryArray.from_arrays(pa.array([0] * count, pa.int32()),
                                              pa.array([letter * value_bytes]))
    tags = pa.ListArray.from_arrays(pa.array(range(0, rows * items + 1, items), pa.int32()),
                                    repeated(rows * items, "v"))
    table = pa.table({"id": [f"r{i}" for i in range(rows)], "text": ["t"] * rows, "tags": tags,
                      "s": pa.StructArray.from_arrays([repeated(rows, "w")], names=["f"])})
    return parquet_bytes(table, compression="zstd", store_schema=False)


def test_a_nested_parquet_dictionary_bomb_is_bounded_like_a_flat_one():
    data = nested_dictionary_bomb(200, 4, 10_000)   # 10 MB decoded from a few KB
    assert len(data) < 8000
    records = parquet(data, fields=InputSettings(max_record_bytes=32_000))
    # Each row (50 KB) is over the row cap: not converted, its key kept.
    assert outcome(records)[:3] == [(0, "oversized_record"), (1, "oversized_record"),
                                    (2, "oversized_record")]
    assert records[0].id == "r0"
    read = parquet(data, fields=InputSettings(max_record_bytes=1 << 20))
    *rows, rest = read
    assert rows and all(r.defect is None for r in rows)
    assert len(json.loads(rows[0].metadata)["tags"]) == 4
    assert rest.defect == "decompression_limit"


def test_a_parquet_codec_bomb_row_group_is_not_decompressed():
    """Zeros that zstd stores in a few KB: the footer says what the pages decompress to, so
    the row group is one decompression_limit record before Arrow decompresses it; the row
    group before it is read."""
    first = pa.table({"id": ["a", "b"], "text": ["one", "two"]})
    bomb = pa.table({"id": ["c", "h"], "text": ["three", "0" * (32 << 20)]})
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, first.schema, compression="zstd") as writer:
        writer.write_table(first)
        writer.write_table(bomb)
    records = parquet(buffer.getvalue())
    assert [(r.id, r.defect) for r in records[:2]] == [("a", None), ("b", None)]
    (rest,) = records[2:]
    assert rest.defect == "decompression_limit" and rest.location == "rows 2-"
    assert "row group 1's pages decompress to" in rest.defect_detail


def test_null_rows_of_a_dictionary_column_cost_nothing():
    """Nulls used to count as the dictionary's first value: good rows beside a dictionary
    of one big value passed the decompression cap and were lost."""
    column = pa.DictionaryArray.from_arrays(pa.array([None] * 200 + [0], pa.int32()),
                                            pa.array([random.Random(1).randbytes(1 << 19).hex()]))
    table = pa.table({"id": [f"g{i}" for i in range(201)], "text": ["t"] * 201,
                      "blob": column})
    records = parquet(parquet_bytes(table, compression="zstd"),
                      fields=InputSettings(max_decompressed_bytes=8 << 20))
    assert [r.defect for r in records] == [None] * 201


def test_a_parquet_dictionary_bomb_stops_at_the_ratio_cap():
    data = dictionary_bomb(5000, 100_000)   # 500 MB decoded
    records = parquet(data)
    *read, rest = records
    assert read and all(r.defect is None for r in read)
    # Rows stop once they pass 1000 times the file's stored bytes.
    assert sum(len(r.text) for r in read) <= 1000 * len(data) + 100_000 < 5000 * 100_000 / 10
    assert rest.defect == "decompression_limit" and rest.location == f"rows {len(read)}-"


# ---------------------------------------------------------------- 3. parse errors

@pytest.mark.parametrize("line, why", [
    (b'{"text": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b'{"text": "deep", "x": ' + b"[" * 500 + b"]" * 500 + b"}", "nested deeper than 200"),
    (b'{"text": "big", "n": ' + b"9" * 10_000 + b"}", "digits"),
])
def test_a_json_parse_error_costs_its_line_only(line, why):
    records = jsonl(b"\n".join([good(1), line, good(3)]))
    assert outcome(records) == [(1, "good-1"), (2, "malformed_json"), (3, "good-3")]
    assert why in records[1].defect_detail


def test_a_byte_order_mark_does_not_cost_the_first_line():
    records = jsonl(b"\xef\xbb\xbf" + good(1) + b"\n" + good(2))
    assert outcome(records) == [(1, "good-1"), (2, "good-2")]


def test_a_deeply_nested_key_json_costs_its_sample_only():
    deep = b'{"caption": "c", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    records = wds(tar_bytes([("a.jpg", png(1)), ("a.json", deep),
                             ("b.jpg", png(2)), ("b.txt", b"cap b")]))
    assert [(r.id, r.defect) for r in records] == [("a", "malformed_json"), ("b", None)]


def test_json_safe_is_iterative_and_bounded():
    value = []
    for _ in range(100_000):   # deeper than the recursion limit
        value = [value]
    with pytest.raises(TooDeep):
        json_safe(value)
    shallow = {"a": [1, float("nan"), {"b": "x \ud800"}], "c": (2,)}
    assert json_safe(shallow) == {"a": [1, "nan", {"b": "x \\ud800"}], "c": [2]}


# ---------------------------------------------------------------- 4. duplicate tar members

def test_an_adjacent_duplicate_member_is_its_own_record():
    records = wds(tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"), ("a.jpg", png(2)),
                             ("b.jpg", png(3)), ("b.txt", b"cap b")]))
    assert sorted((r.position, r.defect or r.id) for r in records) == [
        (0, "a"), (2, "duplicate_member"), (3, "b")]
    duplicate = next(r for r in records if r.defect)
    assert duplicate.image == png(2) and duplicate.id != "a"
    assert next(r for r in records if r.id == "a").image == png(1)


def test_a_key_that_comes_back_after_other_samples_is_its_own_record():
    records = wds(tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap a"),
                             ("b.jpg", png(2)), ("b.txt", b"cap b"),
                             ("a.jpg", png(3)), ("a.txt", b"cap a again"),
                             ("c.jpg", png(4)), ("c.txt", b"cap c")]))
    assert outcome(records) == [(0, "a"), (2, "b"), (4, "duplicate_member"), (6, "c")]
    again = next(r for r in records if r.defect)
    assert again.image == png(3) and again.id != "a" and "again" in again.defect_detail
    assert next(r for r in records if r.id == "a").image == png(1)


def test_seen_keys_are_bounded_per_tar(monkeypatch):
    from transforms.io.sources import webdataset
    monkeypatch.setattr(webdataset, "MAX_SEEN_KEYS", 2)
    stats = collections.Counter()
    members = [(f"{k}.jpg", png(1)) for k in "abcab"]
    records = list(parse_webdataset(io.BytesIO(tar_bytes(members)), "s.tar", FIELDS, stats))
    # a and b are remembered, c is not: a and b coming back are found, and c is counted.
    assert [r.defect for r in records] == [None, None, None, "duplicate_member",
                                           "duplicate_member"]
    assert stats["keys_not_checked"] == 1


# ---------------------------------------------------------------- 5. formats by content

def test_a_parquet_image_column_of_urls_is_text():
    table = pa.table({"id": ["a", "b"], "text": ["some text", "more text"],
                      "image": ["https://example.com/a.jpg", "https://example.com/b.jpg"]})
    records = parquet(parquet_bytes(table))
    assert [(r.kind, r.id, r.text, r.defect) for r in records] == [
        ("text", "a", "some text", None), ("text", "b", "more text", None)]
    assert json.loads(records[0].metadata) == {"image": "https://example.com/a.jpg"}


NOT_IMAGES = [b"<!doctype html><html><body>404 not found</body></html>",
              bytes(random.Random(7).getrandbits(8) for _ in range(300)),
              "plain words, not a picture".encode()]


@pytest.mark.parametrize("as_struct", [False, True], ids=["binary", "hf-struct"])
def test_a_parquet_image_column_of_bytes_that_are_no_images_is_text(as_struct):
    images = pa.array(NOT_IMAGES, pa.binary())
    if as_struct:   # a Hugging Face Image feature whose bytes are no images either
        images = pa.StructArray.from_arrays([images, pa.array(["a", "b", "c"])],
                                            names=["bytes", "path"])
    table = pa.table({"id": ["a", "b", "c"], "text": ["one text", "two text", "three"],
                      "image": images})
    records = parquet(parquet_bytes(table))
    assert [(r.kind, r.id, r.text, r.defect) for r in records] == [
        ("text", "a", "one text", None), ("text", "b", "two text", None),
        ("text", "c", "three", None)]


def test_a_parquet_of_no_images_and_no_text_is_missing_text_and_says_why():
    table = pa.table({"key": ["a", "b", "c"], "caption": ["x", "y", "z"],
                      "jpg": pa.array(NOT_IMAGES, pa.binary())})
    records = parquet(parquet_bytes(table))
    assert [(r.kind, r.defect) for r in records] == [("text", "missing_text")] * 3
    assert "'jpg' holds bytes, but none of its first values is an image" in \
        records[0].defect_detail


def test_one_value_that_is_no_image_in_an_image_column_costs_its_record_only():
    # The first value is HTML, the rest are images: an image column, the HTML one record.
    table = pa.table({"key": ["h", "a", "b"], "caption": ["x", "y", "z"],
                      "jpg": pa.array([NOT_IMAGES[0], png(1), png(2)], pa.binary())})
    records = parquet(parquet_bytes(table))
    assert [(r.kind, r.id, r.image) for r in records] == [
        ("image_text", "h", NOT_IMAGES[0]), ("image_text", "a", png(1)),
        ("image_text", "b", png(2))]
    from detectors.defects import InputDefect
    from detectors.images import inspect_image
    with pytest.raises(InputDefect) as held:
        inspect_image(records[0].image)
    assert held.value.reason == Reason.UNDECODABLE_IMAGE


def test_a_parquet_candidate_of_no_images_gives_way_to_one_of_images():
    table = pa.table({"key": ["a"], "caption": ["c"], "jpg": pa.array([b"thumbnail?"]),
                      "png": pa.array([png(4)])})
    (record,) = parquet(parquet_bytes(table))
    assert (record.kind, record.image) == ("image_text", png(4))


# ---------------------------------------------------------------- bounded memory

MEMORY_CHECK = textwrap.dedent("""
    import json, os, sys, tracemalloc
    import pyarrow as pa
    from apache_beam.io.filesystem import FileMetadata
    from schemas.settings import InputSettings
    from transforms.io.read import ParseFile

    parse = ParseFile(InputSettings(max_record_bytes=int(sys.argv[1])))
    parse.setup()
    def read(path):
        return [(r.position, r.defect) for r in
                parse.process(FileMetadata(path, os.path.getsize(path)))]
    tracemalloc.start()
    for path in sys.argv[2:5]:          # every reader's code paths, once, on small files
        read(path)
    tracemalloc.reset_peak()
    arrow_before = pa.default_memory_pool().max_memory()
    hostile = {path: read(path) for path in sys.argv[5:]}
    print(json.dumps({"python": tracemalloc.get_traced_memory()[1],
                      "arrow": pa.default_memory_pool().max_memory() - arrow_before,
                      "hostile": hostile}))
""")


def test_hostile_files_are_read_in_bounded_memory(tmp_path):
    """A 300 MB line in a .jsonl.gz, a tar member declaring 5 GiB and Parquet files that
    decode to 2 GB (flat) and 1 GB (nested): read in a fresh process, its peak memory
    grows by a few MB."""
    small_jsonl = tmp_path / "small.jsonl.gz"
    small_jsonl.write_bytes(gzip.compress(good(1) + b"\n"))
    small_tar = tmp_path / "small.tar"
    small_tar.write_bytes(tar_bytes([("a.jpg", png(1)), ("a.txt", b"cap")]))
    small_parquet = tmp_path / "small.parquet"
    small_parquet.write_bytes(dictionary_bomb(10, 10))
    line = tmp_path / "line.jsonl.gz"
    with gzip.open(line, "wb", compresslevel=1) as f:   # written a MiB at a time
        f.write(good(1) + b'\n{"text": "')
        for _ in range(300):
            f.write(b"a" * (1 << 20))
        f.write(b'"}\n' + good(3) + b"\n")
    sparse = tmp_path / "sparse.tar"
    sparse.write_bytes(tar_with([("a.jpg", png(1))], sparse_member("b.jpg", 5 << 30),
                                [("c.jpg", png(3))]))
    bomb = tmp_path / "bomb.parquet"
    bomb.write_bytes(dictionary_bomb(20_000, 100_000))
    nested = tmp_path / "nested.parquet"
    nested.write_bytes(nested_dictionary_bomb(2000, 4, 100_000))   # 1 GB decoded
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHECK, str(4 << 20), str(small_jsonl), str(small_tar),
         str(small_parquet), str(line), str(sparse), str(bomb), str(nested)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    hostile = {os.path.basename(path): outcome for path, outcome in result["hostile"].items()}
    assert hostile["line.jsonl.gz"] == [[1, None], [2, "oversized_record"], [3, None]]
    assert [d for _, d in hostile["sparse.tar"]] == [None, "oversized_record", None]
    assert hostile["bomb.parquet"][-1][1] == "decompression_limit"
    assert hostile["nested.parquet"][-1][1] == "decompression_limit"
    # Python objects (lines, members, rows) and Arrow buffers at their highest.
    assert result["python"] < 48 << 20, f"Python peak {result['python'] >> 20} MiB"
    assert result["arrow"] < 48 << 20, f"Arrow peak {result['arrow'] >> 20} MiB"


# ---------------------------------------------------------------- a job: no crash, read once

def test_a_job_with_hostile_names_and_text_and_an_input_given_twice_is_conserved(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_jsonl(inputs / "a.jsonl", [("a1", "the first note about trains and rivers"),
                                     ("a2", "the second note, about weather in spring")])
    with open(inputs / "b.jsonl", "wb") as f:   # a lone surrogate in a text
        f.write(b'{"id": "b1", "text": "a cut emoji \\ud83d here"}\n' + good(2) + b"\n")
    with open(os.path.join(os.fsencode(inputs), b"caf\xe9.jsonl"), "wb") as f:
        f.write(good(3) + b"\n")
    out = run_job(tmp_path / "out", [inputs / "a.jsonl", inputs / "a*.jsonl", inputs / "b.jsonl",
                                     os.fsdecode(os.path.join(os.fsencode(inputs), b"caf*"))])
    assert_conserved(out)
    assert out.summary["records_in"] == 5   # a.jsonl once, though matched twice
    held = {r["id"]: r["primary_reason"] for r in out.quarantine}
    assert held == {"b1": "invalid_unicode"}
    kept = {r["id"] for r in out.cleaned_text}
    assert kept == {"a1", "a2", "good-2", "good-3"}


@pytest.mark.parametrize("compress", [gzip.compress, lambda data: bz2.compress(data, 1),
                                      lzma.compress, zstandard.ZstdCompressor().compress])
def test_a_truncated_compressed_file_keeps_the_lines_before_the_cut(compress):
    # bz2 decodes whole blocks (100 KB at level 1): several of them, so some are whole.
    data = compress(b"".join(json.dumps({"id": f"g{i}", "text": os.urandom(60).hex()}).encode()
                             + b"\n" for i in range(5000)))
    records = jsonl(data[: len(data) // 2], source="cut.jsonl.gz")
    *read, rest = records
    assert len(read) > 100 and all(r.defect is None for r in read)
    assert rest.defect == "unreadable_file" and rest.location == f"rest after line {len(read)}"
