"""Beam building blocks the stages share: bucket pairs, connected components, grouped
values read twice, per-record fault isolation, progress logs."""
