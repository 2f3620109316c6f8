"""Runners other than the local one, built offline."""

from pipeline.launch import run
from tests.jobs import SAMPLE


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
