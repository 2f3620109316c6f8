"""Parquet outputs, and the run's summary.json and manifest.json.

Counts come from combiners over the decided records (no gather of data), and
the report is written after every Parquet file is final (it takes their names
as a side input), so a summary never describes outputs that are not there.
"""

import datetime
import json
import logging

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics


LOG = logging.getLogger("hygiene")


def join_path(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)


class WriteParquet(beam.PTransform):
    def __init__(self, prefix: str, schema):
        super().__init__()
        self.prefix = prefix
        self.schema = schema

    def expand(self, rows):
        return rows | beam.io.WriteToParquet(
            file_path_prefix=self.prefix, schema=self.schema, file_name_suffix=".parquet",
            codec="zstd", record_batch_size=256, row_group_buffer_size=32 * 1024 * 1024)


TOP_CLUSTERS = 50      # clusters ranked in summary.json
CLUSTER_EXAMPLES = 5   # record ids named per cluster


class ClusterSummary(beam.CombineFn):
    """One cluster from its records: reason, size, highest risk, records seen here, held
    back, and the first few ids. Bounded state, whatever the cluster's size."""

    def create_accumulator(self):
        return {"reason": None, "size": 0, "risk": 0.0, "records": 0, "quarantined": 0,
                "examples": []}

    def add_input(self, acc, entry):
        reason, size, risk, record_id, destination = entry
        return self.merge_accumulators([acc, {
            "reason": reason, "size": size, "risk": risk, "records": 1,
            "quarantined": int(destination == "quarantine"), "examples": [record_id]}])

    def merge_accumulators(self, accs):
        accs = list(accs)
        return {
            "reason": min((a["reason"] for a in accs if a["reason"]), default=None),
            "size": max(a["size"] for a in accs),
            "risk": max(a["risk"] for a in accs),
            "records": sum(a["records"] for a in accs),
            "quarantined": sum(a["quarantined"] for a in accs),
            "examples": sorted({i for a in accs for i in a["examples"]})[:CLUSTER_EXAMPLES],
        }

    def extract_output(self, acc):
        return acc


def top_clusters(clusters):
    """The TOP_CLUSTERS riskiest clusters, by combiners (nothing but them is gathered)."""
    return (clusters
            | "PerCluster" >> beam.CombinePerKey(ClusterSummary())
            | "Rank" >> beam.combiners.Top.Of(
                TOP_CLUSTERS, key=lambda kv: (kv[1]["risk"], kv[1]["records"], kv[0]))
            | "Rows" >> beam.Map(lambda top: [
                {"cluster_id": cluster, **summary, "risk": round(summary["risk"], 4)}
                for cluster, summary in top]))


def summarize(records_in: int, tallies, started_at: str, outputs: dict,
              clusters=()) -> dict:
    """The summary from (kind of count, name) -> count pairs."""
    counts = {}
    for (group, name), count in tallies:
        counts.setdefault(group, {})[name] = count
    cleaned = counts.get("cleaned", {})
    quarantined = counts.get("quarantined", {})
    n_cleaned, n_quarantined = sum(cleaned.values()), sum(quarantined.values())
    return {
        "records_in": records_in,
        "cleaned": {"total": n_cleaned, **dict(sorted(cleaned.items()))},
        "quarantined": {"total": n_quarantined, **dict(sorted(quarantined.items()))},
        "quarantine_rate": round(n_quarantined / records_in, 6) if records_in else 0.0,
        "reasons": dict(sorted(counts.get("reason", {}).items())),
        "primary_reasons": dict(sorted(counts.get("primary_reason", {}).items())),
        # Cleaned records a stage flagged, per reason (kept faces, templates under a cap, ...).
        "flagged": dict(sorted(counts.get("flag", {}).items())),
        "pii": {"entities_found": dict(sorted(counts.get("pii_entity", {}).items())),
                "cleaned_records_redacted": dict(sorted(counts.get("redacted", {}).items()))},
        # Records (cleaned or not) with a face verdict, faces in them, kept images blurred;
        # records and distinct people under repeated_identity.
        "faces": {"records_with_faces": counts.get("faces", {}).get("records", 0),
                  "faces_found": counts.get("faces", {}).get("faces", 0),
                  "cleaned_images_blurred": counts.get("faces", {}).get("blurred", 0),
                  "repeated_identity_records": counts.get("identities", {}).get("records", 0),
                  "repeated_identities": counts.get("identities", {}).get("people", 0)},
        "conservation": {
            "ok": records_in == n_cleaned + n_quarantined,
            "rule": "records_in == cleaned + quarantined",
            "records_in": records_in, "records_out": n_cleaned + n_quarantined,
        },
        # The riskiest duplicate groups, templates and repeated people (detectors/risk.py).
        "top_clusters": list(clusters),
        "started_at": started_at,
        "outputs": outputs,
    }


def _sum_pairs(pairs):
    files = size = 0
    for f, s in pairs:
        files, size = files + f, size + s
    return files, size


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: str, payload: dict) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(json.dumps(payload, indent=2, sort_keys=False).encode("utf-8"))


class _WriteReport(beam.DoFn):
    def __init__(self, output: str, manifest: dict, outputs: dict):
        self.output = output
        self.manifest = manifest
        self.outputs = outputs

    def process(self, records_in, tallies, files, written, clusters):
        summary = summarize(records_in, tallies, self.manifest["started_at"], self.outputs,
                            clusters)
        if not summary["conservation"]["ok"]:
            Metrics.counter("hygiene", "conservation_violations").inc()
            LOG.error("conservation violated: %s", summary["conservation"])
        manifest = dict(self.manifest)
        manifest.update(
            finished_at=_now(),
            inputs=dict(manifest["inputs"], files=files[0], bytes=files[1]),
            counts={k: summary[k] for k in ("records_in", "cleaned", "quarantined",
                                            "reasons", "conservation")},
            files=sorted(written))
        _write_json(join_path(self.output, "summary.json"), summary)
        _write_json(join_path(self.output, "manifest.json"), manifest)
        yield summary


class WriteRunReport(beam.PTransform):
    """summary.json and manifest.json from the record counts and the written files."""

    def __init__(self, output: str, manifest: dict, outputs: dict):
        super().__init__()
        self.output = output
        self.manifest = manifest
        self.outputs = outputs

    def expand(self, inputs):
        records_in, tallies, matched_files, written, clusters = inputs
        counted = tallies | "Count" >> beam.combiners.Count.PerElement()
        file_stats = (matched_files
                      | "FileSize" >> beam.Map(lambda m: (1, m.size_in_bytes))
                      | "FileTotals" >> beam.CombineGlobally(_sum_pairs))
        return (records_in
                | "Report" >> beam.ParDo(
                    _WriteReport(self.output, self.manifest, self.outputs),
                    tallies=beam.pvalue.AsList(counted),
                    files=beam.pvalue.AsSingleton(file_stats),
                    written=beam.pvalue.AsList(written),
                    clusters=beam.pvalue.AsSingleton(top_clusters(clusters),
                                                     default_value=[])))
