"""Evaluation scripts: quality of each detector on labelled data (python -m evaluation.NAME)."""
