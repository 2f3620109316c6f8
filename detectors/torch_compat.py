"""torchvision on the CPU build of torch: the one place its import is mended.

The only torchvision 0.28 wheel is a CUDA build whose C ops do not load on CPU torch, and
its Python code registers kernels for two of them at import ("operator torchvision::nms
does not exist"). When, and only when, that happens, the two schemas are declared and the
import is tried again (DESIGN.md). Nothing here runs when the ops load (a CUDA machine).
"""

import importlib
import sys

_DECLARED = None   # the torch.library.Library holding the schemas must stay alive


def import_torchvision():
    global _DECLARED
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    import torch
    _DECLARED = torch.library.Library("torchvision", "DEF")
    _DECLARED.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _DECLARED.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return importlib.import_module("torchvision")


def import_onnx2torch():
    """onnx2torch, whose converters import torchvision at import time for two ONNX ops
    (NonMaxSuppression, RoiAlign) that CenterFace does not use. Where torchvision is not
    installed (a GPU machine with torch alone), a stand-in whose two functions refuse takes
    its place; where it is, it is imported as above."""
    try:
        import_torchvision()
    except ModuleNotFoundError:
        import types

        def absent(*_, **__):
            raise NotImplementedError("torchvision is not installed: this ONNX op needs it")
        vision, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        ops.nms = ops.box_convert = ops.roi_align = absent
        vision.ops = ops
        sys.modules.setdefault("torchvision", vision)
        sys.modules.setdefault("torchvision.ops", ops)
    return importlib.import_module("onnx2torch")
