"""CLIP embeddings of images and captions (open_clip), batched, on CPU or GPU, normalized.

The model is a name open_clip knows (``ViT-B-32``) or a path to a model config JSON (its
file name, without .json, becomes the name: tests use a tiny one). Weights come from
``pretrained``: a checkpoint file, or an open_clip tag (``laion2b_s34b_b79k``) that must
already be in the local Hugging Face or open_clip cache. Nothing is downloaded: the hub is
put offline before open_clip is imported, and a tag whose weights are not on disk stops
with an error that says how to provide them. ``pretrained: null`` means random weights,
which is only for tests and speed measurements (embeddings of random weights mean
nothing; no quality claim is made on them); they are drawn from a fixed seed, so every
worker and every run has the same model.

Images are decoded from their bytes at the model's input size (a JPEG in draft mode,
detectors/images.py), transparency over white, resized and centre-cropped on the CPU as
open_clip's own preprocessing does (the same Pillow calls), in ``decode_threads`` threads;
the uint8 batch goes to the device, where it is scaled and normalized: on a GPU the
CPU-side float preprocessing, not the model, would otherwise set the pace (measured by
benchmarks/clip.py). Models whose preprocessing is not "resize the shortest side, crop
the centre" go through open_clip's transform as it is.
"""

import concurrent.futures
import os
import threading
from typing import List, Optional, Sequence

import numpy as np

from PIL import Image

from detectors.images import load_displayed, on_white, open_image
from schemas.settings import ClipSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # before huggingface_hub is first imported

PRECISIONS = ("fp32", "fp16", "bf16")


class ClipWeightsMissing(RuntimeError):
    """The model or its weights cannot be loaded here; the message says what to do."""


def _open_clip():
    from detectors.torch_compat import import_torchvision
    import_torchvision()   # open_clip imports torchvision; on CPU torch it needs mending
    import open_clip
    return open_clip


def resolve_device(device: str) -> str:
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ClipWeightsMissing(f"clip.device {device!r}: no CUDA device here")
    return device


def _model_name(open_clip, model: str) -> str:
    if model.endswith(".json"):
        if not os.path.isfile(model):
            raise ClipWeightsMissing(f"clip.model {model!r}: no such config file")
        open_clip.add_model_config(model)
        return os.path.splitext(os.path.basename(model))[0]
    if model not in open_clip.list_models():
        raise ClipWeightsMissing(f"clip.model {model!r} is not an open_clip model "
                                 "(open_clip.list_models()) nor a config .json path")
    return model


def _check_weights(open_clip, name: str, pretrained: str) -> None:
    """A tag's weights must be on disk already: say so before open_clip tries the network."""
    if os.path.isfile(pretrained):
        return
    cfg = open_clip.get_pretrained_cfg(name, pretrained)
    if not cfg:
        raise ClipWeightsMissing(
            f"clip.pretrained {pretrained!r}: neither a checkpoint file nor a tag of {name} "
            f"(tags: {', '.join(open_clip.list_pretrained_tags_by_model(name)) or 'none'})")
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache
        repo = hub.rstrip("/")
        if any(isinstance(try_to_load_from_cache(repo, f), str)
               for f in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")):
            return
        where = f"the Hugging Face cache ({repo})"
    else:
        url = cfg.get("url", "")
        cached = os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(url))
        if url and os.path.isfile(cached):
            return
        where = f"{cached}"
    raise ClipWeightsMissing(
        f"the weights of {name}/{pretrained} are not in {where}, and nothing is downloaded "
        "at run time: fetch them once where there is network (open_clip.create_model("
        f"{name!r}, pretrained={pretrained!r})) and copy the cache, or set clip.pretrained "
        "to a checkpoint file")


class ClipEncoder:
    """One model per process: load with ``ClipEncoder.shared(settings)``."""

    _shared = {}
    _lock = threading.Lock()

    def __init__(self, settings: ClipSettings):
        import torch
        open_clip = _open_clip()
        self.settings = settings
        self.device = resolve_device(settings.device)
        if settings.precision not in PRECISIONS:
            raise ClipWeightsMissing(f"clip.precision must be one of {', '.join(PRECISIONS)}")
        name = _model_name(open_clip, settings.model)
        if settings.pretrained:
            _check_weights(open_clip, name, settings.pretrained)
        precision = settings.precision if self.device.startswith("cuda") else "fp32"
        try:
            with torch.random.fork_rng(devices=[]):   # the caller's random state untouched
                torch.manual_seed(0)   # random weights: the same on every worker and run
                model, _, preprocess = open_clip.create_model_and_transforms(
                    name, pretrained=settings.pretrained or None, precision=precision,
                    device=self.device)
        except Exception as err:   # a corrupt or mismatched checkpoint
            raise ClipWeightsMissing(f"cannot load {name}/{settings.pretrained}: "
                                     f"{type(err).__name__}: {err}") from None
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(name)
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision,
                                                                          torch.float32)
        size = model.visual.image_size
        self.input_side = max(size) if isinstance(size, (tuple, list)) else int(size)
        cfg = getattr(model.visual, "preprocess_cfg", {})
        self.fast = (cfg.get("resize_mode") == "shortest" and cfg.get("mode", "RGB") == "RGB"
                     and cfg.get("interpolation") in _RESAMPLE
                     and tuple(cfg.get("size", ())) == (self.input_side,) * 2)
        if self.fast:
            self.resample = _RESAMPLE[cfg["interpolation"]]
            shape = (1, 3, 1, 1)
            self.mean = torch.tensor(cfg["mean"], device=self.device).view(shape) * 255
            self.std = torch.tensor(cfg["std"], device=self.device).view(shape) * 255
        self.pool = concurrent.futures.ThreadPoolExecutor(max(1, settings.decode_threads))
        self.dims = int(model.text_projection.shape[1]) if hasattr(
            model, "text_projection") and model.text_projection is not None else None

    @classmethod
    def shared(cls, settings: ClipSettings) -> "ClipEncoder":
        with cls._lock:
            if settings not in cls._shared:
                cls._shared[settings] = cls(settings)
            return cls._shared[settings]

    def decode(self, data: bytes):
        """The image as the model sees it, decoded no larger than needed."""
        return on_white(load_displayed(open_image(data), self.input_side))

    def square(self, data: bytes) -> np.ndarray:
        """The model's input as uint8 (side, side, 3): open_clip's resize and centre crop."""
        picture = self.decode(data)
        side, (w, h) = self.input_side, picture.size
        size = (side, int(side * h / w)) if w <= h else (int(side * w / h), side)
        picture = picture.resize(size, self.resample)
        left, top = int(round((size[0] - side) / 2.0)), int(round((size[1] - side) / 2.0))
        return np.asarray(picture.crop((left, top, left + side, top + side)))

    def pixels(self, images: Sequence[bytes]):
        """The batch tensor on the device, preprocessed as open_clip's transform would."""
        import torch
        if not self.fast:
            pictures = list(self.pool.map(self.decode, images))
            return torch.stack([self.preprocess(p) for p in pictures]).to(self.device,
                                                                         self.dtype)
        batch = np.stack(list(self.pool.map(self.square, images)))
        tensor = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float()
        return ((tensor - self.mean) / self.std).to(self.dtype)

    def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        """(n, dims) float32, unit length, for encoded images."""
        return self._batched(list(images), self._image_batch)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._batched(list(texts), self._text_batch)

    def _batched(self, items: List, embed) -> np.ndarray:
        size = self.settings.batch_size
        parts = [embed(items[i:i + size]) for i in range(0, len(items), size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dims or 0), np.float32)

    def _image_batch(self, images) -> np.ndarray:
        import torch
        with torch.inference_mode():
            return _normalized(self.model.encode_image(self.pixels(images)))

    def _text_batch(self, texts) -> np.ndarray:
        import torch
        tokens = self.tokenizer(texts).to(self.device)
        with torch.inference_mode():
            return _normalized(self.model.encode_text(tokens))


_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def _normalized(features) -> np.ndarray:
    features = features.float()
    features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return features.cpu().numpy().astype(np.float32)


def model_problem(settings: ClipSettings) -> Optional[str]:
    """Why the model cannot be loaded here (None when it can): for the launcher."""
    try:
        ClipEncoder.shared(settings)
    except ClipWeightsMissing as err:
        return str(err)
    return None
