"""CLIP embeddings (detectors/clip.py) with random weights and a tiny config: shapes, unit
length, batching, preprocessing identical to open_clip's, and offline errors. No claim
about what the embeddings mean: the weights are random."""

import os

import numpy as np
import pytest

from detectors.clip import ClipEncoder, model_problem
from schemas.settings import ClipSettings
from tests.builders import TINY_CLIP, jpeg, sample

SETTINGS = ClipSettings(model=TINY_CLIP, pretrained=None, device="cpu", batch_size=3,
                        decode_threads=2)


@pytest.fixture(scope="module")
def encoder():
    return ClipEncoder.shared(SETTINGS)


def test_embeddings_are_unit_length_and_do_not_depend_on_the_batch(encoder):
    images = [jpeg(sample(n)) for n in ("astronaut", "coffee", "chelsea", "rocket", "camera")]
    together = encoder.embed_images(images)
    assert together.shape == (5, 32) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.concatenate([encoder.embed_images([image]) for image in images])
    assert np.allclose(together, alone, atol=1e-5)
    assert encoder.embed_images([]).shape == (0, 32)
    texts = encoder.embed_texts(["blue Unisex T-Shirt", "Floral Throw Pillow"])
    assert texts.shape == (2, 32) and np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


def test_random_weights_are_the_same_in_every_worker_and_run(encoder):
    """Random weights (tests, speed) come from a fixed seed: two encoders, as two workers or
    two nights build them, embed alike, and the caller's random state is left as it was."""
    import torch
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    other = ClipEncoder(SETTINGS)
    assert torch.equal(torch.rand(1), before)
    image = [jpeg(sample("coffee"))]
    assert np.array_equal(other.embed_images(image), encoder.embed_images(image))


def test_preprocessing_is_open_clips_own(encoder):
    assert encoder.fast
    for name in ("astronaut", "coffee", "camera"):   # square, wide, grey
        image = jpeg(sample(name))
        expected = encoder.preprocess(encoder.decode(image)).unsqueeze(0)
        assert float((encoder.pixels([image]) - expected).abs().max()) < 1e-5


def test_images_are_decoded_only_as_large_as_the_model_needs(encoder):
    picture = encoder.decode(jpeg(sample("astronaut"), quality=90))
    assert picture.mode == "RGB" and min(picture.size) >= 32 and max(picture.size) == 64


def test_nothing_is_downloaded_and_missing_weights_say_what_to_do():
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    problem = model_problem(ClipSettings(model="ViT-B-32", pretrained="laion2b_s34b_b79k",
                                         device="cpu"))
    assert "not in the Hugging Face cache" in problem and "checkpoint file" in problem
    assert "neither a checkpoint file nor a tag" in model_problem(
        ClipSettings(model="ViT-B-32", pretrained="no-such-tag", device="cpu"))
    assert "not an open_clip model" in model_problem(ClipSettings(model="ViT-Nope"))
    assert "no such config file" in model_problem(ClipSettings(model="missing.json"))


def test_a_checkpoint_file_is_loaded(tmp_path, encoder):
    import torch
    path = tmp_path / "tiny.pt"
    torch.save(encoder.model.state_dict(), path)
    loaded = ClipEncoder(ClipSettings(model=TINY_CLIP, pretrained=str(path), device="cpu"))
    image = [jpeg(sample("coffee"))]
    assert np.allclose(loaded.embed_images(image), encoder.embed_images(image), atol=1e-5)
    path.write_bytes(b"not a checkpoint")
    assert "cannot load" in model_problem(ClipSettings(model=TINY_CLIP, pretrained=str(path),
                                                       device="cpu"))


def test_cuda_loads_on_a_gpu_and_is_an_error_without_one():
    import torch
    problem = model_problem(ClipSettings(model=TINY_CLIP, pretrained=None, device="cuda"))
    if torch.cuda.is_available():
        assert problem is None
    else:
        assert "no CUDA device" in problem
