"""The graph: read -> validate -> unique ids -> stages -> decide -> write -> report."""

import dataclasses
from typing import List

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.policy import Policy
from schemas import arrow
from transforms.decide import QUARANTINED, TALLY, Decide
from transforms.exact_dedup import ExactDedup
from transforms.ids import AssignIds
from transforms.read import ReadCorpus
from transforms.validate import ValidateRecords
from transforms.write import WriteParquet, WriteRunReport, join_path


@dataclasses.dataclass(frozen=True)
class RunSpec:
    inputs: List[str]
    output: str
    policy: Policy
    manifest: dict  # what the launcher knows: started_at, config, versions, options


def output_paths(output: str) -> dict:
    return {
        "cleaned_text": join_path(output, "cleaned", "text"),
        "cleaned_image_text": join_path(output, "cleaned", "image_text"),
        "quarantine": join_path(output, "quarantine"),
        "summary": join_path(output, "summary.json"),
        "manifest": join_path(output, "manifest.json"),
    }


def _count_in(record):
    Metrics.counter("hygiene", "records_in").inc()
    return record


def build(pipeline: beam.Pipeline, spec: RunSpec):
    """Add the whole job to ``pipeline``; returns the PCollection holding the summary dict."""
    policy = spec.policy
    paths = output_paths(spec.output)

    records, matched = pipeline | "Read" >> ReadCorpus(
        spec.inputs, policy.input.fields, policy.input.format)
    checked = (records
               | "CountIn" >> beam.Map(_count_in)
               | "Validate" >> beam.ParDo(ValidateRecords(policy.input.limits)).with_outputs(
                   ValidateRecords.FINGERPRINTS, main="records"))
    fingerprints = checked.fingerprints | "UniqueIds" >> AssignIds()

    verdicts = fingerprints | "ExactDedup" >> ExactDedup(
        text=policy.exact_dedup.text, images=policy.exact_dedup.images)

    decided = (checked.records, fingerprints, verdicts) | "Decide" >> Decide()

    written = (
        decided.text | "WriteText" >> WriteParquet(
            join_path(paths["cleaned_text"], "part"), arrow.CLEANED_TEXT),
        decided.image_text | "WriteImageText" >> WriteParquet(
            join_path(paths["cleaned_image_text"], "part"), arrow.CLEANED_IMAGE_TEXT),
        decided[QUARANTINED] | "WriteQuarantine" >> WriteParquet(
            join_path(paths["quarantine"], "part"), arrow.QUARANTINE),
    ) | "WrittenFiles" >> beam.Flatten()

    records_in = records | "RecordsIn" >> beam.combiners.Count.Globally()
    return (records_in, decided[TALLY], matched, written) | "Report" >> WriteRunReport(
        spec.output, spec.manifest, paths)
