"""A step that reads a side input made from the whole input waits for the input to end; what
it holds meanwhile must go to the engine's state store, not to a worker's heap.

On a streaming engine a side input such as "the hot keys" or "the ids the report names" is
ready only when the input has ended, and every main-input element that reaches the step
before then waits. Beam's Flink runner keeps those waiting elements in the step's operator
state, which Flink always holds on the TaskManager's heap, unless the step is keyed: then
they go to keyed state, RocksDB on local disk (flink/cluster.yaml). A step is keyed when
its DoFn declares state. Measured: at 20,000 documents of the text job 125,756 elements
waited on the TaskManager's heap at once, the report's rows among them (docs/BENCHMARKS.md
"Waiting in RocksDB").

``ParDoAfterInput(fn, side)`` keys each element by one of ``SHARDS`` numbers, round-robin,
and calls ``fn`` in a DoFn with a state it never reads or writes. The key only spreads the
waiting elements: RocksDB reads one key's elements at once when the side input is ready,
and Beam's runner lists every key then, so there are many keys but a bounded number
(65,536 keys for 10 million waiting elements is about 150 per key, and a 100 KB list). On
the DirectRunner, which computes a side input before the step that reads it, nothing waits
and the unused state costs nothing.
"""

import random
import typing

import apache_beam as beam
from apache_beam.coders import BooleanCoder
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

SHARDS = 1 << 16
_UNUSED = ReadModifyWriteStateSpec("keyed", BooleanCoder())


class ParDoAfterInput(beam.PTransform):
    """``pcoll | ParDoAfterInput(fn, side)``: ``beam.ParDo(fn, side)``, whose elements wait
    for ``side`` in keyed state. ``fn.process(element, side)``; tagged outputs as ParDo's
    (``.with_outputs(...)``)."""

    def __init__(self, fn: beam.DoFn, side, outputs: typing.Sequence[str] = (),
                 main: typing.Optional[str] = None):
        super().__init__()
        self.fn = fn
        self.side = side
        self.outputs = tuple(outputs)
        self.main = main

    def expand(self, pcoll):
        keyed = (pcoll
                 | "Shard" >> beam.ParDo(_Shard()).with_output_types(
                     typing.Tuple[int, pcoll.element_type]))
        step = beam.ParDo(_Keyed(self.fn), self.side)
        if self.outputs:
            step = step.with_outputs(*self.outputs, main=self.main)
        return keyed | "Wait" >> step


class _Shard(beam.DoFn):
    def start_bundle(self):   # a random start: bundles of one element must not share a key
        self.next = random.randrange(SHARDS)

    def process(self, element):
        self.next = (self.next + 1) % SHARDS
        yield self.next, element


class _Keyed(beam.DoFn):
    """``fn`` on the element of a (shard, element) pair; the state makes the step keyed."""

    def __init__(self, fn: beam.DoFn):
        self.fn = fn

    def setup(self):
        self.fn.setup()

    def start_bundle(self):
        self.fn.start_bundle()

    def process(self, keyed, side, unused=beam.DoFn.StateParam(_UNUSED)):
        return self.fn.process(keyed[1], side)

    def finish_bundle(self):
        return self.fn.finish_bundle()

    def teardown(self):
        self.fn.teardown()
