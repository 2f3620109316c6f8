"""The review loop's files: read the decisions a person made, and write the file they make
them in (`hygiene-review OUTPUT`), listing a run's riskiest clusters and records.

A decision names a record (its public id) or a cluster (detectors/clusters.py) and says
release or reject. Files are applied in the order given, a later file's decision on the
same record or cluster replacing an earlier one, so a nightly job passes every file
reviewers ever wrote, oldest first.
"""

import argparse
import csv
import datetime
import heapq
import io
import json
import sys
from typing import Dict, Iterable, List, Optional

import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from detectors.display import for_display, terminal_safe
from detectors.previews import masked_preview
from schemas.reasons import INPUT_DEFECTS, Reason
from schemas.review import (CLUSTER, COLUMNS, RECORD, REJECT, RELEASE, REQUIRED, Decision,
                            key, neutralized, restored)
from transforms.io.index import parquet_files


class ReviewError(ValueError):
    """A decisions file that cannot be applied; the message names the file and line."""


def read_decisions(paths: Iterable[str]) -> Dict[str, Decision]:
    """schemas.review.key -> Decision from decisions files (local or any Beam filesystem),
    later files first. Rows with a blank decision are undecided and skipped."""
    decisions: Dict[str, Decision] = {}
    for path in paths:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            data = f.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ReviewError(f"{path}: not UTF-8 (byte {err.start}): save it as UTF-8 "
                              "CSV") from None
        try:
            decisions.update(_decisions(path, text))
        except csv.Error as err:   # a NUL byte, an unclosed quote at the end
            raise ReviewError(f"{path}: not a CSV file: {err}") from None
    return decisions


def _decisions(path: str, text: str) -> Dict[str, Decision]:
    decisions = {}
    rows = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in REQUIRED if c not in (rows.fieldnames or ())]
    if missing:
        raise ReviewError(f"{path}: no column {', '.join(missing)} "
                          f"(needs {', '.join(REQUIRED)})")
    for line, row in enumerate(rows, start=2):
        row = {k: restored(v) if isinstance(v, str) else v for k, v in row.items()}
        decision = _decision(row, f"{path}:{line}")
        if decision is not None:
            decisions[key(decision.scope, decision.id)] = decision
    return decisions


def _decision(row: dict, where: str) -> Optional[Decision]:
    value = (row.get("decision") or "").strip().lower()
    if not value:
        return None
    scope, record_id = (row.get("scope") or "").strip().lower(), (row.get("id") or "").strip()
    if value not in (RELEASE, REJECT):
        raise ReviewError(f"{where}: decision {value!r}: write {RELEASE}, {REJECT} or nothing")
    if scope not in (RECORD, CLUSTER):
        raise ReviewError(f"{where}: scope {scope!r}: write {RECORD} or {CLUSTER}")
    if not record_id:
        raise ReviewError(f"{where}: no id")
    reviewed_at = (row.get("reviewed_at") or "").strip() or None
    if reviewed_at:
        try:
            datetime.datetime.fromisoformat(reviewed_at.replace("Z", "+00:00"))
        except ValueError:
            raise ReviewError(f"{where}: reviewed_at {reviewed_at!r} is not an ISO 8601 time "
                              "(e.g. 2026-11-23T09:30:00Z)") from None
    return Decision(scope=scope, id=record_id, decision=value,
                    reviewer=(row.get("reviewer") or "").strip(),
                    note=(row.get("note") or "").strip(), reviewed_at=reviewed_at, source=where)


# --- the file a reviewer fills -------------------------------------------------------------

def riskiest_records(output: str, limit: int) -> List[dict]:
    """The ``limit`` riskiest quarantined records a reviewer could release (among equal
    risks, the first in the files), streamed batch by batch: memory holds ``limit`` rows,
    whatever the quarantine's size, and only they get a preview."""
    columns = ["id", "reasons", "risk", "clusters", "kind", "text", "caption", "evidence",
               "group_size", "review_status"]

    def releasable():
        for path in parquet_files([FileSystems.join(output, "quarantine")]):
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                for batch in pq.ParquetFile(f).iter_batches(batch_size=1024, columns=columns):
                    for row in batch.to_pylist():
                        # Decided already, or nothing a reviewer could release.
                        if row["review_status"] != "rejected" and not any(
                                Reason(r) in INPUT_DEFECTS for r in row["reasons"]):
                            yield row

    top = heapq.nlargest(limit, releasable(), key=lambda row: row["risk"])
    return [_record_row(row) for row in top]


def _record_row(row: dict) -> dict:
    field = "text" if row["kind"] == "text" else "caption"
    return {"scope": RECORD, "id": row["id"], "reason": ",".join(row["reasons"]),
            "risk": row["risk"], "size": row["group_size"] or "", "records": 1,
            "quarantined": 1, "clusters": " ".join(row["clusters"]),
            "preview": terminal_safe(masked_preview(row[field] or "", field, row["evidence"],
                                                    limit=160))}


def cluster_rows(summary: dict) -> List[dict]:
    return [{"scope": CLUSTER, "id": c["cluster_id"], "reason": c["reason"], "risk": c["risk"],
             "size": c["size"], "records": c["records"], "quarantined": c["quarantined"],
             "examples": " ".join(for_display(i) for i in c["examples"]), "preview": ""}
            for c in summary.get("top_clusters", [])]


def write_decisions_file(output: str, out, records: int) -> int:
    """The run's top clusters (summary.json) then its riskiest releasable records, with
    blank decision columns; returns the rows written."""
    with FileSystems.open(FileSystems.join(output, "summary.json")) as f:
        summary = json.loads(f.read())
    rows = cluster_rows(summary) + riskiest_records(output, records)
    write_rows(out, rows)
    return len(rows)


def write_rows(out, rows: List[dict]) -> None:
    """Decisions file rows, every cell quoted (spreadsheets keep 00012345 as text when
    told to take quoted cells as text) and none a formula (schemas.review.neutralized)."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n",
                            quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: neutralized("" if row.get(c) is None else str(row[c]))
                         for c in COLUMNS})


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hygiene-review",
        description="Write a decisions file (CSV) for a run: its riskiest clusters and "
                    "quarantined records, each with a blank 'decision' column to fill with "
                    "release or reject. Pass the filled files to a later run's "
                    "--review-decisions.")
    parser.add_argument("output", help="the run's --output")
    parser.add_argument("-o", "--out", default="-", help="CSV to write (default: stdout)")
    parser.add_argument("--records", type=int, default=500, metavar="N",
                        help="riskiest quarantined records to list (default: 500)")
    args = parser.parse_args(argv)
    if args.out == "-":
        count = write_decisions_file(args.output, sys.stdout, args.records)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            count = write_decisions_file(args.output, out, args.records)
    print(f"hygiene-review: {count} rows to decide -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
