"""The peers the benchmarks run side by side with ours, each in a virtualenv of its own under
.bench/ (ignored by git), never in the project's: datatrove's MinHash dedup and imagededup's
PHash. Their pins are in benchmarks/requirements/<peer>*.txt; a file named *-no-deps.txt is
installed with --no-deps after the others.

    .venv/bin/python -m benchmarks.peers [datatrove imagededup]   # build them now
"""

import hashlib
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
REQUIREMENTS = ROOT / "benchmarks" / "requirements"
PEERS = ("datatrove", "imagededup")


def venv(peer: str) -> pathlib.Path:
    return BENCH / f"{peer}-venv"


def python(peer: str) -> pathlib.Path:
    return venv(peer) / "bin" / "python"


def _requirement_files(peer: str):
    files = list(REQUIREMENTS.glob(f"{peer}.txt")) + list(REQUIREMENTS.glob(f"{peer}-*.txt"))
    return sorted(files, key=lambda path: (path.name.endswith("-no-deps.txt"), path.name))


def ensure(peer: str) -> pathlib.Path:
    """The peer's Python, its virtualenv built (or brought up to date with its requirement
    files) first when needed."""
    files = _requirement_files(peer)
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()
    stamp = venv(peer) / ".installed"
    if python(peer).exists() and stamp.exists() and stamp.read_text() == digest:
        return python(peer)
    print(f"building {venv(peer)} from {', '.join(p.name for p in files)}", file=sys.stderr,
          flush=True)
    if not python(peer).exists():
        subprocess.run(["python3", "-m", "venv", str(venv(peer))], check=True)
    for path in files:
        no_deps = ["--no-deps"] if path.name.endswith("-no-deps.txt") else []
        subprocess.run([str(python(peer)), "-m", "pip", "install", "--quiet", *no_deps,
                        "-r", str(path)], check=True)
    stamp.write_text(digest)
    return python(peer)


if __name__ == "__main__":
    for name in sys.argv[1:] or PEERS:
        print(ensure(name))
