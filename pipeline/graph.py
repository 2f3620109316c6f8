"""The graph: read -> validate -> unique ids -> stages -> decide -> write -> report.

The stages run side by side, each with its policy section: exact and near-duplicate text
and images on the fingerprints; CLIP embeddings and semantic duplicates, PII, text in
images (OCR), faces and
repeated identities, caption templates on the records; layout templates on the records
with the faces, caption templates and embeddings found. Each emits verdicts keyed by
record uid, and Decide merges them.
"""

import dataclasses
from typing import List, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.faces import FACES_FORMAT
from detectors.hashing import KEY_FORMAT
from detectors.minhash import signature_format
from detectors.phash import phash_format
from detectors.spans import span_format
from schemas import arrow
from schemas.settings import Policy
from transforms.decide.decide import CLUSTERS, QUARANTINED, TALLY, Decide
from transforms.templates.captions import CaptionTemplates, templates_format
from transforms.templates.layouts import LayoutTemplates, layouts_format
from transforms.dedup.exact import ExactDedup
from transforms.people.faces import DetectFaces
from transforms.people.identities import RepeatedIdentities
from transforms.common.flatten import FlattenShared
from transforms.common.nodes import Nodes
from transforms.io.ids import AssignIds
from transforms.io.index import (INDEX, PARTS, VERDICTS, Compact, IndexFiles, ReadIndex, file_schema, previous_embedding,
                                 previous_image, previous_sketch)
from transforms.dedup.near_text import NearDuplicateText
from transforms.dedup.near_images import NearDuplicateImages
from transforms.ocr import DetectTextInImages
from transforms.pii import DetectPii
from transforms.io.read import ReadCorpus
from transforms.dedup.semantic import Embed, SemanticDuplicates, clip_format
from transforms.dedup.spans import SUMMARY, RepeatedSpans
from transforms.io.validate import ValidateRecords
from transforms.io.outputs import WriteParquet, join_path
from transforms.report.write import WriteRunReport


@dataclasses.dataclass(frozen=True)
class RunSpec:
    inputs: List[str]
    output: str
    policy: Policy
    manifest: dict  # what the launcher knows: started_at, config, versions, options
    # --index-in's files by part (transforms/io/index.py), checked; and --index-out
    index_in: IndexFiles = dataclasses.field(default_factory=dict)
    index_out: Optional[str] = None
    index_since: str = ""   # retention: the earliest night whose clusters are remembered
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


class IndexOut:
    """The running index a run writes (--index-out): each part gets tonight's rows merged
    with earlier runs' by its stage, or, when its stage is off tonight, earlier runs' rows
    as they were read (their own format), so a night without a stage loses nothing."""

    def __init__(self, pipeline, spec: RunSpec):
        self.pipeline = pipeline
        self.spec = spec
        self.read = {}

    def earlier(self, part: str):
        """Earlier runs' rows of ``part`` (None: --index-in has none)."""
        files = self.spec.index_in.get(part)
        if not files:
            return None
        if part not in self.read:
            self.read[part] = self.pipeline | f"IndexIn{part.title()}" >> ReadIndex(
                files, part, self.spec.index_since)
        return self.read[part]

    def write(self, part: str, rows, schema) -> None:
        """``rows``: the part's merged rows (earlier runs' included)."""
        if self.spec.index_out:
            rows | f"IndexOut{part.title()}" >> WriteParquet(
                join_path(self.spec.index_out, PARTS[part].folder, "part"), schema)

    def remembered(self, part: str, label: str, inputs, stage, schema, to_previous=None,
                   merges: bool = False):
        """A stage that remembers earlier runs: ``stage(previous, index)`` made with
        earlier runs' rows of ``part`` (as ``to_previous`` turns them into what the stage
        takes, or as they are without it); with --index-out, its rows (INDEX) go to the
        part, with earlier runs' rows unless the stage ``merges`` them into its own (by
        key: counts). Its verdicts."""
        earlier = previous = self.earlier(part)
        if earlier is not None and to_previous is not None:
            previous = earlier | f"Previous{part.title()}" >> beam.Map(to_previous)
        found = inputs | label >> stage(previous, bool(self.spec.index_out))
        if not self.spec.index_out:
            return found
        self.running(part, found[INDEX], schema, merges)
        return found[VERDICTS]

    def running(self, part: str, rows, schema, merges: bool = False) -> None:
        """Write ``part``: tonight's ``rows`` with earlier runs' (unless they were merged
        into them already), one row of each set the same for a later run (Compact)."""
        earlier = self.earlier(part)
        if earlier is not None and not merges:
            rows = (rows, earlier) | f"{part.title()}IndexRows" >> FlattenShared()
        self.write(part, rows | f"{part.title()}Compact" >> Compact(part), schema)

    def carry(self, part: str) -> None:
        """Earlier runs' rows of a part whose stage is off tonight, unchanged."""
        earlier = self.earlier(part)
        if self.spec.index_out and earlier is not None:
            self.write(part, earlier, file_schema(self.spec.index_in[part][0]))


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
    index = IndexOut(pipeline, spec)
    run = spec.manifest.get("started_at", "")   # orders tonight after earlier runs
    fingerprints = checked.fingerprints | "UniqueIds" >> AssignIds(index.earlier("ids"))
    if spec.index_out:
        index.running("ids", fingerprints | "IdRows" >> beam.Map(
            lambda fp: {"id": fp.id, "run": run}), arrow.ids_index_schema())
    nodes = fingerprints | "Nodes" >> Nodes()   # for the stages that work on records
    exact, verdicts = policy.exact_dedup, []
    if exact.text or exact.images:
        verdicts.append(index.remembered(
            "exact", "ExactDedup", fingerprints,
            lambda previous, keep: ExactDedup(exact, previous, run, keep),
            arrow.exact_index_schema(KEY_FORMAT), merges=True))
    else:
        index.carry("exact")
    if policy.near_dedup_text.enabled:
        verdicts.append(index.remembered(
            "text", "NearDedupText", fingerprints,
            lambda previous, keep: NearDuplicateText(policy.near_dedup_text, previous, keep, run),
            arrow.index_schema(signature_format(policy.near_dedup_text)), previous_sketch))
    else:
        index.carry("text")
    if policy.near_dedup_images.enabled:
        verdicts.append(index.remembered(
            "images", "NearDedupImages", fingerprints,
            lambda previous, keep: NearDuplicateImages(policy.near_dedup_images, previous,
                                                       keep, run),
            arrow.image_index_schema(phash_format(policy.near_dedup_images)), previous_image))
    else:
        index.carry("images")
    clip, embeddings = policy.clip, None
    if clip.enabled:
        embedded = checked.records | "ClipEmbed" >> Embed(clip)
        embeddings = embedded.embeddings
        verdicts.append(embedded.errors)
    if clip.enabled and clip.semantic_dedup:
        verdicts.append(index.remembered(
            "clip", "SemanticDedup", (embeddings, nodes),
            lambda previous, keep: SemanticDuplicates(clip, previous, keep, run),
            arrow.clip_index_schema(clip_format(clip)), previous_embedding))
    else:
        index.carry("clip")
    pii = None
    if policy.pii.enabled:
        pii = checked.records | "Pii" >> DetectPii(policy.pii)
        verdicts.append(pii)
    spans = None
    if policy.repeated_spans.enabled:
        found = (checked.records, nodes,
                 pii if pii is not None else pipeline | "NoPii" >> beam.Create([])
                 ) | "RepeatedSpans" >> RepeatedSpans(policy.repeated_spans,
                                                     previous=index.earlier("spans"),
                                                     index=bool(spec.index_out))
        if spec.index_out:
            index.write("spans", found[INDEX],
                        arrow.span_index_schema(span_format(policy.repeated_spans)))
        verdicts.append(found[VERDICTS])
        spans = found[SUMMARY]
    else:
        index.carry("spans")
    if policy.ocr.enabled:
        verdicts.append(checked.records | "Ocr" >> DetectTextInImages(policy.ocr, policy.pii))
    face_verdicts = templates = None
    if policy.faces.enabled:
        identities = policy.identities.enabled
        faces = checked.records | "Faces" >> DetectFaces(policy.faces, encodings=identities)
        face_verdicts = faces.verdicts
        verdicts.append(face_verdicts)
        if identities:
            verdicts.append(index.remembered(
                "faces", "Identities", (faces.encodings, nodes),
                lambda previous, keep: RepeatedIdentities(policy.identities, previous, keep,
                                                          run),
                arrow.faces_index_schema(FACES_FORMAT)))
    if not (policy.faces.enabled and policy.identities.enabled):
        index.carry("faces")
    if policy.templates.enabled:
        templates = index.remembered(
            "templates", "CaptionTemplates", checked.records,
            lambda previous, keep: CaptionTemplates(policy.templates, previous, keep),
            arrow.templates_index_schema(templates_format(policy.templates)), merges=True)
        verdicts.append(templates)
    else:
        index.carry("templates")
    if policy.layouts.enabled:
        nothing = lambda label: pipeline | label >> beam.Create([])   # noqa: E731
        verdicts.append(index.remembered(
            "layouts", "Layouts",
            (checked.records, nodes,
             face_verdicts if face_verdicts is not None else nothing("NoFaces"),
             templates if templates is not None else nothing("NoTemplates"),
             embeddings if embeddings is not None else nothing("NoEmbeddings")),
            lambda previous, keep: LayoutTemplates(policy.layouts, previous, keep, run),
            arrow.layouts_index_schema(layouts_format(policy.layouts))))
    else:
        index.carry("layouts")
    verdicts = tuple(verdicts) | "AllVerdicts" >> FlattenShared()

    decided = (checked.records, fingerprints, verdicts) | "Decide" >> Decide(
        spec.decisions, policy.faces, policy.image_metadata,
        policy.pii if policy.pii.enabled else None, policy.ocr)

    written = (
        decided.text | "WriteText" >> WriteParquet(
            join_path(paths["cleaned_text"], "part"), arrow.CLEANED_TEXT),
        decided.image_text | "WriteImageText" >> WriteParquet(
            join_path(paths["cleaned_image_text"], "part"),
            arrow.cleaned_image_text(policy.ocr.enabled and policy.ocr.write_text)),
        decided[QUARANTINED] | "WriteQuarantine" >> WriteParquet(
            join_path(paths["quarantine"], "part"), arrow.QUARANTINE),
    ) | "WrittenFiles" >> beam.Flatten()

    records_in = records | "RecordsIn" >> beam.combiners.Count.Globally()
    rows = (decided.text, decided.image_text, decided[QUARANTINED])
    report = (records_in, decided[TALLY], matched, written, decided[CLUSTERS], rows,
              *([spans] if spans is not None else []))
    checked = {"faces": policy.faces.enabled, "pii": policy.pii.enabled,
               "ocr": policy.ocr.enabled}
    return report | "Report" >> WriteRunReport(spec.output, spec.manifest, paths,
                                               policy.report, checked, spec.decisions)
