"""Decompressed bytes of an input file, bounded, and its lines, bounded.

The compression is found from the first bytes (the suffix when they say nothing), so a
mislabelled file is read for what it is. Decompression fails loudly on a truncated
stream (Beam's CompressedFile ends quietly when a .gz or .zst is cut short, which would
lose the rest of the file without a trace): the reader turns the EOFError into an
unreadable_file record. Output is bounded per file by a total and by a ratio to the
compressed bytes read (DecompressionLimit: the reader turns the rest of the file into
one decompression_limit record), and lines over a cap are streamed past, never held
whole (Oversized); a long line waits on disk until it is known to fit.
"""

import bz2
import gzip
import lzma
import tempfile
from typing import BinaryIO, Callable, Iterator, List, NamedTuple, Tuple, Union

import zstandard

CHUNK = 1 << 20
# One zstd call may expand 1 KiB of input into at most ~32 MiB (RLE blocks): feeding it
# 1 KiB at a time keeps one call's output bounded (zstandard's decompressobj has no
# max_length, and its stream_reader ends quietly on a truncated frame).
ZSTD_INPUT = 1 << 10
# The ratio cap is judged only past this much output: a small file that compresses well
# costs nothing, whatever its ratio.
RATIO_FLOOR = 1 << 20
HEAD = 256  # bytes of an oversized line kept for its evidence
# A line longer than this waits on disk, not in memory, until its end shows it fits the cap:
# a line over the cap then costs this much memory, not the cap.
SPILL = 4 << 20

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"),
          (b"\x28\xb5\x2f\xfd", "zstd"))
_SUFFIXES = ((".gz", "gzip"), (".tgz", "gzip"), (".bz2", "bz2"), (".xz", "xz"),
             (".zst", "zstd"), (".zstd", "zstd"))


class DecompressionLimit(Exception):
    """A file decompressed past its total or ratio cap: the rest of it is not read."""


class Oversized(NamedTuple):
    """A line over the cap, streamed past: its size and first bytes (and how many of the
    byte split_lines was asked to count it holds: a CSV reader's quotes)."""
    size: int
    head: bytes
    counted: int = 0


def compression_of(path: str, first: bytes = b"") -> str:
    for magic, name in _MAGIC:
        if first.startswith(magic):
            return name
    lower = path.lower()
    return next((name for suffix, name in _SUFFIXES if lower.endswith(suffix)), "none")


class _Counting:
    """The raw stream, counting the compressed bytes read; its first bytes can be peeked."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.pending = raw.read(8)
        self.count = len(self.pending)

    def read(self, size: int = -1) -> bytes:
        if self.pending:
            if size is not None and 0 <= size < len(self.pending):
                head, self.pending = self.pending[:size], self.pending[size:]
                return head
            head, self.pending = self.pending, b""
            rest = self.raw.read() if size is None or size < 0 else self.raw.read(size - len(head))
            self.count += len(rest)
            return head + rest
        data = self.raw.read(size)
        self.count += len(data)
        return data


class Decompressed:
    """``read(size)`` of a file's decompressed bytes, at most ``size`` at a time, raising
    DecompressionLimit past ``max_bytes`` or past ``max_ratio`` times the bytes read."""

    def __init__(self, raw: BinaryIO, path: str, max_bytes: int, max_ratio: float):
        self.source = _Counting(raw)
        self.compression = compression_of(path, self.source.pending)
        self.max_bytes, self.max_ratio = max_bytes, max_ratio
        self.out = 0
        # read1: one decompression step at a time, so what came before a truncation is
        # returned before the error (read would gather a whole chunk and lose it).
        if self.compression == "gzip":
            self._read = gzip.GzipFile(fileobj=self.source).read1
        elif self.compression == "bz2":
            self._read = bz2.BZ2File(self.source).read1
        elif self.compression == "xz":
            self._read = lzma.LZMAFile(self.source).read1
        elif self.compression == "zstd":
            self._read = _Buffered(_zstd_chunks(self.source)).read
        else:
            self._read = self.source.read

    def read(self, size: int = CHUNK) -> bytes:
        if size is None or size < 0:
            size = CHUNK   # callers that ask for everything get it a chunk at a time
        data = self._read(size)
        if self.compression == "none":
            return data
        self.out += len(data)
        if self.out > self.max_bytes:
            raise DecompressionLimit(
                f"{self.compression} output passed the cap of {self.max_bytes:,} bytes "
                f"(input.max_decompressed_bytes) after {self.source.count:,} compressed bytes")
        if self.out > RATIO_FLOOR and self.out > self.max_ratio * self.source.count:
            raise DecompressionLimit(
                f"{self.compression} output of {self.out:,} bytes from {self.source.count:,} "
                f"compressed bytes passed the ratio cap of {self.max_ratio:g} "
                f"(input.max_decompression_ratio)")
        return data


def decompressed(raw: BinaryIO, path: str, limits) -> Decompressed:
    return Decompressed(raw, path, limits.max_decompressed_bytes, limits.max_decompression_ratio)


def iter_lines(raw: BinaryIO, path: str, limits) -> Iterator[Union[bytes, Oversized]]:
    """Lines (with their newline) of ``raw``, decompressed; a line over
    ``limits.max_record_bytes`` is an Oversized, not read into memory."""
    return split_lines(decompressed(raw, path, limits).read, limits.max_record_bytes)


def _zstd_chunks(raw) -> Iterator[bytes]:
    def new():
        return zstandard.ZstdDecompressor().decompressobj()

    decompressor, started = new(), False
    for chunk in iter(lambda: raw.read(ZSTD_INPUT), b""):
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


class _Buffered:
    """read(size) over an iterator of chunks."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.pending = chunks, b""

    def read(self, size: int) -> bytes:
        if not self.pending:
            self.pending = next(self.chunks, b"")
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


class _Line:
    """The line being split: held in memory up to SPILL bytes, then on disk up to the cap
    (a long line is not known to fit until its end), then only measured (Oversized)."""

    def __init__(self, max_line: int, count: bytes):
        self.max_line, self.count = max_line, count
        self.parts: List[bytes] = []
        self.size, self.counted, self.head, self.spill = 0, 0, None, None

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.count:
            self.counted += data.count(self.count)
        if self.head is not None:
            return
        if self.size > self.max_line:
            self._pass(data)
        elif self.spill is not None:
            self.spill.write(data)
        elif self.size > SPILL:
            self.spill = tempfile.TemporaryFile(prefix="hygiene-line-")
            self.spill.writelines(self.parts)
            self.spill.write(data)
            self.parts = []
        else:
            self.parts.append(data)

    def _pass(self, data: bytes) -> None:
        """Stream the rest of the line past, keeping its first bytes."""
        if self.spill is not None:
            self.spill.seek(0)
            self.head = self.spill.read(HEAD)
            self.spill.close()
            self.spill = None
        else:
            self.head = (self.parts[0] if self.parts else data)[:HEAD]  # no copy of the rest
        self.parts = []

    def end(self) -> Union[bytes, Oversized]:
        if self.head is not None:
            return Oversized(self.size, self.head, self.counted)
        if self.spill is None:
            return b"".join(self.parts)
        self.spill.seek(0)
        data = self.spill.raw.read(self.size)   # one buffer of the known size, not a join
        self.spill.close()
        return data


def split_lines(read: Callable[[int], bytes], max_line: int,
                count: bytes = b"") -> Iterator[Union[bytes, Oversized]]:
    """Lines of the byte stream ``read``; one longer than ``max_line`` bytes (with its
    newline) is measured while it streams past and comes out as Oversized, with how many
    ``count`` bytes it holds (when one is given). A line is never held in memory past SPILL
    bytes."""
    line = None   # the line begun in an earlier chunk
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        pieces = chunk.split(b"\n")
        rest = pieces.pop()   # after the chunk's last newline: the start of the next line
        for piece in pieces:
            if line is not None:   # the end of a line begun in an earlier chunk
                line.add(piece + b"\n")
                yield line.end()
                line = None
            elif len(piece) + 1 > max_line:
                yield Oversized(len(piece) + 1, piece[:HEAD],
                                piece.count(count) if count else 0)
            else:
                yield piece + b"\n"
        if rest:
            if line is None:
                line = _Line(max_line, count)
            line.add(rest)
    if line is not None:
        yield line.end()


def stripped_bom(line: bytes) -> Tuple[bytes, bool]:
    """A file's first line without a UTF-8 byte order mark (and whether it had one)."""
    if line.startswith(b"\xef\xbb\xbf"):
        return line[3:], True
    return line, False
