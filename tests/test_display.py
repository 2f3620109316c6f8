"""What people see is safe to see (issue 23, "leaks what people open"): ids, file names and
member names from the data may hold an e-mail address or an escape sequence that rewrites
a terminal. summary.json, the report, the log lines and the review CSV's display columns
show them masked and terminal-safe; the Parquet outputs and the review CSV's id column
(decisions match on it) keep the true values."""

import csv
import io
import json
import logging

import pytest

from detectors.display import for_display, terminal_safe
from detectors.pii.patterns import find_pii
from pipeline.review import write_decisions_file
from tests.builders import jpeg, sample
from tests.jobs import assert_conserved, run_job

EMAIL = "jane.doe@example.com"
ESCAPE = "\x1b[2J\x1b]0;pwned\x07"   # clear the screen, set the window title


@pytest.mark.parametrize("text, shown", [
    ("plain-id_0001", "plain-id_0001"),
    ("red\x1b[31mtext\x1b[0m", "redtext"),
    ("title\x1b]0;pwned\x07 after", "title after"),
    ("title\x1b]2;x\x1b\\ after", "title after"),
    ("csi\x9b2J c1", "csi c1"),
    ("bell\x07 nul\x00 tab\t nl\n del\x7f", "bell\ufffd nul\ufffd tab\ufffd nl\ufffd del\ufffd"),
    ("invoice\u202egpj.exe", "invoice\ufffdgpj.exe"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("unterminated \x1b]0;title", "unterminated "),
    ("naïve café", "naïve café"),
])
def test_terminal_safe_leaves_no_control_for_a_terminal(text, shown):
    assert terminal_safe(text) == shown
    assert terminal_safe(shown) == shown
    assert all(c.isprintable() or c == " " for c in terminal_safe(text))


@pytest.mark.parametrize("text, hidden", [
    (f"{EMAIL}_photo.jpg", EMAIL),
    ("scan_536-22-1425.png", "536-22-1425"),
    ("card 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("call_+44 20 7946 0958.jpg", "7946 0958"),
    ("john_(555) 123-4567.jpg", "123-4567"),
    ("cam-192.168.1.20-0001", "192.168.1.20"),
])
def test_for_display_masks_personal_data_to_its_shape(text, hidden):
    shown = for_display(text)
    assert hidden not in shown and "***" in shown
    assert for_display(f"\x1b[31m{text}") == shown


@pytest.mark.parametrize("text", [
    "IMG_20230101_123456.jpg", "2024-06-01", "00012345", "c" + "0123456789abcdef" * 2,
    "shop/mockup_0001~1a2b3c4d", "member 000003", "line 12", "exact-0123456789abcdef",
    "4111111111111112",   # fails Luhn
])
def test_for_display_leaves_ids_without_personal_data_alone(text):
    assert for_display(text) == text
    assert find_pii(text) == []


def test_for_display_keeps_none():
    assert for_display(None) is None and terminal_safe(None) is None


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """An image folder whose file names hold an e-mail address and escape sequences; the
    two images are the same picture, so one is quarantined as the other's duplicate and
    both ids are named in summary.json's top cluster, the report and the review CSV."""
    root = tmp_path_factory.mktemp("display")
    folder = root / "photos"
    folder.mkdir()
    picture = jpeg(sample("coffee").resize((96, 64)))
    names = [f"{EMAIL}.jpg", f"{ESCAPE}cup.jpg", "plain.jpg"]
    for name in names[:2]:
        (folder / name).write_bytes(picture)
    (folder / "plain.jpg").write_bytes(jpeg(sample("astronaut").resize((96, 96))))
    (folder / "captions.jsonl").write_text("".join(
        json.dumps({"file_name": name, "caption": "a cup of coffee"}) + "\n" for name in names))
    texts = root / "texts"   # a file the reader logs, by name
    texts.mkdir()
    (texts / f"{EMAIL}{ESCAPE}.jsonl").write_text('{"id": "t1", "text": "A quiet note."}\n')
    logs, logger = _Lines(), logging.getLogger("hygiene")
    level = logger.level
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    try:
        out = run_job(root / "out", [str(folder) + "/", str(texts / "*.jsonl")], "--no-pii",
                      "--no-faces", "--no-layouts", "--no-caption-templates")
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)
    assert_conserved(out)
    return out, logs.lines


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _unsafe(text: str) -> list:
    return [bad for bad in (EMAIL, "\x1b", "\\u001b", "pwned\x07", "\x07") if bad in text]


def test_summary_and_report_show_ids_masked(job):
    out, _ = job
    summary = (out.path / "summary.json").read_text("utf-8")
    assert _unsafe(summary) == []
    [cluster] = [c for c in json.loads(summary)["top_clusters"]
                 if c["reason"] == "exact_duplicate_image"]
    assert cluster["kept_id"] == for_display(f"{ESCAPE}cup") == "cup"
    assert cluster["examples"] == [for_display(EMAIL)] == ["j***.d***@e***.com"]
    assert out.summary == json.loads(summary)   # what the run returns is what it wrote
    html = (out.path / "report" / "index.html").read_text("utf-8")
    assert _unsafe(html) == []
    assert "j***.d***@e***.com" in html and "pwned" not in html
    # the data keeps the true values
    [held] = out.quarantine
    assert held["id"] == EMAIL and held["source"].endswith(f"{EMAIL}.jpg")
    assert {row["id"] for row in out.cleaned_image_text} == {f"{ESCAPE}cup", "plain"}


def test_log_lines_show_file_names_masked(job):
    _, lines = job
    [read] = [line for line in lines if line.startswith("read ")]
    assert "j***.d***@e***." in read
    assert all(_unsafe(line) == [] for line in lines)


def test_the_review_csv_masks_what_it_shows_and_keeps_the_id_decisions_match(job):
    out, _ = job
    buffer = io.StringIO()
    write_decisions_file(str(out.path), buffer, records=10)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    cluster = next(r for r in rows if r["scope"] == "cluster"
                   and r["reason"] == "exact_duplicate_image")
    assert _unsafe(cluster["examples"]) == [] and "j***" in cluster["examples"]
    records = [r for r in rows if r["scope"] == "record"]
    assert [r["id"] for r in records] == [EMAIL]   # exact: a decision on it must match
