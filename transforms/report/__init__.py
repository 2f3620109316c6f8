"""The run's outputs for people and machines: summary.json, report/index.html,
manifest.json."""
