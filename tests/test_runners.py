"""Runners other than the local one, built offline."""

import pytest

from pipeline.launch import run
from tests.jobs import SAMPLE
from transforms.io.index import PARTS


def test_dataflow_job_graph_builds_offline_with_dry_run(tmp_path):
    result = run([
        "--input", str(SAMPLE / "text" / "*"), str(SAMPLE / "image_folder"),
        "--output", "gs://example-bucket/hygiene/2026-11-22",
        "--runner", "DataflowRunner", "--project", "example-project",
        "--region", "us-central1", "--temp_location", "gs://example-bucket/tmp",
        "--dry_run=True", "--no_auth", "--sdk_location=container",
    ])
    assert result.summary is None
    job = result.pipeline_result.job
    names = {t.unique_name for t in job.proto_pipeline.components.transforms.values()}
    for step in ("Read", "Validate", "UniqueIds", "ExactDedup", "Decide", "WriteText",
                 "WriteImageText", "WriteQuarantine", "Report"):
        assert step in names, step
    assert job.proto.name  # a job name was derived


# What Flink's and Spark's job servers execute themselves; everything else reaches them in
# stages the SDK fused (pipeline.launch fuses in the SDK on a job server, tests/test_flink.py),
# which they hand to the Python SDK harness in the pipeline's environment.
EXECUTABLE_STAGE = "beam:runner:executable_stage:v1"
PORTABLE_URNS = {
    EXECUTABLE_STAGE, "beam:transform:group_by_key:v1", "beam:transform:flatten:v1",
    "beam:transform:impulse:v1", "beam:transform:reshuffle:v1",
}


@pytest.mark.parametrize("runner", [
    ["--runner=FlinkRunner", "--flink_master=flink-jobmanager:8081"],
    ["--runner=SparkRunner", "--spark_master_url=spark://spark-master:7077"],
])
def test_the_pipeline_translates_to_a_portable_pipeline_without_a_job_server(runner):
    import apache_beam as beam
    from apache_beam.internal import pickler
    from apache_beam.portability import python_urns
    from apache_beam.portability.api import beam_runner_api_pb2
    from apache_beam.runners.portability.portable_runner import PortableRunner

    from pipeline.graph import RunSpec, build
    from pipeline.launch import parse

    image = "europe-docker.pkg.dev/example/hygiene/worker:0.1.0"
    options, hygiene, policy = parse([
        "--input", str(SAMPLE / "text" / "*"), str(SAMPLE / "image_folder"),
        "--output", "gs://example-bucket/hygiene/2026-11-22", *runner,
        "--environment_type=DOCKER", f"--environment_config={image}"])
    assert "pre_optimize=all" in options.get_all_options()["experiments"]
    pipeline = beam.Pipeline(options=options)
    build(pipeline, RunSpec(inputs=hygiene.input, output=hygiene.output, policy=policy,
                            manifest={"started_at": "", "inputs": {}}))
    # What the portable runner submits to the job server (its own translation phases).
    proto = PortableRunner.get_proto_pipeline(pipeline, options)
    transforms = proto.components.transforms
    leaves = [t for t in transforms.values() if not t.subtransforms]
    assert {t.spec.urn for t in leaves} <= PORTABLE_URNS
    environments = proto.components.environments
    assert [(e.urn, image.encode() in e.payload) for e in environments.values()] == [
        ("beam:env:docker:v1", True)]
    stages = [beam_runner_api_pb2.ExecutableStagePayload.FromString(t.spec.payload)
              for t in leaves if t.spec.urn == EXECUTABLE_STAGE]
    (environment,) = environments.values()
    assert stages and all(s.environment == environment for s in stages)
    inner = [s.components.transforms[i] for s in stages for i in s.transforms]
    pardos = [t for t in inner if t.spec.urn == "beam:transform:pardo:v1"]
    assert pardos
    steps = {t.unique_name.split("/")[0] for t in inner}
    for step in ("Read", "Validate", "Pii", "Faces", "Decide", "WriteQuarantine", "Report"):
        assert step in steps, step
    # The SDK harness rebuilds every DoFn from its pickled payload.
    payloads = [beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload).do_fn
                for t in pardos]
    pickled = [p.payload for p in payloads if p.urn == python_urns.PICKLED_DOFN_INFO]
    assert len(pickled) > 0.9 * len(payloads)   # the rest: the SDK's own key-with-none
    assert all(pickler.loads(payload) for payload in pickled)


def _streaming_graph(tmp_path):
    """The job's graph as a job server gets it in streaming mode, every stage on (CLIP is off
    by default), so a new stage's graph is checked too."""
    import apache_beam as beam

    from pipeline.graph import RunSpec, build
    from pipeline.launch import parse
    from pipeline.portable import proto_pipeline

    from tests.builders import TINY_CLIP
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n")
    options, hygiene, policy = parse([
        "--input", str(SAMPLE / "text" / "*"), str(SAMPLE / "image_text" / "*"),
        str(SAMPLE / "image_folder"), "--output", str(tmp_path / "out"),
        "--config", str(policy_file), "--repeated-spans", "--index-out", str(tmp_path / "index"),
        "--runner=FlinkRunner", "--job_endpoint=localhost:1", "--streaming"])
    pipeline = beam.Pipeline(options=options)
    build(pipeline, RunSpec(inputs=hygiene.input, output=hygiene.output, policy=policy,
                            manifest={"started_at": "", "inputs": {}},
                            index_in={part: [str(tmp_path / f"earlier-{part}.parquet")]
                                      for part in PARTS},   # every part read and written
                            index_out=hygiene.index_out))
    proto = proto_pipeline(pipeline, options)   # as LiftingFlinkRunner submits it
    transforms = proto.components.transforms
    assert {"SemanticDedup", "RepeatedSpans"} | {
        f"IndexIn{part.title()}" for part in PARTS} | {
        f"IndexOut{part.title()}" for part in PARTS} <= {
        t.unique_name for t in transforms.values()}
    assert not any(t.spec.urn == EXECUTABLE_STAGE for t in transforms.values())  # unfused
    return proto


def test_in_streaming_mode_no_flatten_shares_an_input_with_another_transform(tmp_path):
    """Streaming on a job server, the job server's own fuser runs (the SDK does not fuse), and
    Beam 2.62's rejects a PCollection read by a Flatten and by another transform (README,
    "Spark and Flink"): every stage with such a Flatten must use FlattenShared."""
    import collections

    proto = _streaming_graph(tmp_path)
    readers = collections.defaultdict(list)
    for t in proto.components.transforms.values():
        if not t.subtransforms:
            for pcollection in set(t.inputs.values()):
                readers[pcollection].append(t)
    shared = {proto.components.pcollections[pc].unique_name: [t.unique_name for t in ts]
              for pc, ts in readers.items()
              if len(ts) > 1 and any(t.spec.urn == "beam:transform:flatten:v1" for t in ts)}
    assert not shared


def test_in_streaming_mode_every_combiner_is_lifted(tmp_path):
    """Beam's portable runner lifts combiners in batch mode only and Flink's streaming
    translation not at all: unlifted, a key's values wait in one group (pipeline/portable.py;
    200,000 records under one key ran out of the TaskManager's heap)."""
    proto = _streaming_graph(tmp_path)
    transforms = proto.components.transforms
    combines = [t for t in transforms.values()
                if t.spec.urn == "beam:transform:combine_per_key:v1"]
    assert combines
    unlifted = [t.unique_name for t in combines
                if "beam:transform:combine_per_key_precombine:v1" not in
                {transforms[sub].spec.urn for sub in t.subtransforms}]
    assert not unlifted


# Steps whose main input is one element (a count, a Create([None]), a Top.Of's list, the
# default a CombineGlobally injects): what waits for their side inputs is that element.
ONE_ELEMENT_MAIN_INPUT = ("/Report", "/Summary", "/Wanted", "/InjectDefault")


def test_no_step_waits_for_a_side_input_made_from_the_whole_input_on_the_heap(tmp_path):
    """A side input made by a grouping or combining step is ready only when the input ends;
    on Flink the main-input elements that wait for it stay on the TaskManager's heap unless
    the step is keyed (transforms/common/waiting.py). Every such step over many elements
    must declare state, as ParDoAfterInput's does."""
    from apache_beam.portability.api import beam_runner_api_pb2

    proto = _streaming_graph(tmp_path)
    transforms = proto.components.transforms
    producer = {pc: t for t in transforms.values() if not t.subtransforms
                for pc in t.outputs.values()}
    waits = ("beam:transform:group_by_key:v1", "beam:transform:combine_per_key:v1",
             "beam:transform:combine_globally:v1")

    def made_by_waiting(pcollection):
        seen, todo = set(), [pcollection]
        while todo:
            t = producer.get(todo.pop())
            if t is None or t.unique_name in seen:
                continue
            seen.add(t.unique_name)
            if t.spec.urn in waits:
                return True
            todo.extend(t.inputs.values())
        return False

    on_heap, keyed = [], []
    for t in transforms.values():
        if t.spec.urn != "beam:transform:pardo:v1" or t.subtransforms:
            continue
        payload = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload)
        if not any(made_by_waiting(t.inputs[name]) for name in payload.side_inputs):
            continue
        if payload.state_specs:
            keyed.append(t.unique_name)
        elif not any(name in t.unique_name for name in ONE_ELEMENT_MAIN_INPUT):
            on_heap.append(t.unique_name)
    assert not on_heap
    assert any("RepeatedSpans" in name for name in keyed)   # the check sees such steps


def test_a_gpu_dataflow_job_for_the_clip_stage_builds_offline():
    from apache_beam.options.pipeline_options import GoogleCloudOptions, WorkerOptions
    result = run([
        "--input", str(SAMPLE / "image_folder"),
        "--output", "gs://example-bucket/hygiene/2026-11-22",
        "--runner", "DataflowRunner", "--project", "example-project",
        "--region", "us-central1", "--temp_location", "gs://example-bucket/tmp",
        "--dry_run=True", "--no_auth", "--sdk_location=container",
        "--sdk_container_image=us-docker.pkg.dev/example/hygiene/worker:0.1.0",
        "--dataflow_service_options=worker_accelerator=type:nvidia-l4;count:1;"
        "install-nvidia-driver",
        "--machine_type=g2-standard-8", "--experiments=use_runner_v2",
        "--clip", "--clip-device", "cuda", "--clip-precision", "fp16",
        "--clip-pretrained", "/opt/hygiene/weights/open_clip_model.safetensors",
    ])
    job = result.pipeline_result.job
    names = {t.unique_name for t in job.proto_pipeline.components.transforms.values()}
    assert {"ClipEmbed", "SemanticDedup"} <= names
    options = result.pipeline_result.job.options
    assert options.view_as(GoogleCloudOptions).dataflow_service_options == [
        "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"]
    assert options.view_as(WorkerOptions).machine_type == "g2-standard-8"


def test_the_cli_names_the_runner_and_where_its_ui_and_logs_are():
    from pipeline.launch import parse, runner_lines
    io = ["--input", str(SAMPLE / "text" / "*"), "--output", "out"]
    flink, _, _ = parse(io + ["--runner=FlinkRunner", "--job_endpoint=localhost:8099",
                              "--parallelism=2", "--environment_type=EXTERNAL",
                              "--environment_config=localhost:50000"])
    lines = "\n".join(runner_lines(flink))
    assert ("runner: FlinkRunner through the job server at localhost:8099, parallelism 2, "
            "batch, Python workers EXTERNAL at localhost:50000") in lines
    assert "Flink UI: a cluster's JobManager web UI (http://HOST:8081" in lines
    assert "the job server's own output is the job's log" in lines
    assert "Python workers' logs: the worker pool's output" in lines
    streaming, _, _ = parse(io + ["--runner=FlinkRunner", "--job_endpoint=localhost:8099",
                                  "--streaming", "--max_bundle_size=100"])
    assert "localhost:8099, streaming, Python workers DOCKER" in runner_lines(streaming)[0]
    # A Flink option the Python SDK does not declare still reaches the job server.
    assert streaming.get_all_options()["max_bundle_size"] == 100
    spark, _, _ = parse(io + ["--runner=SparkRunner", "--job_endpoint=localhost:8099",
                              "--environment_type=LOOPBACK"])
    assert "Spark UI: http://localhost:4040" in "\n".join(runner_lines(spark))
    assert "Python workers' logs: this output" in "\n".join(runner_lines(spark))
    direct, _, _ = parse(io)
    assert runner_lines(direct) == ["runner: DirectRunner, in this process; its log is this output"]
    nowhere, _, _ = parse(io + ["--runner=FlinkRunner"])
    assert "with no --job_endpoint: Beam starts a job server itself" in runner_lines(nowhere)[0]


def test_a_large_local_corpus_is_told_flink_is_the_better_choice(tmp_path):
    from pipeline.launch import LARGE_INPUT_BYTES, input_bytes, large_input_advice
    folder = tmp_path / "corpus"
    folder.mkdir()
    # Sparse files: their size counts, nothing is written.
    for name, size in (("a.jsonl", LARGE_INPUT_BYTES // 2), ("b.jsonl", LARGE_INPUT_BYTES // 2)):
        with open(folder / name, "wb") as f:
            f.truncate(size)
    assert input_bytes([str(folder / "*.jsonl")]) == LARGE_INPUT_BYTES
    assert input_bytes([str(folder)]) == LARGE_INPUT_BYTES
    assert input_bytes(["gs://bucket/never-listed/*"]) == 0
    assert large_input_advice("DirectRunner", LARGE_INPUT_BYTES) is None
    (folder / "c.jsonl").write_bytes(b"{}\n")
    size = input_bytes([str(folder)])
    advice = large_input_advice("DirectRunner", size)
    assert "Flink is the better choice" in advice and "--runner FlinkRunner" in advice
    assert "--streaming" in advice
    assert large_input_advice("apache_beam.runners.direct.DirectRunner", size) == advice
    assert large_input_advice("FlinkRunner", size) is None
