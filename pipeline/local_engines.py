"""Beam's Flink and Spark job servers (fetched by `make flink spark` into .flink/, .spark/) and a
Python worker pool, as local services for the tests (tests/test_flink.py) and the memory
benchmark (benchmarks/flink_memory.py): each starts on ports it picks itself, is waited for
until it listens, and is stopped with all its processes whatever the caller does. README's
"Spark and Flink" commands are these."""

import contextlib
import dataclasses
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEAM_JOB_SERVER = "2.62.0"     # flink/pom.xml, spark/pom.xml
JAVA = [
    "java",
    # Deserializing this job's Flink plan overflows the default 1 MiB thread stack.
    "-Xss16m",
    # Flink logs every task's every state change; Beam's own lines say where it listens.
    "-Dorg.slf4j.simpleLogger.log.org.apache.flink=warn",
    # Spark 3.2 on Java 17 reaches into these.
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.util", "java.util.concurrent", "sun.nio.ch", "sun.nio.cs", "sun.util.calendar")),
]
PORTS = ["--job-port=0", "--artifact-port=0", "--expansion-port=0"]
JOB_SERVERS = {
    "flink": ["org.apache.beam.runners.flink.FlinkJobServerDriver", "--flink-master=[local]",
              f"--flink-conf-dir={ROOT / 'flink' / 'conf'}"],
    "spark": ["org.apache.beam.runners.spark.SparkJobServerDriver", "--spark-master-url=local[2]"],
}
# -Xmx per engine; none: Java's default, a quarter of the machine's memory. A 1 GiB heap ran
# 10,000 documents of the text job but not 100,000 (OutOfMemoryError in the job server, which
# holds a batch bundle's whole output until the bundle ends: docs/BENCHMARKS.md "Memory on
# Flink").
HEAP: dict = {}
JOB_SERVER_READY = re.compile(rb"JobService started on [^:\s]+:(\d+)")
WORKER_POOL = [
    sys.executable, "-c",
    "import logging, sys; logging.basicConfig(level=logging.INFO); "
    "from apache_beam.runners.worker import worker_pool_main; "
    "worker_pool_main.main(sys.argv[1:])",
    "--service_port=0",
]
WORKER_POOL_READY = re.compile(rb"Started worker pool servicer at port: [^:\s]+:(\d+)")


@dataclasses.dataclass(frozen=True)
class Service:
    address: str      # localhost:PORT
    pgid: int         # its process group: the service and every process it started
    log: pathlib.Path


def missing(engine: str) -> str:
    """Why the engine's job server cannot start here, or '' when it can."""
    if not (ROOT / f".{engine}" / ".installed").exists():
        return f"Beam's {engine} job server is not fetched into .{engine}/: run `make {engine}`"
    return ""


def _stop(process: subprocess.Popen) -> None:
    """The process and everything it started (its own session), politely then for good."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Children that outlived the leader still hold its process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _port(process: subprocess.Popen, log: pathlib.Path, ready: re.Pattern, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ready.search(log.read_bytes())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = log.read_bytes()[-4000:].decode("utf-8", "replace")
    state = f"exited with {process.returncode}" if process.poll() is not None else "not ready"
    raise RuntimeError(f"{' '.join(process.args[:2])} ... {state} after {timeout:.0f} s; "
                       f"its log ({log}) ends:\n{tail}")


@contextlib.contextmanager
def _service(command, workdir: pathlib.Path, name: str, ready: re.Pattern, timeout: float):
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    # The worker pool starts each worker as plain `python`: this interpreter's, first on PATH.
    env = {**os.environ,
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Service(f"localhost:{_port(process, log, ready, timeout)}", process.pid, log)
    finally:
        _stop(process)


@contextlib.contextmanager
def job_server(workdir: pathlib.Path, engine: str = "flink", timeout: float = 180,
               heap: Optional[str] = None):
    """A job server with an embedded Flink or local Spark; its address is the job endpoint.
    heap: the JVM's -Xmx ("" for Java's default, a quarter of the machine's memory)."""
    main, *engine_flags = JOB_SERVERS[engine]
    heap = HEAP.get(engine, "") if heap is None else heap
    command = [*JAVA, *([f"-Xmx{heap}"] if heap else []),
               "-cp", str(ROOT / f".{engine}" / "lib" / "*"), main, *engine_flags, *PORTS,
               f"--artifacts-dir={workdir / 'artifacts'}"]
    with _service(command, workdir, "job-server", JOB_SERVER_READY, timeout) as service:
        yield service


@contextlib.contextmanager
def worker_pool(workdir: pathlib.Path, timeout: float = 120):
    """Python SDK workers for --environment_type=EXTERNAL at its address. Its workers import
    this checkout's modules (they start in the repository root)."""
    with _service(WORKER_POOL, workdir, "worker-pool", WORKER_POOL_READY, timeout) as service:
        yield service


def runner_flags(engine: str, endpoint: str, parallelism: int = 0, workers: str = "") -> list:
    """The job's flags for a job server: LOOPBACK workers (in the launching process) unless a
    worker pool's address is given."""
    environment = (["--environment_type=EXTERNAL", f"--environment_config={workers}"]
                   if workers else ["--environment_type=LOOPBACK"])
    runner = {"flink": "FlinkRunner", "spark": "SparkRunner"}[engine]
    width = [f"--parallelism={parallelism}"] if parallelism else []
    return [f"--runner={runner}", f"--job_endpoint={endpoint}", *width, *environment]
