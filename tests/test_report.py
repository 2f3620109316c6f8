"""report/index.html: written by the job, opened in a real headless browser (Debian's
chromium, driven by Playwright), with hostile captions and personal data in the corpus."""

import base64
import io
import json
import pathlib
import re

import pytest
from PIL import Image

from detectors.faces import scan_faces
from schemas.settings import FaceSettings
from detectors.previews import masked_preview, thumbnail
from tests.jobs import run_job
from tests.builders import HOPPER, astronaut_variants, jpeg, sample, write_jsonl, write_tar
from transforms.report.previews import size_bucket

CHROMIUM = "/usr/bin/chromium"
# As the machine's probe starts it: no sandbox as root, nothing reaching the network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCRIPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
EMAIL = "grace.hopper@navy.example.com"
SSN = "536-22-1425"


def test_thumbnails_are_small_and_blur_the_faces_they_are_given(hopper_scan):
    face = hopper_scan.faces
    plain = Image.open(io.BytesIO(thumbnail(HOPPER, [], 128)))
    assert max(plain.size) == 128
    assert scan_faces(thumbnail(HOPPER, [], 128), FaceSettings()).faces   # still a face
    blurred = thumbnail(HOPPER, [f.box() for f in face], 128)
    assert scan_faces(blurred, FaceSettings()).faces == []


def test_text_previews_mask_every_span_before_cutting():
    span = {"field": "caption", "entity_type": "EMAIL_ADDRESS", "start": 9, "end": 9 + len(EMAIL),
            "score": 1.0, "recognizer": "r"}
    evidence = [{"reason": "pii_contact", "stage": "pii", "action": "redact",
                 "detail": json.dumps({"spans": [span]})}]
    caption = f"write to {EMAIL}\nnow"
    assert masked_preview(caption, "caption", evidence) == "write to <EMAIL_ADDRESS> now"
    assert masked_preview(caption, "caption", evidence, limit=12) == "write to <E…"
    assert masked_preview(caption, "text", evidence) == f"write to {EMAIL} now"


def test_cluster_sizes_fall_in_powers_of_two():
    assert [size_bucket(n) for n in (2, 3, 4, 5, 8, 9, 100)] == [
        "2", "3-4", "3-4", "5-8", "5-8", "9-16", "65-128"]


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    hopper = Image.open(io.BytesIO(HOPPER))
    caption = f"Grace {SCRIPT} write to {EMAIL}".encode()
    members = [("h0.jpg", HOPPER), ("h0.txt", caption), ("h1.jpg", HOPPER), ("h1.txt", caption),
               ("h2.jpg", jpeg(hopper.resize((hopper.width * 4 // 5, hopper.height * 4 // 5)))),
               ("h2.txt", b"Grace Hopper, smaller"),
               ("n0.jpg", jpeg(sample("coffee"))), ("n0.txt", b"coffee")]
    for i, image in enumerate(astronaut_variants().values()):
        members += [(f"a{i}.jpg", jpeg(image)), (f"a{i}.txt", f"astronaut {i}".encode())]
    write_tar(root / "pairs.tar", members)
    write_jsonl(root / "docs.jsonl", [
        ("hire", f"New hire paperwork for Tom Baker: SSN {SSN}, start date Monday."),
        ("note-1", "The canteen opens at nine on weekdays and at ten on Saturdays."),
        ("note-2", "The canteen opens at nine on weekdays and at ten on Saturdays.")])
    out = run_job(root / "out", [root / "pairs.tar", root / "docs.jsonl"],
                  "--identity-min-records", "5", "--identity-cap", "2")
    return out, out.path / "report" / "index.html"


def test_the_report_has_no_raw_personal_data_and_blurs_faces(report_run):
    out, page = report_run
    html = page.read_text("utf-8")
    assert out.summary["reasons"]["pii_government_id"] == 1 and EMAIL not in html
    assert SSN not in html and "Tom Baker" not in html
    assert "<script>window.__pwned" not in html and "&lt;script&gt;window.__pwned" in html
    thumbnails = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(thumbnails) >= 5
    for encoded in thumbnails:
        picture = base64.b64decode(encoded)
        assert max(Image.open(io.BytesIO(picture)).size) <= 128
        assert scan_faces(picture, FaceSettings()).faces == []


def test_the_report_opens_in_a_headless_browser(report_run, tmp_path):
    from playwright.sync_api import sync_playwright
    out, page_path = report_run
    assert pathlib.Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    summary = out.summary
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            dialogs, errors = [], []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            for section in ("totals", "reasons", "charts", "clusters", "records", "review"):
                assert page.locator(f"section#{section}").is_visible(), section
            def count(name):
                return page.inner_text(f'[data-count="{name}"]').replace(",", "")
            assert count("records_in") == str(summary["records_in"])
            assert count("cleaned") == str(summary["cleaned"]["total"])
            assert count("quarantined") == str(summary["quarantined"]["total"])
            assert count("conservation") == "ok"
            for reason, n in summary["reasons"].items():
                row = page.locator(f'tr[data-reason="{reason}"] td.num').first
                assert row.inner_text().replace(",", "") == str(n), reason
            assert page.locator("svg.chart").count() >= 4
            clusters = page.locator("div.cluster")
            assert clusters.count() == len(summary["top_clusters"]) > 0
            first = summary["top_clusters"][0]["cluster_id"]
            assert clusters.first.get_attribute("data-cluster") == first
            loaded = page.eval_on_selector_all(
                "img.thumb", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            assert len(loaded) >= 5 and all(loaded)
            # The hostile caption is text on the page, and nothing in it ran.
            assert "<script>window.__pwned = 1</script>" in page.inner_text("body")
            assert page.evaluate("window.__pwned") is None
            assert dialogs == [] and errors == []
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert Image.open(shot).size[0] == 1280
        finally:
            browser.close()


def test_report_show_faces_keeps_the_faces_and_without_the_faces_stage_they_are_found():
    from transforms.report.previews import _Preview
    row = {"id": "h", "kind": "image_text", "risk": 0.5, "reasons": ["exact_duplicate_image"],
           "evidence": [], "image": HOPPER, "caption": "Grace", "source": "s", "location": "l"}

    def preview(**flags):
        fn = _Preview(128, **flags)
        fn.setup()
        (_, found), = fn.process(("h", {"row": [("quarantine", row)], "clusters": []}))
        return base64.b64decode(found["thumbnail"])

    assert scan_faces(preview(show_faces=True, faces_checked=True, pii_checked=True),
                      FaceSettings()).faces
    # No face evidence and no faces stage: the report finds the faces itself.
    assert scan_faces(preview(show_faces=False, faces_checked=False, pii_checked=True),
                      FaceSettings()).faces == []


def test_caption_words_reach_the_report_only_when_no_pii_was_masked_in_them():
    from schemas.records import ClusterMember
    from transforms.report.previews import cluster_details
    detail = {"template_id": "caption-1", "template": "photo by ana silva <*> tee",
              "filler": "blue", "template_records": 12}
    evidence = [("caption-1", ClusterMember(
        record_id="r", destination="cleaned", risk=0.1, reason="caption_template",
        action="flag", evidence=json.dumps(detail), size=12, kept_id=None))]
    shown = cluster_details(evidence, "photo by <PERSON> blue tee")["caption-1"]
    assert shown["filler"] == "blue" and "template" not in shown
    assert shown["template_records"] == 12
    shown = cluster_details(evidence, "Photo by Ana Silva, blue tee")["caption-1"]
    assert shown["template"] == "photo by ana silva <*> tee"
    assert "filler" not in cluster_details(evidence, None)["caption-1"]
