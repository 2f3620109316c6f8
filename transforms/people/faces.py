"""Faces in the images of image-text records: verdicts by policy, and encodings for identities.

One face verdict per image with faces: its action is the policy's (blur: Decide writes
the image back with the boxes blurred; quarantine; keep: a flag on the cleaned row).
Evidence: the boxes (displayed pixels of the original), each face's size, the count and
the largest face's share of the image; the boxes also travel typed (Verdict.faces), for
Decide's blur and the layout stage. Faces large enough to identify also leave as
(uid, (face number, encoding)) on the 'encodings' output, for transforms.people.identities.

Counters (namespace faces): images_scanned, images_with_faces, faces_found,
faces_encoded, scan_errors.
"""

import json
import threading

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.faces import scan_faces
from schemas.reasons import Reason
from schemas.records import BLUR, FLAG, QUARANTINE, FaceBox, Verdict, valid_image
from schemas.settings import FaceSettings
from transforms.common.faults import error_verdict

NAMESPACE = "faces"
ENCODINGS = "encodings"
ACTIONS = {"blur": BLUR, "quarantine": QUARANTINE, "keep": FLAG}


def face_verdict(uid: str, scan, settings: FaceSettings) -> Verdict:
    evidence = {
        "count": len(scan.faces),
        "faces": [{"box": face.box(), "size": face.size, "score": face.score,
                   "encoded": face.encoding is not None} for face in scan.faces],
        "largest_area_fraction": round(scan.largest_area_fraction(), 4),
        "model": settings.model, "detector_scale": round(scan.scale, 4),
    }
    return Verdict(uid=uid, reason=Reason.FACE.value, action=ACTIONS[settings.action],
                   evidence=json.dumps(evidence, sort_keys=True), representative_id=None,
                   group_size=None,
                   faces=[FaceBox(f.top, f.left, f.bottom, f.right) for f in scan.faces])


_LOCK = threading.Lock()   # dlib's detectors are not documented as thread-safe (nor our
#                            one-thread ONNX session shared by the process)


class _ScanFaces(beam.DoFn):
    def __init__(self, settings: FaceSettings, encodings: bool):
        self.settings = settings
        self.encodings = encodings

    def setup(self):
        from detectors.faces import face_api
        face_api()   # load the models once per worker, before the first element
        if self.settings.model == "centerface":
            from detectors.centerface import runner
            runner(self.settings.device)   # the ONNX session (or CUDA module), once a process
        self.scanned = Metrics.counter(NAMESPACE, "images_scanned")
        self.with_faces = Metrics.counter(NAMESPACE, "images_with_faces")
        self.found = Metrics.counter(NAMESPACE, "faces_found")
        self.encoded = Metrics.counter(NAMESPACE, "faces_encoded")
        self.errors = Metrics.counter(NAMESPACE, "scan_errors")

    def process(self, record):
        self.scanned.inc()
        try:
            with _LOCK:
                scan = scan_faces(record.image, self.settings)
        except Exception as err:   # one bad image must not fail the bundle
            self.errors.inc()
            yield error_verdict(record.uid, "faces", err)
            return
        if not scan.faces:
            return
        self.with_faces.inc()
        self.found.inc(len(scan.faces))
        yield face_verdict(record.uid, scan, self.settings)
        if not self.encodings:
            return
        for number, face in enumerate(scan.faces):
            if face.encoding is not None:
                self.encoded.inc()
                yield beam.pvalue.TaggedOutput(ENCODINGS, (record.uid, (number, face.encoding)))


class DetectFaces(beam.PTransform):
    """Records in; face verdicts out (main), and (uid, (face number, encoding)) on
    'encodings'."""

    def __init__(self, settings: FaceSettings, encodings: bool = True):
        super().__init__()
        self.settings = settings
        self.encodings = encodings

    def expand(self, records):
        return (records
                | "Images" >> beam.Filter(valid_image)
                | "Scan" >> beam.ParDo(_ScanFaces(self.settings, self.encodings)).with_outputs(
                    ENCODINGS, main="verdicts"))
