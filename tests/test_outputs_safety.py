"""Outputs never endanger inputs or a user's files (issue 23 item 3): --overwrite deletes
only what an earlier run's manifest owns, an output holding an input (or lying in an input
folder) is refused before anything is deleted, and the exit statuses are distinct: usage 2,
gates 3, crash 4, conservation 1."""

import csv
import json
import os

import pytest

from pipeline import ownership
from pipeline.exits import ExitCode
from pipeline.launch import RunResult, exit_status, main
from tests.builders import write_jsonl

FAST = ("--no-faces", "--no-pii", "--no-caption-templates", "--no-layouts")


def touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def docs(folder):
    return write_jsonl(folder / "docs.jsonl", [
        ("a", "the first document, about rivers and the sea"),
        ("b", "a second document on mountains and their weather"),
        ("c", "a third one: bread, flour, water, salt and time")])


def an_earlier_run(out, finished=True):
    """The files a run leaves, under the manifest it writes first (what ownership.begin
    writes; the report completes it)."""
    touch(out / "manifest.json", json.dumps({
        "tool": "hygiene", "finished_at": "2026-11-20T02:00:00+00:00" if finished else None,
        "owns": ownership.owns(str(out))}))
    written = [touch(out / "cleaned" / "text" / "part-00000-of-00001.parquet"),
               touch(out / "quarantine" / "part-00000-of-00002.parquet"),
               touch(out / "summary.json", "{}"), touch(out / "report" / "index.html")]
    if not finished:   # Beam's temporary files of a run that stopped half way
        written.append(touch(out / "cleaned" / "image_text" / "beam-temp-part-1f2e" / "a1"))
    return sorted(str(p) for p in [out / "manifest.json", *written])


def test_overwrite_deletes_exactly_what_the_manifest_owns(tmp_path):
    out = tmp_path / "out"
    for finished in (True, False):
        owned = an_earlier_run(out, finished)
        assert sorted(ownership.plan_output(str(out), overwrite=True)) == owned
        with pytest.raises(ownership.OutputRefused, match="pass --overwrite"):
            ownership.plan_output(str(out), overwrite=False)
    # A user's file among them, in a folder a run writes to, is refused by name.
    for name in ("my-notes.csv", "part-notes.csv"):
        mine = touch(out / "cleaned" / "text" / name)
        with pytest.raises(ownership.OutputRefused, match=f"{name}.*does not list"):
            ownership.plan_output(str(out), overwrite=True)
        mine.unlink()
    # So is a link: the run would write through it.
    os.symlink(tmp_path, out / "report" / "elsewhere")
    with pytest.raises(ownership.OutputRefused, match="elsewhere"):
        ownership.plan_output(str(out), overwrite=True)


def test_a_folder_no_run_wrote_is_refused_and_left_alone(tmp_path, capsys):
    corpus = docs(tmp_path)
    out = tmp_path / "out"
    # A user's own cleaned/, quarantine/ and report/ folders, and a summary of their own.
    theirs = [touch(out / "cleaned" / "text" / "part-00000-of-00001.parquet"),
              touch(out / "quarantine" / "held.parquet"), touch(out / "report" / "notes.md"),
              touch(out / "summary.json", '{"records_in": 7}')]
    for flags in ((), ("--overwrite",)):
        assert main(["--input", str(corpus), "--output", str(out), *flags]) == ExitCode.USAGE
        err = capsys.readouterr().err
        assert "no earlier run of hygiene wrote" in err and "nothing was deleted" in err
        assert "part-00000-of-00001.parquet" in err and "3 more" in err
    assert all(p.exists() for p in theirs)
    # A manifest that is not a run's does not make the files a run's.
    touch(out / "manifest.json", '{"tool": "something-else"}')
    assert main(["--input", str(corpus), "--output", str(out), "--overwrite"]) == 2
    assert all(p.exists() for p in theirs)
    # An --index-out holds index shards only.
    index = tmp_path / "index"
    shard = touch(index / "part-00000-of-00001.parquet")
    spans = touch(index / "spans" / "part-00000-of-00001.parquet")   # the span index's
    assert sorted(ownership.plan_index_out(str(index), overwrite=True)) == [str(shard),
                                                                            str(spans)]
    with pytest.raises(ownership.OutputRefused, match="pass --overwrite"):
        ownership.plan_index_out(str(index), overwrite=False)
    touch(index / "signatures.parquet")
    with pytest.raises(ownership.OutputRefused, match="signatures.parquet.*index shard"):
        ownership.plan_index_out(str(index), overwrite=True)


def test_an_output_holding_an_input_is_refused_before_anything_is_deleted(tmp_path, capsys):
    out = tmp_path / "out"
    an_earlier_run(out)
    inside = docs(out / "cleaned" / "text")   # an input where a run writes
    corpus = docs(tmp_path)
    for inputs in ([str(inside)], [str(out / "cleaned" / "text" / "*.jsonl")],
                   [str(corpus), str(out / "cleaned")]):
        status = main(["--input", *inputs, "--output", str(out), "--overwrite", *FAST])
        assert status == ExitCode.USAGE
        assert "lies in --output" in capsys.readouterr().err
        assert inside.exists() and (out / "summary.json").exists()
    # A decisions file or an index read from the output, likewise.
    assert main(["--input", str(corpus), "--output", str(out), "--overwrite",
                 "--index-in", str(out / "cleaned" / "text")]) == ExitCode.USAGE
    assert "--index-in" in capsys.readouterr().err
    # An output in an input folder: a run would read its own outputs.
    folder = tmp_path / "pictures"
    folder.mkdir()
    assert main(["--input", str(folder), "--output", str(folder / "out")]) == ExitCode.USAGE
    assert "lies in the --input folder" in capsys.readouterr().err
    assert not (folder / "out").exists()


def test_exit_statuses_are_distinct_and_the_lowest_wins():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4]
    assert {c.name for c in ExitCode} == {"OK", "CONSERVATION", "USAGE", "GATES", "CRASH"}
    ok = {"conservation": {"ok": True}}
    violated = {"conservation": {"ok": False}}
    assert exit_status(RunResult("o", ok, "DONE")) == ExitCode.OK
    assert exit_status(RunResult("o", None, "RUNNING")) == ExitCode.OK   # a dry run
    assert exit_status(RunResult("o", ok, "DONE", gates=["g"])) == ExitCode.GATES
    assert exit_status(RunResult("o", ok, "DONE", gates=["g"],
                                 decisions_problem="d")) == ExitCode.USAGE
    assert exit_status(RunResult("o", violated, "DONE", gates=["g"],
                                 decisions_problem="d")) == ExitCode.CONSERVATION


def _corrupt_pages(parquet):
    """Garbage where the pages are, the footer intact: the schema reads, the rows do not."""
    data = bytearray(parquet.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    end = len(data) - 8 - footer
    data[4:end] = b"\xff" * (end - 4)
    parquet.write_bytes(bytes(data))


def test_a_crash_exits_4_and_the_next_overwrite_replaces_the_unfinished_run(tmp_path, capsys):
    corpus = docs(tmp_path)
    out, index = tmp_path / "out", tmp_path / "index"
    assert main(["--input", str(corpus), "--output", str(out), *FAST,
                 "--index-out", str(index)]) == ExitCode.OK
    capsys.readouterr()
    first = json.loads((out / "manifest.json").read_text())
    assert first["finished_at"] and first["owns"] == ownership.owns(str(out))
    assert first["files"] and all(os.path.exists(f) for f in first["files"])

    # An earlier night's index whose pages are broken (its footer is fine, so the checks
    # before the job pass): the job itself fails, a crash, not a usage error.
    broken = tmp_path / "broken-index"
    broken.mkdir()
    shard = next(index.glob("*.parquet"))
    (broken / shard.name).write_bytes(shard.read_bytes())
    _corrupt_pages(broken / shard.name)
    status = main(["--input", str(corpus), "--output", str(out), "--overwrite", *FAST,
                   "--index-in", str(broken)])
    assert status == ExitCode.CRASH
    assert "hygiene: crashed:" in capsys.readouterr().err
    unfinished = json.loads((out / "manifest.json").read_text())
    assert unfinished["finished_at"] is None and not (out / "summary.json").exists()

    # The next --overwrite replaces it; decisions that match nothing fail a strict run
    # after it wrote everything, and are counted in the summary either way.
    decisions = tmp_path / "decisions.csv"
    with open(decisions, "w", newline="") as f:
        csv.writer(f).writerows([("scope", "id", "decision"), ("record", "b", "reject"),
                                 ("record", "00012345", "reject"),
                                 ("cluster", "exact-nothing", "release")])
    status = main(["--input", str(corpus), "--output", str(out), "--overwrite", *FAST,
                   "--review-decisions", str(decisions), "--strict-decisions"])
    assert status == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "2 of 3 decisions match no record or cluster" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["decisions"] == {"read": 3, "unmatched": 2, "unmatched_examples": [
        "cluster:exact-nothing", "record:00012345"]}
    assert summary["review"]["rejected"] == 1 and summary["conservation"]["ok"]
    assert summary["records_in"] == 3 and summary["quarantined"]["total"] == 1
    assert json.loads((out / "manifest.json").read_text())["finished_at"]
