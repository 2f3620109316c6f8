"""What a run owns in its --output and --index-out, so that --overwrite deletes only that.

Before the job starts the launcher writes OUTPUT/manifest.json with ``finished_at`` null
and ``owns``: the files and the shard prefixes (Beam writes PREFIX-00000-of-00002.parquet,
and its temporary files under beam-temp-PREFIX-*/) the run writes; the report rewrites the
manifest at the end with ``finished_at`` and the files written. An output folder may hold
only what an earlier run's manifest owns: anything else (a user's own files, the inputs)
is refused and never deleted, and so is an output that holds an input or lies in an input
folder. --index-out holds only index shards (part-*.parquet), by the same rule.
"""

import json
import os
import posixpath
import re
from typing import Dict, Iterable, List, Optional

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.exits import UsageError
from pipeline.graph import output_paths
from transforms.io.index import PARTS

MANIFEST = "manifest.json"
TOOL = "hygiene"
SHARD = "part"                            # the writers' file prefix (pipeline/graph.py)
SHARDED = ("cleaned_text", "cleaned_image_text", "quarantine")   # output_paths' folders
FILES = ("summary", "report", "manifest")                         # ... and files


class OutputRefused(UsageError):
    """An output location this run must not write to or delete from; says why."""


def _local(path: str) -> bool:
    return "://" not in path


def _norm(path: str) -> str:
    """Comparable form: local paths absolute with symlinks resolved, URIs without a
    trailing slash."""
    return os.path.realpath(path) if _local(path) else path.rstrip("/")


def _inside(path: str, folder: str) -> bool:
    path, folder = _norm(path), _norm(folder)
    sep = os.sep if _local(folder) else "/"
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


def _relative(path: str, folder: str) -> str:
    """``path`` below ``folder``, with "/" (its last component never resolved: a link
    stays itself)."""
    if _local(path):
        path = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                            os.path.basename(path))
    return path[len(_norm(folder)):].replace(os.sep, "/").lstrip("/")


def owns(output: str) -> Dict[str, List[str]]:
    """What a run writes under ``output``, relative to it: the manifest's ``owns``."""
    paths = output_paths(output)
    return {"files": sorted(_relative(paths[k], output) for k in FILES),
            "shards": sorted(_relative(FileSystems.join(paths[k], SHARD), output)
                             for k in SHARDED)}


def _listing(folder: str) -> List[str]:
    """Every file under ``folder``, and every symbolic link (a link is never ours: the run
    would write through it). Local folders are walked, hidden files included."""
    if _local(folder):
        if os.path.isfile(folder):   # a folder of links is fine; a file is not a folder
            return [folder]
        folder, found = os.path.realpath(folder), []
        for top, dirs, files in os.walk(folder):
            found += [os.path.join(top, d) for d in dirs if os.path.islink(os.path.join(top, d))]
            found += [os.path.join(top, f) for f in files]
        return sorted(found)
    pattern = FileSystems.join(folder, "**")
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def _is_shard(rel: str, prefix: str) -> bool:
    """``rel`` is a shard of ``prefix`` (PREFIX-00000-of-00002.parquet, Beam's default shard
    names) or one of Beam's temporary files for it."""
    folder, base = posixpath.split(prefix)
    where, name = posixpath.split(rel)
    if where == folder and re.fullmatch(re.escape(base) + r"-\d+-of-\d+\.parquet", name):
        return True
    temporary = posixpath.join(folder, f"beam-temp-{base}-")
    return rel.startswith(temporary) and "/" in rel[len(temporary):]


def _earlier_manifest(output: str, listed: List[str]) -> Optional[dict]:
    path = next((p for p in listed if _relative(p, output) == MANIFEST), None)
    if path is None or (_local(path) and os.path.islink(path)):
        return None
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            manifest = json.loads(f.read(1 << 24).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != TOOL:
        return None
    return manifest


def _owned_by(manifest: dict, output: str):
    """The test for "an earlier run wrote this" from its manifest; a manifest from before
    ``owns`` was written (it lists only ``files``) owns what runs write today."""
    declared = manifest.get("owns")
    if not isinstance(declared, dict):
        declared = owns(output)
    files = {f for f in declared.get("files", []) if isinstance(f, str)}
    files |= {_relative(f, output) for f in manifest.get("files") or []
              if isinstance(f, str) and _inside(f, output)}
    shards = [s for s in declared.get("shards", []) if isinstance(s, str) and s]

    def owned(rel: str) -> bool:
        return rel in files or any(_is_shard(rel, s) for s in shards)
    return owned


def _refuse_foreign(flag: str, folder: str, foreign: List[str], why: str) -> None:
    more = f" (and {len(foreign) - 1} more such files)" if len(foreign) > 1 else ""
    raise OutputRefused(
        f"{flag} {folder!r} holds {foreign[0]!r}{more}, which {why}; nothing was deleted: "
        "give a new or empty folder, or move the file away")


def plan_output(output: str, overwrite: bool, skip: Iterable[str] = ()) -> List[str]:
    """The files --overwrite deletes from ``output`` (those an earlier run's manifest owns);
    refuses a folder holding anything else, or an earlier run without --overwrite. Files
    under ``skip`` (an --index-out inside the output) are left to their own check."""
    if _local(output) and os.path.isfile(output):
        raise OutputRefused(f"--output {output!r} is a file, not a folder")
    listed = [p for p in _listing(output) if not any(_inside(p, s) for s in skip)]
    if not listed:
        return []
    manifest = _earlier_manifest(output, listed)
    if manifest is None:
        _refuse_foreign("--output", output, listed,
                        f"no earlier run of {TOOL} wrote (there is no {MANIFEST} of a run)")
    owned = _owned_by(manifest, output)
    foreign = [p for p in listed if (_local(p) and os.path.islink(p))
               or not owned(_relative(p, output))]
    if foreign:
        _refuse_foreign("--output", output, foreign,
                        f"the earlier run's {MANIFEST} does not list as its own")
    if not overwrite:
        state = "" if manifest.get("finished_at") else ", unfinished"
        raise OutputRefused(f"--output {output!r} holds an earlier run "
                            f"({_relative(listed[0], output)}{state}); pass --overwrite to "
                            "replace it")
    return listed


def plan_index_out(index_out: str, overwrite: bool) -> List[str]:
    """The files --overwrite deletes from ``index_out``: index shards only."""
    if _local(index_out) and os.path.isfile(index_out):
        raise OutputRefused(f"--index-out {index_out!r} is a file, not a folder")
    listed = _listing(index_out)
    foreign = [p for p in listed if (_local(p) and os.path.islink(p))
               or not any(_is_shard(_relative(p, index_out),
                                    f"{part.folder}/{SHARD}" if part.folder else SHARD)
                          for part in PARTS.values())]
    if foreign:
        _refuse_foreign("--index-out", index_out, foreign,
                        f"is not an index shard an earlier run wrote ({SHARD}-*.parquet)")
    if listed and not overwrite:
        raise OutputRefused(f"--index-out {index_out!r} already holds an index; "
                            "pass --overwrite to replace it")
    return listed


def _matched(pattern: str) -> List[str]:
    if not _local(pattern) or os.path.isdir(pattern):
        return [pattern]   # remote: compared as written (matched on the workers)
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def check_apart(outputs: Dict[str, Optional[str]], inputs: Dict[str, List[str]],
                recursive: Iterable[str] = ("--input",)) -> None:
    """No input (a file matched, a folder) lies in an output, and no output lies in a
    folder read with all its subfolders (the flags in ``recursive``): a run would read
    its own outputs, and --overwrite delete its inputs. ``outputs``: flag -> location;
    ``inputs``: flag -> patterns, files or folders."""
    for out_flag, output in outputs.items():
        if not output:
            continue
        for in_flag, patterns in inputs.items():
            for pattern in patterns or ():
                folder = in_flag in recursive and _local(pattern) and os.path.isdir(pattern)
                if folder and _inside(output, pattern):
                    raise OutputRefused(f"{out_flag} {output!r} lies in the {in_flag} folder "
                                        f"{pattern!r}: a run would read its own outputs; "
                                        "choose an output outside the inputs")
                for path in _matched(pattern):
                    if _inside(path, output):
                        raise OutputRefused(
                            f"{in_flag} {path!r} lies in {out_flag} {output!r}: --overwrite "
                            "would delete it and outputs would mix with inputs; choose an "
                            "output folder that holds no input")


def delete(paths: List[str]) -> None:
    if paths:
        FileSystems.delete(paths)


def begin(output: str, manifest: dict) -> dict:
    """The manifest a run starts with, written before anything else so that a run that
    stops half way is still known as this tool's (``finished_at`` null)."""
    started = dict(manifest, finished_at=None, owns=owns(output))
    path = FileSystems.join(output, MANIFEST)
    try:
        with FileSystems.create(path, mime_type="application/json") as f:
            f.write(json.dumps(started, indent=2).encode("utf-8"))
    except OSError as err:
        raise OutputRefused(f"--output {output!r} cannot be written: {err}") from None
    return started
