"""Repeated spans (issue 19): units, windows and ranges (detectors/spans.py), the stage's
combiner and decisions (transforms/dedup/spans.py), the stage on the DirectRunner with
planted boilerplate, what Decide writes, and the whole job."""

import dataclasses
import itertools
import json
import random

import apache_beam as beam
import pytest

from detectors.spans import (document_key, holds, merge, remove, shift, units, windows,
                             word_count)
from schemas.reasons import Reason
from schemas.records import FLAG, QUARANTINE, REDACT, REMOVE, Removal, Span, Verdict
from schemas.settings import SpanSettings
from tests.builders import document, nodes_of, run_stage, text_record, write_jsonl
from pipeline.exits import UsageError
from tests.jobs import assert_conserved, run_job
from transforms.decide.rows import cleaned_row
from transforms.dedup.spans import (INDEX, SUMMARY, VERDICTS, CountSpan, Hit, Occurrence,
                                    RepeatedSpans, SpanCount, cut_verdicts, hit_for,
                                    span_cluster)


# ------------------------------------------------------------------ units and windows

def _pieces(text, unit):
    return [text[u.start:u.end] for u in units(text, unit)]


def test_sentences_end_at_stops_line_ends_and_cjk_full_stops():
    text = 'The first. Two! "Three?" she said.  Four…\nno stop here\n---\n  |  \n日本語。中文！End'
    assert _pieces(text, "sentence") == [
        "The first.", "Two!", '"Three?"', "she said.", "Four…", "no stop here", "日本語。", "中文！",
        "End"]   # "---" and "|" hold no letter or digit: not units


def test_lines_and_paragraphs():
    text = "  first line \nsecond line\n\n\n  third para, line one\nline two \n \nlast"
    assert _pieces(text, "line") == ["first line", "second line", "third para, line one",
                                     "line two", "last"]
    assert _pieces(text, "paragraph") == ["first line \nsecond line",
                                          "third para, line one\nline two", "last"]
    with pytest.raises(ValueError):
        units(text, "word")


def test_a_window_hashes_the_same_wherever_it_is_pasted_and_however_it_is_spaced():
    footer = "All rights reserved. Smith & Jones LLP. Call us today!"
    a = windows("A first page. It says things. " + footer, "sentence", 3)
    b = windows("Other text here\n\n" + footer.upper().replace(" ", "  ") + "\n", "sentence", 3)
    assert a[-1].hash == b[-1].hash
    # Full-width letters are NFKC-normalized as exact dedup normalizes them.
    c = windows("Ａll rights reserved. Smith & Jones LLP. Call us today!", "sentence", 3)
    assert c[0].hash == a[-1].hash
    assert windows("Just two. Sentences.", "sentence", 3) == []
    assert len(windows("Ab cd. Ef gh. Ij kl. Mn op. Qr st.", "sentence", 3)) == 3


def test_a_cut_takes_its_separators_with_it():
    text = "Keep one. Cut two. Cut three. Cut four. Keep five."
    w = windows(text, "sentence", 3)[1]
    assert text[w.start:w.end] == "Cut two. Cut three. Cut four."
    assert remove(text, [(w.cut_start, w.cut_end)]) == "Keep one. Keep five."
    # At the end of a text, the cut starts where the unit before ends.
    last = windows(text, "sentence", 3)[-1]
    assert remove(text, [(last.cut_start, last.cut_end)]) == "Keep one. Cut two."
    whole = windows("A b. C d. E f.", "sentence", 3)[0]
    assert (whole.cut_start, whole.cut_end) == (0, 14)


def test_exact_copies_share_a_document_key_others_do_not():
    assert document_key("Hello  World. Bye.") == document_key("hello world.\nBYE.")
    assert document_key("Hello world. Bye.") != document_key("Hello world. Bye now.")


def test_a_finding_that_only_spills_into_a_window_does_not_make_it_personal():
    # Measured (evaluation.spans with the PII stage): hosts cut after "James G.", "Mr.",
    # "W." made NER read "... Want" as a name, and the newsletter after them lost its first
    # copy (with "at least half inside" as the rule too: "Mr. Want").
    text = "Photographers James G. Want more stories? Sign up today. It is free."
    block = windows(text, "sentence", 3)[-1]
    assert text[block.start:block.end] == "Want more stories? Sign up today. It is free."
    spill = (text.index("James"), text.index("Want") + 4)
    assert not holds(block.start, block.end, [spill])
    name = (text.index("Sign"), text.index("Sign") + 7)   # inside: personal
    assert holds(block.start, block.end, [name])
    mister = (text.index("G."), text.index("Want") + 4)    # "G. Want": more in than out
    assert not holds(block.start, block.end, [mister])
    assert not holds(block.start, block.end, [])


def test_merge_remove_shift_and_words():
    assert merge([(8, 12), (1, 3), (3, 4), (5, 9), (7, 7)]) == [(1, 4), (5, 12)]
    ranges = merge([(2, 4), (6, 8)])
    assert remove("0123456789", ranges) == "014589"
    assert [shift(i, ranges) for i in range(11)] == [0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6]
    assert word_count("two words, 日本 three") == 5


# ------------------------------------------------------------------ counts and decisions

def _occ(i, document, personal=False, source="a.jsonl"):
    return Occurrence(source, i, f"u{i:04d}", f"r{i}", document, personal)


def test_the_count_is_bounded_and_the_same_in_any_order():
    combine = CountSpan(keep=2)
    occurrences = [_occ(5, "k5"), _occ(1, "k1"), _occ(3, "k1"), _occ(9, "k9", personal=True),
                   _occ(2, "k2")]
    results = set()
    for order in itertools.permutations(occurrences):
        # Any split into bundles, merged in any order.
        accs = [combine.add_input(combine.create_accumulator(), o) for o in order]
        acc = combine.merge_accumulators([combine.merge_accumulators(accs[:2]),
                                          combine.merge_accumulators(accs[2:])])
        assert len(acc[1]) <= 2     # never more than min_documents document keys
        results.add(combine.extract_output(acc))
    assert results == {SpanCount(documents=5, distinct=2, first_uid="u0001", first_id="r1",
                                 personal=True)}


def test_what_a_document_does_with_a_repeated_span():
    count = SpanCount(documents=4, distinct=4, first_uid="u0001", first_id="r1",
                      personal=False)
    assert hit_for(count, "u0001", "first") is None
    assert hit_for(count, "u0002", "first") == Hit("", REMOVE, 4, False, "r1")
    assert hit_for(count, "u0001", "all") == Hit("", REMOVE, 4, False, None)
    assert hit_for(count, "u0001", "flag") is None
    assert hit_for(count, "u0002", "flag") == Hit("", FLAG, 4, False, "r1")
    personal = count._replace(personal=True)
    for action in ("first", "all", "flag"):   # personal data: out of every document
        assert hit_for(personal, "u0001", action) == Hit("", REMOVE, 4, True, None)


def test_overlapping_windows_make_one_range_and_a_short_remainder_is_quarantined():
    footer = "Alpha beta gamma. Delta epsilon. Zeta eta theta. Iota kappa."
    text = "Own words of this page here. " + footer
    record = text_record(1, text)
    hits = [Hit(w.hash, REMOVE, 7, False, "r0") for w in windows(footer, "sentence", 3)]
    verdicts, seen, removed = cut_verdicts(record, hits, SpanSettings(min_words=0))
    (cut,) = verdicts
    assert cut.reason == Reason.REPEATED_SPAN.value and cut.action == REMOVE
    ev = json.loads(cut.evidence)
    assert (ev["start"], ev["end"]) == (text.index(footer) - 1, len(text))
    assert ev["spans"] == 2 and ev["documents"] == 7 and ev["kept_id"] == "r0"
    assert "Alpha" not in ev["preview"] and ev["preview"].startswith("A***")
    assert cut.removals == (Removal("text", ev["start"], ev["end"], hits[0].span, 7),)
    assert cut.cluster == span_cluster(hits[0].span) and cut.group_size == 7
    assert removed == len(footer) + 1 and seen[0][1].documents == 7
    # Six words left: under min_words 10, the record is quarantined besides.
    verdicts, _, _ = cut_verdicts(record, hits, SpanSettings(min_words=10))
    short = [v for v in verdicts if v.action == QUARANTINE]
    assert [v.reason for v in short] == [Reason.MOSTLY_REPEATED.value]
    assert json.loads(short[0].evidence)["words_left"] == 6


def test_decide_cuts_the_removals_then_redacts_what_is_left():
    text = "Hello Ann Lee. Footer one. Footer two, write to ann@x.org. Footer three. Bye."
    start = text.index("Footer one")
    end = text.index("Bye.")
    email = (text.index("ann@x.org"), text.index("ann@x.org") + len("ann@x.org"))
    name = (text.index("Ann Lee"), text.index("Ann Lee") + len("Ann Lee"))
    record = text_record(3, text)
    verdicts = [
        Verdict(uid=record.uid, reason=Reason.REPEATED_SPAN.value, action=REMOVE,
                evidence="{}", representative_id=None, group_size=9,
                removals=(Removal("text", start, end, "abc", 9),)),
        Verdict(uid=record.uid, reason=Reason.PII_CONTACT.value, action=REDACT, evidence="{}",
                representative_id=None, group_size=None,
                spans=[Span("text", "EMAIL_ADDRESS", *email, 1.0, "p"),
                       Span("text", "PERSON", *name, 0.85, "ner")])]
    row = cleaned_row(record, "r3", verdicts)
    assert row["text"] == "Hello <PERSON>. Bye."
    assert row["removed"] == [{"field": "text", "start": start, "end": end, "span": "abc",
                               "documents": 9}]
    assert [(r["entity_type"], r["start"], r["end"]) for r in row["redactions"]] == [
        ("PERSON", 6, 14)]
    assert row["flags"] == []   # what was cut is in removed, not repeated in flags


# ------------------------------------------------------------------ the stage on the DirectRunner

class _Variants(beam.PTransform):
    """One pipeline, several settings of the stage over the same inputs."""

    def __init__(self, **settings):
        super().__init__()
        self.settings = settings

    def expand(self, inputs):
        out = {}
        for name, s in self.settings.items():
            found = inputs | name >> RepeatedSpans(s)
            out[name], out[f"{name}-summary"] = found[VERDICTS], found[SUMMARY]
        return out


FOOTER = ("Smith and Jones LLP is a law firm. This message may be privileged. "
          "If you got it by mistake, delete it. Nothing here is legal advice.")
SIGNATURE = "Kind regards. Jane Roe, partner at Roe and Co. Write to jane.roe@roeco.example."


def _body(rng, sentences=8):
    return " ".join(f"{document(rng, 12).capitalize()}." for _ in range(sentences))


@pytest.fixture(scope="module")
def planted():
    """Pages with a planted footer (0-4, 8 an exact copy of 0, 11 mostly footer), a
    signature with an e-mail address (5-7), a span only two exact copies share (9, 10),
    and unique pages (12-14)."""
    rng = random.Random(19)
    texts = {i: _body(rng) + " " + FOOTER for i in range(5)}
    texts.update({i: _body(rng) + "\n" + SIGNATURE for i in range(5, 8)})
    texts[8] = texts[0]
    texts[9] = texts[10] = _body(rng)
    texts[11] = "Short page about one thing. " + FOOTER
    texts.update({i: _body(rng) for i in range(12, 15)})
    records = [text_record(i, texts[i]) for i in sorted(texts)]
    # The PII stage found the address in page 6 only: one finding marks the span.
    at = texts[6].index("jane.roe@")
    pii = [Verdict(uid="u0006", reason=Reason.PII_CONTACT.value, action=REDACT, evidence="{}",
                   representative_id=None, group_size=None,
                   spans=[Span("text", "EMAIL_ADDRESS", at, at + 22, 1.0, "pattern")])]
    settings = SpanSettings(enabled=True, min_words=20)
    ran = run_stage(_Variants(first=settings, all=dataclasses.replace(settings, action="all"),
                              flag=dataclasses.replace(settings, action="flag"),
                              hot=dataclasses.replace(settings, max_bucket=2)),
                    records, nodes_of(records), pii,
                    tags=("first", "all", "flag", "hot", "first-summary"))
    return texts, ran


def _by_record(verdicts):
    found = {}
    for v in verdicts:
        found.setdefault(int(v.uid[1:]), []).append(v)
    return found


def _removed(text, verdicts):
    ranges = merge((r.start, r.end) for v in verdicts if v.action == REMOVE
                   for r in v.removals)
    return remove(text, ranges)


def test_the_first_page_keeps_the_footer_and_every_other_page_loses_it(planted):
    texts, ran = planted
    found = _by_record(ran["first"])
    assert set(found) == {1, 2, 3, 4, 5, 6, 7, 8, 11}
    for i in (1, 2, 3, 4, 8):
        (v,) = found[i]
        assert v.reason == Reason.REPEATED_SPAN.value and v.action == REMOVE
        assert _removed(texts[i], found[i]) == texts[i][:texts[i].index(FOOTER) - 1]
        ev = json.loads(v.evidence)
        assert ev["kept_id"] == "r0" and ev["documents"] == 7 and not ev["personal"]
    # Pages 9 and 10 are one text twice: their span is not repeated across documents.
    assert 9 not in found and 10 not in found
    # Page 11 is left with five words: quarantined for it.
    assert sorted(v.reason for v in found[11]) == ["mostly_repeated", "repeated_span"]


def test_a_span_with_personal_data_leaves_every_page_its_first_too(planted):
    texts, ran = planted
    found = _by_record(ran["first"])
    for i in (5, 6, 7):
        (v,) = found[i]
        ev = json.loads(v.evidence)
        assert v.action == REMOVE and ev["personal"] and ev["kept_id"] is None
        assert _removed(texts[i], found[i]) == texts[i][:texts[i].index(SIGNATURE) - 1]
        assert "jane" not in ev["preview"].lower()
    summary = ran["first-summary"][0]
    top = summary["top_spans"]
    assert top[0]["personal"] and top[0]["documents"] == 3   # ranks first, though rarer
    assert top[1]["documents"] == 7 and not top[1]["personal"]
    assert summary["texts_scanned"] == 15 and summary["documents_cut"] == 9
    assert summary["documents_mostly_repeated"] == 1
    removed = sum(len(texts[i]) - len(_removed(texts[i], v))
                  for i, v in _by_record(ran["first"]).items())
    assert summary["characters_removed"] == removed
    assert summary["share_removed"] == round(removed / sum(map(len, texts.values())), 6)


def test_all_removes_the_first_too_and_flag_only_flags(planted):
    texts, ran = planted
    everywhere = _by_record(ran["all"])
    assert set(everywhere) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 11}
    assert [v.action for v in everywhere[0]] == [REMOVE]
    flagged = _by_record(ran["flag"])
    for i in (1, 2, 3, 4, 8, 11):   # no removal, so nothing left short either
        assert [v.action for v in flagged[i]] == [FLAG]
        assert flagged[i][0].removals is None
    for i in (5, 6, 7):             # personal data is removed whatever the action
        assert [v.action for v in flagged[i]] == [REMOVE]
    assert 0 not in flagged


def test_hot_spans_come_out_the_same(planted):
    _, ran = planted
    key = lambda v: (v.uid, v.reason, v.evidence)   # noqa: E731
    assert sorted(ran["hot"], key=key) == sorted(ran["first"], key=key)


# ------------------------------------------------------------------ the whole job

def test_the_job_cuts_repeated_spans_from_cleaned_rows(tmp_path):
    rng = random.Random(7)
    rows = [{"id": f"page-{i}", "text": _body(rng) + " " + FOOTER} for i in range(4)]
    rows.append({"id": "short", "text": "A short note. " + FOOTER})
    rows += [{"id": f"other-{i}", "text": _body(rng)} for i in range(3)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    out = run_job(tmp_path / "out", [tmp_path / "in.jsonl"], "--repeated-spans",
                  "--span-min-words", "20", "--no-pii", "--no-near-dedup-text")
    assert_conserved(out)
    cleaned = {r["id"]: r for r in out.cleaned_text}
    assert FOOTER in cleaned["page-0"]["text"] and cleaned["page-0"]["removed"] == []
    for i in (1, 2, 3):
        row = cleaned[f"page-{i}"]
        assert FOOTER not in row["text"] and row["text"] == rows[i]["text"][:-len(FOOTER) - 1]
        (cut,) = row["removed"]
        assert rows[i]["text"][cut["start"]:cut["end"]] == " " + FOOTER
        assert cut["documents"] == 5
    (short,) = out.quarantine
    assert short["id"] == "short" and short["primary_reason"] == "mostly_repeated"
    assert span_cluster(cleaned["page-1"]["removed"][0]["span"]) in short["clusters"]
    spans = out.summary["repeated_spans"]
    assert spans["documents_cut"] == 4 and spans["cleaned_records_cut"] == {"text": 3}
    assert out.summary["reasons"] == {"mostly_repeated": 1}
    page = (out.path / "report" / "index.html").read_text()
    assert 'id="repeated-spans"' in page and "S*** a*** J*** L***" in page
    assert "Smith and Jones" not in page   # spans are shown masked


# ------------------------------------------------------------------ across nightly runs

class _Nights(beam.PTransform):
    """Night one (its index), night two with night one's index, and one run over both."""

    def __init__(self, settings, night_one_uids):
        super().__init__()
        self.settings = settings
        self.night_one = frozenset(night_one_uids)

    def expand(self, inputs):
        records, nodes, pii = inputs
        one = lambda r: r.uid in self.night_one            # noqa: E731
        first = (records | "One" >> beam.Filter(one), nodes, pii) | "NightOne" >> RepeatedSpans(
            self.settings, index=True)
        second = ((records | "Two" >> beam.Filter(lambda r: not one(r)), nodes, pii)
                  | "NightTwo" >> RepeatedSpans(self.settings, previous=first[INDEX]))
        both = (records, nodes, pii) | "Both" >> RepeatedSpans(self.settings)
        return {"one": first[VERDICTS], "index": first[INDEX], "two": second[VERDICTS],
                "both": both[VERDICTS]}


def test_tonight_loses_what_earlier_nights_kept_as_one_run_over_all_nights_would():
    rng = random.Random(23)
    shared = _body(rng, 3)   # night one's page 1 and night two's page 3 share it
    texts = [_body(rng) + " " + FOOTER, _body(rng) + " " + shared,
             _body(rng) + " " + FOOTER, shared + " " + _body(rng) + " " + FOOTER,
             _body(rng)]
    records = [text_record(i, t) for i, t in enumerate(texts)]
    settings = SpanSettings(enabled=True, min_words=20)
    ran = run_stage(_Nights(settings, ["u0000", "u0001"]), records, nodes_of(records), [],
                    tags=("one", "index", "two", "both"))

    def decided(verdicts):
        return sorted((v.uid, v.reason, v.action, v.removals) for v in verdicts)

    night_two = [v for v in ran["both"] if v.uid not in ("u0000", "u0001")]
    assert decided(ran["two"]) == decided(night_two)
    assert {v.uid for v in ran["two"]} == {"u0002", "u0003"}
    assert all(json.loads(v.evidence).get("earlier_run") for v in ran["two"])
    assert ran["one"] == []   # night one alone: its two pages share nothing
    rows = {row["span"]: row for row in ran["index"]}
    assert len(rows) == sum(len(windows(t)) for t in texts[:2])
    assert {row["documents"] for row in rows.values()} == {1}


def test_two_nights_through_the_job_index(tmp_path):
    rng = random.Random(29)
    night_one = [{"id": f"one-{i}", "text": _body(rng) + " " + FOOTER} for i in range(2)]
    night_two = [{"id": "two-0", "text": _body(rng) + " " + FOOTER},
                 {"id": "two-1", "text": _body(rng)}]
    write_jsonl(tmp_path / "one.jsonl", night_one)
    write_jsonl(tmp_path / "two.jsonl", night_two)
    flags = ["--repeated-spans", "--no-pii", "--no-near-dedup-text", "--no-report"]
    first = run_job(tmp_path / "out-1", [tmp_path / "one.jsonl"], *flags,
                    "--index-out", str(tmp_path / "index-1"))
    shards = list((tmp_path / "index-1" / "spans").glob("part-*.parquet"))
    assert shards and first.summary["repeated_spans"]["documents_cut"] == 1
    second = run_job(tmp_path / "out-2", [tmp_path / "two.jsonl"], *flags,
                     "--index-in", str(tmp_path / "index-1"))
    assert second.summary["conservation"]["ok"] and len(second.cleaned_text) == 2
    cleaned = {r["id"]: r for r in second.cleaned_text}
    (cut,) = cleaned["two-0"]["removed"]
    assert night_two[0]["text"][cut["start"]:cut["end"]] == " " + FOOTER
    assert cut["documents"] == 3 and cleaned["two-1"]["removed"] == []
    assert second.manifest()["index"]["in"]["spans"] == [str(p) for p in sorted(shards)]
    # Spans cut another way cannot be compared: refused before the run starts.
    with pytest.raises(UsageError, match="spans part was made with other repeated_spans"):
        run_job(tmp_path / "out-3", [tmp_path / "two.jsonl"], *flags, "--span-window", "2",
                "--index-in", str(tmp_path / "index-1"))
