"""Hostile inputs (issue 23): one small writer per kind, each next to good records.

Every writer makes its files under ``root/<kind>/`` and returns a ``Hostile`` spec: the
inputs to pass, what the job must do with them (exit code, the good ids it must clean,
the reasons the hostile records must be quarantined with) and which part of issue 23
fixes it ("read", "outputs", "images"; "ok-today" where main already copes).

Kinds that share a ``group`` are run as one job (tests/test_hostile.py); a kind that
needs its own flags, or that brings down a whole run today, has a group of its own.
Byte caps are small (``CAP``) and set through the policy file: every InputSettings field
named ``max_*_bytes`` found in schemas/settings.py, so the suite follows the reader's
settings as they are added. Payloads are a few times the cap, so the suite stays fast;
benchmarks/hostile_memory.py runs the same shapes at the issue's sizes.
"""

import bz2
import csv
import dataclasses
import gzip
import io
import json
import os
import random
import tarfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from PIL import Image, PngImagePlugin

from schemas.settings import InputSettings
from tests.broken_corpus import write_broken_corpus
from tests.builders import document, encode, picture, tar_bytes, write_tar

CAP = 64 * 1024               # every max_*_bytes cap in the suite's policy
DECOMPRESSED_CAP = 1 << 20    # a max_*decompress*_bytes cap: above every file but the bombs
OVERSIZED = "oversized_record"
DECOMPRESSION = "decompression_limit"
INVALID_UNICODE = "invalid_unicode"
DUPLICATE_MEMBER = "duplicate_member"
# A formula a spreadsheet would run, as a cell's first character.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SECRET_SSN = "078-05-1120"
SECRET_EMAIL = "jane.roe@example.net"


@dataclasses.dataclass
class Hostile:
    kind: str
    part: str                          # read | outputs | images | ok-today
    folder: str                        # every record this kind makes has its source here
    inputs: List[str]
    good: Sequence[str] = ()           # ids that must be cleaned
    # One entry per hostile record: the reasons it may be quarantined with (None in an
    # entry: it may be cleaned instead, e.g. NaN kept as a string).
    hostile: Sequence[Tuple[Optional[str], ...]] = ()
    records: Optional[int] = None      # records its files hold, when fixed
    exact: bool = True                 # False: a cap may fold several hostile records into one
    exit_codes: Tuple[int, ...] = (0,)
    group: str = "shared"
    flags: Tuple[str, ...] = ()
    # Extra checks on the finished run (outputs folder, stdout+stderr): raise AssertionError.
    check: Optional[Callable] = None
    # Broken-corpus kinds: (file name, location fragment, reason), matched as test_pipeline does.
    located: Sequence[Tuple[str, str, str]] = ()


def cap_settings() -> Dict[str, int]:
    """The policy's input caps: CAP for every byte cap InputSettings declares today."""
    caps = {}
    for field in dataclasses.fields(InputSettings):
        if field.name.startswith("max_") and field.name.endswith("_bytes"):
            caps[field.name] = DECOMPRESSED_CAP if "decompress" in field.name else CAP
    return caps


def policy_yaml() -> str:
    lines = ["input:"] + [f"  {name}: {value}" for name, value in cap_settings().items()]
    return "\n".join(lines) + "\n" if len(lines) > 1 else ""


# ------------------------------------------------------------------ small helpers

def _texts(kind: str, count: int, start: int = 0):
    """Good JSONL rows with ids '<kind>-g<i>' and texts no other kind shares."""
    rng = random.Random(f"{kind}-{start}")
    return [{"id": f"{kind}-g{i}", "text": document(rng, 20)} for i in range(start, start + count)]


def _lines(rows) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def _seed(kind: str, i: int) -> int:
    return (sum(map(ord, kind)) * 131 + i * 7919) % (2 ** 31)


def _pair(kind: str, i: int, fmt="PNG"):
    """Members of a good WebDataset sample '<kind>-g<i>' (an image no other kind shares)."""
    key = f"{kind}-g{i}"
    ext = "png" if fmt == "PNG" else "jpg"
    return key, [(f"{key}.{ext}", encode(picture(_seed(kind, i)), fmt)),
                 (f"{key}.txt", f"a plain caption {document(random.Random(key), 6)}".encode())]


def _dir(root, kind):
    path = root / kind
    path.mkdir(parents=True)
    return path


def _spec(kind, part, folder, inputs=None, **kw):
    return Hostile(kind=kind, part=part, folder=str(folder),
                   inputs=[str(p) for p in (inputs or [folder / "*"])], **kw)


def _jsonl_kind(root, kind, part, hostile_line: bytes, reasons, name="docs.jsonl",
                compress=None, after=True, **kw):
    """good, the hostile line, good (unless a cap may swallow the rest of the file)."""
    d = _dir(root, kind)
    before, later = _texts(kind, 2), (_texts(kind, 2, start=2) if after else [])
    data = _lines(before) + hostile_line.rstrip(b"\n") + b"\n" + _lines(later)
    if compress:
        data = compress(data)
    (d / name).write_bytes(data)
    good = [r["id"] for r in before + later]
    hostile = [tuple(reasons)] if reasons else []
    kw.setdefault("records", len(good) + len(hostile))
    return _spec(kind, part, d, good=good, hostile=hostile, **kw)


def _huge_text_line(kind, size) -> bytes:
    return json.dumps({"id": f"{kind}-h", "text": "x" * size}).encode()


# ------------------------------------------------------------------ the kinds

def k_surrogate_text(root, kind="surrogate_text"):
    return _jsonl_kind(root, kind, "read",
                       b'{"id": "surrogate_text-h", "text": "cut emoji \\ud83d here"}',
                       [INVALID_UNICODE], group="crash")


def k_surrogate_id(root, kind="surrogate_id"):
    # common.public_id already spells such an id out (\\udc80): kept, or held back.
    return _jsonl_kind(root, kind, "read", b'{"id": "bad\\udc80id", "text": "an ordinary text"}',
                       [INVALID_UNICODE, None], group="crash")


def k_surrogate_key_json(root, kind="surrogate_key_json"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    good1, m1 = _pair(kind, 1)
    bad = [(f"{kind}-h.png", encode(picture(_seed(kind, 9)))),
           (f"{kind}-h.json", b'{"caption": "cut emoji \\ud83d here", "url": "u"}')]
    write_tar(d / "shard.tar", m0 + bad + m1)
    return _spec(kind, "read", d, good=[good0, good1], hostile=[(INVALID_UNICODE,)], records=3,
                 group="crash")


def k_non_utf8_file_name(root, kind="non_utf8_file_name"):
    d = _dir(root, kind)
    (d / "fine.jsonl").write_bytes(_lines(_texts(kind, 2)))
    name = os.fsdecode(b"caf\xe9.jsonl")  # a Latin-1 file name on a UTF-8 system
    (d / name).write_bytes(_lines([{"id": f"{kind}-h", "text": "text in a badly named file"}]))
    # Its record may be kept (the name escaped) or held back for the name.
    return _spec(kind, "read", d, good=[f"{kind}-g0", f"{kind}-g1"],
                 hostile=[(INVALID_UNICODE, None)], records=3, group="crash")


def _bomb(root, kind, compress, name):
    return _jsonl_kind(root, kind, "read", _huge_text_line(kind, 3 * CAP),
                       [OVERSIZED, DECOMPRESSION], name=name, compress=compress, after=False,
                       exact=False)


def k_gz_huge_line(root):
    return _bomb(root, "gz_huge_line", gzip.compress, "docs.jsonl.gz")


def k_bz2_huge_line(root):
    return _bomb(root, "bz2_huge_line", bz2.compress, "docs.jsonl.bz2")


def k_zst_huge_line(root):
    return _bomb(root, "zst_huge_line", zstandard.ZstdCompressor().compress, "docs.jsonl.zst")


def k_huge_line(root, kind="huge_line"):
    """Plain JSONL: nothing to decompress, the line alone is over the cap; the rest is read."""
    return _jsonl_kind(root, kind, "read", _huge_text_line(kind, 3 * CAP), [OVERSIZED])


def k_gz_ratio_bomb(root, kind="gz_ratio_bomb"):
    """Good lines, then blank lines that decompress past the file's total cap (and ratio)."""
    d = _dir(root, kind)
    good = _texts(kind, 2)
    filler = b" " * 1023 + b"\n"
    (d / "docs.jsonl.gz").write_bytes(
        gzip.compress(_lines(good) + filler * (2 * DECOMPRESSED_CAP // 1024)))
    # Once the cap is set: the good lines, then one record for the rest of the file.
    return _spec(kind, "read", d, good=[r["id"] for r in good], hostile=[(DECOMPRESSION,)],
                 exact=False, check=_has_reason(DECOMPRESSION))


def _sparse_member(name: str, real_size: int) -> bytes:
    """A GNU sparse (type 'S') tar header with 512 stored bytes standing for real_size."""
    header = bytearray(512)

    def put(offset, length, value: bytes):
        header[offset:offset + len(value)] = value[:length]

    def octal(value, length):
        return (b"%0*o" % (length - 1, value)) + b"\0"

    put(0, 100, name.encode())
    put(100, 8, octal(0o644, 8))
    put(108, 8, octal(0, 8))
    put(116, 8, octal(0, 8))
    put(124, 12, octal(512, 12))
    put(136, 12, octal(0, 12))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    put(257, 8, tarfile.GNU_MAGIC)
    put(386, 12, octal(real_size - 512, 12))   # one data run: the last 512 bytes
    put(398, 12, octal(512, 12))
    header[482] = 0
    put(483, 12, octal(real_size, 12))
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + b"\xff" * 512


def k_tar_sparse(root, kind="tar_sparse"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    good1, m1 = _pair(kind, 1)
    first, last = tar_bytes(m0), tar_bytes(m1)
    # tar_bytes ends each archive with two zero blocks (and pads to 10 KiB): strip them.
    body0 = first[:_archive_end(first)]
    sparse = _sparse_member(f"{kind}-h.jpg", 4 * CAP) + tar_bytes([(f"{kind}-h.txt", b"a cap")])
    sparse = sparse[:512 + 512 + _archive_end(sparse[1024:])]
    (d / "shard.tar").write_bytes(body0 + sparse + last)
    return _spec(kind, "read", d, good=[good0, good1], hostile=[(OVERSIZED, DECOMPRESSION)],
                 records=3)


def _archive_end(data: bytes) -> int:
    """Length of a tar archive's members without its end-of-archive blocks."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    last = members[-1]
    return last.offset_data + -(-last.size // 512) * 512


def k_targz_huge_member(root, kind="targz_huge_member"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    members = m0 + [(f"{kind}-h.jpg", b"\0" * (4 * CAP)), (f"{kind}-h.txt", b"a zero picture")]
    (d / "shard.tar.gz").write_bytes(tar_bytes(members, compress=True))
    return _spec(kind, "read", d, good=[good0], hostile=[(OVERSIZED, DECOMPRESSION)], exact=False)


def _two_row_groups(path, first: pa.Table, second: pa.Table, **options):
    with pq.ParquetWriter(path, first.schema, **options) as writer:
        writer.write_table(first)
        writer.write_table(second)


def k_parquet_dictionary_bomb(root, kind="parquet_dictionary_bomb"):
    """One huge value, dictionary-encoded in many rows: a small file, a big table."""
    d = _dir(root, kind)
    good = _texts(kind, 3)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("blob", pa.string())])
    first = pa.table({"id": [g["id"] for g in good], "text": [g["text"] for g in good],
                      "blob": [None] * 3}, schema=schema)
    count = 8
    second = pa.table({"id": [f"{kind}-h{i}" for i in range(count)],
                       "text": [f"bomb row {i}" for i in range(count)],
                       "blob": ["y" * (2 * CAP)] * count}, schema=schema)
    _two_row_groups(d / "bomb.parquet", first, second, use_dictionary=True, compression="zstd")
    return _spec(kind, "read", d, good=[g["id"] for g in good],
                 hostile=[(OVERSIZED, DECOMPRESSION)] * count, exact=False)


def k_parquet_huge_row_group(root, kind="parquet_huge_row_group"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    first = pa.table({"id": [g["id"] for g in good], "text": [g["text"] for g in good]})
    rng = random.Random(kind)
    big = "".join(rng.choice("abcdefghij ") for _ in range(3 * CAP))
    second = pa.table({"id": [f"{kind}-h"], "text": [big]})
    _two_row_groups(d / "big.parquet", first, second)
    return _spec(kind, "read", d, good=[g["id"] for g in good],
                 hostile=[(OVERSIZED, DECOMPRESSION)], exact=False)


def k_deep_json(root, kind="deep_json"):
    depth = 20_000
    line = (b'{"id": "deep_json-h", "text": "nested", "m": ' + b"[" * depth + b"]" * depth + b"}")
    return _jsonl_kind(root, kind, "read", line, ["malformed_json"])


def k_deep_key_json(root, kind="deep_key_json"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    good1, m1 = _pair(kind, 1)
    depth = 20_000
    bad = [(f"{kind}-h.png", encode(picture(_seed(kind, 9)))), (f"{kind}-h.txt", b"deep"),
           (f"{kind}-h.json", b'{"m": ' + b"[" * depth + b"]" * depth + b"}")]
    write_tar(d / "shard.tar", m0 + bad + m1)
    return _spec(kind, "read", d, good=[good0, good1], hostile=[("malformed_json",)], records=3)


def _image_folder(root, kind, extra_rows=(), images=2, fmt="PNG", image_bytes=None):
    """A folder input of good images named '<kind>-g<i>.png' with a captions.csv."""
    d = _dir(root, kind)
    rows = []
    for i in range(images):
        name = f"{kind}-g{i}.png"
        (d / name).write_bytes(image_bytes(i) if image_bytes else encode(picture(_seed(kind, i)), fmt))
        rows.append([name, f"caption {document(random.Random(name), 6)}"])
    with open(d / "captions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "caption"])
        writer.writerows(rows[:1] + list(extra_rows) + rows[1:])
    return d


def k_csv_huge_cell(root, kind="csv_huge_cell"):
    # Over csv's own field limit (128 KiB) too: today that ends the whole captions file.
    d = _image_folder(root, kind, extra_rows=[["ghost.png", "z" * (3 * CAP)]])
    return _spec(kind, "read", d, inputs=[d], good=[f"{kind}-g0", f"{kind}-g1"],
                 hostile=[(OVERSIZED,)], records=3, group="crash")


def k_csv_multiline_huge_cell(root, kind="csv_multiline_huge_cell"):
    """A quoted caption of many short lines, over the cell cap in all: that row only; the
    rows after it are read as rows (not as the cell's lines)."""
    cell = "\n".join(f'line {i} of a "long" caption, with commas' for i in range(3 * CAP // 40))
    d = _image_folder(root, kind, extra_rows=[["ghost.png", cell]])
    return _spec(kind, "read", d, inputs=[d], good=[f"{kind}-g0", f"{kind}-g1"],
                 hostile=[(OVERSIZED,)], records=3)


def k_bom_jsonl(root, kind="bom_jsonl"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    (d / "docs.jsonl").write_bytes(b"\xef\xbb\xbf" + _lines(good))
    return _spec(kind, "read", d, good=[g["id"] for g in good], records=3)


def k_tar_duplicate_member(root, kind="tar_duplicate_member"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    good1, m1 = _pair(kind, 1)
    again = [(f"{good0}.png", encode(picture(_seed(kind, 5))))]
    write_tar(d / "shard.tar", m0 + again + m1)
    return _spec(kind, "read", d, good=[good0, good1], hostile=[(DUPLICATE_MEMBER,)], records=3)


def k_tar_key_again(root, kind="tar_key_again"):
    """A sample's key again after another sample: its own record, the first one kept."""
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    good1, m1 = _pair(kind, 1)
    again = [(f"{good0}.png", encode(picture(_seed(kind, 5)))), (f"{good0}.txt", b"again")]
    write_tar(d / "shard.tar", m0 + m1 + again)
    return _spec(kind, "read", d, good=[good0, good1], hostile=[(DUPLICATE_MEMBER,)], records=3)


def k_same_file_twice(root, kind="same_file_twice"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    path = d / "docs.jsonl"
    path.write_bytes(_lines(good))
    # Read once (exit 0, each record once) or refused as a usage error (exit 2).
    return _spec(kind, "outputs", d, inputs=[path, d / "*.jsonl"], good=[g["id"] for g in good],
                 records=3, exit_codes=(0, 2), group="twice")


def k_text_parquet_image_urls(root, kind="text_parquet_image_urls"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    pq.write_table(pa.table({"id": [g["id"] for g in good], "text": [g["text"] for g in good],
                             "image": [f"https://example.org/{i}.jpg" for i in range(3)]}),
                   d / "pages.parquet")
    return _spec(kind, "read", d, good=[g["id"] for g in good], records=3)


def k_parquet_image_bytes_not_images(root, kind="parquet_image_bytes_not_images"):
    """An ``image`` column of bytes that are no images (an HTML error page, random bytes,
    text): the file is text, its rows cleaned as text records."""
    d = _dir(root, kind)
    good = _texts(kind, 3)
    junk = [b"<html><body>403 Forbidden</body></html>", random.Random(kind).randbytes(200),
            b"just some words"]
    pq.write_table(pa.table({"id": [g["id"] for g in good], "text": [g["text"] for g in good],
                             "image": pa.array(junk, pa.binary())}), d / "pages.parquet")
    return _spec(kind, "read", d, good=[g["id"] for g in good], records=3)


def _overwrite_check(paths):
    def check(run):
        for path in paths:
            assert path.exists(), f"--overwrite deleted {path}"
    return check


def k_overwrite_input_under_output(root, kind="overwrite_input_under_output"):
    d = _dir(root, kind)
    out = d / "out"
    inside = out / "cleaned"
    inside.mkdir(parents=True)
    path = inside / "mine.jsonl"
    path.write_bytes(_lines(_texts(kind, 2)))
    # Refused: the output holds an input.
    return Hostile(kind, "outputs", str(d), [str(path)], exit_codes=(2,), group="overwrite",
                   flags=("--overwrite",), check=_overwrite_check([path]),
                   records=0)


def k_overwrite_user_folder(root, kind="overwrite_user_folder"):
    """Run with overwrite_input_under_output (one job, its output): a report/ folder no
    manifest says this tool wrote is left alone."""
    d = _dir(root, kind)
    (d / "docs.jsonl").write_bytes(_lines(_texts(kind, 2)))
    mine = root / "overwrite_input_under_output" / "out" / "report" / "my-notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("a folder this tool did not write")
    return Hostile(kind, "outputs", str(d), [str(d / "docs.jsonl")], good=[f"{kind}-g0"],
                   exit_codes=(2,), group="overwrite", flags=("--overwrite",), records=2,
                   check=_overwrite_check([mine]))


def k_review_csv_formulas(root, kind="review_csv_formulas"):
    """Exact duplicates (releasable, so listed by hygiene-review) whose text and ids are
    formulas; the CSV must not hand a spreadsheet a formula."""
    d = _dir(root, kind)
    text = '=HYPERLINK("http://evil.example/x","open me") ' + document(random.Random(kind), 12)
    rows = [{"id": f"{kind}-g0", "text": text}, {"id": "@SUM(A1)", "text": text},
            {"id": "+cmd|' /C calc'!A0", "text": text}, {"id": "-2+3", "text": text}]
    (d / "docs.jsonl").write_bytes(_lines(rows))
    return _spec(kind, "outputs", d, good=[f"{kind}-g0"],
                 hostile=[("exact_duplicate_text",)] * 3, records=4, check=_review_csv_safe)


def _review_csv_safe(run):
    from pipeline.review import write_decisions_file
    buffer = io.StringIO()
    write_decisions_file(str(run.path), buffer, 10_000)
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    listed = [row for row in rows if any("@SUM(A1)" in cell or "HYPERLINK" in cell for cell in row)]
    assert listed, "the formula records are not in the review CSV"
    risky = [cell for row in rows[1:] for cell in row if cell.startswith(FORMULA_STARTS)]
    assert not risky, f"cells a spreadsheet runs: {risky[:5]}"


def k_unmatched_decision_ids(root, kind="unmatched_decision_ids"):
    """A decisions file whose id a spreadsheet rewrote (00012345 -> 12345) is reported."""
    d = _dir(root, kind)
    (d / "docs.jsonl").write_bytes(_lines([{"id": "00012345", "text": "leading zeros id text"}]))
    decisions = d / "decisions.csv"
    decisions.write_text("scope,id,decision\nrecord,12345,reject\n")
    return Hostile(kind, "outputs", str(d), [str(d / "docs.jsonl")], good=["00012345"],
                   records=1, flags=("--review-decisions", str(decisions)),
                   check=_mentions_unmatched("12345"))


def _mentions_unmatched(record_id):
    def check(run):
        said = run.said + (run.path / "summary.json").read_text()
        assert "12345" in said.replace("00012345", ""), \
            f"a decision for {record_id} matched no record and nothing said so"
    return check


# ---- images: hidden data must not reach cleaned/

def _exif_jpeg(seed, tags: dict) -> bytes:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    return encode(picture(seed), "JPEG", exif=exif.tobytes())


def _image_kind(root, kind, payload: bytes, secret: bytes, name="s.jpg"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    ext = name.rsplit(".", 1)[1]
    members = m0 + [(f"{kind}-h.{ext}", payload), (f"{kind}-h.txt", b"a picture with extras")]
    write_tar(d / "shard.tar", members)
    return _spec(kind, "images", d, good=[good0, f"{kind}-h"], records=2,
                 check=_cleaned_image_without(f"{kind}-h", secret))


def _cleaned_image_without(record_id, secret: bytes):
    def check(run):
        rows = [r for r in run.out.cleaned_image_text if r["id"] == record_id]
        assert rows, f"{record_id} not cleaned"
        image = rows[0]["image"]
        assert secret not in image, f"cleaned {record_id} still holds {secret!r}"
        Image.open(io.BytesIO(image)).load()
    return check


def k_exif_gps(root, kind="exif_gps"):
    gps = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    spec = _image_kind(root, kind, _exif_jpeg(_seed(kind, 9), {0x8825: gps}), b"\0never\0")
    spec.check = _no_gps(f"{kind}-h", spec.check)
    return spec


def _no_gps(record_id, inner):
    def check(run):
        inner(run)
        row = next(r for r in run.out.cleaned_image_text if r["id"] == record_id)
        exif = Image.open(io.BytesIO(row["image"])).getexif()
        assert not exif.get_ifd(0x8825), "EXIF GPS reached cleaned/"
    return check


def k_exif_column(root, kind="exif_column"):
    """img2dataset's Parquet rows: an ``exif`` column (exifread's tags, GPS too) must not
    reach the cleaned rows' metadata."""
    d = _dir(root, kind)
    keys = [f"{kind}-g{i}" for i in range(2)]
    exif = json.dumps({"GPS GPSLatitude": "[51, 30, 12]", "Image Artist": SECRET_EMAIL})
    pq.write_table(pa.table({
        "key": keys, "caption": [f"a plain caption {document(random.Random(k), 6)}"
                                 for k in keys],
        "jpg": pa.array([encode(picture(_seed(kind, i)), "JPEG") for i in range(2)]),
        "exif": [exif, exif], "status": ["success", "success"]}), d / "shard.parquet")

    def check(run):
        rows = [r for r in run.out.cleaned_image_text if r["id"] in keys]
        assert len(rows) == 2, "the rows were not cleaned"
        for row in rows:
            assert "GPS" not in row["metadata"] and SECRET_EMAIL not in row["metadata"], \
                f"the exif column reached cleaned/: {row['metadata']}"
    return _spec(kind, "images", d, good=keys, records=2, check=check)


def k_exif_artist_email(root, kind="exif_artist_email"):
    data = _exif_jpeg(_seed(kind, 9), {0x013B: SECRET_EMAIL})
    return _image_kind(root, kind, data, SECRET_EMAIL.encode())


def k_exif_artist_name(root, kind="exif_artist_name"):
    """EXIF kept by the policy, its Artist a name no pattern finds: the PII scanner of
    captions finds it, so EXIF goes, and the summary counts a PERSON."""
    data = _exif_jpeg(_seed(kind, 9), {0x013B: "Margaret Thompson"})
    spec = _image_kind(root, kind, data, b"Margaret")
    spec.group, spec.flags = "keep_exif", ("--keep-image-metadata", "icc", "exif")
    inner = spec.check

    def check(run):
        inner(run)
        found = json.loads((run.path / "summary.json").read_text())["image_metadata"]
        assert found["personal_data_found"].get("PERSON"), found
    spec.check = check
    return spec


def k_png_text_ssn(root, kind="png_text_ssn"):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"customer SSN {SECRET_SSN}")
    data = encode(picture(_seed(kind, 9)), "PNG", pnginfo=info)
    return _image_kind(root, kind, data, SECRET_SSN.encode(), "s.png")


def k_jpeg_comment(root, kind="jpeg_comment"):
    data = encode(picture(_seed(kind, 9)), "JPEG", comment=f"mail {SECRET_EMAIL}".encode())
    return _image_kind(root, kind, data, SECRET_EMAIL.encode())


def k_trailing_bytes(root, kind="trailing_bytes"):
    secret = b"APPENDED-PAYLOAD-" + SECRET_SSN.encode()
    data = encode(picture(_seed(kind, 9)), "PNG") + secret
    return _image_kind(root, kind, data, secret, "s.png")


# ---- names: personal data and terminal escapes in names must not be shown raw

def _said_nowhere(*secrets):
    def check(run):
        shown = {"stdout/stderr": run.said}
        for name in ("summary.json", "report/index.html"):
            path = run.path / name
            if path.exists():
                shown[name] = path.read_text(errors="replace")
        from pipeline.review import write_decisions_file
        buffer = io.StringIO()
        write_decisions_file(str(run.path), buffer, 10_000)
        shown["review CSV"] = buffer.getvalue()
        for secret in secrets:
            leaks = [where for where, text in shown.items() if secret in text]
            assert not leaks, f"{secret!r} shown raw in {leaks}"
    return check


def k_pii_in_file_name(root, kind="pii_in_file_name"):
    d = _dir(root, kind)
    good = _texts(kind, 2)
    bad = {"id": f"{kind}-h", "text": "text " * 80}   # over --max-text-chars: listed
    (d / f"{SECRET_EMAIL} {SECRET_SSN}.jsonl").write_bytes(_lines(good + [bad]))
    return _spec(kind, "images", d, good=[g["id"] for g in good], hostile=[("text_too_long",)],
                 records=3, check=_said_nowhere(SECRET_SSN, SECRET_EMAIL))


def k_pii_in_ids(root, kind="pii_in_ids"):
    d = _dir(root, kind)
    good = _texts(kind, 2)
    secret_id = "ssn-219-09-9999"
    bad = {"id": secret_id, "text": "text " * 80}
    (d / "docs.jsonl").write_bytes(_lines(good + [bad]))
    return _spec(kind, "images", d, good=[g["id"] for g in good], hostile=[("text_too_long",)],
                 records=3, check=_said_nowhere("219-09-9999"))


def k_pii_in_member_name(root, kind="pii_in_member_name"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    # A member without an extension: bad_member_name, its name in the quarantine's location.
    write_tar(d / "shard.tar", m0 + [(f"scan of {SECRET_SSN}", b"x")])
    return _spec(kind, "images", d, good=[good0], hostile=[("bad_member_name",)], records=2,
                 check=_said_nowhere(SECRET_SSN))


def k_ansi_in_file_name(root, kind="ansi_in_file_name"):
    d = _dir(root, kind)
    good = _texts(kind, 2)
    (d / "red\x1b[31mALERT\x1b[0m\x1b]0;owned\x07.jsonl").write_bytes(
        _lines(good) + b"{not json\n")

    def check(run):
        assert "\x1b" not in run.said and "\x07" not in run.said, \
            "terminal escapes from a file name reached the terminal"
        _said_nowhere("\x1b[31m")(run)
    return _spec(kind, "images", d, good=[g["id"] for g in good], hostile=[("malformed_json",)],
                 records=3, check=check)


# ---- JSON oddities, line endings, empty and truncated files, links

def k_huge_float(root, kind="huge_float"):
    return _jsonl_kind(root, kind, "ok-today",
                       b'{"id": "huge_float-h", "text": "a big float", "score": 1e400}',
                       ["malformed_json", None])


def k_huge_int(root, kind="huge_int"):
    line = b'{"id": "huge_int-h", "text": "a big int", "n": 1' + b"0" * 5000 + b"}"
    return _jsonl_kind(root, kind, "ok-today", line, ["malformed_json", None])


def k_huge_int_id(root, kind="huge_int_id"):
    line = b'{"id": 1' + b"0" * 4000 + b', "text": "an id with four thousand digits"}'
    return _jsonl_kind(root, kind, "ok-today", line, ["malformed_json", None])


def k_nan(root, kind="nan"):
    return _jsonl_kind(root, kind, "ok-today",
                       b'{"id": "nan-h", "text": "not a number", "score": NaN, "w": -Infinity}',
                       ["malformed_json", None])


def k_null_bytes(root, kind="null_bytes"):
    return _jsonl_kind(root, kind, "ok-today", b'{"id": "null_bytes-h", "text": "a\x00b"}',
                       ["malformed_json"])


def k_escaped_nul(root, kind="escaped_nul"):
    return _jsonl_kind(root, kind, "ok-today",
                       b'{"id": "escaped_nul-h", "text": "nul \\u0000 inside"}',
                       ["malformed_json", None])


def k_crlf(root, kind="crlf"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    (d / "docs.jsonl").write_bytes(_lines(good).replace(b"\n", b"\r\n"))
    return _spec(kind, "ok-today", d, good=[g["id"] for g in good], records=3)


def k_empty_lines(root, kind="empty_lines"):
    d = _dir(root, kind)
    good = _texts(kind, 3)
    body = b"\n\n   \n\t\n".join(json.dumps(g).encode() for g in good)
    (d / "docs.jsonl").write_bytes(b"\n \n" + body + b"\n\n\n")
    return _spec(kind, "ok-today", d, good=[g["id"] for g in good], records=3)


def k_truncated_zst(root, kind="truncated_zst"):
    d = _dir(root, kind)
    rows = [{"id": f"{kind}-g{i}", "text": f"zst line {i} " + document(random.Random(i), 30)}
            for i in range(400)]
    whole = zstandard.ZstdCompressor().compress(_lines(rows))
    (d / "docs.jsonl.zst").write_bytes(whole[: len(whole) * 3 // 4])
    # The file is broken from the cut on: one record for the rest, and it says so.
    return _spec(kind, "ok-today", d, good=[], hostile=[("unreadable_file",)],
                 check=_has_reason("unreadable_file"))


def k_truncated_targz(root, kind="truncated_targz"):
    d = _dir(root, kind)
    good0, m0 = _pair(kind, 0)
    members = m0 + [(f"{kind}-x{i}.png", encode(picture(_seed(kind, 10 + i)))) for i in range(6)]
    whole = tar_bytes(members, compress=True)
    (d / "shard.tar.gz").write_bytes(whole[: len(whole) * 2 // 3])
    return _spec(kind, "ok-today", d, good=[good0], hostile=[("unreadable_file", "missing_caption")] * 7,
                 exact=False, check=_has_reason("unreadable_file"))


def k_zero_byte_files(root, kind="zero_byte_files"):
    d = _dir(root, kind)
    for name in ("a.parquet", "b.tar", "c.jsonl.gz"):
        (d / name).write_bytes(b"")
    (d / "ok.jsonl").write_bytes(_lines(_texts(kind, 1)))
    return _spec(kind, "ok-today", d, good=[f"{kind}-g0"], hostile=[("empty_file",)] * 3,
                 records=4)


def k_symlink_loop(root, kind="symlink_loop"):
    d = _dir(root, kind)
    (d / "ok.jsonl").write_bytes(_lines(_texts(kind, 1)))
    os.symlink("loop.jsonl", d / "loop.jsonl")
    # Skipped by the match (a link to nowhere) or one unreadable_file record.
    return _spec(kind, "ok-today", d, good=[f"{kind}-g0"], hostile=[("unreadable_file", None)])


def _has_reason(reason):
    def check(run):
        mine = [r for r in run.out.quarantine if r["source"].startswith(run.folder)]
        assert any(r["primary_reason"] == reason for r in mine), \
            f"no {reason} record: {sorted({r['primary_reason'] for r in mine})}"
    return check


WRITERS = [
    k_surrogate_text, k_surrogate_id, k_surrogate_key_json, k_non_utf8_file_name,
    k_gz_huge_line, k_bz2_huge_line, k_zst_huge_line, k_huge_line, k_gz_ratio_bomb,
    k_tar_sparse, k_targz_huge_member, k_parquet_dictionary_bomb, k_parquet_huge_row_group,
    k_deep_json, k_deep_key_json, k_csv_huge_cell, k_csv_multiline_huge_cell, k_bom_jsonl,
    k_tar_duplicate_member, k_tar_key_again, k_same_file_twice, k_text_parquet_image_urls,
    k_parquet_image_bytes_not_images, k_overwrite_input_under_output,
    k_overwrite_user_folder, k_review_csv_formulas, k_unmatched_decision_ids,
    k_exif_gps, k_exif_column, k_exif_artist_email, k_exif_artist_name, k_png_text_ssn,
    k_jpeg_comment,
    k_trailing_bytes,
    k_pii_in_file_name, k_pii_in_ids, k_pii_in_member_name, k_ansi_in_file_name,
    k_huge_float, k_huge_int, k_huge_int_id, k_nan, k_null_bytes, k_escaped_nul, k_crlf,
    k_empty_lines, k_truncated_zst, k_truncated_targz, k_zero_byte_files, k_symlink_loop,
]


def broken_kinds(root) -> List[Hostile]:
    """tests/broken_corpus.py's cases (main handles them), one kind per reason."""
    base = root / "broken"
    base.mkdir()
    expected, good_ids = write_broken_corpus(base)
    inputs = [str(base / "text" / "*"), str(base / "image_text" / "*"), str(base / "folder")]
    by_reason: Dict[str, list] = {}
    for name, location, reason in expected:
        by_reason.setdefault(reason, []).append((name, location, reason))
    kinds = []
    for index, (reason, located) in enumerate(sorted(by_reason.items())):
        kinds.append(Hostile(
            kind=f"broken_{reason}", part="ok-today", folder=str(base),
            inputs=inputs if index == 0 else [], located=located,
            # The good records are checked once, with the first of these kinds.
            good=sorted(good_ids) if index == 0 else (), group="shared", flags=()))
    return kinds


def write_hostile_corpus(root) -> List[Hostile]:
    """Every kind under ``root``: the issue's hostile inputs, then the broken corpus's."""
    specs = [writer(root) for writer in WRITERS]
    return specs + broken_kinds(root)


