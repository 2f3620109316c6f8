"""The graph: read -> validate -> unique ids -> stages -> decide -> write -> report.

The stages run side by side, each with its policy section: exact and near-duplicate text
and images on the fingerprints; CLIP embeddings and semantic duplicates, PII, faces and
repeated identities, caption templates on the records; layout templates on the records
with the faces, caption templates and embeddings found. Each emits verdicts keyed by
record uid, and Decide merges them.
"""

import dataclasses
from typing import List, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.minhash import signature_format
from detectors.spans import span_format
from schemas import arrow
from schemas.settings import Policy
from transforms.decide.decide import CLUSTERS, INDEX, QUARANTINED, TALLY, Decide
from transforms.templates.captions import CaptionTemplates
from transforms.templates.layouts import LayoutTemplates
from transforms.dedup.exact import ExactDedup
from transforms.people.faces import DetectFaces
from transforms.people.identities import RepeatedIdentities
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import Nodes
from transforms.io.ids import AssignIds
from transforms.io.index import ReadIndex, ReadSpanIndex
from transforms.dedup.near_text import NearDuplicateText
from transforms.dedup.near_images import NearDuplicateImages
from transforms.pii import DetectPii
from transforms.io.read import ReadCorpus
from transforms.dedup.semantic import Embed, SemanticDuplicates
from transforms.dedup.spans import INDEX as SPAN_INDEX
from transforms.dedup.spans import SUMMARY, VERDICTS, RepeatedSpans
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
    span_index_in: List[str] = dataclasses.field(default_factory=list)   # span index files
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

    records, matched = pipeline | "Read" >> ReadCorpus(spec.inputs, policy.input)
    checked = (records
               | "CountIn" >> beam.Map(_count_in)
               | "Validate" >> ValidateRecords(policy.input, policy.near_dedup_text,
                                               policy.near_dedup_images))
    fingerprints = checked.fingerprints | "UniqueIds" >> AssignIds()
    nodes = fingerprints | "Nodes" >> Nodes()   # for the stages that work on records

    verdicts = [fingerprints | "ExactDedup" >> ExactDedup(policy.exact_dedup)]
    if policy.near_dedup_text.enabled:
        previous = (pipeline | "PreviousRuns" >> ReadIndex(spec.index_in)
                    if spec.index_in else None)
        verdicts.append(fingerprints | "NearDedupText" >> NearDuplicateText(
            policy.near_dedup_text, previous=previous))
    if policy.near_dedup_images.enabled:
        verdicts.append(fingerprints | "NearDedupImages" >> NearDuplicateImages(
            policy.near_dedup_images))
    clip, embeddings = policy.clip, None
    if clip.enabled:
        embedded = checked.records | "ClipEmbed" >> Embed(clip)
        embeddings = embedded.embeddings
        verdicts.append(embedded.errors)
        if clip.semantic_dedup:
            verdicts.append((embeddings, nodes) | "SemanticDedup" >> SemanticDuplicates(clip))
    pii = None
    if policy.pii.enabled:
        pii = checked.records | "Pii" >> DetectPii(policy.pii)
        verdicts.append(pii)
    spans = None
    if policy.repeated_spans.enabled:
        earlier = (pipeline | "EarlierSpans" >> ReadSpanIndex(spec.span_index_in)
                   if spec.span_index_in else None)
        found = (checked.records, nodes,
                 pii if pii is not None else pipeline | "NoPii" >> beam.Create([])
                 ) | "RepeatedSpans" >> RepeatedSpans(policy.repeated_spans, previous=earlier,
                                                     index=bool(spec.index_out))
        if spec.index_out:
            found[SPAN_INDEX] | "WriteSpanIndex" >> WriteParquet(
                join_path(spec.index_out, arrow.SPANS_FOLDER, "part"),
                arrow.span_index_schema(span_format(policy.repeated_spans)))
        verdicts.append(found[VERDICTS])
        spans = found[SUMMARY]
    face_verdicts = templates = None
    if policy.faces.enabled:
        identities = policy.identities.enabled
        faces = checked.records | "Faces" >> DetectFaces(policy.faces, encodings=identities)
        face_verdicts = faces.verdicts
        verdicts.append(face_verdicts)
        if identities:
            verdicts.append((faces.encodings, nodes) | "Identities" >> RepeatedIdentities(
                policy.identities))
    if policy.templates.enabled:
        templates = checked.records | "CaptionTemplates" >> CaptionTemplates(policy.templates)
        verdicts.append(templates)
    if policy.layouts.enabled:
        nothing = lambda label: pipeline | label >> beam.Create([])   # noqa: E731
        verdicts.append((checked.records, nodes,
                         face_verdicts if face_verdicts is not None else nothing("NoFaces"),
                         templates if templates is not None else nothing("NoTemplates"),
                         embeddings if embeddings is not None else nothing("NoEmbeddings"))
                        | "Layouts" >> LayoutTemplates(policy.layouts))
    verdicts = tuple(verdicts) | "AllVerdicts" >> FlattenShared()

    decided = (checked.records, fingerprints, verdicts) | "Decide" >> Decide(
        spec.decisions, policy.faces, policy.image_metadata,
        policy.pii if policy.pii.enabled else None)
    if spec.index_out and policy.near_dedup_text.enabled:
        decided[INDEX] | "WriteIndex" >> WriteParquet(
            join_path(spec.index_out, "part"),
            arrow.index_schema(signature_format(policy.near_dedup_text)))

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
    report = (records_in, decided[TALLY], matched, written, decided[CLUSTERS], rows,
              *([spans] if spans is not None else []))
    checked = {"faces": policy.faces.enabled, "pii": policy.pii.enabled}
    return report | "Report" >> WriteRunReport(spec.output, spec.manifest, paths,
                                               policy.report, checked, spec.decisions)
