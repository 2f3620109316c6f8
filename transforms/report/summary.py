"""What summary.json says: counts from combiners over the decided records (no gather of
data) and the riskiest clusters.
"""

from typing import List

import apache_beam as beam

from detectors.display import for_display
from schemas.reasons import Reason
from schemas.records import ClusterMember
from schemas.review import OUTCOMES
from transforms.decide import tallies
from transforms.decide.rows import CLEANED, QUARANTINED

TOP_CLUSTERS = 50      # clusters ranked in summary.json
CLUSTER_EXAMPLES = 5   # record ids named per cluster
UNMATCHED_EXAMPLES = 5   # decisions named that matched nothing


class ClusterSummary(beam.CombineFn):
    """One cluster from its records: reason, size, highest risk, records with a verdict in
    it here, held back, the record kept for a duplicate group, and the first few ids.
    Bounded state, whatever the cluster's size."""

    def create_accumulator(self):
        return {"reason": None, "size": 0, "risk": 0.0, "records": 0, "quarantined": 0,
                "kept_id": None, "examples": []}

    def add_input(self, acc, member: ClusterMember):
        return self.merge_accumulators([acc, {
            "reason": member.reason, "size": member.size, "risk": member.risk, "records": 1,
            "quarantined": int(member.destination == QUARANTINED), "kept_id": member.kept_id,
            "examples": [member.record_id]}])

    def merge_accumulators(self, accs):
        accs = list(accs)
        return {
            "reason": min((a["reason"] for a in accs if a["reason"]), default=None),
            "kept_id": min((a["kept_id"] for a in accs if a["kept_id"]), default=None),
            "size": max(a["size"] for a in accs),
            "risk": max(a["risk"] for a in accs),
            "records": sum(a["records"] for a in accs),
            "quarantined": sum(a["quarantined"] for a in accs),
            "examples": sorted({i for a in accs for i in a["examples"]})[:CLUSTER_EXAMPLES],
        }

    def extract_output(self, acc):
        return acc


def top_clusters(per_cluster):
    """The TOP_CLUSTERS riskiest clusters, by combiners (nothing but them is gathered)."""
    return (per_cluster
            | "Rank" >> beam.combiners.Top.Of(
                TOP_CLUSTERS, key=lambda kv: (kv[1]["risk"], kv[1]["records"], kv[0]))
            | "Rows" >> beam.Map(lambda top: [
                {"cluster_id": cluster, **summary, "risk": round(summary["risk"], 4)}
                for cluster, summary in top]))


def _histogram(counts: dict) -> List[int]:
    return [counts.get(b, 0) for b in range(tallies.RISK_BINS)]


def summarize(records_in: int, counted, started_at: str, outputs: dict,
              clusters=(), sizes=(), decisions=(), spans=None) -> dict:
    """The summary from ((group, name), count) pairs of the tallies (transforms/decide/
    tallies.py), the top clusters, ((reason, size bucket), clusters) pairs, the keys
    (schemas.review.key) of the reviewers' decisions read and the repeated-spans stage's
    own summary (transforms/dedup/spans.py; None when it did not run)."""
    counts = {}
    for (group, name), count in counted:
        counts.setdefault(group, {})[name] = count
    cluster_sizes = {}
    for (reason, bucket), count in sorted(sizes, key=lambda kv: (kv[0][0],
                                                                 _bucket_order(kv[0][1]))):
        cluster_sizes.setdefault(reason, {})[bucket] = count
    cleaned = counts.get(tallies.KEPT, {})
    quarantined = counts.get(tallies.HELD, {})
    n_cleaned, n_quarantined = sum(cleaned.values()), sum(quarantined.values())
    faces, identities = counts.get(tallies.FACES, {}), counts.get(tallies.IDENTITIES, {})

    def by_name(group: str) -> dict:
        return dict(sorted(counts.get(group, {}).items()))

    return {
        "records_in": records_in,
        "cleaned": {"total": n_cleaned, **dict(sorted(cleaned.items()))},
        "quarantined": {"total": n_quarantined, **dict(sorted(quarantined.items()))},
        "quarantine_rate": round(n_quarantined / records_in, 6) if records_in else 0.0,
        "reasons": by_name(tallies.REASON),
        # Quarantined records with a reason of each stage (a record may count in several).
        "stages": by_name(tallies.STAGE),
        "primary_reasons": by_name(tallies.PRIMARY_REASON),
        # Cleaned records a stage flagged, per reason (kept faces, templates under a cap, ...).
        "flagged": by_name(tallies.FLAG),
        "pii": {"entities_found": by_name(tallies.PII_ENTITY),
                "cleaned_records_redacted": by_name(tallies.REDACTED)},
        # Text shared by different documents: what the stage found and cut (its counts
        # are over every text it read), and the cleaned records written with cuts.
        **({"repeated_spans": {**spans, "cleaned_records_cut": by_name(tallies.CUT)}}
           if spans is not None else {}),
        # Records (cleaned or not) with a face verdict, faces in them, kept images blurred;
        # records under repeated_identity, and the people repeated (their clusters).
        "faces": {"records_with_faces": faces.get(tallies.RECORDS, 0),
                  "faces_found": faces.get(tallies.FOUND, 0),
                  "cleaned_images_blurred": faces.get(tallies.BLURRED, 0),
                  "repeated_identity_records": identities.get(tallies.RECORDS, 0),
                  "repeated_identities": sum(cluster_sizes.get(
                      Reason.REPEATED_IDENTITY.value, {}).values())},
        # Personal data printed in images (transforms/ocr.py): records with some (cleaned or
        # not), the words boxed over it per entity type, kept images written with it covered.
        "ocr": {"records_with_personal_data": counts.get(tallies.OCR, {}).get(
                    tallies.RECORDS, 0),
                "words_boxed": counts.get(tallies.OCR, {}).get(tallies.BOXED, 0),
                "words_by_entity": by_name(tallies.OCR_ENTITY),
                "cleaned_images_covered": counts.get(tallies.OCR, {}).get(tallies.COVERED, 0)},
        # Kept images written without hidden data (image_metadata.keep): how many had some,
        # per kind removed (gps: an EXIF block with a location), and the personal data
        # found in its text fields (EXIF Artist, PNG text, comments), per entity type.
        "image_metadata": {
            "cleaned_images_stripped": counts.get(tallies.IMAGE_METADATA, {}).get(
                tallies.RECORDS, 0),
            "removed": {k: v for k, v in by_name(tallies.IMAGE_METADATA).items()
                        if k != tallies.RECORDS},
            "personal_data_found": by_name(tallies.METADATA_PII)},
        "conservation": {
            "ok": records_in == n_cleaned + n_quarantined,
            "rule": "records_in == cleaned + quarantined",
            "records_in": records_in, "records_out": n_cleaned + n_quarantined,
        },
        # Records per risk score tenth: [0, 0.1), [0.1, 0.2), ... [0.9, 1].
        "risk_histogram": {
            "cleaned": _histogram(counts.get(tallies.RISK[CLEANED], {})),
            "quarantined": _histogram(counts.get(tallies.RISK[QUARANTINED], {}))},
        # Clusters per reason and size (2, 3-4, 5-8, ...), every cluster of the run.
        "cluster_sizes": cluster_sizes,
        # Reviewers' decisions that reached a record (--review-decisions).
        "review": {name: counts.get(tallies.REVIEW, {}).get(name, 0) for name in OUTCOMES},
        # Decisions read, and those whose id matched no record or cluster of this run.
        "decisions": _decisions(decisions, counts.get(tallies.DECISION, {})),
        # The riskiest duplicate groups, templates and repeated people (detectors/risk.py).
        "top_clusters": list(clusters),
        "started_at": started_at,
        "outputs": outputs,
    }


def for_people(summary: dict) -> dict:
    """summary.json as written: the record ids it names (they may be file names holding an
    e-mail address, or escape sequences) shown as detectors/display.py shows them. Cluster
    ids are digests, kept as they are: decisions name clusters by them."""
    return {**summary, "top_clusters": [
        {**c, "kept_id": for_display(c.get("kept_id")),
         "examples": [for_display(i) for i in c.get("examples", ())]}
        for c in summary.get("top_clusters", ())],
        **({"decisions": {**summary["decisions"], "unmatched_examples": [
            for_display(i) for i in summary["decisions"]["unmatched_examples"]]}}
           if "decisions" in summary else {})}


def _decisions(read, matched: dict) -> dict:
    unmatched = sorted(set(read) - set(matched))
    return {"read": len(set(read)), "unmatched": len(unmatched),
            "unmatched_examples": unmatched[:UNMATCHED_EXAMPLES]}


def _bucket_order(label: str) -> int:
    return int(label.split("-")[0])
