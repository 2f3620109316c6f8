"""Streaming on Flink: the SDK lifts the combiners itself.

Beam's portable runner pre-optimizes a graph only in batch mode; in streaming mode it
sends each CombinePerKey as a GroupByKey of the raw values followed by the combining step,
and Flink's streaming translation (Beam 2.62's job server) lifts nothing: a key's values
all wait in one group, which then reaches one Python worker as one list. Measured: the
count of the records read (RecordsIn, a Count.Globally) grouped 200,000 records under one
key, and copying that group ran out of the TaskManager's heap. Lifted (Beam's own
``lift_combiners`` phase, the one batch mode runs), each bundle first combines its
elements into an accumulator per key, and a key's group holds one accumulator per bundle.
"""

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.flink_runner import FlinkRunner
from apache_beam.runners.portability.fn_api_runner import translations
from apache_beam.runners.portability.portable_runner import PortableRunner

# What the portable runner leaves to a job server when it pre-optimizes (portable_runner.py)
_RUNNER_URNS = frozenset([common_urns.composites.RESHUFFLE.urn,
                          common_urns.primitives.IMPULSE.urn,
                          common_urns.primitives.FLATTEN.urn,
                          common_urns.primitives.GROUP_BY_KEY.urn])


def lift_in_streaming(proto: beam_runner_api_pb2.Pipeline,
                      options: PipelineOptions) -> beam_runner_api_pb2.Pipeline:
    """``proto`` with its combiners lifted in streaming mode (batch mode: the portable runner
    has lifted them already); fusion stays the job server's (transforms/common/flatten.py)."""
    if not options.view_as(StandardOptions).streaming:
        return proto
    return translations.optimize_pipeline(
        proto, phases=[translations.lift_combiners, translations.sort_stages],
        known_runner_urns=_RUNNER_URNS, partial=True)


def proto_pipeline(pipeline, options: PipelineOptions) -> beam_runner_api_pb2.Pipeline:
    """What LiftingFlinkRunner submits for ``pipeline``."""
    return lift_in_streaming(PortableRunner.get_proto_pipeline(pipeline, options), options)


class LiftingFlinkRunner(FlinkRunner):
    """FlinkRunner whose streaming graphs have their combiners lifted."""

    @staticmethod
    def _optimize_pipeline(proto, options):
        return lift_in_streaming(PortableRunner._optimize_pipeline(proto, options), options)
