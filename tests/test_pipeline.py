"""The whole job on the DirectRunner: bad input, conservation, determinism, ids, dedup."""

import json

import pytest

from pipeline.launch import main
from tests.builders import encode, picture, write_tar
from tests.jobs import SAMPLE, SAMPLE_FLAGS, SAMPLE_INPUTS, assert_conserved, run_job


@pytest.fixture(scope="module")
def broken(broken_run):
    out, expected, good_ids, _ = broken_run
    return out, expected, good_ids


def test_every_kind_of_bad_input_is_quarantined_with_its_reason(broken):
    out, expected, _ = broken
    quarantine = out.quarantine
    kinds = {reason for _, _, reason in expected}
    assert len(kinds) >= 10
    for name, location, reason in expected:
        hits = [r for r in quarantine
                if r["source"].endswith(name) and location in r["location"]]
        assert len(hits) == 1, (name, location, reason, [(h["location"], h["reasons"]) for h in hits])
        row = hits[0]
        assert row["primary_reason"] == reason, (name, location, row["reasons"])
        detail = json.loads(row["evidence"][0]["detail"])["detail"]
        assert detail, "every input defect says why"
    # Nothing is quarantined that we did not expect.
    assert len(quarantine) == len(expected)


def test_bad_input_keeps_its_content_in_the_quarantine(broken):
    out, _, _ = broken
    by_location = {(r["source"].rsplit("/", 1)[-1], r["location"]): r for r in out.quarantine}
    assert by_location[("docs.jsonl", "line 7")]["raw"] == b'{"id": "x2", "text": "caf\xe9"}'
    assert by_location[("docs.jsonl", "line 11")]["text"].startswith("long long")
    truncated = next(r for k, r in by_location.items() if "s001" in k[1])
    assert truncated["image"] and truncated["caption"] == "truncated png"
    assert all(r["review_status"] is None and r["reviewer"] is None for r in out.quarantine)


def test_broken_corpus_is_conserved_and_good_records_survive(broken):
    out, _, good_ids = broken
    assert_conserved(out)
    cleaned = {r["id"] for r in out.cleaned_text + out.cleaned_image_text}
    assert good_ids <= cleaned
    # The gzip cut half-way still yields the lines before the cut.
    assert sum(r["id"].startswith("g") for r in out.cleaned_text) > 10


@pytest.fixture(scope="module")
def sample_runs(sample_run, tmp_path_factory):
    multi = run_job(tmp_path_factory.mktemp("sample") / "multi", SAMPLE_INPUTS, *SAMPLE_FLAGS,
                    "--local-workers", "2")
    return sample_run, multi


def test_single_and_multi_process_runs_agree(sample_runs):
    single, multi = sample_runs
    def ids(out):
        return ({r["id"] for r in out.cleaned_text}, {r["id"] for r in out.cleaned_image_text},
                {(r["id"], tuple(r["reasons"]), r["kept_id"]) for r in out.quarantine})
    assert ids(single) == ids(multi)
    assert single.summary["reasons"] == multi.summary["reasons"]
    assert len(list((multi.path / "quarantine").glob("*.parquet"))) >= 1


def test_sample_run_writes_every_output(sample_runs):
    out, _ = sample_runs
    assert_conserved(out)
    for part in ("cleaned/text", "cleaned/image_text", "quarantine"):
        assert list((out.path / part).glob("*.parquet")), part
    manifest = out.manifest()
    assert manifest["packages"]["apache-beam"] == "2.77.0"
    assert manifest["inputs"]["files"] >= 10
    assert manifest["config"]["input"]["max_text_chars"] == 20000  # from sample/policy.yaml
    assert manifest["started_at"] <= manifest["finished_at"]
    assert manifest["counts"]["reasons"] == out.summary["reasons"]
    assert all(f.startswith(str(out.path)) for f in manifest["files"])


def test_sample_shows_the_mockup_risk(sample_runs):
    """The bundled shop (scripts/make_sample.py): T-shirt mockups around a real person's
    photo, a flat-lay without anyone, captions from one template, and the person in a press
    photo too. The demo's table and the report show each of the four verdicts."""
    import io

    from pipeline.launch import RunResult, print_report

    out, _ = sample_runs
    summary = out.summary
    cleaned = {r["id"]: r for r in out.cleaned_image_text}
    held = {r["id"]: r for r in out.quarantine}
    model = sorted(i for i in [*cleaned, *held] if i.startswith("tee-model-"))
    flat = sorted(i for i in [*cleaned, *held] if i.startswith("tee-flat-"))
    assert len(model) == 8 and len(flat) == 6
    # Her face lies in the fixed area: every mockup around it is held back.
    assert all("template_face" in held[i]["reasons"] for i in model)
    # No face: the first 3 in input order are kept, flagged, with their caption template.
    assert sorted(i for i in flat if i in cleaned) == [
        "tee-flat-floral-dots", "tee-flat-pastel-checks", "tee-flat-solar-bloom"]
    for i in flat:
        if i in cleaned:
            assert {f["reason"] for f in cleaned[i]["flags"]} >= {"template_cluster",
                                                                  "caption_template"}
        else:
            assert "template_cluster" in held[i]["reasons"]
    # One person in 9 records: the first 4 in input order kept (the press photo, blurred),
    # the other 5 held back; no person is in 5 or more cleaned records.
    portrait = cleaned["press/grace-hopper"]
    assert {f["reason"] for f in portrait["flags"]} >= {"repeated_identity", "face"}
    assert summary["faces"]["repeated_identities"] == 1
    assert summary["faces"]["repeated_identity_records"] == 9
    assert summary["reasons"]["repeated_identity"] == 5
    assert summary["reasons"]["template_face"] == 8
    assert summary["reasons"]["template_cluster"] == 3
    assert summary["flagged"]["caption_template"] == 3
    kinds = {c["reason"] for c in summary["top_clusters"]}
    assert {"template_face", "template_cluster", "caption_template", "repeated_identity"} <= kinds
    # What `make demo` prints.
    printed = io.StringIO()
    print_report(RunResult(str(out.path), summary, "DONE", counters=out.counters, seconds=1.0),
                 printed)
    table = printed.getvalue()
    for reason in ("template_face", "template_cluster", "caption_template", "repeated_identity"):
        assert f"  {reason} " in table, reason
    assert "repeated identities: 1 person in 9 records" in table
    page = (out.path / "report" / "index.html").read_text()
    for reason in ("template_face", "template_cluster", "caption_template", "repeated_identity"):
        assert reason in page


def test_sample_shows_personal_data_covered_in_an_image(sample_runs):
    """The bundled business card (scripts/make_sample.py): its caption names nobody; the
    OCR stage reads the name, phone number and e-mail printed on it and the kept image has
    them covered."""
    out, _ = sample_runs
    card = {r["id"]: r for r in out.cleaned_image_text}["press/business-card"]
    flag = next(json.loads(f["detail"]) for f in card["flags"] if f["reason"] == "pii_in_image")
    assert set(flag["entities"]) == {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"}
    assert "Kowalski" not in json.dumps(flag) and "555-0142" not in json.dumps(flag)
    assert out.summary["ocr"]["cleaned_images_covered"] == 1
    assert card["image"] != (SAMPLE / "image_folder" / "press" / "business-card.jpg").read_bytes()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One job over small corpora, each for one test: exact/ (duplicate texts), images/
    (duplicate pictures), ids/ (claimed and missing ids)."""
    root = tmp_path_factory.mktemp("small")
    for folder in ("exact", "images", "ids"):
        (root / folder).mkdir()
    (root / "exact" / "a.jsonl").write_text(
        json.dumps({"id": "first", "text": "The Same  text"}) + "\n" +
        json.dumps({"id": "other", "text": "different text"}) + "\n")
    (root / "exact" / "b.jsonl").write_text(
        json.dumps({"id": "second", "text": "the same text"}) + "\n" +
        json.dumps({"id": "third", "text": "\uff34he same\ttext "}) + "\n")
    png = encode(picture(11))
    lossless = encode(picture(11), "WEBP", lossless=True)
    write_tar(root / "images" / "a.tar", [("k1.png", png), ("k1.txt", b"one caption"),
                                          ("k2.webp", lossless), ("k2.txt", b"another caption"),
                                          ("k3.png", png), ("k3.txt", b"third"),
                                          ("k4.png", encode(picture(12))), ("k4.txt", b"unrelated")])
    (root / "ids" / "a.jsonl").write_text(json.dumps({"id": "7", "text": "alpha"}) + "\n" +
                                          json.dumps({"text": "no id here"}) + "\n")
    (root / "ids" / "b.jsonl").write_text(json.dumps({"id": "7", "text": "beta"}) + "\n" +
                                          json.dumps({"text": "no id here"}) + "\n")
    out = run_job(root / "out", [root / "exact" / "*.jsonl", root / "images" / "a.tar",
                                 root / "ids" / "*"])
    assert_conserved(out)
    return out


def rows_from(rows, folder):
    return [r for r in rows if f"/{folder}/" in r["source"]]


def test_exact_duplicates_keep_the_first_in_input_order(small_run):
    out = small_run
    assert {r["id"] for r in rows_from(out.cleaned_text, "exact")} == {"first", "other"}
    dups = {r["id"]: r for r in rows_from(out.quarantine, "exact")}
    assert set(dups) == {"second", "third"}
    for row in dups.values():
        assert row["primary_reason"] == "exact_duplicate_text"
        assert row["kept_id"] == "first" and row["group_size"] == 3


def test_images_are_duplicates_by_pixels_whatever_the_caption(small_run):
    out = small_run
    assert {r["id"] for r in rows_from(out.cleaned_image_text, "images")} == {"k1", "k4"}
    evidence = {r["id"]: json.loads(r["evidence"][0]["detail"])
                for r in rows_from(out.quarantine, "images")}
    assert evidence["k2"]["match"] == "identical_pixels"
    assert evidence["k3"]["match"] == "identical_bytes"
    assert {e["kept_id"] for e in evidence.values()} == {"k1"}


def test_public_ids_are_unique_and_stable(small_run):
    """Unique here; stable: tests/test_validate_and_ids.py (the same ids in any order) and
    test_detectors.py (uids and content ids from content and place only)."""
    rows = rows_from(small_run.cleaned_text + small_run.quarantine, "ids")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 4
    assert "7" in ids and any(i.startswith("7~") for i in ids)
    content_ids = [i for i in ids if i.startswith("c")]
    assert len(content_ids) == 2
    # The repeated id-less text is an exact duplicate of the first, kept under its plain id.
    dup = next(r for r in rows_from(small_run.quarantine, "ids")
               if r["primary_reason"] == "exact_duplicate_text")
    assert dup["id"].startswith(dup["kept_id"] + "~")


def test_cli_refuses_bad_usage_before_running(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "nothing-*.jsonl"), "--output", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"text": "hello"}) + "\n")
    bad_policy = tmp_path / "p.yaml"
    bad_policy.write_text("exact_dedup:\n  txt: true\n")
    assert main(["--input", str(docs), "--output", str(tmp_path / "o"),
                 "--config", str(bad_policy)]) == 2
    assert "unknown key exact_dedup.txt" in capsys.readouterr().err
    # A summary no run's manifest lists is not replaced, even when asked; an earlier run's
    # output (its manifest.json, as runs wrote before it listed what they own) is replaced
    # only when asked (tests/test_outputs_safety.py has the rest).
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "summary.json").write_text('{"records_in": 7}')
    assert main(["--input", str(docs), "--output", str(tmp_path / "o"), "--overwrite"]) == 2
    assert "summary.json" in capsys.readouterr().err
    (tmp_path / "o" / "manifest.json").write_text('{"tool": "hygiene", "files": []}')
    assert main(["--input", str(docs), "--output", str(tmp_path / "o")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["--input", str(docs), "--output", str(tmp_path / "o"), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "conservation ok: 1 in = 1 cleaned + 0 quarantined" in printed
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["records_in"] == 1


def test_help_groups_options_by_stage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for group in ("inputs and outputs:", "Input format and checks", "Exact deduplication:",
                  "Faces (CenterFace or dlib to detect, face_recognition to encode):",
                  "Layout templates"):
        assert group in text


def test_a_job_without_pii_never_imports_presidio(tmp_path):
    """presidio, with the spaCy and torch it imports, costs ~2 s and ~250 MB per process: a job
    without the PII stage must not import it (the DirectRunner runs the DoFns in the child,
    so its modules are the job's)."""
    import subprocess
    import sys
    from tests.jobs import ROOT
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document {i} " * 20}) + "\n"
                              for i in range(20)))
    script = ("import sys; from pipeline.launch import main; "
              f"main(['--input', {str(corpus)!r}, '--output', {str(tmp_path / 'out')!r}, "
              "'--no-pii']); print(sorted(m for m in ('presidio_analyzer', 'spacy', 'torch') "
              "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["records_in"] == 20
