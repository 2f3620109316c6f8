"""Every benchmark's headline rates in one table: each script records them where it measures
them, and `python -m benchmarks` (`make bench`), which runs the scripts one after another,
each in a process of its own, prints them together.

A script run alone records nothing: it records only when RESULTS_FILE names a file (the
harness sets it), one JSON line per result, so the harness reads them back from the child.
"""

import json
import os
from typing import List, NamedTuple, Optional

RESULTS_FILE = "HYGIENE_BENCH_RESULTS"


class Result(NamedTuple):
    stage: str
    method: str
    records: int                    # corpus size the rate was measured on
    unit: str                       # what a record is: "docs", "images", "records", "hashes"
    per_second: Optional[float]     # wall clock
    per_core: Optional[float]       # per CPU-second (the process and its workers)
    peak_rss_mib: Optional[float]   # largest single process; None where not measured apart
    note: str = ""


def record(stage: str, method: str, records: int, unit: str, per_second: Optional[float],
           per_core: Optional[float], peak_rss_mib: Optional[float] = None,
           note: str = "") -> None:
    path = os.environ.get(RESULTS_FILE)
    if not path:
        return
    result = Result(stage, method, records, unit, per_second, per_core, peak_rss_mib, note)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(result._asdict()) + "\n")


def read(path: str) -> List[Result]:
    try:
        with open(path, encoding="utf-8") as f:
            return [Result(**json.loads(line)) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _number(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(results: List[Result]) -> str:
    lines = ["| stage | method | corpus | per second | per second per core | "
             "peak RSS MiB | note |", "|---|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r.stage} | {r.method} | {r.records:,} {r.unit} | {_number(r.per_second)} | "
              f"{_number(r.per_core)} | {_number(r.peak_rss_mib)} | {r.note} |"
              for r in results]
    return "\n".join(lines)
