"""Walk a grouped key's values twice: once for its first member, once to emit.

Beam runners stream a GroupByKey's values and let a DoFn iterate them again,
so a hot key (a million copies of one boilerplate text) needs neither a
sorted list nor a second shuffle to find its first member.
"""

from typing import Callable, Iterable, Optional, Tuple, TypeVar

T = TypeVar("T")


def first_and_size(values: Iterable[T], order: Callable[[T], object]) -> Tuple[Optional[T], int]:
    """(the member with the smallest order key, how many members) in one pass."""
    best, best_key, size = None, None, 0
    for value in values:
        size += 1
        key = order(value)
        if best is None or key < best_key:
            best, best_key = value, key
    return best, size
