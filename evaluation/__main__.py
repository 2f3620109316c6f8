"""make eval: every evaluation script in turn (their detailed tables as they go), then one
table of precision, recall and F1 per detector and dataset.

    python -m evaluation [--quick]      # --quick: fewer Faker documents, no CNN face rows
"""

import argparse
import contextlib
import io
import platform
import sys
import time
import traceback

from evaluation import (addresses, document_near_dups, faces, image_near_dups, ocr,
                        ocr_redaction, phones, pii, spans, templates, text_near_dups)
from evaluation.scores import SCORES, table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="only the summary table")
    args = parser.parse_args(argv)
    runs = [
        ("near-duplicate text", text_near_dups.main, []),
        ("repeated spans", spans.main, ["--hosts", "1000"] if args.quick else []),
        ("near-duplicate images", image_near_dups.main, []),
        ("near-duplicate images: documents", document_near_dups.main,
         ["--per-kind", "20" if args.quick else "40"]),
        ("personal data", pii.main, ["--faker-docs", "300" if args.quick else "1000"]),
        ("phone numbers", phones.main, ["--n", "400" if args.quick else "1200", "--misses", "0"]),
        ("postal addresses", addresses.main, ["--n", "300" if args.quick else "800", "--misses", "0"]),
        ("faces", faces.main, ["--no-cnn"] if args.quick else []),
        ("templates", templates.main, []),
        # the chosen engine only (docs/BENCHMARKS.md: the comparison: --engines all four)
        ("text in images (OCR)", ocr.main, ["--n", "3" if args.quick else "9",
                                            "--engines", "tesseract-psm3-x2"]),
        ("personal data in images (the OCR stage)", ocr_redaction.main,
         ["--n", "2" if args.quick else "6"]),
    ]
    failed = []
    for name, run, run_args in runs:
        print(f"\n# {name}\n", flush=True)
        started = time.perf_counter()
        out = io.StringIO() if args.quiet else sys.stdout
        try:
            with contextlib.redirect_stdout(out):
                run(run_args)
        except SystemExit:
            pass   # a script's own exit status (a missed target) is in its table
        except Exception:
            failed.append(name)
            traceback.print_exc()
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n# Summary ({platform.processor() or platform.machine()}, "
          f"python -m evaluation{' --quick' if args.quick else ''})\n")
    print(table(SCORES))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
