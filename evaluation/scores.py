"""Every evaluation's headline scores in one table: each script records them here as it prints
its own detailed tables, and `python -m evaluation` (`make eval`) prints them together."""

from typing import List, NamedTuple, Optional


class Score(NamedTuple):
    detector: str
    dataset: str
    precision: Optional[float]
    recall: Optional[float]
    items: str          # what was counted, e.g. "43 faces", "1,000 documents"

    @property
    def f1(self) -> Optional[float]:
        if self.precision is None or self.recall is None:
            return None
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


SCORES: List[Score] = []


def record(detector: str, dataset: str, precision: Optional[float], recall: Optional[float],
           items: str) -> None:
    SCORES.append(Score(detector, dataset, precision, recall, items))


def table(scores: List[Score]) -> str:
    cell = lambda v: "-" if v is None else f"{v:.3f}"   # noqa: E731
    lines = ["| detector | dataset | counted | precision | recall | F1 |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {s.detector} | {s.dataset} | {s.items} | {cell(s.precision)} | "
              f"{cell(s.recall)} | {cell(s.f1)} |" for s in scores]
    return "\n".join(lines)
