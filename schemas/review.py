"""Review decisions: what a person decided about a record or a cluster, and the decisions
file (CSV) they are written in. pipeline/review.py reads and writes the files;
transforms/decide/review.py applies them."""

from typing import NamedTuple, Optional

import apache_beam as beam

RELEASE, REJECT = "release", "reject"
RECORD, CLUSTER = "record", "cluster"
# What a decision did to the record it reached: the quarantine's review_status and the
# summary's review counts.
RELEASED, REJECTED, RELEASE_REFUSED = "released", "rejected", "release_refused"
OUTCOMES = (RELEASED, REJECTED, RELEASE_REFUSED)

# The decisions file. A person fills `decision` (release, reject, or blank: undecided) and
# may fill `reviewer`, `note` and `reviewed_at`; the other columns help them decide.
COLUMNS = ("scope", "id", "decision", "reviewer", "note", "reviewed_at",
           "reason", "risk", "size", "records", "quarantined", "clusters", "examples", "preview")
REQUIRED = ("scope", "id", "decision")

# Spreadsheet safety (OWASP "CSV injection"): a cell a spreadsheet would evaluate as a
# formula is written behind a single quote, which the reader takes off again; so is a
# cell already starting with one, so that every value reads back exactly as written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralized(cell: str) -> str:
    """``cell`` as the decisions file writes it: never a formula."""
    return QUOTE + cell if cell.startswith(FORMULA_STARTS + (QUOTE,)) else cell


def restored(cell: str) -> str:
    """A cell of a decisions file as it was before neutralized(); a cell without the
    quote (a spreadsheet may have dropped it on saving) is taken as it is."""
    if cell.startswith(QUOTE) and cell[1:].startswith(FORMULA_STARTS + (QUOTE,)):
        return cell[1:]
    return cell


class Decision(NamedTuple):
    scope: str                  # record or cluster
    id: str                     # a record's public id or a cluster id (detectors/clusters.py)
    decision: str               # release or reject
    reviewer: str
    note: str
    reviewed_at: Optional[str]  # ISO 8601, as written in the file
    source: str                 # file:line it came from


def key(scope: str, id: str) -> str:
    return f"{scope}:{id}"


beam.coders.registry.register_coder(Decision, beam.coders.RowCoder)
