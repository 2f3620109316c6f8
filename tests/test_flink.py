"""The job on Apache Flink: Beam's Flink job server (`make flink`) with an embedded Flink
cluster, Python workers in the launching process (LOOPBACK) or in a worker pool (EXTERNAL).
Its outputs must be those of the DirectRunner: records, reasons, evidence, kept ids, summary."""

import contextlib
import importlib.util
import io
import os

import pytest

from tests import flink
from tests.jobs import ROOT, SAMPLE, SAMPLE_INPUTS, assert_conserved, run_job

pytestmark = pytest.mark.skipif(bool(flink.flink_missing()), reason=flink.flink_missing())

SAMPLE_FLAGS = ["--config", str(SAMPLE / "policy.yaml")]


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
def services(tmp_path_factory):
    base = tmp_path_factory.mktemp("flink")
    with flink.job_server(base / "job-server") as jobs, flink.worker_pool(base / "pool") as pool:
        yield jobs, pool


@pytest.fixture(scope="module")
def direct_sample(tmp_path_factory):
    out = run_job(tmp_path_factory.mktemp("direct") / "out", SAMPLE_INPUTS, *SAMPLE_FLAGS)
    return DIGEST.digest(str(out.path))


@pytest.mark.parametrize("parallelism, workers", [(1, "loopback"), (2, "pool")])
def test_the_sample_on_flink_gives_the_direct_runners_outputs(services, direct_sample, tmp_path,
                                                              parallelism, workers):
    jobs, pool = services
    flags = flink.flink_flags(jobs.address, parallelism,
                              pool.address if workers == "pool" else "")
    out = run_job(tmp_path / "out", SAMPLE_INPUTS, *SAMPLE_FLAGS, *flags)
    assert out.manifest()["runner"] == "FlinkRunner"
    assert_conserved(out)     # the summary, the files and Flink's Beam counters agree
    on_flink = DIGEST.digest(str(out.path))
    assert on_flink == direct_sample, _differences(direct_sample, on_flink)


def test_the_services_leave_no_process_behind(tmp_path):
    with flink.job_server(tmp_path / "jobs") as jobs, flink.worker_pool(tmp_path / "pool") as pool:
        groups = [jobs.pgid, pool.pgid]
        for pgid in groups:
            os.killpg(pgid, 0)    # running
    for pgid in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
