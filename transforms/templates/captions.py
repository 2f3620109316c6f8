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


class CaptionTemplates(beam.PTransform):
    """Records in; caption_template verdicts (flags) out, and detector_error for a caption
    the miner raised on."""

    def __init__(self, settings: TemplateSettings):
        super().__init__()
        self.settings = settings

    def expand(self, records):
        s = self.settings
        keyed = (records
                 | "Captions" >> beam.Filter(valid_image)
                 | "Candidates" >> beam.FlatMap(_candidates, s).with_outputs(
                     ERRORS, main="candidates"))
        errors, keyed = keyed[ERRORS], keyed.candidates
        counts = (keyed
                  | "One" >> beam.MapTuple(lambda t, _: (t, 1))
                  | "Records" >> beam.CombinePerKey(sum)
                  | "Enough" >> beam.Filter(lambda kv, least: kv[1] >= least, s.min_records))
        fillers = (keyed
                   | "Filler" >> beam.MapTuple(
                       lambda t, v: (t, digest(v[1].encode("utf-8", "surrogatepass"), 8)))
                   | "DistinctFillers" >> beam.Distinct()
                   | "OneFiller" >> beam.MapTuple(lambda t, _: (t, 1))
                   | "Fillers" >> beam.CombinePerKey(sum))
        mined = ({"records": counts, "fillers": fillers}
                 | "JoinCounts" >> beam.CoGroupByKey()
                 | "Mined" >> beam.FlatMap(_mined, s.min_fillers))
        verdicts = ({"candidates": keyed, "stats": mined}
                    | "ByTemplate" >> beam.CoGroupByKey()
                    | "Assign" >> beam.ParDo(_Assigned())
                    | "ByRecord" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdict(s.specific_share)))
        return (verdicts, errors) | "WithErrors" >> beam.Flatten()
