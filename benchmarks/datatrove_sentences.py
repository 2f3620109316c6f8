"""datatrove's SentenceDedup (signature, find duplicates, filter) on one JSONL file, timed per
step.

Run by benchmarks.spans with the python of datatrove's own virtualenv (.bench/datatrove-venv),
never with the project's: it imports nothing of the project.

    python benchmarks/datatrove_sentences.py CORPUS_DIR WORK_DIR RESULT_JSON

CORPUS_DIR holds corpus.jsonl ({"id", "text"}). Each step runs as one task (tasks=1,
workers=1; finder_workers=1), with SentDedupConfig() (3 sentences, min_doc_words 50,
min_num_sentences 3) and the English word tokenizer (spacy.blank("en") with its sentencizer:
nothing downloaded). The filter writes the kept documents, as cut, to WORK_DIR/output and
the documents it drops to WORK_DIR/removed (an exclusion writer; it also gets the cut
documents marked up, which are told apart by id below).
"""

import gzip
import importlib.metadata
import json
import os
import shutil
import sys
import time

for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")

from datatrove.executor.local import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.dedup.sentence_dedup import (SentDedupConfig,  # noqa: E402
                                                     SentenceDedupFilter,
                                                     SentenceDedupSignature,
                                                     SentenceFindDedups)
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers.jsonl import JsonlWriter  # noqa: E402
from datatrove.utils.typeshelper import Languages  # noqa: E402


def read_rows(folder: str) -> dict:
    rows = {}
    if not os.path.isdir(folder):
        return rows
    for name in sorted(os.listdir(folder)):
        if ".jsonl" not in name:
            continue
        opener = gzip.open if name.endswith(".gz") else open
        with opener(os.path.join(folder, name), "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    rows[row["id"]] = row["text"]
    return rows


def main() -> None:
    corpus_dir, work, result_path = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    config = SentDedupConfig()

    def reader():
        return JsonlReader(corpus_dir, glob_pattern="corpus.jsonl", text_key="text",
                           id_key="id")

    steps = {
        "signature": LocalPipelineExecutor(
            pipeline=[reader(), SentenceDedupSignature(output_folder=f"{work}/sigs",
                                                       config=config,
                                                       language=Languages.english)],
            tasks=1, workers=1, logging_dir=f"{work}/logs/sigs"),
        "find dups": LocalPipelineExecutor(
            pipeline=[SentenceFindDedups(data_folder=f"{work}/sigs",
                                         output_folder=f"{work}/dups", config=config)],
            tasks=1, workers=1, logging_dir=f"{work}/logs/dups"),
        "filter": LocalPipelineExecutor(
            pipeline=[reader(),
                      SentenceDedupFilter(data_folder=f"{work}/dups", config=config,
                                          exclusion_writer=JsonlWriter(f"{work}/excluded"),
                                          language=Languages.english),
                      JsonlWriter(output_folder=f"{work}/output")],
            tasks=1, workers=1, logging_dir=f"{work}/logs/filter"),
    }
    seconds = {}
    started = time.perf_counter()
    for name, executor in steps.items():
        t0 = time.perf_counter()
        executor.run()
        seconds[name] = time.perf_counter() - t0
    total = time.perf_counter() - started

    # The exclusion writer gets the dropped documents and the cut ones (marked up); a
    # dropped one is one not in the output.
    kept = read_rows(f"{work}/output")
    excluded = read_rows(f"{work}/excluded")
    os.makedirs(f"{work}/removed")
    with open(f"{work}/removed/removed.jsonl", "w", encoding="utf-8") as f:
        for doc_id, text in excluded.items():
            if doc_id not in kept:
                f.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    with open(result_path, "w") as f:
        json.dump({"version": importlib.metadata.version("datatrove"),
                   "python": sys.version.split()[0], "config": repr(config),
                   "stage_seconds": seconds, "seconds": total, "kept": len(kept),
                   "dropped": len(excluded) - sum(1 for i in excluded if i in kept)}, f)


if __name__ == "__main__":
    main()
