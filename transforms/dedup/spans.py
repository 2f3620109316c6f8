"""Repeated spans: text that different documents share (footers, disclaimers, signatures,
navigation), removed from all but its first document, or from all, or flagged.

Document dedup keeps every page around a shared footer, since each page is unique, so the
footer survives once per page. C4 kept one copy of every repeated three-sentence span;
this stage does the same without any step holding a span's documents. Steps (counters in
namespace repeated_spans):

  Windows     each text's windows of ``window`` units (detectors/spans.py), hashed as
              exact dedup normalizes; with the document's node (input order, public id)
              and the PII stage's findings, by one join on uid of light values: a window
              holding a finding whole is marked personal (one a name only spills into
              is not: it would take the span from its first document too).
  Count       per span hash, a combiner of bounded state: documents holding it, the
              ``min_documents`` smallest document keys (exact copies of one text count
              once), the first document in input order, whether any copy is personal.
  Route       spans held by more than ``max_bucket`` documents are hot: few (at most the
              windows of the corpus over max_bucket), they reach every occurrence as a side
              input (the occurrences wait for it in keyed state: transforms/common/waiting.py).
              The other occurrences meet their span's count by a join on the hash, never
              more than max_bucket of them under one key.
  Cut         each document with repeated spans meets its text by a join on uid; its
              repeated windows merge into ranges (overlapping windows make one range), each
              a verdict: "remove" (Decide cuts it from the cleaned text and lists it in the
              row's ``removed``) or "flag". A text left with fewer than ``min_words``
              words is quarantined (mostly_repeated). A span with personal data is removed
              from every document, its first too.

"First" is the smallest (source, position, uid): the keep rule of the duplicate stages,
so a near-duplicate cluster's kept text is also the first of the spans it shares with its
copies. Outputs depend on no bundle order: every combiner is order-free.
"""

import json
from typing import NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from detectors.pii.spans import mask
from detectors.spans import (Window, document_key, holds, merge, remove, windows,
                             word_count)
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, REMOVE, Kind, Record, Removal, Verdict
from schemas.settings import SpanSettings
from transforms.common.faults import error_verdict
from transforms.common.flatten import FlattenShared
from transforms.common.waiting import ParDoAfterInput
from transforms.io.index import INDEX, VERDICTS

NAMESPACE = "repeated_spans"
TOP_SPANS = 20           # spans ranked in the summary
SPAN_CLUSTER = "span-"   # a repeated span's cluster: span-<its hash> (content-named)
SUMMARY = "summary"


class DocumentSpans(NamedTuple):
    """A text's windows, before it is known which are repeated."""
    document: str                # detectors.spans.document_key
    windows: Sequence[Window]


class Occurrence(NamedTuple):
    """One span hash in one document (a document repeating a span counts once)."""
    source: str
    position: int
    uid: str
    id: str                      # public id
    document: str
    personal: bool               # the PII stage found personal data inside it


class SpanCount(NamedTuple):
    documents: int               # documents holding it
    distinct: int                # different texts among them, counted up to min_documents
    first_uid: str
    first_id: str
    personal: bool


class Hit(NamedTuple):
    """What one document does with one of its spans."""
    span: str
    action: str                  # REMOVE or FLAG
    documents: int
    personal: bool
    kept_id: Optional[str]       # the document that keeps it (None: removed from all, or
    earlier: bool = False        # kept by an earlier run's document)


class Prior(NamedTuple):
    """A span earlier runs saw (their index): documents that held it there, up to
    min_documents of their document keys, whether any copy held personal data."""
    documents: int
    keys: Sequence[str]
    personal: bool


class SpanSeen(NamedTuple):
    """A removed or flagged span, for the summary's most repeated spans."""
    documents: int
    personal: bool
    preview: str                 # masked (detectors.pii.spans.mask)


for _type in (Window, DocumentSpans, Occurrence, SpanCount, Hit, Prior, SpanSeen):
    beam.coders.registry.register_coder(_type, beam.coders.RowCoder)


def is_text(record: Record) -> bool:
    return record.kind == Kind.TEXT.value and record.defect is None and bool(record.text)


def span_cluster(span: str) -> str:
    return SPAN_CLUSTER + span


# An earlier run's documents come first in input order: their "first" sorts before any
# (source, position, uid, id) of tonight's.
EARLIER = ("", -1, "", "")


def hit_for(count: SpanCount, uid: str, action: str) -> Optional[Hit]:
    """What a document does with a repeated span under ``action`` (first | all | flag);
    None: it keeps it."""
    first = uid == count.first_uid
    earlier = count.first_uid == EARLIER[2]
    if count.personal:
        return Hit("", REMOVE, count.documents, True, None, earlier)
    if action == "all":
        return Hit("", REMOVE, count.documents, False, None, earlier)
    if first:
        return None
    return Hit("", REMOVE if action == "first" else FLAG, count.documents, False,
               None if earlier else count.first_id, earlier)


# ------------------------------------------------------------------ count

class CountSpan(beam.CombineFn):
    """Occurrences of one span -> SpanCount. State: a count, at most ``keep`` document keys,
    the first occurrence and a flag, whatever the number of documents."""

    def __init__(self, keep: int):
        self.keep = keep

    def create_accumulator(self):
        return (0, (), None, False)

    def add_input(self, acc, occ):
        if isinstance(occ, Prior):   # what earlier runs counted: they come first
            return self.merge_accumulators([acc, (occ.documents, tuple(occ.keys), EARLIER,
                                                  occ.personal)])
        return self.merge_accumulators([acc, (1, (occ.document,), (
            occ.source, occ.position, occ.uid, occ.id), occ.personal)])

    def merge_accumulators(self, accs):
        documents, keys, first, personal = 0, set(), None, False
        for n, k, f, p in accs:
            documents += n
            keys.update(k)
            if f is not None and (first is None or f < first):
                first = f
            personal = personal or p
        return (documents, tuple(sorted(keys)[:self.keep]), first, personal)

    def extract_output(self, acc):
        documents, keys, first, personal = acc
        return SpanCount(documents, len(keys), first[2], first[3], personal)


class IndexSpan(CountSpan):
    """Earlier runs' counts and tonight's occurrences of one span -> its row in the running
    index (a Prior for the next run)."""

    def extract_output(self, acc):
        documents, keys, _, personal = acc
        return {"documents": documents, "keys": list(keys), "personal": personal}


# ------------------------------------------------------------------ the DoFns

class _Windows(beam.DoFn):
    def __init__(self, settings: SpanSettings):
        self.settings = settings

    def setup(self):
        self.scanned = Metrics.counter(NAMESPACE, "texts_scanned")
        self.counted = Metrics.counter(NAMESPACE, "windows")

    def process(self, record: Record):
        s = self.settings
        try:
            found = windows(record.text, s.unit, s.window)
            key = document_key(record.text, s.unit)
        except Exception as err:   # a text the splitter cannot take: not checked, not kept
            yield beam.pvalue.TaggedOutput("errors", error_verdict(record.uid, NAMESPACE, err))
            return
        self.scanned.inc()
        self.counted.inc(len(found))
        yield beam.pvalue.TaggedOutput("characters", len(record.text))
        if found:
            yield record.uid, DocumentSpans(key, found)


def _occurrences(element):
    """(uid, {spans, node, pii}) -> (span hash, Occurrence) once per distinct hash."""
    _, grouped = element
    doc, node = _first(grouped["spans"]), _first(grouped["node"])
    if doc is not None and node is not None:
        yield from _distinct(doc, node, list(grouped["pii"]))


def _first(values):
    return next(iter(values), None)


def _distinct(doc: DocumentSpans, node, personal_ranges):
    seen = {}
    for w in doc.windows:
        personal = holds(w.start, w.end, personal_ranges)
        seen[w.hash] = seen.get(w.hash, False) or personal
    _, source, position, uid, record_id = node
    for span, personal in seen.items():
        yield span, Occurrence(source, position, uid, record_id, doc.document, personal)


class _Route(beam.DoFn):
    """Occurrences of hot spans -> hits, from the side input; the others -> 'cold', to be
    joined with their span's count."""

    def __init__(self, action: str):
        self.action = action

    def setup(self):
        self.hot = Metrics.counter(NAMESPACE, "hot_span_occurrences")
        self._source, self._hot = None, {}

    def process(self, element, hot):
        if hot is not self._source:   # the side input changes per window, not per element
            self._source, self._hot = hot, dict(hot)
        span, occ = element
        if span not in self._hot:
            yield beam.pvalue.TaggedOutput("cold", element)
            return
        self.hot.inc()
        count = self._hot[span]
        if count is not None:
            hit = hit_for(count, occ.uid, self.action)
            if hit is not None:
                yield occ.uid, hit._replace(span=span)


def _hot_entry(element, min_documents: int):
    """A hot span's entry in the side input: its count, or None when it is held by exact
    copies of fewer than min_documents texts (their occurrences are then dropped)."""
    span, count = element
    return span, (count if count.distinct >= min_documents else None)


def _joined_hits(element, action: str):
    span, grouped = element
    count = _first(grouped["count"])
    if count is not None:   # none: a span of one document, nothing to do
        yield from _hits(span, count, grouped["occurrence"], action)


def _hits(span, count, occurrences, action):
    for occ in occurrences:
        hit = hit_for(count, occ.uid, action)
        if hit is not None:
            yield occ.uid, hit._replace(span=span)


def _verdict(uid: str, reason: Reason, action: str, evidence: dict, **typed) -> Verdict:
    return Verdict(uid=uid, reason=reason.value, action=action,
                   evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                   representative_id=None, group_size=typed.pop("group_size", None), **typed)


def cut_verdicts(record: Record, hits: Sequence[Hit], settings: SpanSettings):
    """A document's verdicts from its hits: one per merged range removed or flagged, and
    mostly_repeated when too little is left; with (span, SpanSeen) per range and the
    characters removed."""
    text = record.text
    by_span = {h.span: h for h in hits}
    found = [(w, by_span[w.hash]) for w in windows(text, settings.unit, settings.window)
             if w.hash in by_span]
    verdicts, seen, removed_ranges = [], [], []
    for action in (REMOVE, FLAG):
        mine = [(w, h) for w, h in found if h.action == action]
        edges = (lambda w: (w.cut_start, w.cut_end)) if action == REMOVE else (
            lambda w: (w.start, w.end))
        for start, end in merge(edges(w) for w, _ in mine):
            if action == REMOVE and end == len(text):   # no separator left dangling
                start = len(text[:start].rstrip())
            inside = [(w, h) for w, h in mine if start <= edges(w)[0] and edges(w)[1] <= end]
            (head, head_hit) = inside[0]
            documents = max(h.documents for _, h in inside)
            personal = any(h.personal for _, h in inside)
            preview = mask(" ".join(text[start:end].split()))
            evidence = {"span": head.hash, "spans": len(inside), "documents": documents,
                        "personal": personal, "kept_id": head_hit.kept_id, "start": start,
                        "end": end, "preview": preview}
            if head_hit.earlier:
                evidence["earlier_run"] = True   # an earlier night's document kept it
            removals = None
            if action == REMOVE:
                removed_ranges.append((start, end))
                removals = (Removal("text", start, end, head.hash, documents),)
            verdicts.append(_verdict(record.uid, Reason.REPEATED_SPAN, action, evidence,
                                     group_size=documents, cluster=span_cluster(head.hash),
                                     removals=removals))
            seen.append((head.hash, SpanSeen(documents, personal, preview)))
    removed_chars = sum(e - s for s, e in removed_ranges)
    if removed_ranges:
        left = word_count(remove(text, removed_ranges))
        if left < settings.min_words:
            verdicts.append(_verdict(record.uid, Reason.MOSTLY_REPEATED, QUARANTINE, {
                "words_left": left, "min_words": settings.min_words,
                "documents": max(seen_.documents for _, seen_ in seen),
                "characters": len(text), "characters_removed": removed_chars,
                "spans": sorted({s for s, _ in seen})}))
    return verdicts, seen, removed_chars


class _Cut(beam.DoFn):
    def __init__(self, settings: SpanSettings):
        self.settings = settings

    def setup(self):
        self.cut = Metrics.counter(NAMESPACE, "documents_cut")
        self.flagged = Metrics.counter(NAMESPACE, "documents_flagged")
        self.short = Metrics.counter(NAMESPACE, "documents_mostly_repeated")

    def process(self, element):
        uid, grouped = element
        hits, record = list(grouped["hit"]), _first(grouped["record"])
        if not hits or record is None:
            return
        try:
            verdicts, seen, removed = cut_verdicts(record, hits, self.settings)
        except Exception as err:
            yield error_verdict(uid, NAMESPACE, err)
            return
        actions = {v.action for v in verdicts}
        if REMOVE in actions:
            self.cut.inc()
            yield beam.pvalue.TaggedOutput("tally", ("documents_cut", 1))
            yield beam.pvalue.TaggedOutput("tally", ("characters_removed", removed))
        if FLAG in actions:
            self.flagged.inc()
            yield beam.pvalue.TaggedOutput("tally", ("documents_flagged", 1))
        if QUARANTINE in actions:
            self.short.inc()
            yield beam.pvalue.TaggedOutput("tally", ("documents_mostly_repeated", 1))
        for item in seen:
            yield beam.pvalue.TaggedOutput("seen", item)
        yield from verdicts


def _merge_seen(seen):
    seen = list(seen)
    return SpanSeen(max(s.documents for s in seen), any(s.personal for s in seen),
                    min(s.preview for s in seen))


def _summary(tally, top):
    counts = dict(tally)
    characters = counts.get("characters", 0)
    removed = counts.get("characters_removed", 0)
    return {
        "texts_scanned": counts.get("texts", 0),
        "repeated_spans": counts.get("repeated_spans", 0),
        "documents_cut": counts.get("documents_cut", 0),
        "documents_flagged": counts.get("documents_flagged", 0),
        "documents_mostly_repeated": counts.get("documents_mostly_repeated", 0),
        "characters_scanned": characters,
        "characters_removed": removed,
        "share_removed": round(removed / characters, 6) if characters else 0.0,
        # Spans with personal data first, then by the documents holding them.
        "top_spans": [{"span": span, "cluster": span_cluster(span), **s._asdict()}
                      for span, s in top],
    }


class RepeatedSpans(beam.PTransform):
    """(records, (uid, node) pairs, the PII stage's verdicts: empty without it) in; a dict
    out: the stage's verdicts (VERDICTS) and one dict for summary.json (SUMMARY).

    Across runs: ``previous``, a PCollection of earlier runs' index rows (``{"span",
    "documents", "keys", "personal"}``, one run's or several runs'), counts before tonight's
    documents, so tonight's pages lose spans that earlier nights kept, as one run over all
    nights would decide; with ``index``, the output has INDEX too: the running index, a row
    per span earlier runs' or tonight's texts hold, counted over both, for the next run's
    ``previous``."""

    def __init__(self, settings: SpanSettings, previous=None, index: bool = False):
        super().__init__()
        self.settings = settings
        self.previous = previous
        self.index = index

    def expand(self, inputs):
        records, nodes, pii = inputs
        s = self.settings
        texts = records | "Texts" >> beam.Filter(is_text)
        scanned = texts | "Windows" >> beam.ParDo(_Windows(s)).with_outputs(
            "errors", "characters", main="spans")
        personal = pii | "PersonalRanges" >> beam.FlatMap(
            lambda v: ((v.uid, (span.start, span.end)) for span in v.spans or ()
                       if span.field == "text"))
        joined = {"spans": scanned.spans, "node": nodes, "pii": personal}
        occurrences = (joined
                       | "ByDocument" >> beam.CoGroupByKey()
                       | "Occurrences" >> beam.FlatMap(_occurrences))
        counted = occurrences
        if self.previous is not None:
            prior = self.previous | "Prior" >> beam.Map(lambda row: (row["span"], Prior(
                row["documents"], tuple(row["keys"]), row["personal"])))
            counted = (occurrences, prior) | "WithEarlierRuns" >> FlattenShared()
        counts = counted | "Count" >> beam.CombinePerKey(CountSpan(s.min_documents))
        repeated = counts | "Repeated" >> beam.Filter(
            lambda kv, n: kv[1].distinct >= n, s.min_documents)
        hot = (counts
               | "Hot" >> beam.Filter(lambda kv, n: kv[1].documents > n, s.max_bucket)
               | "HotCounts" >> beam.Map(_hot_entry, s.min_documents))
        routed = occurrences | "Route" >> ParDoAfterInput(
            _Route(s.action), beam.pvalue.AsDict(hot), outputs=["cold"], main="hits")
        joined_hits = ({"count": repeated, "occurrence": routed.cold}
                       | "BySpan" >> beam.CoGroupByKey()
                       | "Hits" >> beam.FlatMap(_joined_hits, s.action))
        hits = (routed.hits, joined_hits) | "AllHits" >> beam.Flatten()
        cut = ({"record": texts | "TextByUid" >> beam.Map(lambda r: (r.uid, r)), "hit": hits}
               | "WithText" >> beam.CoGroupByKey()
               | "Cut" >> beam.ParDo(_Cut(s)).with_outputs("tally", "seen", main="verdicts"))
        verdicts = (cut.verdicts, scanned.errors) | "Verdicts" >> beam.Flatten()

        tally = ((cut.tally,
                  scanned.characters | "Characters" >> beam.Map(lambda n: ("characters", n)),
                  scanned.characters | "TextsScanned" >> beam.Map(lambda _: ("texts", 1)),
                  repeated | "RepeatedCount" >> beam.Map(lambda _: ("repeated_spans", 1)))
                 | "Tallies" >> beam.Flatten()
                 | "Sum" >> beam.CombinePerKey(sum))
        top = (cut.seen
               | "PerSpan" >> beam.CombinePerKey(_merge_seen)
               | "Top" >> beam.combiners.Top.Of(
                   TOP_SPANS, key=lambda kv: (kv[1].personal, kv[1].documents, kv[0])))
        summary = (records.pipeline
                   | "One" >> beam.Create([None])
                   | "Summary" >> beam.Map(lambda _, tally, top: _summary(tally, top),
                                           beam.pvalue.AsList(tally),
                                           beam.pvalue.AsSingleton(top, default_value=[])))
        found = {VERDICTS: verdicts, SUMMARY: summary}
        if self.index:
            found[INDEX] = (counted
                            | "IndexCounts" >> beam.CombinePerKey(IndexSpan(s.min_documents))
                            | "IndexRows" >> beam.MapTuple(lambda span, row: {"span": span,
                                                                               **row}))
        return found
