"""Beam's Flink and Spark job servers (fetched by `make flink spark` into .flink/, .spark/), a
local Flink cluster (a JobManager and TaskManagers, each a JVM of its own) and a Python worker
pool, as local services for the tests (tests/test_flink.py) and the memory benchmark
(benchmarks/flink_memory.py): each starts on ports it picks itself, is waited for until it
listens, and is stopped with all its processes whatever the caller does. README's "Spark and
Flink" commands are these."""

import contextlib
import dataclasses
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional, Tuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEAM_JOB_SERVER = "2.62.0"     # flink/pom.xml, spark/pom.xml
JVM = [
    "java",
    # Deserializing this job's Flink plan overflows the default 1 MiB thread stack.
    "-Xss16m",
    # Spark 3.2 and Flink's serializers (Kryo) on Java 17 reach into these.
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.util", "java.util.concurrent", "sun.nio.ch", "sun.nio.cs", "sun.util.calendar")),
]
# A job server: Flink logs every task's every state change; Beam's own lines say where it
# listens.
JAVA = [*JVM, "-Dorg.slf4j.simpleLogger.log.org.apache.flink=warn"]
PORTS = ["--job-port=0", "--artifact-port=0", "--expansion-port=0"]
FLINK_CONF = ROOT / "flink" / "conf"
JOB_SERVERS = {
    "flink": ["org.apache.beam.runners.flink.FlinkJobServerDriver"],
    "spark": ["org.apache.beam.runners.spark.SparkJobServerDriver", "--spark-master-url=local[2]"],
}
JOB_SERVER_READY = re.compile(rb"JobService started on [^:\s]+:(\d+)")
WORKER_POOL = [
    sys.executable, "-c",
    "import logging, sys; logging.basicConfig(level=logging.INFO); "
    "from apache_beam.runners.worker import worker_pool_main; "
    "worker_pool_main.main(sys.argv[1:])",
    "--service_port=0",
]
WORKER_POOL_READY = re.compile(rb"Started worker pool servicer at port: [^:\s]+:(\d+)")
# A local Flink cluster: flink/conf's settings plus flink/cluster.yaml's (memory of each
# process, slots), ports picked free. Each JVM's memory flags are what Flink's own start
# scripts compute from those settings (BashJavaUtils), so a TaskManager's process stays within
# taskmanager.memory.process.size.
FLINK_MEMORY_PARAMS = "org.apache.flink.runtime.util.bash.BashJavaUtils"
JOB_MANAGER = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASK_MANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
FLINK_ROLES = {"JM": "jobmanager", "TM": "taskmanager"}
# glibc gives each thread that allocates its own 64 MiB arena: a TaskManager's RocksDB and
# network threads held 35 of them (2.1 GiB) at 100,000 documents, its RSS past its configured
# process size. Two arenas bound that (Flink's own images preload jemalloc instead).
MALLOC = {"MALLOC_ARENA_MAX": "2"}
JOB_MANAGER_READY = re.compile(rb"Rest endpoint listening at [^:\s]+:(\d+)")
TASK_MANAGER_READY = re.compile(rb"Successful registration at resource manager \S+@[^:\s]+:(\d+)")


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
def _service(command, workdir: pathlib.Path, name: str, ready: re.Pattern, timeout: float,
             env: Optional[Dict[str, str]] = None):
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    # The worker pool starts each worker as plain `python`: this interpreter's, first on PATH.
    env = {**os.environ, **(env or {}),
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
               heap: Optional[str] = None, cluster: Optional["FlinkCluster"] = None):
    """A job server with an embedded Flink (or, given a cluster, submitting to it) or a local
    Spark; its address is the job endpoint. heap: the JVM's -Xmx ("" for Java's default, a
    quarter of the machine's memory: an embedded Flink's batch job holds a bundle's whole
    output there until the bundle ends, and 1 GiB ran 10,000 documents of the text job but
    not 100,000, docs/BENCHMARKS.md "Memory on Flink")."""
    main, *engine_flags = JOB_SERVERS[engine]
    if engine == "flink":
        engine_flags = [f"--flink-master={cluster.address if cluster else '[local]'}",
                        f"--flink-conf-dir={cluster.conf if cluster else FLINK_CONF}"]
    command = [*JAVA, *([f"-Xmx{heap}"] if heap else []),
               "-cp", str(ROOT / f".{engine}" / "lib" / "*"), main, *engine_flags, *PORTS,
               f"--artifacts-dir={workdir / 'artifacts'}"]
    with _service(command, workdir, "job-server", JOB_SERVER_READY, timeout) as service:
        yield service


@dataclasses.dataclass(frozen=True)
class FlinkCluster:
    address: str            # the JobManager's REST endpoint, localhost:PORT: --flink-master
    conf: pathlib.Path      # its configuration directory: --flink-conf-dir of the job server
    services: List[Service]   # the JobManager, then each TaskManager


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def _cluster_conf(conf: pathlib.Path, slots: int) -> None:
    """flink/conf's settings, flink/cluster.yaml's, and this cluster's own ports."""
    conf.mkdir(parents=True, exist_ok=True)
    ports = {"jobmanager.rpc.port": _free_port(), "rest.port": _free_port()}
    (conf / "flink-conf.yaml").write_text(
        (FLINK_CONF / "flink-conf.yaml").read_text()
        + (ROOT / "flink" / "cluster.yaml").read_text()
        + "".join(f"{key}: {value}\n" for key, value in ports.items())
        + f"taskmanager.numberOfTaskSlots: {slots}\n"
        # RocksDB's files and Flink's spills under the cluster's own directory, not /tmp
        + f"io.tmp.dirs: {conf.parent / 'tmp'}\n")


def _memory_flags(role: str, conf: pathlib.Path) -> Tuple[List[str], List[str]]:
    """The JVM flags (-Xmx ...) and the -D settings Flink's start scripts give a JobManager or
    TaskManager."""
    found = subprocess.run(
        ["java", "-cp", str(ROOT / ".flink" / "lib" / "*"), FLINK_MEMORY_PARAMS,
         f"GET_{role}_RESOURCE_PARAMS", "--configDir", str(conf)],
        capture_output=True, text=True, check=True).stdout
    lines = [line.split(":", 1)[1] for line in found.splitlines()
             if line.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
    return lines[0].split(), lines[1].split()


@contextlib.contextmanager
def flink_cluster(workdir: pathlib.Path, task_managers: int = 1, slots: int = 2,
                  timeout: float = 180) -> Iterator[FlinkCluster]:
    """A Flink session cluster on this machine from the job server's jars: a JobManager and
    `task_managers` TaskManagers of `slots` slots, each a JVM of its own with the memory
    flink/cluster.yaml gives it. The job server submits to its address."""
    conf = workdir / "conf"
    _cluster_conf(conf, slots)
    classpath = ["-cp", str(ROOT / ".flink" / "lib" / "*")]
    settings = (conf / "flink-conf.yaml").read_text()

    def command(role: str, main: str) -> List[str]:
        jvm, dynamic = _memory_flags(role, conf)
        # env.java.opts.ROLE, as Flink's start scripts pass them.
        found = re.search(rf"^env\.java\.opts\.{FLINK_ROLES[role]}:(.*)$", settings, re.M)
        extra = found.group(1).split() if found else []
        return [*JVM, *jvm, *extra, *classpath, main, "--configDir", str(conf), *dynamic]

    with contextlib.ExitStack() as stack:
        manager = stack.enter_context(_service(command("JM", JOB_MANAGER), workdir,
                                               "job-manager", JOB_MANAGER_READY, timeout,
                                               MALLOC))
        workers = [stack.enter_context(_service(command("TM", TASK_MANAGER), workdir,
                                                f"task-manager-{n}", TASK_MANAGER_READY,
                                                timeout, MALLOC))
                   for n in range(task_managers)]
        yield FlinkCluster(manager.address, conf, [manager, *workers])


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


@contextlib.contextmanager
def services(workdir: pathlib.Path, engine: str = "flink", task_managers: int = 0,
             slots: int = 2, heap: Optional[str] = None):
    """A job server (on a local Flink cluster of `task_managers` TaskManagers when there are
    any, else an embedded Flink or local Spark) and a worker pool: (cluster or None, job
    server, pool)."""
    with contextlib.ExitStack() as stack:
        cluster = (stack.enter_context(flink_cluster(workdir / "cluster", task_managers, slots))
                   if engine == "flink" and task_managers else None)
        jobs = stack.enter_context(job_server(workdir / "job-server", engine, heap=heap,
                                              cluster=cluster))
        pool = stack.enter_context(worker_pool(workdir / "pool"))
        yield cluster, jobs, pool


def main(argv=None) -> int:
    """`python -m pipeline.local_engines`: start the services the tests start, print the flags
    a `hygiene` run needs, and keep them up until Ctrl+C (README "Big local runs")."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("engine", choices=sorted(JOB_SERVERS))
    parser.add_argument("--cluster", type=int, default=0, metavar="TASK_MANAGERS",
                        help="Flink: a local cluster of a JobManager and this many "
                             "TaskManagers, each a JVM (flink/cluster.yaml); 0: embedded")
    parser.add_argument("--slots", type=int, default=2, help="slots per TaskManager")
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--heap", default=None, help="the job server's -Xmx")
    parser.add_argument("--workdir", type=pathlib.Path, default=ROOT / "output" / "services")
    args = parser.parse_args(argv)
    problem = missing(args.engine)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    with services(args.workdir, args.engine, args.cluster, args.slots, args.heap) as (
            cluster, jobs, pool):
        if cluster:
            print(f"Flink cluster: JobManager at {cluster.address} (REST), logs in "
                  f"{args.workdir / 'cluster'}")
        print(f"job server log: {jobs.log}; Python workers' log: {pool.log}")
        print("run with: hygiene ... " + " ".join(
            runner_flags(args.engine, jobs.address, args.parallelism, pool.address)),
            flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # stops the services too
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
