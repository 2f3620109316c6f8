"""Fixtures several test modules share. The builders are plain functions in
tests/builders.py (``from tests.builders import ...``); whole-job helpers in tests/jobs.py."""

import pytest

# Their assertion helpers (jobs.assert_conserved, ...) report values as test modules do.
pytest.register_assert_rewrite("tests.builders", "tests.jobs", "tests.broken_corpus")


@pytest.fixture(scope="session")
def hopper_scan():
    """Faces in tests/data/grace_hopper.jpg under the default settings: one, encoded."""
    from detectors.faces import scan_faces
    from schemas.settings import FaceSettings
    from tests.builders import HOPPER
    return scan_faces(HOPPER, FaceSettings())


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """The bundled sample with its policy on the DirectRunner, run once for every module that
    reads it (the whole-job checks, and the outputs Flink and Spark must reproduce)."""
    from tests.jobs import SAMPLE_FLAGS, SAMPLE_INPUTS, run_job
    return run_job(tmp_path_factory.mktemp("sample") / "out", SAMPLE_INPUTS, *SAMPLE_FLAGS)


@pytest.fixture(scope="session")
def broken_run(tmp_path_factory):
    """Every kind of bad input (tests/broken_corpus.py) on the DirectRunner, run once for the
    whole-job checks and for the outputs Flink must reproduce: (outputs, the bad records
    expected, ids that must be kept, the inputs)."""
    from tests.broken_corpus import BROKEN_FLAGS, write_broken_corpus
    from tests.jobs import run_job
    root = tmp_path_factory.mktemp("broken")
    expected, good_ids = write_broken_corpus(root)
    inputs = [root / "text" / "*", root / "image_text" / "*", root / "folder"]
    return run_job(root / "out", inputs, *BROKEN_FLAGS), expected, good_ids, inputs
