"""The graph: read -> validate -> unique ids -> stages -> decide -> write -> report.

The stages (exact and near dedup on fingerprints; PII, faces and identities on the
records) run side by side; each emits verdicts keyed by record uid, and Decide merges them.
"""

import dataclasses
from typing import List, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.policy import Policy
from schemas import arrow
from transforms.decide.decide import CLUSTERS, INDEX, QUARANTINED, TALLY, Decide
from transforms.templates.captions import CaptionTemplates
from transforms.templates.layouts import LayoutTemplates
from transforms.dedup.exact import ExactDedup
from transforms.people.faces import DetectFaces
from transforms.people.identities import RepeatedIdentities
from transforms.common.nodes import Nodes
from transforms.io.ids import AssignIds
from transforms.io.index import ReadIndex
from transforms.dedup.near_text import NearDuplicateText
from transforms.dedup.near_images import NearDuplicateImages
from transforms.pii import DetectPii
from transforms.io.read import ReadCorpus
from transforms.dedup.semantic import Embed, SemanticDuplicates
from transforms.io.validate import ValidateRecords
from transforms.io.outputs import WriteParquet, join_path
from transforms.report.write import WriteRunReport


@dataclasses.dataclass(frozen=True)
class RunSpec:
    inputs: List[str]
    output: str
    policy: Policy
    manifest: dict  # what the launcher knows: started_at, config, versions, options
    index_in: List[str] = dataclasses.field(default_factory=list)  # index Parquet files
    index_out: Optional[str] = None
    decisions: dict = dataclasses.field(default_factory=dict)   # pipeline.review


def output_paths(output: str) -> dict:
    return {
        "cleaned_text": join_path(output, "cleaned", "text"),
        "cleaned_image_text": join_path(output, "cleaned", "image_text"),
        "quarantine": join_path(output, "quarantine"),
        "summary": join_path(output, "summary.json"),
        "report": join_path(output, "report", "index.html"),
        "manifest": join_path(output, "manifest.json"),
    }


def _count_in(record):
    Metrics.counter("hygiene", "records_in").inc()
    return record


def build(pipeline: beam.Pipeline, spec: RunSpec):
    """Add the whole job to ``pipeline``; returns the PCollection holding the summary dict."""
    policy = spec.policy
    paths = output_paths(spec.output)
    if not policy.report.enabled:
        del paths["report"]

    records, matched = pipeline | "Read" >> ReadCorpus(
        spec.inputs, policy.input.fields, policy.input.format)
    minhash = policy.near_dedup_text.minhash()
    checked = (records
               | "CountIn" >> beam.Map(_count_in)
               | "Validate" >> ValidateRecords(
                   policy.input.limits, minhash,
                   keep_shingles=policy.near_dedup_text.verify == "exact",
                   phash=policy.near_dedup_images.phash()))
    fingerprints = checked.fingerprints | "UniqueIds" >> AssignIds()
    nodes = fingerprints | "Nodes" >> Nodes()   # for the stages that work on records

    verdicts = [fingerprints | "ExactDedup" >> ExactDedup(
        text=policy.exact_dedup.text, images=policy.exact_dedup.images)]
    if minhash is not None:
        previous = (pipeline | "PreviousRuns" >> ReadIndex(spec.index_in)
                    if spec.index_in else None)
        verdicts.append(fingerprints | "NearDedupText" >> NearDuplicateText(
            minhash, rounds=policy.near_dedup_text.rounds, previous=previous))
    images = policy.near_dedup_images
    if images.enabled:
        verdicts.append(fingerprints | "NearDedupImages" >> NearDuplicateImages(
            images.max_distance, images.phash().hash_bytes, images.max_bucket, images.levels,
            images.rounds))
    clip, embeddings = policy.clip, None
    if clip.enabled:
        embedded = checked.records | "ClipEmbed" >> Embed(clip.settings())
        embeddings = embedded.embeddings
        verdicts.append(embedded.errors)
    if clip.enabled and clip.semantic_dedup:
        verdicts.append((embeddings, nodes) | "SemanticDedup" >> SemanticDuplicates(
            clip.threshold, clip.bands, clip.bits, clip.levels, clip.seed, clip.max_bucket,
            clip.rounds))
    if policy.pii.enabled:
        verdicts.append(checked.records | "Pii" >> DetectPii(policy.pii))
    face_verdicts = templates = None
    if policy.faces.enabled:
        identities = policy.identities.enabled
        faces = checked.records | "Faces" >> DetectFaces(
            policy.faces.settings(), policy.faces.action, encodings=identities)
        face_verdicts = faces.verdicts
        verdicts.append(face_verdicts)
        if identities:
            verdicts.append((faces.encodings, nodes) | "Identities" >> RepeatedIdentities(
                policy.identities))
    if policy.templates.enabled:
        templates = checked.records | "CaptionTemplates" >> CaptionTemplates(
            policy.templates.settings())
        verdicts.append(templates)
    layouts = policy.layouts
    if layouts.enabled:
        nothing = lambda label: pipeline | label >> beam.Create([])   # noqa: E731
        verdicts.append((checked.records, nodes,
                         face_verdicts if face_verdicts is not None else nothing("NoFaces"),
                         templates if templates is not None else nothing("NoTemplates"),
                         embeddings if embeddings is not None else nothing("NoEmbeddings"))
                        | "Layouts" >> LayoutTemplates(layouts.settings(), layouts.face_action,
                                                       layouts.cluster_action, layouts.keep))
    verdicts = tuple(verdicts) | "AllVerdicts" >> beam.Flatten()

    decided = (checked.records, fingerprints, verdicts) | "Decide" >> Decide(spec.decisions)
    if spec.index_out and minhash is not None:
        decided[INDEX] | "WriteIndex" >> WriteParquet(
            join_path(spec.index_out, "part"), arrow.index_schema(minhash.signature_format()))

    written = (
        decided.text | "WriteText" >> WriteParquet(
            join_path(paths["cleaned_text"], "part"), arrow.CLEANED_TEXT),
        decided.image_text | "WriteImageText" >> WriteParquet(
            join_path(paths["cleaned_image_text"], "part"), arrow.CLEANED_IMAGE_TEXT),
        decided[QUARANTINED] | "WriteQuarantine" >> WriteParquet(
            join_path(paths["quarantine"], "part"), arrow.QUARANTINE),
    ) | "WrittenFiles" >> beam.Flatten()

    records_in = records | "RecordsIn" >> beam.combiners.Count.Globally()
    rows = (decided.text, decided.image_text, decided[QUARANTINED])
    report = (records_in, decided[TALLY], matched, written, decided[CLUSTERS], rows)
    checked = {"faces": policy.faces.enabled, "pii": policy.pii.enabled}
    return report | "Report" >> WriteRunReport(spec.output, spec.manifest, paths,
                                               policy.report, checked)
