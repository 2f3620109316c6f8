#!/usr/bin/env python
"""A Python SDK worker for Beam's worker pool (`worker_pool_main --container_executable`, the
container contract's flags), with data-plane messages of at most FLUSH_BYTES instead of 10 MiB.

Why: the Java runner (Flink's, Spark's job server) queues up to 100 data messages a bundle
from a Python worker before it processes them (Beam 2.62's BeamFnDataInboundObserver), and
the Python SDK flushes an output stream, and coalesces the messages it sends, at 10 MiB
(apache_beam.runners.worker.data_plane). When the JVM side is the slower one, as in the stage
that fans each document out to a dozen grouped outputs, that queue holds 100 x 10-20 MiB per
running bundle, 1-2 GiB a task slot: the job server ran out of a 1 GiB heap at 100,000
documents (docs/BENCHMARKS.md "Memory on Flink"). With 1 MiB messages the queue holds about
100 MiB. The worker's own send queues (2 x 100 MiB) shrink to 2 x SEND_QUEUE_BYTES.

Nothing else differs from the pool's own worker command (SdkHarness with no state cache).
"""

import argparse
import logging
import sys

FLUSH_BYTES = 1 << 20
SEND_QUEUE_BYTES = 16 << 20


def configure(flush_bytes: int = FLUSH_BYTES, send_queue_bytes: int = SEND_QUEUE_BYTES) -> None:
    """Smaller data-plane buffers in this process (before any data channel is made)."""
    from apache_beam.runners.worker import data_plane

    def create(close_callback, flush_callback, data_buffer_time_limit_ms):
        if data_buffer_time_limit_ms > 0:
            return data_plane.TimeBasedBufferingClosableOutputStream(
                close_callback, flush_callback=flush_callback, size_flush_threshold=flush_bytes,
                time_flush_threshold_ms=data_buffer_time_limit_ms)
        return data_plane.SizeBasedBufferingClosableOutputStream(
            close_callback, flush_callback=flush_callback, size_flush_threshold=flush_bytes)

    data_plane.ClosableOutputStream.create = staticmethod(create)
    # Read when messages are coalesced for sending and when a channel's queues are made.
    data_plane._DEFAULT_SIZE_FLUSH_THRESHOLD = flush_bytes
    data_plane._DEFAULT_SEND_QUEUE_MAX_BYTES = send_queue_bytes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--id", required=True)
    parser.add_argument("--control_endpoint", required=True)
    for unused in ("--logging_endpoint", "--artifact_endpoint", "--provision_endpoint"):
        parser.add_argument(unused)
    args, _ = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO)
    configure()
    from apache_beam.runners.worker.sdk_worker import SdkHarness
    SdkHarness(args.control_endpoint, worker_id=args.id).run()


if __name__ == "__main__":
    main(sys.argv[1:])
