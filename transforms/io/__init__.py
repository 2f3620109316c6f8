"""Reading the corpus (sources/ holds the Beam-free parsers), input checks, unique ids,
the near-duplicate index of earlier runs, and writing Parquet outputs."""
