"""Side-by-side benchmarks against peer tools (run as modules: python -m benchmarks.NAME)."""
