"""The run's summary.json, report/index.html and manifest.json, written after every
Parquet file is final (the report takes their names as a side input), so a summary never
describes outputs that are not there.
"""

import datetime
import json
import logging

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.io.outputs import join_path
from transforms.report.page import render_report
from transforms.report.previews import Previews, cluster_sizes, riskiest
from transforms.report.summary import ClusterSummary, for_people, summarize, top_clusters

LOG = logging.getLogger("hygiene")


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
    def __init__(self, output: str, manifest: dict, outputs: dict, report, decisions):
        self.output = output
        self.manifest = manifest
        self.outputs = outputs
        self.report = report
        self.decisions = decisions

    def process(self, records_in, counted, files, written, clusters, sizes, riskiest,
                previews, spans=None):
        summary = summarize(records_in, counted, self.manifest["started_at"], self.outputs,
                            clusters, sizes, self.decisions, spans)
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
        shown = for_people(summary)
        _write_json(join_path(self.output, "summary.json"), shown)
        if self.report.enabled:   # the page looks previews up by true id, shows them masked
            page = render_report(summary, manifest, dict(previews), riskiest, self.report,
                                 self.output)
            with FileSystems.create(self.outputs["report"], mime_type="text/html") as f:
                f.write(page.encode("utf-8"))
        _write_json(join_path(self.output, "manifest.json"), manifest)
        yield shown


class WriteRunReport(beam.PTransform):
    """summary.json, report/index.html and manifest.json from the record counts, the
    clusters, the decided rows (for the few previews the report shows) and the written
    files."""

    def __init__(self, output: str, manifest: dict, outputs: dict, report, checked: dict,
                 decisions=()):
        super().__init__()
        self.decisions = sorted(decisions)   # schemas.review.key of every decision read
        self.output = output
        self.manifest = manifest
        self.outputs = outputs
        self.report = report      # ReportSettings
        self.checked = checked    # stage -> whether it ran ({"faces": ..., "pii": ...})

    def expand(self, inputs):
        records_in, tallies, matched_files, written, clusters, rows, *rest = inputs
        spans = rest[0] if rest else None   # the repeated-spans stage's summary, when it ran
        counted = tallies | "Count" >> beam.combiners.Count.PerElement()
        file_stats = (matched_files
                      | "FileSize" >> beam.Map(lambda m: (1, m.size_in_bytes))
                      | "FileTotals" >> beam.CombineGlobally(_sum_pairs))
        per_cluster = clusters | "PerCluster" >> beam.CombinePerKey(ClusterSummary())
        top = top_clusters(per_cluster)
        text, image_text, quarantined = rows
        risky = riskiest(quarantined, self.report.records)
        if self.report.enabled:
            previews = ((text, image_text, quarantined, clusters, top, risky)
                        | "Previews" >> Previews(self.report.thumbnail_side,
                                                 self.report.show_faces,
                                                 self.checked["faces"], self.checked["pii"]))
        else:
            previews = records_in.pipeline | "NoPreviews" >> beam.Create([])
        return (records_in
                | "Report" >> beam.ParDo(
                    _WriteReport(self.output, self.manifest, self.outputs, self.report,
                                 self.decisions),
                    counted=beam.pvalue.AsList(counted),
                    files=beam.pvalue.AsSingleton(file_stats),
                    written=beam.pvalue.AsList(written),
                    clusters=beam.pvalue.AsSingleton(top, default_value=[]),
                    sizes=beam.pvalue.AsList(cluster_sizes(per_cluster)),
                    riskiest=beam.pvalue.AsSingleton(risky, default_value=[]),
                    previews=beam.pvalue.AsList(previews),
                    **({"spans": beam.pvalue.AsSingleton(spans)} if spans is not None
                       else {})))
