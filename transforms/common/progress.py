"""Progress lines for local runs: records and records/s, at most every few seconds per worker."""

import logging
import time

LOG = logging.getLogger("hygiene")


class ProgressLog:
    def __init__(self, what: str, every_seconds: float = 10.0):
        self.what = what
        self.every = every_seconds
        self.count = 0
        self.started = self.last = time.monotonic()

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.count / max(now - self.started, 1e-9)
            LOG.info("%s: %s records (%s records/s on this worker)", self.what,
                     f"{self.count:,}", f"{rate:,.0f}")
