"""A corpus with every kind of bad input next to good records, built from scratch.

``write_broken_corpus`` returns what must happen to each bad record: the file
it sits in, a piece of its location, and its reason. Caps are small on purpose;
run it with BROKEN_FLAGS.
"""

import csv
import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from tests.builders import encode, picture, write_tar

BROKEN_FLAGS = ["--max-text-chars", "300", "--max-image-pixels", "1000000"]


def write_broken_corpus(root):
    """Write the corpus under ``root``; return (expected bad records, ids that must be kept)."""
    expected = []  # (file name, location fragment, reason)

    def expect(name, location, reason):
        expected.append((name, location, reason))

    text = root / "text"
    text.mkdir()
    good = [{"id": f"t{i}", "text": f"Good document number {i} about rivers and bread."}
            for i in range(5)]
    lines = [json.dumps(g).encode() for g in good] + [
        b'{"id": "x1", "text": "unterminated}',
        b'{"id": "x2", "text": "caf\xe9"}',
        b'{"id": "x3", "text": ""}',
        b'{"id": "x4", "text": " \\t\\n "}',
        b'{"id": "x5", "body": "no text field"}',
        json.dumps({"id": "x6", "text": "long " * 100}).encode(),
        b"",  # a blank line is not a record
        b'42',
    ]
    (text / "docs.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    expect("docs.jsonl", "line 6", "malformed_json")
    expect("docs.jsonl", "line 7", "invalid_utf8")
    expect("docs.jsonl", "line 8", "empty_text")
    expect("docs.jsonl", "line 9", "empty_text")
    expect("docs.jsonl", "line 10", "missing_text")
    expect("docs.jsonl", "line 11", "text_too_long")
    expect("docs.jsonl", "line 13", "malformed_json")

    # A gzip cut short: the lines before the cut survive, the rest is one record.
    whole = gzip.compress(b"".join(json.dumps({"id": f"g{i}", "text": f"gz line {i} " * 20}).encode()
                                   + b"\n" for i in range(200)))
    (text / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    expect("cut.jsonl.gz", "rest after", "unreadable_file")
    (text / "empty.jsonl").write_bytes(b"")
    expect("empty.jsonl", "file", "empty_file")
    (text / "notes.txt").write_text("not a corpus file")
    expect("notes.txt", "file", "unsupported_file")
    (text / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
    expect("broken.parquet", "file", "unreadable_file")

    images = root / "image_text"
    images.mkdir()
    jpeg = encode(picture(1), "JPEG", quality=90)
    write_tar(images / "shard-000.tar", [
        ("s000.jpg", jpeg), ("s000.txt", b"a good pair"), ("s000.json", b'{"url": "u"}'),
        ("s001.png", encode(picture(2))[:300]), ("s001.txt", b"truncated png"),
        ("s002.jpg", b"\x00garbage, not an image"), ("s002.txt", b"undecodable"),
        ("s003.jpg", encode(picture(3), "JPEG")),  # no caption
        ("s004.jpg", encode(picture(4), "JPEG")), ("s004.txt", b"   "),  # blank caption
        ("../escape.jpg", jpeg), ("noextension", b"x"),
        ("s005.jpg", encode(picture(5), "JPEG")), ("s005.txt", b"caption \xff\xfe"),
        ("s006.jpg", encode(picture(6), "JPEG")), ("s006.txt", b"ok"), ("s006.json", b"{oops"),
    ])
    expect("shard-000.tar", "s001", "truncated_image")
    expect("shard-000.tar", "s002", "undecodable_image")
    expect("shard-000.tar", "s003", "missing_caption")
    expect("shard-000.tar", "s004", "missing_caption")
    expect("shard-000.tar", "../escape.jpg", "bad_member_name")
    expect("shard-000.tar", "noextension", "bad_member_name")
    expect("shard-000.tar", "s005", "invalid_utf8")
    expect("shard-000.tar", "s006", "malformed_json")
    pq.write_table(pa.table({
        "key": ["p0", "p1"], "caption": ["a good parquet pair", "download failed"],
        "jpg": pa.array([encode(picture(7), "JPEG"), None], pa.binary())}),
        images / "pairs.parquet")
    expect("pairs.parquet", "row 1", "missing_image")

    folder = root / "folder"
    folder.mkdir()
    (folder / "ok.png").write_bytes(encode(picture(8)))
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "bomb.png").write_bytes(encode(Image.new("1", (2000, 2000)), optimize=True))
    (folder / "float.tif").write_bytes(
        encode(Image.fromarray(np.zeros((8, 8), np.float32)), "TIFF"))
    (folder / "nocaption.png").write_bytes(encode(picture(9)))
    with open(folder / "captions.csv", "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["file_name", "caption"])
        for name in ("ok.png", "zero.jpg", "bomb.png", "float.tif", "gone.png"):
            rows.writerow([name, f"caption of {name}"])
        rows.writerow(["ok.png", "a second caption for ok.png"])
    expect("zero.jpg", "file zero.jpg", "empty_file")
    expect("bomb.png", "file bomb.png", "decompression_bomb")
    expect("float.tif", "file float.tif", "unsupported_image_mode")
    expect("nocaption.png", "file nocaption.png", "missing_caption")
    expect("captions.csv", "line 6", "missing_image")
    expect("captions.csv", "line 7", "duplicate_caption_row")

    good_ids = {"t0", "t1", "t2", "t3", "t4", "s000", "p0", "ok", "g0"}
    return expected, good_ids
