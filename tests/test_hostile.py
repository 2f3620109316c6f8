"""Every hostile input kind (tests/hostile_corpus.py) through the real job (issue 23 item 7).

Kinds are grouped: one job run per group (a subprocess, as a user runs it, so exit codes
and what reaches the terminal are real). Per kind: the exit code, conservation (its
records all come out, in cleaned/ or quarantine/), every good record cleaned, each hostile
record quarantined with its reason, and the kind's own check. A kind's ``part`` says which
part of the job holds the line (read, outputs, images; ok-today: handled before issue 23).
"""

import atexit
import collections
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

import pytest

from tests.broken_corpus import BROKEN_FLAGS
from tests.hostile_corpus import policy_yaml, write_hostile_corpus
from tests.jobs import ROOT, Outputs

# Written at collection: the marks depend on each kind's part.
CORPUS = pathlib.Path(tempfile.mkdtemp(prefix="hostile-corpus-"))
atexit.register(shutil.rmtree, CORPUS, True)
SPECS = {spec.kind: spec for spec in write_hostile_corpus(CORPUS / "in")}
GROUPS = collections.defaultdict(list)
for _spec in SPECS.values():
    GROUPS[_spec.group].append(_spec)
_RUNS = {}


def _argv(group: str):
    specs = GROUPS[group]
    output = CORPUS / "runs" / group
    if group == "overwrite":   # its output is the one the kinds set up
        output = pathlib.Path(specs[0].folder) / "out"
    flags = list(BROKEN_FLAGS)
    policy = policy_yaml()
    if policy:
        config = CORPUS / "policy.yaml"
        config.write_text(policy)
        flags += ["--config", str(config)]
    for spec in specs:
        flags += [f for f in spec.flags if f not in flags or not f.startswith("--")]
    inputs = [p for spec in specs for p in spec.inputs]
    return output, ["--input", *inputs, "--output", str(output), *flags]


# Jobs side by side: each is mostly one busy process (one at a time on a 2-core machine).
PARALLEL = max(1, (os.cpu_count() or 1) // 2)


def _start(groups, limit=None):
    """Start the groups' jobs, at most ``limit`` of them running at once."""
    for group in groups:
        if group in _RUNS:
            continue
        running = sum(isinstance(p, subprocess.Popen) and p.poll() is None
                      for _, p in _RUNS.values())
        if limit is not None and running >= limit:
            return
        output, argv = _argv(group)
        process = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from pipeline.launch import main; sys.exit(main())", *argv],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _RUNS[group] = (output, process)


def _job(group: str):
    """A group's run (started if need be): exit code, outputs and what it printed."""
    _start([group])
    output, process = _RUNS[group]
    if isinstance(process, subprocess.Popen):
        said = process.communicate(timeout=900)[0].decode("utf-8", "replace")
        summary_path = output / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        _RUNS[group] = (output, (process.returncode, Outputs(output, summary, {}), said))
    return _RUNS[group][1]


@pytest.fixture(scope="module", autouse=True)
def _selected_runs(request):
    """Every group a selected test needs, started together before the first test."""
    kinds = [item.callspec.params["kind"] for item in request.session.items
             if getattr(item, "callspec", None) and "kind" in item.callspec.params
             and item.module.__name__ == __name__]
    _start(sorted({SPECS[kind].group for kind in kinds}), limit=PARALLEL)
    yield
    for _, process in _RUNS.values():
        if isinstance(process, subprocess.Popen) and process.poll() is None:
            process.kill()




def test_the_corpus_has_every_kind():
    assert len(SPECS) >= 40
    assert {spec.part for spec in SPECS.values()} <= {"read", "outputs", "images", "ok-today"}


@pytest.mark.parametrize("kind", list(SPECS))
def test_hostile_kind(kind):
    spec = SPECS[kind]
    code, out, said = _job(spec.group)
    assert code in spec.exit_codes, f"exit {code}, expected {spec.exit_codes}:\n{said[-3000:]}"
    run = types.SimpleNamespace(path=out.path, out=out, said=said, code=code,
                                folder=spec.folder + "/")
    if code == 0:
        assert out.summary is not None and out.summary["conservation"]["ok"] is True
        cleaned, quarantine = out.cleaned_text + out.cleaned_image_text, out.quarantine
        assert out.summary["records_in"] == len(cleaned) + len(quarantine)
        mine_cleaned = [r for r in cleaned if r["source"].startswith(run.folder)]
        mine_held = [r for r in quarantine if r["source"].startswith(run.folder)]
        if spec.records is not None:
            assert len(mine_cleaned) + len(mine_held) == spec.records, \
                ([r["id"] for r in mine_cleaned], [(r["location"], r["primary_reason"])
                                                   for r in mine_held])
        kept = {r["id"] for r in mine_cleaned}
        missing = set(spec.good) - kept
        assert not missing, f"good records not cleaned: {sorted(missing)}; held: " \
            f"{[(r['id'], r['primary_reason'], r['location']) for r in mine_held]}"
        if spec.located:
            _check_located(spec, quarantine)
        else:
            _check_hostile(spec, mine_held)
    if spec.check is not None:
        spec.check(run)


def _check_located(spec, quarantine):
    for name, location, reason in spec.located:
        hits = [r for r in quarantine if r["source"].endswith(name) and location in r["location"]]
        assert len(hits) == 1, (name, location, reason, [h["location"] for h in hits])
        assert hits[0]["primary_reason"] == reason, (name, location, hits[0]["reasons"])


def _check_hostile(spec, held):
    """Each held record matches one hostile entry (by reason); every entry that may not
    be cleaned is matched (or, not exact, at least one record is held)."""
    got = [(r["primary_reason"], r["location"]) for r in held]
    allowed = {reason for entry in spec.hostile for reason in entry}
    assert all(reason in allowed for reason, _ in got), \
        f"held with other reasons: {got}, expected {list(spec.hostile)}"
    entries = sorted(spec.hostile, key=len)
    used = [False] * len(entries)
    for reason, location in got:
        slot = next((i for i, e in enumerate(entries) if not used[i] and reason in e), None)
        assert slot is not None, f"more held records than hostile ones: {got}"
        used[slot] = True
    needed = sum(None not in entry for entry in spec.hostile)
    if spec.exact:
        assert sum(used) >= needed, f"hostile records not held: {got}, expected {entries}"
    elif needed:
        assert got, f"nothing held, expected {entries}"
