"""A Flatten whose inputs other transforms read too.

Beam's Java fuser (the Flink job server's, in streaming mode, where the Python SDK leaves
fusion to the runner) rejects a PCollection read both by a Flatten and by another transform:
"PCollectionNodes [...] were consumed but never produced" (Beam issue 34647, fixed after the
2.62 job server this project runs). Each input passes through an identity step of its own
first, which fuses into its producer's stage and costs nothing else.
"""

import apache_beam as beam


class FlattenShared(beam.PTransform):
    def expand(self, pcolls):
        return tuple(pcoll | f"Own{index}" >> beam.Map(lambda element: element)
                     for index, pcoll in enumerate(pcolls)) | beam.Flatten()
