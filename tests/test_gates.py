"""Run gates (--fail-on): parsing, paths into summary.json, and the exit status of a run."""

import pytest

from pipeline.gates import failed_gates, parse_gate
from pipeline.launch import main
from tests.jobs import SAMPLE

SUMMARY = {"quarantine_rate": 0.25, "reasons": {"secret": 1, "pii_name": 3},
           "cleaned": {"total": 90, "text": 60}, "faces": {"repeated_identities": 0}}


def test_gates_parse_and_compare():
    assert parse_gate(" quarantine_rate >= 0.2 ") == ("quarantine_rate", ">=", 0.2)
    for text in ("quarantine_rate", "rate >> 1", "reasons.secret > lots", "> 3"):
        with pytest.raises(ValueError, match="PATH OP NUMBER"):
            parse_gate(text)
    gates = [parse_gate(t) for t in ("quarantine_rate>0.2", "reasons.secret>0",
                                     "reasons.template_face>0", "cleaned<100",
                                     "faces.repeated_identities>=1")]
    failures = failed_gates(SUMMARY, gates)
    assert failures == ["quarantine_rate > 0.2: the run has quarantine_rate = 0.25",
                        "reasons.secret > 0: the run has reasons.secret = 1",
                        "cleaned < 100: the run has cleaned = 90"]
    assert failed_gates(SUMMARY, [parse_gate("conservation.rule>0")]) == [
        "conservation.rule > 0: conservation.rule is not a number in summary.json"]


def test_a_failed_gate_exits_3_after_writing_everything(tmp_path, capsys):
    inputs = [str(SAMPLE / "text" / "support-000.jsonl")]
    out = tmp_path / "out"
    status = main(["--input", *inputs, "--output", str(out), "--no-faces",
                   "--fail-on", "reasons.secret>0", "--fail-on", "quarantine_rate>0.99"])
    assert status == 3
    assert (out / "summary.json").exists() and list((out / "quarantine").glob("*.parquet"))
    err = capsys.readouterr().err
    assert "gate failed: reasons.secret > 0" in err and "quarantine_rate" not in err
    assert main(["--input", *inputs, "--output", str(out), "--overwrite", "--no-faces",
                 "--fail-on", "reasons.secret>5"]) == 0
    assert main(["--input", *inputs, "--output", str(tmp_path / "x"),
                 "--fail-on", "secret"]) == 2
