"""Beam-free parsers, one module per input format. Each takes an open binary file and
yields schemas.records.Record values; bad input becomes a Record with ``defect`` set,
never an exception and never a silent skip."""
