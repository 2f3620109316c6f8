"""datatrove's 4-stage MinHash dedup on one JSONL file, timed per stage.

Run by benchmarks.text_near_dups with the python of datatrove's own virtualenv
(.bench/datatrove-venv), never with the project's: it imports nothing of the project.

    python benchmarks/datatrove_minhash.py CORPUS_DIR WORK_DIR RESULT_JSON [--config JSON]

CORPUS_DIR holds the one corpus.jsonl ({"id", "text"}). Stages 1, 3 and 4 run as one task
(tasks=1, workers=1); stage 2 must run one task per bucket (datatrove asserts
tasks % num_buckets == 0), so it runs num_buckets tasks one after the other (workers=1).
The filter stage writes the kept documents and, through an exclusion writer, the removed
ones; RESULT_JSON gets the stage times, the config and the removed ids.
"""

import argparse
import dataclasses
import glob
import gzip
import importlib.metadata
import json
import os
import shutil
import sys
import time

# Nothing may be downloaded: the English word tokenizer is spacy.blank("en") (no model).
for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")

from datatrove.executor.local import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.dedup import MinhashDedupSignature  # noqa: E402
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,  # noqa: E402
                                              MinhashDedupCluster, MinhashDedupFilter)
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers.jsonl import JsonlWriter  # noqa: E402
from datatrove.utils.hashing import HashConfig  # noqa: E402
from datatrove.utils.typeshelper import Languages  # noqa: E402


def make_config(overrides: dict) -> MinhashConfig:
    overrides = dict(overrides)
    if "hash_config" in overrides:
        overrides["hash_config"] = HashConfig(**overrides["hash_config"])
    return MinhashConfig(**overrides)


def read_ids(folder: str) -> list:
    ids = []
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl*"))):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            ids += [json.loads(line)["id"] for line in f if line.strip()]
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus_dir")
    parser.add_argument("work_dir")
    parser.add_argument("result")
    parser.add_argument("--config", default="{}", help="MinhashConfig overrides as JSON")
    args = parser.parse_args()

    config = make_config(json.loads(args.config))
    work = args.work_dir
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    def reader():
        return JsonlReader(args.corpus_dir, glob_pattern="corpus.jsonl", text_key="text",
                           id_key="id")

    stages = {
        "1 signatures": LocalPipelineExecutor(
            pipeline=[reader(), MinhashDedupSignature(output_folder=f"{work}/signatures",
                                                      config=config, language=Languages.english)],
            tasks=1, workers=1, logging_dir=f"{work}/logs/signatures"),
        "2 buckets": LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(input_folder=f"{work}/signatures",
                                          output_folder=f"{work}/buckets", config=config)],
            tasks=config.num_buckets, workers=1, logging_dir=f"{work}/logs/buckets"),
        "3 cluster": LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(input_folder=f"{work}/buckets",
                                          output_folder=f"{work}/remove_ids", config=config)],
            tasks=1, workers=1, logging_dir=f"{work}/logs/clusters"),
        "4 filter": LocalPipelineExecutor(
            pipeline=[reader(),
                      MinhashDedupFilter(input_folder=f"{work}/remove_ids",
                                         exclusion_writer=JsonlWriter(f"{work}/removed")),
                      JsonlWriter(output_folder=f"{work}/deduplicated_output")],
            tasks=1, workers=1, logging_dir=f"{work}/logs/filter"),
    }
    seconds = {}
    started = time.perf_counter()
    for name, executor in stages.items():
        t0 = time.perf_counter()
        executor.run()
        seconds[name] = time.perf_counter() - t0
    total = time.perf_counter() - started

    removed = read_ids(f"{work}/removed")
    kept = read_ids(f"{work}/deduplicated_output")
    result = {
        "version": importlib.metadata.version("datatrove"),
        "python": sys.version.split()[0],
        "config": dataclasses.asdict(config),
        "config_repr": str(config),
        "stage_seconds": seconds,
        "seconds": total,
        "removed": removed,
        "kept": len(kept),
    }
    with open(args.result, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
