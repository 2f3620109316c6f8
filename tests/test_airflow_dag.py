"""The nightly DAG, run by Airflow itself (`airflow dags test`, offline, sqlite) from its own
virtualenv (`make airflow`), on the DirectRunner against the bundled sample's text (the whole
sample runs in test_pipeline; here Airflow's wiring is under test, and each night costs a job):
three nights with the running index, the second failing its gate, then a rerun of it."""

import json
import os
import pathlib
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from tests.jobs import ROOT

AIRFLOW = ROOT / ".airflow-venv" / "bin" / "airflow"
TEXT_RECORDS = 98    # sample/text: 39 + 16 + 17 lines, 20 rows, 6 lines


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    assert AIRFLOW.exists(), "make test builds the Airflow virtualenv (make airflow)"
    home = tmp_path_factory.mktemp("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(home),
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "HYGIENE_PYTHON": sys.executable}
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)

    def dags_test(night: str, **conf):
        return subprocess.run([str(AIRFLOW), "dags", "test", "hygiene_nightly", night,
                               "-c", json.dumps(conf)],
                              env=env, capture_output=True, text=True, timeout=900)
    return dags_test


def test_three_nights_a_failed_one_and_a_rerun_read_the_published_index(airflow, tmp_path):
    root = tmp_path / "nightly"
    # PII off: the nights pass flags through beam_options as a user's would, and skip the
    # model load (the PII stage runs in test_pii_pipeline).
    conf = {"output_root": str(root), "decisions": None, "input": ["sample/text/*"],
            "beam_options": {"no-pii": True}, "fail_on": []}

    def night(ds, **more):
        done = airflow(ds, **{**conf, **more})
        log = done.stdout + done.stderr
        runs = root / "runs" / ds
        return (done.returncode, log, json.loads((runs / "summary.json").read_text()),
                json.loads((runs / "manifest.json").read_text()))

    code, log, night_one, manifest = night("2026-11-20")
    assert code == 0 and "state=success" in log, log[-3000:]
    assert night_one["records_in"] == TEXT_RECORDS and night_one["conservation"]["ok"]
    assert (root / "runs" / "2026-11-20" / "report" / "index.html").exists()
    assert manifest["config"]["pii"]["enabled"] is False    # beam_options reached the job
    assert manifest["index"]["in"] == {}
    assert (root / "index" / "_published" / "2026-11-20").exists()

    # The same corpus the next night: everything night one saw is now a duplicate of it
    # (the plan feeds night one's index in), so the rate bound fails, and the night's index
    # is not published.
    code, log, failed, manifest = night("2026-11-21", fail_on=["quarantine_rate>0.5"])
    assert code != 0 and "state=failed" in log
    assert "quarantine_rate > 0.5: the run has quarantine_rate" in log
    assert "2026-11-20" in manifest["index"]["in"]["text"][0]
    assert failed["reasons"]["exact_duplicate_text"] > 0
    assert not (root / "index" / "_published" / "2026-11-21").exists()

    # Night three reads night one's index, as it was: the failed night left it alone.
    code, log, _, manifest = night("2026-11-22")
    assert code == 0, log[-3000:]
    assert {pathlib.Path(p).parent.name for p in manifest["index"]["in"]["text"]} == {
        "2026-11-20"}

    # A rerun of the second night reads the index published before it (night one's, not
    # its own nor night three's), so it decides as the first try did; its outputs are
    # replaced, each record once. Two indexes kept: night one's goes once it has published.
    code, log, rerun, manifest = night("2026-11-21", keep_indexes=2)
    assert code == 0, log[-3000:]
    assert {pathlib.Path(p).parents[1].name for p in manifest["index"]["in"]["exact"]} == {
        "2026-11-20"}
    assert (rerun["reasons"], rerun["quarantined"]) == (failed["reasons"], failed["quarantined"])
    runs = root / "runs" / "2026-11-21"

    def rows(*parts):
        return ds.dataset(str(runs.joinpath(*parts)), format="parquet").count_rows()
    assert rows("cleaned", "text") + rows("cleaned", "image_text") == rerun["cleaned"]["total"]
    assert rows("quarantine") == rerun["quarantined"]["total"]
    assert sorted(p.name for p in (root / "index" / "_published").iterdir()) == [
        "2026-11-21", "2026-11-22"]
    assert not (root / "index" / "2026-11-20").exists()


PLAN_NIGHTS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import hygiene_nightly
from airflow.providers.apache.beam.hooks.beam import beam_options_to_args
dag = hygiene_nightly.dag
for conf in json.loads(sys.argv[2]):
    params = {**dag.params.dump(), **conf}
    options = dag.get_task("plan").python_callable(params=params, ds="2026-11-20")
    print(json.dumps({"args": beam_options_to_args(options), "defaults": dag.params.dump(),
                      "runner": dag.get_task("clean").runner}))
"""


def test_the_dag_passes_a_flink_run_through_to_the_job(tmp_path):
    """The plan task alone, in Airflow's interpreter (no Airflow run): a night on Flink reaches
    the job as Beam's job server options, and the default night has none."""
    assert AIRFLOW.exists(), "make test builds the Airflow virtualenv (make airflow)"
    flink = {"runner": "FlinkRunner", "job_endpoint": "localhost:8099", "parallelism": 2,
             "environment_type": "EXTERNAL", "environment_config": "localhost:50000"}
    base = {"output_root": str(tmp_path), "decisions": None}
    done = subprocess.run(
        [str(AIRFLOW.parent / "python"), "-c", PLAN_NIGHTS, str(ROOT / "dags"),
         json.dumps([{**base, **flink}, base])],
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path / "home")},
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    night, default = [json.loads(line) for line in done.stdout.strip().splitlines()[-2:]]
    for flag in ("--job_endpoint=localhost:8099", "--parallelism=2",
                 "--environment_type=EXTERNAL", "--environment_config=localhost:50000"):
        assert flag in night["args"], flag
    assert f"--output={tmp_path}/runs/2026-11-20" in night["args"]
    assert night["runner"] == "{{ params.runner }}"
    assert {"job_endpoint", "parallelism", "environment_type"} <= set(night["defaults"])
    assert not [a for a in default["args"] if a.startswith(("--job_endpoint", "--environment"))]
    assert default["defaults"]["runner"] == "DirectRunner"
