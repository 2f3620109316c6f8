"""Beam-free domain logic: parsing, validation, hashing. Plain Python, unit-testable."""
