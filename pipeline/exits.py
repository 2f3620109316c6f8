"""The command's exit statuses, defined once: main() returns them, --help lists them and
README's "Exit status" table is checked against them (tests/test_docs.py)."""

import enum


class UsageError(Exception):
    """Bad arguments, inputs or output locations, found before the job starts (exit status
    USAGE); the message says what to fix."""


class ExitCode(enum.IntEnum):
    def __new__(cls, value: int, meaning: str):
        member = int.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    OK = 0, "the run finished and every record is in cleaned/ or quarantine/"
    CONSERVATION = 1, ("conservation failed: records in differ from cleaned plus quarantined "
                       "(outputs written; a bug to report)")
    USAGE = 2, ("usage error: bad flags, policy, inputs, output folder or decisions file, "
                "found before anything is deleted or written; with --strict-decisions also "
                "decisions that match no record, found after the run (outputs written)")
    GATES = 3, "a --fail-on gate failed (outputs written)"
    CRASH = 4, ("the run crashed (an unexpected error, logged with its traceback); an "
                "unfinished run's outputs are replaced by the next --overwrite")


def table() -> str:
    """The README's table of exit statuses."""
    lines = ["| status | meaning |", "|---|---|"]
    lines += [f"| {code.value} | {code.meaning} |" for code in ExitCode]
    return "\n".join(lines)


def epilog() -> str:
    """The same, one line per status, for --help."""
    return "Exit status: " + "; ".join(f"{code.value} {code.meaning}" for code in ExitCode) + "."
