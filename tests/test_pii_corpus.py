"""The Faker-made PII evaluation set: determinism, exact offsets, well-formed values, honest negatives."""

import base64
import collections
import ipaddress
import json
import re

import pytest

pytest.importorskip("faker")

from evaluation.pii_corpus import ENTITY_TYPES, LabelledDoc, Span, generate, write_jsonl  # noqa: E402
from detectors.pii.cards import luhn_valid  # noqa: E402


@pytest.fixture(scope="module")
def docs():
    return generate(1000, seed=7)


def iban_ok(iban):
    compact = iban.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def jwt_ok(token):
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return (header.startswith("eyJ") and payload.startswith("eyJ") and "alg" in decode(header)
            and "sub" in decode(payload) and re.fullmatch(r"[A-Za-z0-9_-]+", signature) is not None)


def ssn_ok(ssn):
    area, group, serial = re.split(r"[- ]", ssn)
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ip_ok(ip):
    ipaddress.ip_address(ip)
    return True


# Each labelled value has the documented shape: the format spec of the label, checked independently.
VALID = {
    "EMAIL_ADDRESS": lambda s: re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", s),
    "PHONE_NUMBER": lambda s: re.fullmatch(r"[+(]?[0-9][0-9 ().-]{5,}[0-9]", s) and "x" not in s,
    "CREDIT_CARD": lambda s: re.fullmatch(r"[0-9 -]{14,19}", s) and luhn_valid(re.sub(r"\D", "", s)),
    "US_SSN": lambda s: re.fullmatch(r"\d{3}([- ])\d{2}\1\d{4}", s) and ssn_ok(s),
    "IBAN_CODE": lambda s: re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9 ]+", s) and iban_ok(s),
    "IP_ADDRESS": ip_ok,
    "PERSON": lambda s: (re.fullmatch(r"[^\W\d_][\w'’. -]*", s)
                         and not s.startswith(("Dr. ", "Mr. ", "Ms. ", "Mrs. ", "Prof. "))),
    "LOCATION": lambda s: s.strip() == s and len(s) >= 2,
    "URL": lambda s: re.fullmatch(r"https?://[\w.-]+\.[a-z]{2,}/\S*", s),
    "AWS_ACCESS_KEY_ID": lambda s: re.fullmatch(r"(AKIA|ASIA)[A-Z2-7]{16}", s),
    "AWS_SECRET_ACCESS_KEY": lambda s: re.fullmatch(r"[A-Za-z0-9/+]{40}", s),
    "GITHUB_TOKEN": lambda s: re.fullmatch(r"gh[pousr]_[A-Za-z0-9]{36}"
                                           r"|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", s),
    "GITLAB_TOKEN": lambda s: re.fullmatch(r"glpat-[A-Za-z0-9_-]{20}", s),
    "SLACK_TOKEN": lambda s: re.fullmatch(r"xox[bpar](-\d{10,13}){2,3}-[A-Za-z0-9]{24,32}", s),
    # a whole block; service-account JSON writes its newlines as the two characters \n
    "PRIVATE_KEY": lambda s: re.fullmatch(r"-----BEGIN ((RSA|OPENSSH|EC) )?PRIVATE KEY-----(\n|\\n)"
                                          r"[A-Za-z0-9+/=\n\\]+(\n|\\n)"
                                          r"-----END ((RSA|OPENSSH|EC) )?PRIVATE KEY-----", s),
    "JWT": jwt_ok,
    "API_KEY": lambda s: re.fullmatch(r"[A-Za-z0-9]{32,48}", s),
}


def test_same_seed_same_output_other_seed_other_output(tmp_path):
    first, second = generate(150, seed=11), generate(150, seed=11)
    assert first == second
    write_jsonl(first, tmp_path / "a.jsonl")
    write_jsonl(second, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert generate(150, seed=12) != first


def test_spans_sorted_disjoint_and_well_formed(docs):
    for doc in docs:
        assert [s.start for s in doc.spans] == sorted(s.start for s in doc.spans)
        for a, b in zip(doc.spans, doc.spans[1:]):
            assert a.end <= b.start, doc
        for span in doc.spans:
            value = doc.text[span.start:span.end]
            assert 0 <= span.start < span.end <= len(doc.text)
            assert span.entity_type in ENTITY_TYPES
            assert VALID[span.entity_type](value), (span.entity_type, value, doc.template)


def test_every_type_often_and_a_fifth_pure_negatives(docs):
    counts = collections.Counter(s.entity_type for d in docs for s in d.spans)
    assert {t: counts[t] for t in ENTITY_TYPES if counts[t] < 20} == {}
    negatives = [d for d in docs if not d.spans]
    assert 0.15 <= len(negatives) / len(docs) <= 0.25
    assert len({d.template for d in negatives}) >= 6
    assert 25 <= len({d.template for d in docs}) <= 45


def test_offsets_are_code_points_past_non_ascii_text(docs):
    # de_DE names and the German template put umlauts and ß before later spans
    after_non_ascii = [(d, s) for d in docs for s in d.spans if not d.text[:s.start].isascii()]
    assert len(after_non_ascii) > 20
    for doc, span in after_non_ascii:
        assert VALID[span.entity_type](doc.text[span.start:span.end])


def test_no_unlabelled_secret_or_identifier_outside_spans(docs):
    # blank out the labelled spans; what is left (fixed text and distractors) must hold none
    strict = re.compile(r"(AKIA|ASIA)[A-Z2-7]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{30}"
                        r"|glpat-[\w-]{20}|xox[bpar]-\d|eyJ[\w-]+\.eyJ|-----BEGIN [A-Z ]*PRIVATE KEY-----\S"
                        r"|[\w.+-]+@[\w-]+\.[a-z]{2,}|https?://|\b\d{3}-\d{2}-\d{4}\b"
                        r"|\b(\d{1,3}\.){3}\d{1,3}\b")
    for doc in docs:
        rest = list(doc.text)
        for span in doc.spans:
            rest[span.start:span.end] = " " * (span.end - span.start)
        leftover = strict.search("".join(rest))
        assert leftover is None, (doc.template, leftover.group(0))


def test_hard_negatives_have_no_labels(docs):
    by_template = collections.defaultdict(list)
    for doc in docs:
        by_template[doc.template].append(doc)
    for name in ("git_log", "request_log", "inline_image", "release_notes", "order_confirmation",
                 "key_prefix_prose", "placeholder_config", "product_blurb"):
        assert by_template[name] and all(not d.spans for d in by_template[name]), name
    assert any("AKIA" in d.text for d in by_template["key_prefix_prose"])
    assert all(re.search(r"api_key=[A-Za-z0-9]{8,12} ", d.text) for d in by_template["placeholder_config"])


def test_write_jsonl_round_trip(tmp_path):
    docs = generate(40, seed=3)
    path = tmp_path / "pii.jsonl"
    write_jsonl(docs, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    back = [json.loads(line) for line in lines]
    assert set(back[0]) == {"text", "spans", "template"}
    assert [LabelledDoc(r["text"], tuple(Span(**s) for s in r["spans"]), r["template"]) for r in back] == docs
