"""pipeline/sdk_worker.py: the worker pool's Python workers send data messages of at most
about FLUSH_BYTES (Beam's default: 10 MiB), so the Java runner's queue of 100 messages per
bundle stays near 100 MiB (docs/BENCHMARKS.md, "Memory on Flink")."""

import os

import pytest
from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.worker import data_plane

from pipeline import local_engines, sdk_worker

CHUNK = 64 << 10


@pytest.fixture
def configured(monkeypatch):
    # Registered first so that the test puts Beam's own values back afterwards.
    for name in ("_DEFAULT_SIZE_FLUSH_THRESHOLD", "_DEFAULT_SEND_QUEUE_MAX_BYTES"):
        monkeypatch.setattr(data_plane, name, getattr(data_plane, name))
    monkeypatch.setattr(data_plane.ClosableOutputStream, "create",
                        data_plane.ClosableOutputStream.__dict__["create"])
    sdk_worker.configure()


def _messages(channel, total: int):
    """What the channel sends for one output stream of ``total`` bytes: Elements sizes."""
    stream = channel.output_stream("bundle-1", "transform-1")
    for _ in range(total // CHUNK):
        stream.write(b"x" * CHUNK)
        stream.maybe_flush()     # as the SDK's output operations call it, element by element
    stream.close()
    channel._enqueue_to_send(channel._WRITES_FINISHED)
    return [message.ByteSize() for message in channel._write_outputs()]


def test_the_data_plane_sends_small_messages(configured):
    total = 8 * sdk_worker.FLUSH_BYTES
    sizes = _messages(data_plane._GrpcDataChannel(), total)
    assert sum(sizes) >= total
    assert len(sizes) >= 4
    # A message is one flush (at most FLUSH_BYTES + one element) and what is coalesced with it.
    assert max(sizes) <= 2 * sdk_worker.FLUSH_BYTES + 2 * CHUNK, sizes


def test_beams_default_sends_one_big_message():
    """The same stream without configure(): Beam's 10 MiB threshold makes one message, which
    is what the test above would see if configure() changed nothing."""
    sizes = _messages(data_plane._GrpcDataChannel(), 8 * sdk_worker.FLUSH_BYTES)
    assert len(sizes) == 1, sizes


def test_the_worker_pool_starts_this_worker():
    flag = next(a for a in local_engines.WORKER_POOL if a.startswith("--container_executable="))
    path = flag.split("=", 1)[1]
    assert path == str(local_engines.ROOT / "pipeline" / "sdk_worker.py")
    assert os.access(path, os.X_OK)
