"""Beam PTransforms and DoFns: I/O, validation, ids, dedup, decide, outputs.

Transforms only wire, batch and key; the logic they call lives in detectors/
and transforms/sources/ (Beam-free)."""
