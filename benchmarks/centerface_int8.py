"""Would int8 CenterFace be cheaper on this CPU? Times onnxruntime sessions of one thread.

    .venv/bin/python -m benchmarks.centerface_int8 [--images ../shared/eval-data/image-dups]

Static int8 quantization (onnxruntime.quantization, calibrated with MinMax on the photos
of --images at the default side, no people: the calibration only sets activation ranges)
of the model as the stage runs it (detectors/centerface.py dynamic_model: weights as
constants), converted to opset 13 for per-channel scales: QDQ per channel, QOperator per
channel and QDQ per tensor, against float32; median ms per run on one pinned core, over
the calibration photos' inputs, interleaved in 3 rounds. Nothing is written outside a
temporary folder; the stage does not use int8 (on a CPU without VNNI, AVX2 only, it was
not faster: docs/BENCHMARKS.md "Faces").
"""

import argparse
import glob
import os
import statistics
import tempfile
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", default=os.path.join("..", "shared", "eval-data",
                                                         "image-dups"))
    parser.add_argument("--calibration", type=int, default=40)
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(os.path.join(args.images, "**", "*.jp*g"),
                             recursive=True))[:args.calibration]
    if not paths:
        print(f"{args.images}: no photos; nothing to measure")
        return 0
    import onnx
    import onnxruntime as ort
    from onnx import version_converter
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from detectors import centerface
    from detectors.faces import detector_copy
    from schemas.settings import FaceSettings
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    settings = FaceSettings()
    blobs = [centerface.pad_to_32(detector_copy(open(p, "rb").read(), settings)[0])
             for p in paths]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.blobs = iter(blobs)

        def get_next(self):
            blob = next(self.blobs, None)
            return None if blob is None else {centerface.INPUT: blob}

    folder = tempfile.mkdtemp()
    fp32 = os.path.join(folder, "fp32.onnx")
    onnx.save(version_converter.convert_version(
        centerface.dynamic_model(centerface.model_path()), 13), fp32)
    models = {"float32": fp32}
    for name, fmt, per_channel in (("int8 QDQ, per channel", QuantFormat.QDQ, True),
                                   ("int8 QOperator, per channel", QuantFormat.QOperator, True),
                                   ("int8 QDQ, per tensor", QuantFormat.QDQ, False)):
        models[name] = os.path.join(folder, f"{len(models)}.onnx")
        quantize_static(fp32, models[name], Reader(), quant_format=fmt, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    sessions = {}
    for name, path in models.items():
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    times = {name: [] for name in sessions}
    for _ in range(3):
        for name, session in sessions.items():
            for blob in blobs:
                started = time.process_time()
                session.run(None, {centerface.INPUT: blob})
                times[name].append(time.process_time() - started)
    reference = [sessions["float32"].run(None, {centerface.INPUT: b})[0] for b in blobs]
    print(f"CenterFace at side {settings.centerface_side}, {len(blobs)} inputs, one core "
          f"(onnxruntime {ort.__version__})\n")
    print("| model | ms per run (median) | largest heatmap difference from float32 |")
    print("|---|---:|---:|")
    for name, session in sessions.items():
        diff = max(float(np.abs(session.run(None, {centerface.INPUT: b})[0] - r).max())
                   for b, r in zip(blobs, reference))
        print(f"| {name} | {1000 * statistics.median(times[name]):.2f} | {diff:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
