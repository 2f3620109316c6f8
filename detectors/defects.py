"""The exception detectors raise for bad input; callers turn it into a quarantine reason."""

from schemas.reasons import Reason


class InputDefect(Exception):
    def __init__(self, reason: Reason, detail: str):
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
