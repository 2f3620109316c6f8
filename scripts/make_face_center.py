"""Write detectors/face_center.py: the mean face encoding the identity LSH centres on.

    .venv/bin/python scripts/make_face_center.py [../shared/eval-data/faces]

face_recognition's encodings sit far from the origin (the mean of a set has ~90% of a
single encoding's norm), so hyperplanes through the origin would split almost no pair.
The LSH cuts through this point instead. Any set of real faces gives nearly the same
point; this one is the public dlib example photos (faces of 80 px and more). It only
shapes which pairs are compared: every pair is verified by its true distance.
"""

import glob
import os
import sys

import numpy as np

from detectors.faces import encoding_array, scan_faces
from schemas.settings import FaceSettings

OUT = os.path.join(os.path.dirname(__file__), "..", "detectors", "face_center.py")


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/eval-data/faces"
    settings = FaceSettings(encode_min_face=80)
    encodings = [encoding_array(face.encoding)
                 for path in sorted(glob.glob(os.path.join(folder, "*.jpg")))
                 for face in scan_faces(open(path, "rb").read(), settings).faces
                 if face.encoding is not None]
    if not encodings:
        print(f"no faces of 80 px or more under {folder}")
        return 1
    center = np.mean(encodings, axis=0)
    values = ",\n    ".join(", ".join(f"{v:+.4f}" for v in center[i:i + 8])
                            for i in range(0, len(center), 8))
    with open(OUT, "w") as f:
        f.write(f'"""Mean of {len(encodings)} face encodings (scripts/make_face_center.py)."""\n\n'
                f"FACE_CENTER = (\n    {values},\n)\n")
    print(f"{len(encodings)} faces -> {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
