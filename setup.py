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
    "scipy==1.17.1",      # datasketch's banding optimum
]

EXTRAS = {
    "gcp": ["apache-beam[gcp]==2.77.0", "build==1.6.1"],  # build: the sdist Dataflow stages
    "test": ["apache-beam[gcp]==2.77.0", "pytest==9.2.0"],
    "sample": ["scikit-image==0.26.0"],  # scripts/make_sample.py: CC0 photos it ships
}

setuptools.setup(
    name="pre-training-data-hygiene",
    version="0.1.0",
    description="Deduplicate, check and quarantine a training corpus on Apache Beam.",
    python_requires=">=3.10",
    packages=setuptools.find_packages(
        include=["pipeline", "pipeline.*", "transforms", "transforms.*", "detectors",
                 "detectors.*", "schemas", "schemas.*"]),
    py_modules=["beam_runner"],
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["hygiene=pipeline.launch:main"]},
)
