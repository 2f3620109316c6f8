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


def test_the_spans_memory_benchmark_runs_the_stage_and_records_both_sizes():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "spans-memory", "--span-memory-docs",
         "200", "400", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout[done.stdout.index("# Summary"):]
    rows = [line.split(" | ") for line in summary.splitlines()
            if line.startswith("| repeated spans |")]
    assert [row[2] for row in rows] == ["200 docs", "400 docs"], summary
    assert all(float(row[5].replace(",", "")) > 50 for row in rows)   # peak RSS, MiB


def test_removal_summary_counts_every_planted_copy_but_the_first(tmp_path):
    from benchmarks.spans import build_corpus, removal_summary
    import json
    meta = build_corpus(300, 0, tmp_path)
    rows = [json.loads(line) for line in open(tmp_path / "corpus.jsonl", encoding="utf-8")]
    planted = [json.loads(line) for line in open(tmp_path / "planted.jsonl", encoding="utf-8")]
    blocks = sum(len(p) for p in planted)
    assert meta["planted"] == blocks
    untouched = removal_summary(tmp_path, {r["id"]: r["text"] for r in rows}, set())
    assert untouched["removed"] == 0 and untouched["share_removed"] == 0
    assert untouched["to_remove"] == blocks - len({b for p in planted for b in p})
    dropped = removal_summary(tmp_path, {}, {r["id"] for r in rows})
    assert dropped["removed"] == dropped["to_remove"] and dropped["share_removed"] == 1.0
