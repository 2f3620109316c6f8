"""Run gates: bounds on summary.json that fail a run (``--fail-on``, the nightly DAG's gate).

A gate is ``PATH OP NUMBER``: PATH a dotted path into summary.json (``quarantine_rate``,
``reasons.secret``, ``flagged.template_cluster``, ``faces.repeated_identities``), OP one of
> >= < <= == !=. A count that is absent from the summary is 0 (a reason nobody hit is not
listed). A gate fails when the comparison holds: ``reasons.secret>0`` fails a run that
found any secret. The run writes all its outputs first; the gates only set the exit status.
"""

import operator
import re
from typing import List, NamedTuple

OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
             ">": operator.gt, "<": operator.lt}
_GATE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(\.\d+)?)\s*$")


class Gate(NamedTuple):
    path: str
    op: str
    bound: float

    def __str__(self) -> str:
        return f"{self.path} {self.op} {self.bound:g}"


def parse_gate(text: str) -> Gate:
    match = _GATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not PATH OP NUMBER (e.g. quarantine_rate>0.2, "
                         "reasons.secret>0)")
    return Gate(match.group(1), match.group(2), float(match.group(3)))


def value_at(summary: dict, path: str) -> float:
    value = summary
    for part in path.split("."):
        if not isinstance(value, dict):
            raise KeyError(path)
        value = value.get(part, 0)
    if isinstance(value, dict):   # a group: its total, or the sum of its counts
        value = value.get("total", sum(v for v in value.values() if isinstance(v, (int, float))))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeyError(path)
    return float(value)


def failed_gates(summary: dict, gates: List[Gate]) -> List[str]:
    """One line per gate that fails: what it says and the value the run had."""
    failures = []
    for gate in gates:
        try:
            value = value_at(summary, gate.path)
        except KeyError:
            failures.append(f"{gate}: {gate.path} is not a number in summary.json")
            continue
        if OPERATORS[gate.op](value, gate.bound):
            failures.append(f"{gate}: the run has {gate.path} = {value:g}")
    return failures
