"""The job on Apache Flink and Apache Spark: Beam's job servers (`make flink spark`) with an
embedded Flink, a local Flink cluster (a JobManager and TaskManagers, each a JVM) or a local
Spark, Python workers in the launching process (LOOPBACK) or
in a worker pool (EXTERNAL). Their outputs must be the DirectRunner's: records, reasons,
evidence, kept ids, summary."""

import contextlib
import importlib.util
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.request

import pytest

from pipeline import local_engines as flink
from tests.broken_corpus import BROKEN_FLAGS
from tests.jobs import ROOT, SAMPLE_FLAGS, SAMPLE_INPUTS, assert_conserved, run_job

needs_flink = pytest.mark.skipif(bool(flink.missing("flink")), reason=flink.missing("flink"))
needs_spark = pytest.mark.skipif(bool(flink.missing("spark")), reason=flink.missing("spark"))

def _output_digest():
    spec = importlib.util.spec_from_file_location("output_digest",
                                                  ROOT / "scripts" / "output_digest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DIGEST = _output_digest()


def _differences(a, b) -> str:
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        DIGEST.compare(a, b)
    return text.getvalue()


@pytest.fixture(scope="module")
def flink_services(tmp_path_factory):
    base = tmp_path_factory.mktemp("flink")
    with flink.job_server(base / "job-server") as jobs, flink.worker_pool(base / "pool") as pool:
        yield jobs, pool


@pytest.fixture(scope="module")
def direct_sample(sample_run):
    return DIGEST.digest(str(sample_run.path))


def _mode(mode: str) -> list:
    """Flink's batch mode (the default) or streaming mode (README "Big local runs")."""
    return ["--streaming"] if mode == "streaming" else []


def _check_against_direct(out, runner, direct_sample, streaming=False):
    assert out.manifest()["runner"] == runner
    # the summary, the files and the engine's Beam counters agree (streaming: README)
    assert_conserved(out, counters_final=not streaming)
    digest = DIGEST.digest(str(out.path))
    assert digest == direct_sample, _differences(direct_sample, digest)


@contextlib.contextmanager
def _job_endpoint(flink_services, where: str, workdir):
    """The module's job server (embedded Flink), or one submitting to a Flink cluster of its
    own: a JobManager and a TaskManager, each a JVM (README "Spark and Flink")."""
    if where == "embedded":
        yield flink_services[0]
        return
    with flink.flink_cluster(workdir / "cluster") as cluster, \
            flink.job_server(workdir / "job-server", cluster=cluster) as jobs:
        yield jobs


@needs_flink
@pytest.mark.parametrize("parallelism, workers, mode, where", [
    (1, "loopback", "batch", "embedded"), (2, "pool", "batch", "cluster"),
    # Bounded bundles, state in RocksDB, files written by bundle (README "Big local runs")
    (2, "loopback", "streaming", "embedded")])
def test_the_sample_on_flink_gives_the_direct_runners_outputs(flink_services, direct_sample,
                                                              tmp_path, parallelism, workers,
                                                              mode, where):
    pool = flink_services[1]
    with _job_endpoint(flink_services, where, tmp_path) as jobs:
        flags = flink.runner_flags("flink", jobs.address, parallelism,
                                   pool.address if workers == "pool" else "")
        out = run_job(tmp_path / "out", SAMPLE_INPUTS, *SAMPLE_FLAGS, *flags, *_mode(mode))
    _check_against_direct(out, "FlinkRunner", direct_sample, mode == "streaming")
    assert not list(out.path.rglob("beam-temp-*")), "a writer's temporary files were left"


@needs_flink
@pytest.mark.parametrize("parallelism, mode", [(1, "batch"), (2, "streaming")])
def test_every_kind_of_bad_input_on_flink_gives_the_direct_runners_outputs(
        flink_services, broken_run, tmp_path, parallelism, mode):
    """The generated corpus of every input defect (tests/broken_corpus.py): every verdict the
    sample does not reach."""
    direct, _, _, inputs = broken_run
    jobs, _ = flink_services
    out = run_job(tmp_path / "out", inputs, *BROKEN_FLAGS,
                  *flink.runner_flags("flink", jobs.address, parallelism), *_mode(mode))
    _check_against_direct(out, "FlinkRunner", DIGEST.digest(str(direct.path)),
                          mode == "streaming")


@needs_spark
def test_the_sample_on_spark_gives_the_direct_runners_outputs(direct_sample, tmp_path):
    with flink.job_server(tmp_path / "spark", "spark") as jobs:    # local[2]
        out = run_job(tmp_path / "out", SAMPLE_INPUTS, *SAMPLE_FLAGS,
                      *flink.runner_flags("spark", jobs.address))
    _check_against_direct(out, "SparkRunner", direct_sample)


def _children(pid: int) -> list:
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and int(
                    pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]
            ) == pid:
                found.append(int(entry))
    return found


@needs_flink
def test_the_services_leave_no_process_behind(tmp_path):
    """`python -m pipeline.local_engines flink --cluster 2` (README "Big local runs"): a
    JobManager, two TaskManagers, a job server and a worker pool, each a process group of its
    own, all gone once it is stopped."""
    command = [sys.executable, "-m", "pipeline.local_engines", "flink", "--cluster", "2",
               "--workdir", str(tmp_path)]
    services = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
    try:
        lines = []
        while not lines or not lines[-1].startswith("run with: "):
            lines.append(services.stdout.readline())
            assert lines[-1], f"the services did not start: {lines}"
        address = re.search(r"JobManager at (\S+)", "".join(lines)).group(1)
        assert "--runner=FlinkRunner --job_endpoint=localhost:" in lines[-1]
        groups = [os.getpgid(pid) for pid in _children(services.pid)]
        assert len(set(groups)) == 5 and services.pid not in groups
        # both TaskManagers registered with the JobManager: the cluster has their slots
        overview = json.loads(urllib.request.urlopen(f"http://{address}/overview").read())
        assert (overview["taskmanagers"], overview["slots-total"]) == (2, 4)
    finally:
        services.terminate()
        assert services.wait(60) == 0
    for pgid in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
