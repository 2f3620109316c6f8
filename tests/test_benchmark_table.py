"""make bench's harness: a benchmark run by it records its rows, and they reach the table."""

import subprocess
import sys

from benchmarks.results import RESULTS_FILE, Result, read, record, table
from tests.jobs import ROOT


def test_a_script_run_alone_records_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(RESULTS_FILE, raising=False)
    record("PII", "ours", 10, "docs", 5.0, 5.0)
    monkeypatch.setenv(RESULTS_FILE, str(tmp_path / "r.jsonl"))
    record("PII", "ours", 10, "docs", 5.0, 5.0, 812.4, "one core")
    assert read(str(tmp_path / "r.jsonl")) == [
        Result("PII", "ours", 10, "docs", 5.0, 5.0, 812.4, "one core")]
    lines = table(read(str(tmp_path / "r.jsonl"))).splitlines()
    assert lines[2] == "| PII | ours | 10 docs | 5.0 | 5.0 | 812 | one core |"


def test_the_harness_runs_a_benchmark_and_prints_its_rows():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "image-index", "--hashes", "400",
         "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout[done.stdout.index("# Summary"):]
    assert "- machine: " in summary and "- code: " in summary
    rows = [line.split(" | ") for line in summary.splitlines()
            if line.startswith("| near-duplicate images |")]
    assert len(rows) == 1, summary
    assert rows[0][2] == "400 hashes"
    assert float(rows[0][3].replace(",", "")) > 0 and float(rows[0][4].replace(",", "")) > 0
    assert "copies removed 40 of 40" in rows[0][6]


def test_the_harness_refuses_an_unknown_benchmark():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "speed"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--only" in done.stderr
