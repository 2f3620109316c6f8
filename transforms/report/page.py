"""report/index.html from the run's summary and the previews of the records it names.

A static page (opens from disk or a bucket, no server, no script), rendered by Jinja with
autoescape on: a caption holding markup renders as text.
"""

import functools
import pathlib
from typing import Dict, List

import jinja2

from detectors.display import for_display
from schemas.reasons import Reason

# Cluster evidence worth a line in the report, in this order (detectors/clusters.py).
_CLUSTER_FIELDS = ("template", "template_records", "template_fillers", "fixed_fraction",
                   "information", "face_in_fixed", "identity_records")
# Per member: how close it is to its cluster, and a caption template's filler.
_MEMBER_FIELDS = ("hamming_distance", "similarity", "cosine_similarity", "filler")


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters["shown"] = for_display   # ids, file and member names from the data
    source = (pathlib.Path(__file__).with_name("page.html")).read_text("utf-8")
    return env.from_string(source)


def bars(pairs) -> List[dict]:
    """Chart rows: label, value and share of the largest value."""
    pairs = [(str(label), int(value)) for label, value in pairs]
    top = max((v for _, v in pairs), default=0) or 1
    return [{"label": label, "value": value, "share": value / top} for label, value in pairs]


def _risk_labels(counts: List[int]):
    step = 1 / len(counts) if counts else 0.1
    return [(f"{i * step:.1f}–{(i + 1) * step:.1f}", c) for i, c in enumerate(counts)]


def _member(preview: dict, cluster_id: str = None) -> dict:
    detail = preview["clusters"].get(cluster_id, {}) if cluster_id else {}
    shown = [(name, detail[name]) for name in _MEMBER_FIELDS if name in detail]
    return {**preview, "shown": shown, "kept": False}


def _cluster(cluster: dict, previews: Dict[str, dict]) -> dict:
    kept = [cluster["kept_id"]] if cluster.get("kept_id") else []
    members = [previews[i] for i in kept + cluster["examples"] if i in previews]
    detail = next((p["clusters"][cluster["cluster_id"]] for p in members
                   if cluster["cluster_id"] in p["clusters"]), {})
    evidence = [(name, detail[name]) for name in _CLUSTER_FIELDS if name in detail]
    return {**cluster, "evidence": evidence, "mask_png": detail.get("mask_png"),
            "previews": [dict(_member(p, cluster["cluster_id"]), kept=p["id"] in kept)
                         for p in members]}


def render_report(summary: dict, manifest: dict, previews: Dict[str, dict],
                  riskiest: List[str], report, output: str) -> str:
    """The page. ``previews``: id -> transforms.report.previews preview; ``riskiest``: quarantined
    ids, riskiest first; ``report``: ReportSettings."""
    primary = summary["primary_reasons"]
    reasons = [{"reason": reason, "count": count, "primary": primary.get(reason, 0),
                "stage": Reason(reason).stage.value, "description": Reason(reason).description}
               for reason, count in sorted(summary["reasons"].items(),
                                           key=lambda kv: (-kv[1], Reason(kv[0]).rank))]
    charts = {
        "reasons": bars((r["reason"], r["count"]) for r in reasons),
        "pii": bars(sorted(summary["pii"]["entities_found"].items(), key=lambda kv: -kv[1])),
        "risk_cleaned": bars(_risk_labels(summary["risk_histogram"]["cleaned"])),
        "risk_quarantined": bars(_risk_labels(summary["risk_histogram"]["quarantined"])),
        "cluster_sizes": [(reason, bars(sizes.items()))
                          for reason, sizes in summary["cluster_sizes"].items()],
    }
    return _template().render(
        summary=summary, output=output,
        started_at=manifest.get("started_at", ""), finished_at=manifest.get("finished_at", ""),
        runner=manifest.get("runner", ""), reasons=reasons,
        stages=sorted(summary["stages"].items(), key=lambda kv: -kv[1]),
        flagged=sorted(summary["flagged"].items(), key=lambda kv: -kv[1]),
        charts=charts, review_total=sum(summary["review"].values()),
        clusters=[_cluster(c, previews) for c in summary["top_clusters"]],
        records=[_member(previews[i]) for i in riskiest if i in previews],
        thumbnail_side=report.thumbnail_side, show_faces=report.show_faces,
        pii_checked=manifest.get("config", {}).get("pii", {}).get("enabled", True),
        spans=summary.get("repeated_spans"))
