"""Nightly runs against one big run (issue 21's invariant): a corpus split into nights, run
night by night, each with the running index the night before wrote, gives every record the
decision one run over all nights gives it, earlier nights first in input order.

Night files are named so that their names sort in night order (n1-..., n2-...): one run
over all of them reads them in that order, as the nights came.
"""

import pathlib
from typing import Dict, List, Sequence

import pyarrow.parquet as pq

from tests.jobs import run_job
from transforms.io.index import PARTS

EVERY_STAGE_OFF = ["--no-exact-dedup-text", "--no-exact-dedup-images", "--no-near-dedup-text",
                   "--no-repeated-spans", "--no-near-dedup-images", "--no-pii", "--no-faces",
                   "--no-identities", "--no-caption-templates", "--no-layouts", "--no-clip",
                   "--no-ocr", "--no-report"]


def only(*stages: str) -> List[str]:
    """Flags that turn every stage off but ``stages`` (their flag names, e.g.
    "exact-dedup-text")."""
    return [flag for flag in EVERY_STAGE_OFF if flag[len("--no-"):] not in stages] + [
        f"--{stage}" for stage in stages]


# A reason that says only that the record kept is in an earlier night's output.
SAME_REASON = {"near_duplicate_previous_run": "near_duplicate_text"}


def decisions(*outputs) -> Dict[str, tuple]:
    """Per record id: where it went and why: cleaned (its flags' reasons, cut spans) or
    quarantined (its reasons, the record it lost to and the clusters it is in). Not
    compared: group sizes and scores, which count the copies seen so far."""
    found = {}
    for out in outputs:
        for row in out.cleaned_text + out.cleaned_image_text:
            found[row["id"]] = ("cleaned", sorted(f["reason"] for f in row["flags"]),
                                sorted((r["start"], r["end"]) for r in row.get("removed", [])))
        for row in out.quarantine:
            found[row["id"]] = ("quarantined", sorted(SAME_REASON.get(r, r) for r in row["reasons"]),
                                row["kept_id"],
                                sorted(row["clusters"] or []))
    return found


def nightly(tmp_path, nights: Sequence[Sequence], *flags):
    """Each night's inputs run with the index the night before wrote; its outputs."""
    outputs, index = [], None
    for n, inputs in enumerate(nights, 1):
        index_flags = ["--index-out", str(tmp_path / f"index-{n}")]
        if index:
            index_flags += ["--index-in", index]
        outputs.append(run_job(tmp_path / f"night-{n}", inputs, *flags, *index_flags))
        index = str(tmp_path / f"index-{n}")
    return outputs


def one_run(tmp_path, nights: Sequence[Sequence], *flags):
    return run_job(tmp_path / "all-nights", [p for inputs in nights for p in inputs], *flags)


def index_rows(folder: pathlib.Path, part: str) -> List[dict]:
    """The rows of one part of an index a run wrote."""
    return [row for path in sorted((folder / PARTS[part].folder).glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]
