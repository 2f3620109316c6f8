"""Nightly data hygiene: plan the night's paths, run the Beam job, gate on its summary.

    plan   the night's inputs (params.input, "{ds}" replaced by the logical date), its output
           folder under params.output_root, the running index to read (the last published
           one of an earlier night: index/<night>/) and the one to write (index/<ds>/), and
           every review decisions file (params.decisions, oldest first by name)
    clean  BeamRunPythonPipelineOperator: beam_runner.py with the pipeline's own interpreter
           (HYGIENE_PYTHON, default the project's .venv), params.runner, the job server params
           and params.beam_options (Dataflow: project, region, temp_location, setup_file, ...);
           --overwrite, so a rerun of the night replaces that night's outputs
    gate   reads the night's summary.json and fails the DAG run when a params.fail_on bound
           holds (pipeline/gates.py, the same rules as the job's --fail-on)
    publish  marks the night's index as the one later nights read (index/_published/<ds>,
           one small file, written whole) and deletes the indexes older than the
           params.keep_indexes latest. A night that fails never publishes: the next one
           reads the index as it was. A rerun of a night reads the index published before
           it, so it decides as the first run of that night did.

Paths are local folders or any Beam filesystem URI (gs://, s3://). Run one night offline:
    AIRFLOW_HOME=/tmp/af airflow dags test hygiene_nightly 2026-11-20
A night on Flink (a job server and a worker pool started as README "Spark and Flink" says):
    airflow dags test hygiene_nightly 2026-11-20 -c '{"runner": "FlinkRunner",
        "job_endpoint": "localhost:8099", "parallelism": 2, "environment_type": "EXTERNAL",
        "environment_config": "localhost:50000"}'
"""

import json
import os
import pathlib
import sys

import pendulum
from airflow.sdk.exceptions import AirflowFailException
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
from airflow.sdk import DAG, Param, task

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("HYGIENE_PYTHON", str(REPO / ".venv" / "bin" / "python"))


# Passed through to the job as Beam's options of the same names, when set.
JOB_SERVER_PARAMS = ("job_endpoint", "parallelism", "environment_type", "environment_config")


def _absolute(path: str) -> str:
    """Remote URIs as they are; local paths against the repository."""
    return path if "://" in path or os.path.isabs(path) else str(REPO / path)


def _join(*parts: str) -> str:
    return "/".join(part.rstrip("/") for part in parts)


PUBLISHED = "_published"   # index/_published/<night>: that night's index is whole


def _published(root: str):
    """The nights whose running index later nights may read, oldest first."""
    from apache_beam.io.filesystems import FileSystems
    found = FileSystems.match([_join(root, "index", PUBLISHED, "*")])[0].metadata_list
    return sorted(m.path.rsplit("/", 1)[-1] for m in found)


with DAG(
    dag_id="hygiene_nightly",
    description="Deduplicate, check and quarantine the night's scraped data",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,   # the plan's lists reach the operator as lists
    params={
        "input": Param(["sample/text/*", "sample/image_text/*", "sample/image_folder/"],
                       type="array", description='globs; "{ds}" is the logical date'),
        "output_root": Param("output/nightly", type="string"),
        "keep_indexes": Param(3, type="integer", minimum=1,
                              description="published running indexes kept (reruns of the "
                              "latest nights read the one before them)"),
        "index_retention_days": Param(0, type="integer", minimum=0,
                                      description="forget clusters that began more than this "
                                      "many days ago (0: remember everything)"),
        "config": Param("sample/policy.yaml", type=["string", "null"]),
        "decisions": Param("output/nightly/review/*.csv", type=["string", "null"],
                           description="review decisions files, applied oldest first by name"),
        "runner": Param("DirectRunner", type="string"),
        # A Flink or Spark run: the job server's address, tasks, and where the Python workers
        # are (EXTERNAL: a worker pool's address; LOOPBACK: in the launching process).
        "job_endpoint": Param(None, type=["string", "null"],
                              description="Flink/Spark job server, e.g. localhost:8099"),
        "parallelism": Param(None, type=["integer", "null"], description="Flink tasks, e.g. 2"),
        "environment_type": Param(None, type=["string", "null"],
                                  description="EXTERNAL (a worker pool) or LOOPBACK"),
        "environment_config": Param(None, type=["string", "null"],
                                    description="EXTERNAL: the worker pool, e.g. localhost:50000"),
        "beam_options": Param({}, type="object",
                              description="runner options, e.g. project, region, temp_location"),
        "fail_on": Param(["quarantine_rate>0.5"], type="array",
                         description="bounds on summary.json that fail the run"),
    },
    tags=["data-hygiene"],
) as dag:

    @task
    def plan(params=None, ds=None):
        from apache_beam.io.filesystems import FileSystems

        root = _absolute(params["output_root"])
        earlier = [night for night in _published(root) if night < ds]
        decisions = []
        if params["decisions"]:
            pattern = _absolute(params["decisions"])
            decisions = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        options = {
            "input": [_absolute(p.replace("{ds}", ds)) for p in params["input"]],
            "output": _join(root, "runs", ds),
            "index-out": _join(root, "index", ds),
            "index-in": [_join(root, "index", earlier[-1])] if earlier else [],
            "index-retention-days": params["index_retention_days"] or None,
            "review-decisions": decisions,
            "config": _absolute(params["config"]) if params["config"] else None,
            "overwrite": True,
            **{key: params[key] for key in JOB_SERVER_PARAMS},
            **params["beam_options"],
        }
        return {k: v for k, v in options.items() if v not in (None, [])}

    planned = plan()

    clean = BeamRunPythonPipelineOperator(
        task_id="clean",
        py_file=str(REPO / "beam_runner.py"),
        py_interpreter=PYTHON,
        runner="{{ params.runner }}",
        pipeline_options="{{ ti.xcom_pull(task_ids='plan') }}",
    )

    @task
    def gate(options: dict, params=None):
        from apache_beam.io.filesystems import FileSystems
        if str(REPO) not in sys.path:   # pipeline/gates.py is plain Python
            sys.path.insert(0, str(REPO))
        from pipeline.gates import failed_gates, parse_gate

        with FileSystems.open(_join(options["output"], "summary.json")) as f:
            summary = json.loads(f.read())
        failures = failed_gates(summary, [parse_gate(g) for g in params["fail_on"]])
        if not summary["conservation"]["ok"]:
            failures.insert(0, f"conservation violated: {summary['conservation']}")
        if failures:
            raise AirflowFailException("; ".join(failures))
        return {"records_in": summary["records_in"],
                "quarantine_rate": summary["quarantine_rate"]}

    @task
    def publish(options: dict, params=None, ds=None):
        from apache_beam.io.filesystems import FileSystems

        root = _absolute(params["output_root"])
        marker = _join(root, "index", PUBLISHED, ds)
        with FileSystems.create(marker) as f:
            f.write(json.dumps({"index": options["index-out"],
                                "read": options.get("index-in", [])}).encode())
        # Oldest first: the marker goes before its folder, so a plan never reads a
        # published index that is half deleted.
        for night in _published(root)[:-params["keep_indexes"]]:
            FileSystems.delete([_join(root, "index", PUBLISHED, night)])
            FileSystems.delete([_join(root, "index", night)])

    planned >> clean >> gate(planned) >> publish(planned)
