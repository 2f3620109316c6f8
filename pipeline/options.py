"""Command-line options as a Beam PipelineOptions subclass: the run's own flags, and one
flag per policy setting that declares one (schemas/settings.py), grouped by section, with
its default in --help.

Every other Beam pipeline option (--runner, --project, --temp_location,
--direct_num_workers, ...) passes through untouched.
"""

import argparse
from typing import Dict, Tuple

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.exits import ExitCode, epilog
from schemas import settings
from schemas.settings import Policy


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


# flag dest -> (policy section, key): the flags override the YAML policy.
POLICY_FLAGS: Dict[str, Tuple[str, str]] = {
    _dest(settings.declaration(f).flag): (name, f.name)
    for name, section in Policy().sections() for f in settings.fields(section)
    if settings.declaration(f).flag}


def _flag_help(section, field) -> str:
    declared = settings.declaration(field)
    shown = settings.shown(getattr(section, field.name))
    if isinstance(shown, bool):
        shown = "on" if shown else "off"
    elif isinstance(shown, dict):     # pii.entities: README "Policy" lists them
        shown = "as in the policy"
    elif shown is None or shown == []:
        shown = "none"
    elif isinstance(shown, list):
        shown = ", ".join(map(str, shown))
    limits = "" if declared.choices else settings.bounds(field)
    return f"{declared.help} (default: {shown}{'; ' + limits if limits else ''})"


def _argument_type(convert):
    def parse(text: str):
        try:
            return convert(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _add_policy_flag(group, section, field) -> None:
    declared = settings.declaration(field)
    kind = settings.value_type(section, field)
    options = {"help": _flag_help(section, field), "metavar": declared.metavar}
    if declared.flag_type is not None:    # ENTITY=ACTION pairs, repeatable
        options.update(type=_argument_type(declared.flag_type), action="append")
    elif kind is bool:
        options.update(action=argparse.BooleanOptionalAction, default=None)
        del options["metavar"]
    elif declared.choices is not None:
        options.update(choices=declared.choices, type=type(declared.choices[0]))
        if getattr(kind, "__origin__", None) is tuple:   # several of the choices
            options.update(nargs="*")
        del options["metavar"]
    elif getattr(kind, "__origin__", None) is tuple:
        options.update(nargs="+")
    else:
        base = next((k for k in getattr(kind, "__args__", (kind,)) if k is not type(None)))
        options.update(type=base)
    group.add_argument(declared.flag, **options)


def add_arguments(parser) -> None:
    run = parser.add_argument_group("inputs and outputs")
    run.add_argument("--input", nargs="+", action="extend", metavar="GLOB",
                     help="files, glob patterns or image folders (local, gs://, s3://, hdfs://); "
                          "text and image-text inputs may be mixed")
    run.add_argument("--output", metavar="DIR_OR_PREFIX",
                     help="where cleaned/, quarantine/, report/, manifest.json and summary.json go")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an earlier run in --output (and --index-out): deletes only "
                          "what that run's manifest.json lists; a folder holding anything "
                          "else, or an input, is refused")
    run.add_argument("--config", metavar="POLICY_YAML",
                     help="policy file of thresholds and actions; the flags below override it")
    run.add_argument("--fail-on", action="append", metavar="PATH_OP_NUMBER",
                     help=f"exit with status {ExitCode.GATES.value} after writing everything "
                          "when a bound on summary.json holds, e.g. 'quarantine_rate>0.2' or "
                          "'reasons.secret>0' (repeatable)")
    run.add_argument("--review-decisions", nargs="+", action="extend", metavar="CSV",
                     help="decisions files from hygiene-review, filled in by reviewers, oldest "
                          "first (a later file's decision on the same record or cluster wins): "
                          "release or reject records and clusters, and clusters' later members")
    run.add_argument("--strict-decisions", action="store_true",
                     help=f"exit with status {ExitCode.USAGE.value} after writing everything "
                          "when a decision's id matches no record or cluster of the run "
                          "(always counted in summary.json's decisions and logged)")
    run.add_argument("--local-workers", type=int, metavar="N",
                     help="DirectRunner only: run N worker processes "
                          "(sets --direct_running_mode=multi_processing --direct_num_workers=N)")

    groups = {}
    for name, section in Policy().sections():
        groups[name] = group = parser.add_argument_group(settings.title(section))
        for field in settings.fields(section):
            if settings.declaration(field).flag:
                _add_policy_flag(group, section, field)

    run.add_argument("--index-out", metavar="DIR",
                     help="write the running index (Parquet): what every stage that "
                          "remembers earlier runs needs, earlier runs' included, for the "
                          "next run's --index-in")
    run.add_argument("--index-in", nargs="+", action="extend", metavar="DIR_OR_GLOB",
                     help="the running index the last run wrote: tonight's records are "
                          "decided as one run over earlier runs and tonight would decide "
                          "them (earlier runs first)")
    run.add_argument("--index-retention-days", type=int, default=0, metavar="DAYS",
                     help="forget clusters (exact keys, texts, images, faces, layouts) "
                          "that began more than DAYS days before this run; 0: remember "
                          "everything")


class HygieneOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        add_arguments(parser)

    def policy_overrides(self):
        values = self.get_all_options()
        overrides = {}
        for dest, (section, key) in POLICY_FLAGS.items():
            if values.get(dest) is not None:
                overrides.setdefault(section, {})[key] = values[dest]
        return overrides


class FlinkBundleOptions(PipelineOptions):
    """Options of Beam's Java Flink runner that the Python SDK does not declare: an option
    Python does not know never reaches the job server (the portable runner keeps only known
    ones), so a user's --max_bundle_size would vanish without a word."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--max_bundle_size", type=int, default=None,
                            help="Flink, streaming mode: most elements in a bundle (Beam's "
                                 "default 1,000); batch mode runs a whole partition as one")
        parser.add_argument("--max_bundle_time_ms", type=int, default=None,
                            help="Flink, streaming mode: longest a bundle stays open (Beam's "
                                 "default 1,000 ms)")


def help_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Clean a text or image-text corpus for training: bad input, exact, near "
                    "and semantic duplicates, personal data and secrets, faces and repeated "
                    "people, caption and layout templates are quarantined with reasons and "
                    "evidence, or redacted, blurred or flagged in the cleaned Parquet; "
                    "summary.json and report/index.html say what was found. Flags below "
                    "override the policy file (--config); each flag shows its default.",
        epilog="Any other Beam pipeline option passes through, e.g. --runner DataflowRunner "
               "--project P --region R --temp_location gs://B/tmp --setup_file ./setup.py. "
               "The default runner is the DirectRunner. " + epilog())
    add_arguments(parser)
    return parser
