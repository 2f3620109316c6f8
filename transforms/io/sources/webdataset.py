"""WebDataset tar shards as img2dataset writes them: KEY.jpg|png|webp, KEY.txt, KEY.json.

Members of one sample are adjacent in the tar; a sample ends when the key
changes. The key is the member's path up to the first dot of its base name
(WebDataset's convention). The tar is streamed, never extracted to disk.
A key that comes back after other samples is a duplicate_member record of its own
(the first sample keeps the key); keys are remembered by 8-byte hashes, at most
MAX_SEEN_KEYS per tar.
"""

import hashlib
import io
import posixpath
import tarfile
from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple

from detectors.hashing import record_uid
from schemas.reasons import Reason
from schemas.records import Kind, Record, make_record
from transforms.io.sources.common import (IMAGE_EXTENSIONS, Stats, defect, file_defect,
                                          parse_json, public_id, to_metadata)
from transforms.io.sources.compressed import CHUNK, DecompressionLimit, decompressed
from schemas.settings import InputSettings


def split_member_name(name: str) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
    """(key, extension) for a usable member name, else (None, why it is unusable)."""
    while name.startswith("./"):  # what `tar -C dir .` writes
        name = name[2:]
    if not name:
        return None, "empty name"
    if any(ord(c) < 32 or ord(c) == 127 or 0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return None, "control characters or bytes that are not UTF-8"
    if name.startswith("/") or "\\" in name:
        return None, "absolute path or backslash"
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts):
        return None, "'.' or '..' path component"
    directory, base = posixpath.split(name)
    if not base or base.startswith("."):
        return None, "hidden file or empty base name"
    if "." not in base:
        return None, "no extension"
    stem, extension = base.split(".", 1)
    if not extension:
        return None, "empty extension"
    return (posixpath.join(directory, stem), extension.lower()), None


class _LastRead:
    """Wraps tarfile's stream to keep the last block it read.

    tarfile's iteration stops quietly on a corrupt or truncated header after
    the first member, exactly as it does on the end-of-archive marker. The
    block that stopped it tells the two apart: the marker is all zeros.
    """

    def __init__(self, inner):
        self._inner = inner
        self.last = b""

    def read(self, *args):
        self.last = self._inner.read(*args)
        return self.last

    def __getattr__(self, name):
        return getattr(self._inner, name)


# Header types whose payload tarfile reads whole into memory.
_HEADER_PAYLOADS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                    tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
SIDECARS = ("json", "txt")   # small members: a sample's metadata and caption


class _CappedTarInfo(tarfile.TarInfo):
    """tarfile reads a long-name or PAX header's payload whole: a header declaring
    gigabytes is a broken container, not a record."""
    max_header = 1 << 20

    def _proc_member(self, tar):
        if self.type in _HEADER_PAYLOADS and self.size > self.max_header:
            raise tarfile.ReadError(f"a {self.type!r} header declares {self.size:,} bytes, "
                                    f"over the cap of {self.max_header:,} (input.max_field_bytes)")
        return super()._proc_member(tar)


# Keys remembered per tar to find one that comes back (img2dataset writes 10,000 samples
# a shard): a set of 8-byte hashes, ~60 bytes a key, so at most ~16 MB. Past it, later keys
# are not checked (counted as keys_not_checked).
MAX_SEEN_KEYS = 1 << 18


class _SeenKeys:
    def __init__(self, limit: int, stats: Stats):
        self.hashes, self.limit, self.stats = set(), limit, stats

    def again(self, key: str) -> bool:
        """Whether ``key`` began an earlier sample of this tar (and remember it)."""
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"),
                                                digest_size=8).digest(), "little")
        if digest in self.hashes:
            return True
        if len(self.hashes) < self.limit:
            self.hashes.add(digest)
        else:
            self.stats["keys_not_checked"] += 1
        return False


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """A member's bytes, read a chunk at a time: tarfile's own read() of a stream copies a
    member three times over (its stream buffer, a join, a slice)."""
    source, out = tar.extractfile(member), io.BytesIO()
    for chunk in iter(lambda: source.read(CHUNK), b""):
        out.write(chunk)
    return out.getvalue()   # no copy where the buffer is the bytes' own


def parse_webdataset(stream: BinaryIO, source: str, fields: InputSettings,
                     stats: Stats) -> Iterator[Record]:
    sample: Optional[_Sample] = None
    seen = _SeenKeys(MAX_SEEN_KEYS, stats)
    done = -1  # index of the last member fully handled
    capped = type("CappedTarInfo", (_CappedTarInfo,), {"max_header": fields.max_field_bytes})
    try:
        # Decompressed by us, not by tarfile: bounded, and by content rather than name.
        plain = decompressed(stream, source, fields)
        with tarfile.open(fileobj=plain, mode="r|", tarinfo=capped) as tar:
            tar.fileobj = reader = _LastRead(tar.fileobj)
            for index, member in enumerate(tar):
                if member.isdir():
                    stats["tar_directories"] += 1
                    done = index
                    continue
                location = f"member {index}: {member.name!r}"
                if not member.isfile():
                    done = index
                    yield defect(Kind.IMAGE_TEXT, source, index, location, Reason.BAD_MEMBER_NAME,
                                 f"not a regular file (tar type {member.type!r})")
                    continue
                parsed, problem = split_member_name(member.name)
                setting = ("max_field_bytes" if parsed and parsed[1] in SIDECARS
                           else "max_record_bytes")
                cap = getattr(fields, setting)
                # The declared size (a sparse member's expanded size): never read past the cap.
                fits = member.size <= cap
                if problem:
                    data = _read_member(tar, member) if fits else None
                    done = index
                    if not fits:
                        problem += f" ({member.size:,} bytes, over input.{setting}: not read)"
                    yield defect(Kind.IMAGE_TEXT, source, index, location,
                                 Reason.BAD_MEMBER_NAME, problem, raw=data)
                    continue
                key, extension = parsed
                if sample is not None and sample.key != key:
                    yield sample.record(source, fields)
                    sample = None
                # A sample starts once its first member is read (a truncation inside that
                # member is the rest-of-file record's, not a sample without it).
                current = sample or _Sample(key, index, again=seen.again(key))
                if not fits:
                    done, sample = index, current
                    sample.oversized.append(f"{key}.{extension} is {member.size:,} bytes, over "
                                            f"the cap of {cap:,} (input.{setting}): not read")
                    continue
                duplicate = extension in current.members
                # Only what the record holds is read: other members are listed, not kept.
                used = duplicate or extension in SIDECARS or (
                    extension in IMAGE_EXTENSIONS and current.image_extension() is None)
                data = _read_member(tar, member) if used else None
                done, sample = index, current
                if duplicate:
                    # Same key and extension twice: the second is its own record, kept whole.
                    image = extension in IMAGE_EXTENSIONS
                    yield defect(Kind.IMAGE_TEXT, source, index, location,
                                 Reason.DUPLICATE_MEMBER,
                                 f"{key}.{extension} again in the sample of member "
                                 f"{sample.first_index}", raw=None if image else data,
                                 image=data if image else None)
                else:
                    sample.members[extension] = data
            if done >= 0 and reader.last != tarfile.NUL * tarfile.BLOCKSIZE:
                raise tarfile.ReadError(
                    f"no end-of-archive marker: a header is corrupt or the file is truncated "
                    f"({len(reader.last)}-byte block that is not a header)")
    except Exception as err:  # the container is broken (or too big): the rest is one record
        if sample is not None:
            yield sample.record(source, fields)
            sample = None
        reason = (Reason.DECOMPRESSION_LIMIT if isinstance(err, DecompressionLimit)
                  else Reason.UNREADABLE_FILE)
        yield file_defect(Kind.IMAGE_TEXT, source, reason,
                          f"the archive itself is broken: stopped after member {done}: "
                          f"{type(err).__name__}: {err}",
                          position=done + 1, location=f"members {done + 1}-")
    if sample is not None:
        yield sample.record(source, fields)


class _Sample:
    def __init__(self, key: str, first_index: int, again: bool = False):
        self.key = key
        self.first_index = first_index
        self.again = again   # an earlier sample of the tar has this key
        self.members: Dict[str, Optional[bytes]] = {}   # None: listed, not read
        self.oversized: List[str] = []   # why members over a cap were not read

    def image_extension(self) -> Optional[str]:
        return next((e for e in self.members if e in IMAGE_EXTENSIONS), None)

    def record(self, source: str, fields: InputSettings) -> Record:
        location = f"key {self.key!r} (member {self.first_index})"
        image_ext = self.image_extension()
        image = self.members.get(image_ext) if image_ext else None
        metadata, caption = {}, None

        def bad(reason, detail, raw):
            return defect(Kind.IMAGE_TEXT, source, self.first_index, location, reason, detail,
                          raw=raw, key=self.key, image=image)

        if self.again:   # its own record, not claiming the first sample's id
            return defect(Kind.IMAGE_TEXT, source, self.first_index, location,
                          Reason.DUPLICATE_MEMBER,
                          f"key {self.key!r} again after other samples: an earlier sample of "
                          "this tar has it (a sample's members must be adjacent)",
                          raw=self.members.get("txt") or self.members.get("json"), image=image)
        if self.oversized:
            return bad(Reason.OVERSIZED_RECORD, "; ".join(self.oversized), None)
        if "json" in self.members:
            try:
                text = self.members["json"].decode("utf-8")
            except UnicodeDecodeError as err:
                return bad(Reason.MALFORMED_JSON, f"{self.key}.json: {err}", self.members["json"])
            metadata, problem = parse_json(text)
            if problem:
                return bad(Reason.MALFORMED_JSON, f"{self.key}.json: {problem}",
                           self.members["json"])
            if not isinstance(metadata, dict):
                metadata = {"json": metadata}
        if "txt" in self.members:
            try:
                caption = self.members["txt"].decode("utf-8")
            except UnicodeDecodeError as err:
                return bad(Reason.INVALID_UTF8, f"{self.key}.txt byte {err.start}",
                           self.members["txt"])
        elif isinstance(metadata.get(fields.caption_field), str):
            caption = metadata.pop(fields.caption_field)
        extra = sorted(e for e in self.members if e not in ("json", "txt", image_ext))
        if extra:
            metadata["extra_members"] = extra
        try:
            metadata = to_metadata(metadata)
        except ValueError as err:   # nested too deeply
            return bad(Reason.MALFORMED_JSON, f"{self.key}.json: {err}", self.members.get("json"))
        return make_record(uid=record_uid(source, location), id=public_id(self.key),
                           kind=Kind.IMAGE_TEXT, source=source, position=self.first_index,
                           location=location, caption=caption, image=image,
                           metadata=metadata)
