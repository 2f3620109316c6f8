"""Caption templates mined over the corpus: which records share fixed caption words.

Steps (counters in namespace caption_templates):
  Candidates  every caption's prefix/suffix splits (detectors/templates.py), keyed by the
              template text.
  Mine        records and distinct fillers per template, by combiners (the distinct
              fillers as (template, filler) keys first): a template holding at least
              ``min_records`` records with ``min_fillers`` distinct fillers is mined.
  Assign      candidates joined with the mined templates by key (a popular template's
              candidates are streamed, not held); each record takes the most specific
              template that keeps ``specific_share`` of its widest template's fillers.
  Verdicts    caption_template, action flag (the record is kept; the report and the
              layout stage use it): template text and id, the record's filler, the
              template's records and distinct fillers.
"""

import json

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.hashing import digest
from detectors.templates import candidates, choose, template_id
from schemas.settings import TemplateSettings
from schemas.reasons import Reason
from schemas.records import FLAG, Verdict, valid_image
from transforms.common.faults import error_verdict
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "caption_templates"
ERRORS = "errors"


def _candidates(record, settings):
    try:
        found = candidates(record.caption, settings)
    except Exception as err:   # this caption only: held back, the bundle goes on
        Metrics.counter(NAMESPACE, "errors").inc()
        yield beam.pvalue.TaggedOutput(ERRORS, error_verdict(record.uid, "caption_templates", err))
        return
    for template, filler in found:
        yield template, (record.uid, filler)


def _mined(element, min_fillers):
    """(template, (records, distinct fillers)) for a template with enough of both."""
    template, grouped = element
    records, fillers = sum(grouped["records"]), sum(grouped["fillers"])
    if grouped["records"] and fillers >= min_fillers:
        Metrics.counter(NAMESPACE, "templates_mined").inc()
        yield template, (records, fillers)


class _Assigned(beam.DoFn):
    def process(self, element):
        template, grouped = element
        stats = list(grouped["stats"])
        if not stats:
            return
        records, fillers = stats[0]
        for uid, filler in grouped["candidates"]:   # streamed
            yield uid, (template, records, fillers, filler)


class _Verdict(beam.DoFn):
    def __init__(self, share: float):
        self.share = share

    def setup(self):
        self.flagged = Metrics.counter(NAMESPACE, "records_in_templates")

    def process(self, element):
        uid, mined = element
        best = choose(list(mined), self.share)   # a record's own candidates: bounded
        if best is None:
            return
        template, records, fillers, filler = best
        self.flagged.inc()
        cluster = template_id(template)
        evidence = {"template": template, "template_id": cluster, "filler": filler,
                    "template_records": records, "template_fillers": fillers}
        yield Verdict(uid=uid, reason=Reason.CAPTION_TEMPLATE.value, action=FLAG,
                      evidence=json.dumps(evidence, sort_keys=True),
                      representative_id=None, group_size=records, cluster=cluster)


def templates_format(settings: TemplateSettings) -> dict:
    """What two runs' template counts must share to be added up (kept in the index)."""
    return {"kind": "caption_templates", "max_fixed": settings.max_fixed,
            "max_tokens": settings.max_tokens, "filler": "blake2b-64"}


class CaptionTemplates(beam.PTransform):
    """Records in; caption_template verdicts (flags) out, and detector_error for a caption
    the miner raised on; with ``index``, a dict of them (VERDICTS) and the running index's
    rows (INDEX): per template and distinct filler, the records that held it, earlier runs'
    included.

    Across runs, ``previous``: earlier runs' rows, counted with tonight's, so a template
    that grows by a few records a night is mined once all nights together hold enough, as
    one run over them would; only tonight's records get verdicts."""

    def __init__(self, settings: TemplateSettings, previous=None, index: bool = False):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index

    def expand(self, records):
        s = self.settings
        keyed = (records
                 | "Captions" >> beam.Filter(valid_image)
                 | "Candidates" >> beam.FlatMap(_candidates, s).with_outputs(
                     ERRORS, main="candidates"))
        errors, keyed = keyed[ERRORS], keyed.candidates
        # ((template, filler digest), records): what the index keeps, and all the counts need.
        per_filler = keyed | "Filler" >> beam.MapTuple(
            lambda t, v: ((t, digest(v[1].encode("utf-8", "surrogatepass"), 8)), 1))
        if self.previous is not None:
            earlier = self.previous | "Earlier" >> beam.Map(
                lambda row: ((row["template"], row["filler"]), row["records"]))
            per_filler = (per_filler, earlier) | "WithEarlierRuns" >> beam.Flatten()
        per_filler = per_filler | "PerFiller" >> beam.CombinePerKey(sum)
        counts = (per_filler
                  | "TemplateRecords" >> beam.MapTuple(lambda tf, n: (tf[0], n))
                  | "Records" >> beam.CombinePerKey(sum)
                  | "Enough" >> beam.Filter(lambda kv, least: kv[1] >= least, s.min_records))
        fillers = (per_filler
                   | "OneFiller" >> beam.MapTuple(lambda tf, _: (tf[0], 1))
                   | "Fillers" >> beam.CombinePerKey(sum))
        mined = ({"records": counts, "fillers": fillers}
                 | "JoinCounts" >> beam.CoGroupByKey()
                 | "Mined" >> beam.FlatMap(_mined, s.min_fillers))
        verdicts = ({"candidates": keyed, "stats": mined}
                    | "ByTemplate" >> beam.CoGroupByKey()
                    | "Assign" >> beam.ParDo(_Assigned())
                    | "ByRecord" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdict(s.specific_share)))
        verdicts = (verdicts, errors) | "WithErrors" >> beam.Flatten()
        if not self.index:
            return verdicts
        rows = per_filler | "IndexRows" >> beam.MapTuple(
            lambda tf, n: {"template": tf[0], "filler": tf[1], "records": n})
        return {VERDICTS: verdicts, INDEX: rows}
