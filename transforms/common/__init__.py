"""Beam building blocks the stages share: nodes (how global stages refer to records),
bucket pairs, connected components, pair clusters, grouped values read twice, per-record
fault isolation, progress logs."""
