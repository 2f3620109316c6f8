"""Per-record faults: every detector that raises on one record quarantines that record as
detector_error (naming the detector and the exception type), and the rest of its batch and
bundle goes on. The detectors are the real ones; each is made to raise on one chosen record
(a fault injected where the real input that crashes it cannot be shipped)."""

import json

import pytest

import detectors.validate
import transforms.templates.captions
import transforms.people.faces
import transforms.templates.layouts
import transforms.io.validate
from detectors.clip import ClipEncoder
from detectors.pii.scanner import PiiScanner
from tests.jobs import run_job
from tests.builders import TINY_CLIP, jpeg, sample, write_jsonl, write_tar


class Injected(RuntimeError):
    pass


IMAGES = {name: jpeg(sample(picture)) for name, picture in [
    ("plain", "coffee"), ("validate", "rocket"), ("faces", "chelsea"), ("layouts", "astronaut"),
    ("clip", "hubble_deep_field")]}


def _raising(real, when):
    def patched(*args, **kwargs):
        if when(*args, **kwargs):
            raise Injected("injected fault")
        return real(*args, **kwargs)
    return patched


@pytest.fixture
def faulty(monkeypatch):
    image = lambda name: lambda data, *a, **k: data == IMAGES[name]   # noqa: E731
    texts = lambda word: lambda self, texts, *a, **k: any(word in t for t in texts)  # noqa: E731
    monkeypatch.setattr(detectors.validate, "inspect_image", _raising(
        detectors.validate.inspect_image, image("validate")))
    monkeypatch.setattr(transforms.people.faces, "scan_faces", _raising(
        transforms.people.faces.scan_faces, image("faces")))
    monkeypatch.setattr(transforms.templates.layouts, "thumbnail", _raising(
        transforms.templates.layouts.thumbnail, image("layouts")))
    monkeypatch.setattr(ClipEncoder, "embed_images", _raising(
        ClipEncoder.embed_images, lambda self, images: IMAGES["clip"] in images))
    monkeypatch.setattr(PiiScanner, "scan", _raising(PiiScanner.scan, texts("BOOM-PII")))
    monkeypatch.setattr(transforms.io.validate, "sketches", _raising(
        transforms.io.validate.sketches, lambda texts, *a: any("BOOM-MINHASH" in t for t in texts)))
    monkeypatch.setattr(transforms.templates.captions, "candidates", _raising(
        transforms.templates.captions.candidates, lambda caption, *a: "BOOM" in caption))


def test_a_detector_that_raises_holds_back_that_record_only(faulty, tmp_path):
    members = []
    for name, data in IMAGES.items():
        members += [(f"{name}.jpg", data), (f"{name}.txt", f"a photo: {name}".encode())]
    members += [("captions.jpg", jpeg(sample("camera"))), ("captions.txt", b"BOOM caption")]
    write_tar(tmp_path / "pairs.tar", members)
    docs = [(f"doc-{i}", f"An ordinary note number {i} about the weather and the trains.")
            for i in range(6)]
    docs += [("pii", "Write to me BOOM-PII at the office."),
             ("minhash", "A note that BOOM-MINHASH breaks the signature.")]
    write_jsonl(tmp_path / "docs.jsonl", docs)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"clip:\n  enabled: true\n  model: {TINY_CLIP}\n  pretrained: null\n"
                      "  device: cpu\n")
    out = run_job(tmp_path / "out", [tmp_path / "pairs.tar", tmp_path / "docs.jsonl"],
                  "--config", str(policy))

    held = {r["id"]: r for r in out.quarantine}
    detectors_of = {}
    for record_id, row in held.items():
        assert row["primary_reason"] == "detector_error", (record_id, row["reasons"])
        detail = json.loads(row["evidence"][0]["detail"])
        text = detail.get("detail") or f"{detail['detector']}: {detail['error']}"
        assert "Injected" in text, text
        detectors_of[record_id] = text.split(":")[0]
    assert detectors_of == {"validate": "validate", "faces": "faces", "layouts": "layouts",
                            "clip": "clip", "captions": "caption_templates", "pii": "pii",
                            "minhash": "minhash"}
    kept = {r["id"] for r in out.cleaned_text} | {r["id"] for r in out.cleaned_image_text}
    assert kept == {"plain"} | {f"doc-{i}" for i in range(6)}
    assert out.summary["conservation"]["ok"] and out.summary["records_in"] == 14
