"""Lines of a possibly compressed file, failing loudly on a truncated stream.

Beam's CompressedFile ends quietly when a .gz or .zst is cut short, which
would lose the rest of the file without a trace; here a truncated stream
raises EOFError, which the reader turns into an unreadable_file record.
"""

import bz2
import gzip
from typing import BinaryIO, Iterator

import zstandard

CHUNK = 1 << 20


def compression_of(path: str) -> str:
    lower = path.lower()
    for suffix, name in ((".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd"), (".zstd", "zstd")):
        if lower.endswith(suffix):
            return name
    return "none"


def iter_lines(raw: BinaryIO, path: str) -> Iterator[bytes]:
    """Lines (with their newline) of ``raw``, decompressed according to ``path``'s suffix."""
    compression = compression_of(path)
    if compression == "gzip":
        return iter(gzip.GzipFile(fileobj=raw).readline, b"")
    if compression == "bz2":
        return iter(bz2.BZ2File(raw).readline, b"")
    if compression == "zstd":
        return _split_lines(_zstd_chunks(raw))
    return iter(raw.readline, b"")


def _zstd_chunks(raw: BinaryIO) -> Iterator[bytes]:
    def new():
        return zstandard.ZstdDecompressor().decompressobj()

    decompressor, started = new(), False
    for chunk in iter(lambda: raw.read(CHUNK), b""):
        while chunk:  # a .zst may hold several frames back to back
            if decompressor.eof:
                decompressor = new()
            started = True
            out = decompressor.decompress(chunk)
            if out:
                yield out
            chunk = decompressor.unused_data if decompressor.eof else b""
    if started and not decompressor.eof:
        raise EOFError("zstd stream ended before the end of its frame")


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending
