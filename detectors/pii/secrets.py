"""Recognizers for credentials that leak from code and config text.

One small class per kind of secret. Prefixed tokens (AKIA..., ghp_..., glpat-...,
xoxb-...) are recognised by their format alone; secrets without a prefix (AWS
secret keys, generic API keys) only next to the word that names them, and only
when they look random (Shannon entropy), so identifiers and placeholders such as
YOUR_API_KEY_HERE do not count. When a pattern carries such context, the
finding covers the named group ``secret`` only, not the key name.
"""

import base64
import binascii
import json
import math
from collections import Counter
from typing import List

import regex as re
from presidio_analyzer import LocalRecognizer, RecognizerResult

from detectors.pii.results import recognizer_result


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


class SecretRecognizer(LocalRecognizer):
    ENTITY = ""
    PATTERN: "re.Pattern" = None
    SCORE = 0.95

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language)

    def load(self) -> None:
        pass

    def is_valid(self, value: str) -> bool:
        return True

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        group = "secret" if "secret" in self.PATTERN.groupindex else 0
        results = []
        for match in self.PATTERN.finditer(text):
            if self.is_valid(match.group(group)):
                start, end = match.span(group)
                results.append(recognizer_result(self, self.ENTITY, start, end, self.SCORE))
        return results


class AwsAccessKeyIdRecognizer(SecretRecognizer):
    """AKIA (long-term) and ASIA (temporary) key ids: 4-letter prefix + 16 base32 characters."""
    ENTITY = "AWS_ACCESS_KEY_ID"
    PATTERN = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])")


class AwsSecretAccessKeyRecognizer(SecretRecognizer):
    """40 base64 characters, only where a key name or an access key id is close before it.

    The name may be AWS's own (aws_secret_access_key, SecretAccessKey) or, in prose, a
    plain "secret key" (or "geheimer Schlüssel", "clé secrète", "clave secreta") when an
    access key id or the word AWS comes shortly before the key: "use access key AKIA...,
    the secret key is ...", "Clé secrète AWS : ...".
    """
    ENTITY = "AWS_SECRET_ACCESS_KEY"
    PATTERN = re.compile(
        r"(?i:aws.{0,20}?secret|secret.?access.?key|(?-i:(?:AKIA|ASIA)[A-Z2-7]{16})"
        r"|(?P<plain>secret[ _-]?key|geheimer schl(?:ü|ue)ssel|cl[ée] secr[èe]te(?: aws)?"
        r"|clave secreta(?: de aws)?))"
        r"[\"']?\s{0,3}(?:[:=,]|=>|\s)\s{0,3}(?:(?i:is|was|ist|lautet|est|es)\s{1,3})?[\"']?"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
    AWS_BEFORE = re.compile(r"(?i:\baws)|(?:AKIA|ASIA)[A-Z2-7]{16}")
    LOOK_BACK = 200

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        results = []
        for match in self.PATTERN.finditer(text):
            if shannon_entropy(match.group("secret")) < 4.0:
                continue
            if match.group("plain") and not self.AWS_BEFORE.search(
                    text, max(0, match.start() - self.LOOK_BACK), match.start("secret")):
                continue  # a secret key of some other service
            results.append(recognizer_result(self, self.ENTITY, *match.span("secret"), self.SCORE))
        return results


class GitHubTokenRecognizer(SecretRecognizer):
    """Classic tokens (ghp_, gho_, ghu_, ghs_, ghr_ + 36) and fine-grained github_pat_ ones."""
    ENTITY = "GITHUB_TOKEN"
    PATTERN = re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}"
                         r"|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])")


class GitLabTokenRecognizer(SecretRecognizer):
    """Personal, deploy, runner, trigger, feed and OAuth tokens: a gl...- prefix + 20 or more."""
    ENTITY = "GITLAB_TOKEN"
    PATTERN = re.compile(r"(?<![A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt|gloas)"
                         r"-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])")


class SlackTokenRecognizer(SecretRecognizer):
    """Bot, user, app and refresh tokens (xoxb-, xoxp-, ...) and incoming-webhook URLs."""
    ENTITY = "SLACK_TOKEN"
    PATTERN = re.compile(r"(?<![A-Za-z0-9])xox[abposre]-(?:[0-9]{8,15}-){1,3}[A-Za-z0-9]{16,48}"
                         r"(?![A-Za-z0-9])"
                         r"|https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}"
                         r"/[A-Za-z0-9]{24}")


class PrivateKeyRecognizer(SecretRecognizer):
    """A PEM private key: the whole BEGIN ... END block (RSA, EC, DSA, OPENSSH, PKCS#8).

    A block cut short (a truncated file, or the end of an analysis chunk) still
    counts from its BEGIN line to the end of its base64 body; the tail of a block
    whose BEGIN line lies in the previous chunk counts from its body to END. Line
    breaks may be escaped, as in JSON ("private_key": "-----BEGIN ...\\nMIIE...").
    A header without a body ("stored as -----BEGIN PRIVATE KEY----- blocks") is none.
    """
    ENTITY = "PRIVATE_KEY"
    _BODY = r"(?:[A-Za-z0-9+/=\s:,-]|\\[nr])"
    _NEWLINE = r"(?:\s|\\[nr])"
    PATTERN = re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?-----"
        rf"(?:{_BODY}*?-----END (?:[A-Z0-9]+ ){{0,2}}PRIVATE KEY(?: BLOCK)?-----|{_BODY}*)"
        rf"|(?<![A-Za-z0-9+/=])[A-Za-z0-9+/=]{{40,}}{_NEWLINE}*?(?:\n|\\n)"
        rf"(?:[A-Za-z0-9+/=]|{_NEWLINE})*?"
        r"-----END (?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?-----")
    _KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{40}")

    def is_valid(self, value: str) -> bool:
        return self._KEY_MATERIAL.search(value) is not None


class JwtRecognizer(SecretRecognizer):
    """header.payload.signature in base64url, where the header decodes to JSON with "alg"."""
    ENTITY = "JWT"
    PATTERN = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"
                         r"\.[A-Za-z0-9_-]*(?![A-Za-z0-9_-])")

    def is_valid(self, value: str) -> bool:
        header = value.split(".", 1)[0]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (binascii.Error, ValueError):
            return False
        return isinstance(decoded, dict) and "alg" in decoded


class GenericApiKeyRecognizer(SecretRecognizer):
    """A random-looking token of 20-128 characters right after a word that names a key.

    The context (api_key=, "apiKey": , X-API-Key: , Authorization: Bearer ...) is
    what makes a long token a secret; randomness is what tells a key from an
    identifier, a path or a placeholder: at least 3.5 bits per character, with
    digits and letters both present.
    """
    ENTITY = "API_KEY"
    SCORE = 0.8
    # The key's name in English, German, French and Spanish ("API-Schlüssel", "clé d'API",
    # "clave de API"), then "is" in any of them ("lautet", "est", "es").
    PATTERN = re.compile(
        r"(?i:(?:api|access|auth|secret|private|client|app)[_.-]?(?:key|token|secret)"
        r"|x-api-key|apikey|(?<![A-Za-z])token|bearer|authorization"
        r"|(?:api|zugangs|geheim)[_.-]?schl(?:ü|ue)ssel|geheimer schl(?:ü|ue)ssel"
        r"|(?:cl[ée]|jeton|clave)(?: d['’]| de (?:l['’])?)?(?:api|acc[èe]s|acceso)"
        r"|cl[ée] secr[èe]te|clave secreta|(?:api|zugangs)[_.-]?token)"
        r"[\"']?\s{0,3}(?:[:=]|=>|\s)\s{0,3}"
        r"(?:(?i:ist|lautet|est|es|is|was|war|era)\s{1,3}(?:[:=]\s{0,3})?)?"
        r"(?i:bearer\s+|token\s+)?[\"']?"
        r"(?P<secret>[A-Za-z0-9_+/=.-]{20,128})(?![A-Za-z0-9_+/=.-])")

    def is_valid(self, value: str) -> bool:
        return (shannon_entropy(value) >= 3.5 and any(c.isdigit() for c in value)
                and any(c.isalpha() for c in value))


SECRET_RECOGNIZERS = (AwsAccessKeyIdRecognizer, AwsSecretAccessKeyRecognizer,
                      GitHubTokenRecognizer, GitLabTokenRecognizer, SlackTokenRecognizer,
                      PrivateKeyRecognizer, JwtRecognizer, GenericApiKeyRecognizer)
SECRET_ENTITIES = tuple(r.ENTITY for r in SECRET_RECOGNIZERS)

