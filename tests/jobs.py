"""Run the real job (DirectRunner) and read back what it wrote."""

import json
import pathlib

import pyarrow.dataset as ds

from pipeline.launch import run

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample"
SAMPLE_INPUTS = [str(SAMPLE / "text" / "*"), str(SAMPLE / "image_text" / "*"),
                 str(SAMPLE / "image_folder")]
SAMPLE_FLAGS = ["--config", str(SAMPLE / "policy.yaml")]


def run_job(output, inputs, *flags):
    result = run(["--input", *map(str, inputs), "--output", str(output), *flags])
    return Outputs(pathlib.Path(output), result.summary, result.counters)


def assert_conserved(out, counters_final: bool = True):
    """records in = cleaned + quarantined, by the summary and by the Parquet files; by the
    job's Beam counters too, unless the runner's are not final (Flink in streaming mode
    drops some bundles' updates: never more than the summary then)."""
    summary = out.summary
    rows_out = len(out.cleaned_text) + len(out.cleaned_image_text) + len(out.quarantine)
    assert summary["conservation"]["ok"] is True
    assert summary["records_in"] == rows_out
    assert summary["cleaned"]["total"] == len(out.cleaned_text) + len(out.cleaned_image_text)
    assert summary["quarantined"]["total"] == len(out.quarantine)
    # The same numbers from the job's own Beam counters.
    for name, total in (("records_in", summary["records_in"]),
                        ("records_cleaned", summary["cleaned"]["total"]),
                        ("records_quarantined", summary["quarantined"]["total"])):
        if counters_final:
            assert out.counters[name] == total, name
        else:
            assert 0 < out.counters.get(name, 0) <= total or total == 0, name
    assert "conservation_violations" not in out.counters


class Outputs:
    def __init__(self, path: pathlib.Path, summary: dict, counters: dict):
        self.path = path
        self.summary = summary
        self.counters = counters

    def table(self, *parts):
        folder = self.path.joinpath(*parts)
        if not folder.exists():
            return []
        return ds.dataset(str(folder), format="parquet").to_table().to_pylist()

    @property
    def cleaned_text(self):
        return self.table("cleaned", "text")

    @property
    def cleaned_image_text(self):
        return self.table("cleaned", "image_text")

    @property
    def quarantine(self):
        return self.table("quarantine")

    def manifest(self):
        return json.loads((self.path / "manifest.json").read_text())
