"""Labelled PII evaluation set made with Faker: text with the known spans of personal data and secrets.

Each document comes from one small template (support mail, CV, invoice, HR note, log, config file,
code, chat). The fixed text of every template holds no entity of the labelled kinds, so every
entity in a document is one that was inserted and labelled, and precision measured on it is
honest. About a fifth of the documents are hard negatives with no label at all: hashes, UUIDs,
version strings, ISBNs, key prefixes in prose, placeholder keys too short to be keys, firms named
after people ("Griffin, Griffith and Perez"), headlines of capitalised words, German, French and
Spanish notices. Labels of contact lines ("Tel.", "Fax", "Re:", "Subject:") and streets and
towns made of names ("Kathleen Highway", "Lake Katieview") stand next to labelled values.

    python -m evaluation.pii_corpus --n 1000 --seed 7 --out /tmp/pii.jsonl

The same n and seed give byte-identical output: every choice comes from one random.Random and
from Faker instances seeded from it, and nothing reads the clock.
"""

import argparse
import base64
import collections
import dataclasses
import datetime
import ipaddress
import json
import random
import re
import string
import uuid
from typing import Dict, Iterable, List, Optional, Tuple, Union

from faker import Faker

ENTITY_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
                "PERSON", "LOCATION", "URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "PRIVATE_KEY", "JWT", "API_KEY")
NEGATIVE_SHARE = 0.2
LOCALES = ("en_US", "en_GB", "en_IN", "de_DE")
IBAN_LOCALES = ("de_DE", "en_GB", "fr_FR", "nl_NL", "es_ES", "it_IT")
CARD_TYPES = ("visa16", "mastercard", "amex", "discover", "jcb16", "diners")
ALNUM = string.ascii_letters + string.digits
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # not strftime's %B, which follows the process locale


@dataclasses.dataclass(frozen=True)
class Span:
    start: int
    end: int  # exclusive; offsets are Python str indices (code points), not bytes
    entity_type: str


@dataclasses.dataclass(frozen=True)
class LabelledDoc:
    text: str
    spans: Tuple[Span, ...]  # sorted by start, non-overlapping
    template: str


Value = Tuple[str, Optional[str]]  # (text, entity type); None: inserted but not labelled


class _Values:
    """Makers of inserted values, one per template field name ({city} calls city()).

    Each returns (text, entity type), the type None for an unlabelled distractor.
    """

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fakers: Dict[str, Faker] = {}
        for i, locale in enumerate(sorted(set(LOCALES + IBAN_LOCALES))):
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(seed * 100 + i)

    def _faker(self, locales: Iterable[str] = LOCALES) -> Faker:
        return self.fakers[self.rng.choice(tuple(locales))]

    def _chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    # --- personal data (Faker) ---
    def person(self, locales: Iterable[str] = LOCALES) -> Value:
        # first + last, never name(): that one adds "Dr."/"MD" which must stay outside the span
        f = self._faker(locales)
        return f"{f.first_name()} {f.last_name()}", "PERSON"

    def person_de(self) -> Value:  # umlauts and ß, to test offsets past non-ASCII text
        return self.person(("de_DE",))

    def first_name(self) -> Value:
        return self._faker().first_name(), "PERSON"

    def email(self) -> Value:
        return self._faker().email(), "EMAIL_ADDRESS"

    def phone(self) -> Value:
        # the extension ("x0575") is dropped: detectors disagree on whether it belongs to the number
        return re.sub(r"\s*x\d+$", "", self._faker().phone_number()), "PHONE_NUMBER"

    def credit_card(self) -> Value:
        digits = self.fakers["en_US"].credit_card_number(self.rng.choice(CARD_TYPES))
        groups = {16: (4, 4, 4, 4), 15: (4, 6, 5), 14: (4, 6, 4)}.get(len(digits))
        if groups is None or self.rng.random() < 0.4:
            return digits, "CREDIT_CARD"
        parts, at = [], 0
        for size in groups:
            parts.append(digits[at:at + size])
            at += size
        return self.rng.choice((" ", "-")).join(parts), "CREDIT_CARD"

    def ssn(self) -> Value:
        while True:  # redraw the few that validators (presidio's too) rightly reject as not issued
            ssn = self.fakers["en_US"].ssn()
            digits = ssn.replace("-", "")
            if (digits[:3] not in ("000", "666") and digits[0] != "9" and digits[3:5] != "00"
                    and digits[5:] != "0000" and len(set(digits)) > 1
                    and not digits.startswith(("123456789", "078051120", "98765432"))):
                break
        return (ssn if self.rng.random() < 0.85 else ssn.replace("-", " ")), "US_SSN"

    def iban(self) -> Value:
        iban = self.fakers[self.rng.choice(IBAN_LOCALES)].iban()
        if self.rng.random() < 0.5:  # the printed form, groups of four
            iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
        return iban, "IBAN_CODE"

    def ipv4(self) -> Value:
        return self.fakers["en_US"].ipv4_public(), "IP_ADDRESS"

    def ipv6(self) -> Value:
        ip = self.fakers["en_US"].ipv6()
        return (ipaddress.ip_address(ip).compressed if self.rng.random() < 0.5 else ip), "IP_ADDRESS"

    def ip(self) -> Value:
        return self.ipv4() if self.rng.random() < 0.7 else self.ipv6()

    def url(self) -> Value:
        f = self._faker(("en_US", "en_GB", "de_DE"))
        return (f.url() if self.rng.random() < 0.5 else f.uri()), "URL"

    def city(self) -> Value:
        return self._faker().city(), "LOCATION"

    def country(self) -> Value:
        return self.fakers["en_US"].country(), "LOCATION"

    def place(self) -> Value:
        return self.rng.choice((self.city, self.city, self.country,
                                lambda: (self.fakers["en_US"].state(), "LOCATION")))()

    def street(self) -> Value:
        return ", ".join(self._faker().street_address().splitlines()), "LOCATION"

    def address(self) -> Value:
        return self._faker().address(), "LOCATION"

    def street_name(self) -> Value:  # no number: "Kathryn Park", "Robert Point"
        return self._faker(("en_US", "en_GB")).street_name(), "LOCATION"

    # --- look like names, and are none (unlabelled) ---
    def company(self) -> Value:  # "Griffin, Griffith and Perez", "Wall Inc", "Kramer GmbH"
        while True:  # a bare surname ("Losekann", "Ross-Pearce") may be a person's: redrawn
            company = self._faker(("en_US", "en_GB", "de_DE")).company()
            if " " in company:
                return company, None

    def headline(self) -> Value:  # English words in title case: "Across Thing Rather Rise"
        words = self.fakers["en_US"].words(self.rng.randint(3, 6))
        return " ".join(w.capitalize() for w in words), None

    # --- secrets (made with the Random, in the documented formats) ---
    def aws_key_id(self) -> Value:
        return self.rng.choice(("AKIA", "ASIA")) + self._chars(string.ascii_uppercase + "234567", 16), \
            "AWS_ACCESS_KEY_ID"

    def aws_secret(self) -> Value:
        return self._chars(ALNUM + "+/", 40), "AWS_SECRET_ACCESS_KEY"

    def github_token(self) -> Value:
        if self.rng.random() < 0.3:  # fine-grained personal access token
            return f"github_pat_{self._chars(ALNUM, 22)}_{self._chars(ALNUM, 59)}", "GITHUB_TOKEN"
        return self.rng.choice(("ghp_", "gho_", "ghu_", "ghs_", "ghr_")) + self._chars(ALNUM, 36), \
            "GITHUB_TOKEN"

    def gitlab_token(self) -> Value:
        return "glpat-" + self._chars(ALNUM + "_-", 20), "GITLAB_TOKEN"

    def slack_token(self) -> Value:
        kind = self.rng.choice(("xoxb", "xoxp", "xoxa", "xoxr"))
        groups = [self._chars(string.digits, self.rng.choice((11, 12, 13)))
                  for _ in range(2 if kind == "xoxb" else 3)]
        tail = self._chars(ALNUM, 24) if kind == "xoxb" else self._chars("0123456789abcdef", 32)
        return "-".join([kind] + groups + [tail]), "SLACK_TOKEN"

    def private_key(self, kind: Optional[str] = None) -> Value:
        kind = self.rng.choice(("RSA", "OPENSSH", "EC", "")) if kind is None else kind
        # DER/openssh headers first, so the body starts like a real key (MIIE..., b3BlbnNzaC1rZXkt...)
        head, size, width = {
            "RSA": (b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00", 1180, 64),
            "OPENSSH": (b"openssh-key-v1\x00", self.rng.choice((380, 1800)), 70),
            "EC": (b"\x30\x77\x02\x01\x01\x04\x20", 112, 64),
            "": (b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01",
                 1200, 64)}[kind]
        body = base64.b64encode(head + self.rng.randbytes(size)).decode()
        label = f"{kind} PRIVATE KEY".strip()
        lines = [body[i:i + width] for i in range(0, len(body), width)]
        return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", "PRIVATE_KEY"

    def private_key_json(self) -> Value:  # as in a cloud service-account file: one line, \n escaped
        key, label = self.private_key("")
        return key.replace("\n", "\\n"), label

    def jwt(self) -> Value:
        alg = self.rng.choice(("HS256", "RS256"))
        iat = self.rng.randint(1_500_000_000, 1_750_000_000)
        claims = {"sub": str(self.rng.randint(10**8, 10**10)), "iat": iat, "exp": iat + 3600,
                  "scope": self.rng.choice(("read", "read write", "admin"))}
        parts = [json.dumps(part, separators=(",", ":")).encode()
                 for part in ({"alg": alg, "typ": "JWT"}, claims)]
        parts.append(self.rng.randbytes(32 if alg == "HS256" else 256))
        return ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in parts), "JWT"

    def api_key(self) -> Value:
        return self._chars(ALNUM, self.rng.randint(32, 48)), "API_KEY"

    # --- unlabelled distractors ---
    def _day(self) -> datetime.date:
        return datetime.date(2016, 1, 1) + datetime.timedelta(days=self.rng.randrange(3000))

    def date(self) -> Value:
        d = self._day()
        return self.rng.choice((d.isoformat(), f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
                                f"{d.month:02d}/{d.day:02d}/{d.year}")), None

    def date_iso(self) -> Value:
        return self._day().isoformat(), None

    def date_de(self) -> Value:
        return self._day().strftime("%d.%m.%Y"), None

    def log_time(self) -> Value:  # common log format; month abbreviations spelled out, not %b
        d, r = self._day(), self.rng.randrange
        clock = f"{r(24):02d}:{r(60):02d}:{r(60):02d}"
        return f"{d.day:02d}/{MONTHS[d.month - 1][:3]}/{d.year}:{clock} +0000", None

    def time(self) -> Value:
        return f"{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}", None

    def num(self) -> Value:  # ports, pids, sizes, durations
        return str(self.rng.randint(2, 65535)), None

    def year(self) -> Value:
        return str(self.rng.randint(1995, 2022)), None

    def title(self) -> Value:
        return self.rng.choice(("Dr.", "Prof.", "Mr.", "Ms.", "Mrs.")), None

    def price(self) -> Value:
        units, cents = self.rng.randint(5, 4000), self.rng.randrange(100)
        return self.rng.choice((f"${units:,}.{cents:02d}", f"EUR {units}.{cents:02d}",
                                f"£{units}.{cents:02d}")), None

    def order(self) -> Value:
        digits = self._chars(string.digits, self.rng.randint(7, 10))
        return self.rng.choice(("ORD-", "INV-", "#", "")) + digits, None

    def commit(self) -> Value:
        return self.rng.randbytes(20).hex(), None

    def hex_md(self) -> Value:
        return self.rng.randbytes(16).hex(), None

    def hex_sha(self) -> Value:
        return self.rng.randbytes(32).hex(), None

    def trace(self) -> Value:
        return self.rng.randbytes(8).hex(), None

    def uuid(self) -> Value:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), None

    def isbn(self) -> Value:
        digits = "978" + self._chars(string.digits, 9)
        check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10) % 10
        return f"{digits[:3]}-{digits[3]}-{digits[4:8]}-{digits[8:]}-{check}", None

    def version(self) -> Value:  # three parts: a four-part 1.2.3.4 would be a real IPv4 address
        r = self.rng.randint
        return self.rng.choice((f"{r(1, 5)}.{r(0, 99)}.{r(0, 20)}",
                                f"v{r(12, 22)}.{r(0, 20)}.{r(0, 9)}")), None

    def windows_build(self) -> Value:  # four parts, but the third is past 255: not an address
        r = self.rng.randint
        return f"10.0.{r(17763, 22631)}" + self.rng.choice(("", f".{r(1000, 4000)}")), None

    def short_id(self) -> Value:  # after api_key=, but too short to be a key
        return self._chars(ALNUM, self.rng.randint(8, 12)), None

    def png_base64(self) -> Value:
        data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + self.rng.randbytes(120)
        return base64.b64encode(data).decode(), None


# Templates: name -> pattern, or a tuple of alternative patterns. A field {maker} or {maker:2} is
# filled by _Values.maker(); the same field twice gets the same value, {city} and {city:2} differ.
# The fixed text holds no name, place, address or other entity, so the labels are complete.
POSITIVE: Dict[str, Union[str, Tuple[str, ...]]] = {
    "support_reply": "Hi {first_name},\n\nThanks for getting in touch. I have updated the phone number on "
                     "your account to {phone} and sent a confirmation to {email}. Let us know if anything "
                     "else looks wrong.\n\nBest regards,\n{person}\nCustomer Care",
    "email_signature": "Kind regards,\n\n{person}\nAccount Manager\nT: {phone}\nE: {email}\nW: {url}",
    "forum_post": ("Re: VPN keeps disconnecting\n\nSame problem here since the last update. My public "
                   "address is {ip} and the tunnel drops every ten minutes. If anyone wants logs, mail me "
                   "at {email}",
                   "Re: best laptop for students?\n\nI bought mine in {city} last spring and I'm happy with "
                   "it. Happy to answer questions: {email} or {phone}."),
    "bio": ("{title} {person} moved to {city} in {year} and has led the materials lab there ever since. "
            "Before that they spent six years in {country}.",
            "Our keynote speaker, {person}, grew up in {place}, studied in {country} and now works on open "
            "data policy. Slides will be posted at {url} after the talk."),
    "cv_header": "{person}\n{street}, {city}\n{phone} | {email} | {url}\n\nPROFILE\nBackend engineer with "
                 "eight years of experience building payment systems.",
    "travel_note": "{person} flies from {city} to {city:2} ({country}) on {date}; the hotel can reach them "
                   "on {phone}.",
    "invoice": ("INVOICE {order}\nDate: {date}\n\nBill to:\n{person}\n{address}\n\n"
                "1 x Annual subscription   {price}\nPaid by card: {credit_card}\n"
                "Thank you for your business!",
                "Cardholder: {person}\nCard number: {credit_card}\nCVV: ***\nEmail for receipt: {email}"),
    "card_dispute": "customer: hi, my card {credit_card} was charged twice for the same order\n"
                    "agent: sorry about that! can you confirm the billing address?\n"
                    "customer: {street}, {city}\n"
                    "agent: thanks, the refund of {price} goes back to the same card",
    "fraud_alert": "We noticed an unusual payment of {price} on card {credit_card} from {country}. If this "
                   "wasn't you, call us at {phone} and we will block the card.",
    "bank_transfer": "Please transfer {price} to the following account by {date}:\nAccount holder: {person}\n"
                     "IBAN: {iban}\nReference: {order}",
    "german_transfer": "Sehr geehrte Damen und Herren,\n\nbitte überweisen Sie den offenen Betrag bis zum "
                       "{date_de} auf das Konto {iban} (Kontoinhaber: {person_de}).\n\n"
                       "Mit freundlichen Grüßen",
    "hr_record": "EMPLOYEE RECORD\nName: {person}\nSSN: {ssn}\nStart date: {date}\n"
                 "Home address: {street}, {city}\nEmergency contact phone: {phone}",
    "hr_note": ("For payroll, please confirm that the social security number on file for {person} is "
                "{ssn}; the last form we received had a typo.",
                "Applicant {person} (SSN {ssn}) has consented to a background check. Results go to {email} "
                "within five business days."),
    "server_log": ('{ip} - - [{log_time}] "GET /login HTTP/1.1" 200 {num}\n'
                   '{ip:2} - - [{log_time:2}] "GET /api/v2/orders HTTP/1.1" 304 0\n'
                   '{ip:3} - - [{log_time:3}] "POST /api/v2/users/me HTTP/1.1" 500 {num:2}',
                   "sshd[{num}]: Failed password for invalid user admin from {ip} port {num:2} ssh2\n"
                   "sshd[{num}]: Accepted publickey for deploy from {ip:2} port {num:3} ssh2"),
    "nginx_conf": "upstream backend {\n    server {ipv4}:8080;\n    server {ipv4:2}:8080 backup;\n}\n\n"
                  "location /admin {\n    allow {ipv6};\n    deny all;\n}",
    "firewall_ticket": "Please allow {ipv4} and {ipv6} on the reporting database; they belong to the new "
                       "office in {city}. Contact: {person}, {phone}.",
    "webhook_log": "{date_iso}T{time}:07Z WARN rejected request {uuid} from {ip}: token: {api_key} "
                   "exceeded its quota",
    "dotenv": ("DEBUG=false\nAWS_ACCESS_KEY_ID={aws_key_id}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"
               "GITHUB_TOKEN={github_token}\nSLACK_BOT_TOKEN={slack_token}",
               "PORT=8080\nAWS_ACCESS_KEY_ID={aws_key_id}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"
               "GITLAB_TOKEN={gitlab_token}\nPAYMENTS_API_KEY={api_key}",
               "AWS_ACCESS_KEY_ID={aws_key_id}\nAWS_SECRET_ACCESS_KEY={aws_secret}\nLOG_LEVEL=info"),
    "aws_config": ("[default]\naws_access_key_id = {aws_key_id}\naws_secret_access_key = {aws_secret}\n"
                   "region = eu-west-1",
                   'import boto3\n\ns3 = boto3.client(\n    "s3",\n    aws_access_key_id="{aws_key_id}",\n'
                   '    aws_secret_access_key="{aws_secret}",\n)\nprint(s3.list_buckets())'),
    "aws_chat": "{first_name}: the build still can't reach the bucket\n{first_name:2}: use access key "
                "{aws_key_id}, the secret key is {aws_secret} - delete this message after",
    "python_requests": ('import requests\n\nAPI_KEY = "{api_key}"\n'
                        'resp = requests.get("{url}", headers={"X-API-Key": API_KEY})\n'
                        'resp.raise_for_status()',
                        'headers = {"Authorization": "Bearer {jwt}"}\n'
                        'resp = requests.post("{url}", headers=headers, json=payload)'),
    "json_config": '{\n  "endpoint": "{url}",\n  "apiKey": "{api_key}",\n  "retries": 3\n}',
    "app_yaml": "service:\n  name: billing\n  api_key: {api_key}\n  notify:\n    slack_token: {slack_token}\n"
                "    email: {email}",
    "gitlab_ci": "deploy:\n  stage: deploy\n  variables:\n    GITLAB_TOKEN: {gitlab_token}\n"
                 "    SLACK_TOKEN: {slack_token}\n  script:\n    - ./deploy.sh",
    "shell_exports": ("export GITHUB_TOKEN={github_token}\nexport GITLAB_TOKEN={gitlab_token}\n"
                      "git push origin main",
                      "- name: Publish release\n  env:\n    GH_TOKEN: {github_token}\n"
                      "  run: gh release create v{version}"),
    "leaked_token_issue": "I accidentally pushed a personal access token ({github_token}) in commit "
                          "{commit}. It has been revoked; please also purge it from the mirror.",
    "curl": ('curl -s -H "Authorization: Bearer {jwt}" {url}',
             'curl -X POST -H "X-API-Key: {api_key}" -d \'{"limit": 10}\' {url}'),
    "jwt_debug": "Login works locally but the server at {ip} rejects this token as expired:\n{jwt}\n"
                 "Any idea why? The clocks look fine.",
    "key_paste": ("Here is the deploy key for the staging box, please don't forward it:\n\n{private_key}\n",
                  "ssh deploy@{ipv4} fails with 'Permission denied (publickey)'. This is the key I'm using:\n"
                  "{private_key}"),
    "service_account": '{\n  "type": "service_account",\n  "private_key_id": "{commit}",\n'
                       '  "private_key": "{private_key_json}\\n",\n  "client_email": "{email}"\n}',
    # labels of contact lines and mail headers are no names ("Tel", "Fax", "Re", "Subject")
    "mail_header": ("Subject: Re: {headline}\nTel. {phone}\nFax {phone:2}\nMobile: {phone:3}\n\n"
                    "Please find the updated quote attached.",
                    "Fwd: {headline}\n\nTel: {phone}\nCell: {phone:2}\nE-mail: {email}"),
    # streets and towns made of names ("Kathleen Highway", "Lake Katieview", "Davidmouth")
    "road_notice": ("Roadworks close {street_name} between {time} and {time:2} on {date}; buses to "
                    "{city} are diverted.",
                    "{company} has moved to {street}, {city}. Call the front desk on {phone}."),
    "slack_chat": ("[{time}] {first_name}: heads up, the bot token {slack_token} was pasted in the public "
                   "channel\n[{time:2}] {first_name:2}: rotating it now, thanks",
                   "[{time}] {first_name}: landed in {city}! call me at {phone} when you're free\n"
                   "[{time:2}] {first_name:2}: great, see you tonight"),
}

# Hard negatives: look like secrets or numbers of the labelled kinds, and are none of them.
NEGATIVE: Dict[str, Union[str, Tuple[str, ...]]] = {
    "git_log": "commit {commit}\nDate: {date}\n\n    Fix off-by-one in pagination of the orders endpoint\n\n"
               "    Change-Id: I{commit:2}",
    "request_log": "request {uuid} finished in {num} ms; payload sha256={hex_sha} md5={hex_md} trace={trace}",
    "inline_image": '<img alt="weekly sales chart" src="data:image/png;base64,{png_base64}">',
    "release_notes": "Tested on build {version} and Windows {windows_build}; the installer now needs runtime "
                     "{version:2} or newer.",
    "order_confirmation": "Order {order} placed on {date}: 2 x Practical Statistics (ISBN {isbn}) at {price} "
                          "each. Expected delivery within five working days.",
    "key_prefix_prose": (
        "Long-term access key IDs begin with AKIA and temporary ones with ASIA, so never paste either kind "
        "into a ticket.",
        "Classic personal access tokens start with ghp_ and fine-grained ones with github_pat_; the scanner "
        "looks for both prefixes.",
        "Bot tokens begin with xoxb- and user tokens with xoxp-, which makes them easy to spot in logs.",
        "Keys are stored as -----BEGIN PRIVATE KEY----- blocks; the header alone is not a secret."),
    "placeholder_config": "api_key={short_id}  # placeholder, the real key is injected at deploy time\n"
                          "AWS_SECRET_ACCESS_KEY=<your-secret-here>\npassword: ********\n"
                          "GITHUB_TOKEN=ghp_xxx",
    # firms named after people, and capitalised common words, in English, German, French
    # and Spanish: no one here is a person
    "business_news": (
        "{headline}\n\n{company} has agreed to buy {company:2} by {date}; shares of {company:3} "
        "rose by {num} points.",
        "Quarterly results: {company} grew its revenue to {price}, and {company:2} reported its "
        "first loss.",
        "Notieren Sie sich die Bestellnummer {order}. Der Preis beträgt {price}, die Lieferung "
        "kommt am {date_de}. Ihr Kundenservice",
        "Veuillez noter le numéro de commande {order}. Le prix est de {price}. Votre service client",
        "Apunte el número de pedido {order}. El precio es de {price}. Su equipo de atención al "
        "cliente"),
    "product_blurb": tuple(sentence + " Now {price}, while stock lasts." for sentence in (
        "The new kettle boils a litre of water in under three minutes and switches itself off.",
        "This backpack has a padded laptop sleeve, two bottle pockets and a rain cover.",
        "Our oat milk is made without added sugar and keeps for a week once opened.",
        "The standing desk remembers four heights and lifts up to eighty kilograms.")),
}

_FIELD = re.compile(r"\{([a-z_0-9]+)(?::\d+)?\}")  # lowercase only: JSON braces and ${VAR} stay literal


def _fill(pattern: str, values: _Values) -> Tuple[str, Tuple[Span, ...]]:
    """Fills the fields in order; a span is where a labelled value lands in the growing text."""
    parts, labelled, filled, pos, last = [], [], {}, 0, 0
    for match in _FIELD.finditer(pattern):
        if match.group(0) not in filled:
            filled[match.group(0)] = getattr(values, match.group(1))()
        value, entity_type = filled[match.group(0)]
        value = value.strip()  # some Faker data has stray spaces (en_IN city "Khora ")
        literal = pattern[last:match.start()]
        pos += len(literal)
        if entity_type:
            assert entity_type in ENTITY_TYPES, entity_type
            labelled.append((Span(pos, pos + len(value), entity_type), value))
        parts += [literal, value]
        pos += len(value)
        last = match.end()
    text = "".join(parts) + pattern[last:]
    spans = tuple(span for span, _ in labelled)
    # cheap self-check: each span slices back to what was inserted, and spans never overlap
    assert all(text[span.start:span.end] == value for span, value in labelled)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    return text, spans


def generate(n: int = 1000, seed: int = 7) -> List[LabelledDoc]:
    values = _Values(seed)
    docs = []
    for _ in range(n):
        pool = NEGATIVE if values.rng.random() < NEGATIVE_SHARE else POSITIVE
        name = values.rng.choice(sorted(pool))
        pattern = pool[name] if isinstance(pool[name], str) else values.rng.choice(pool[name])
        docs.append(LabelledDoc(*_fill(pattern, values), template=name))
    return docs


def write_jsonl(docs: Iterable[LabelledDoc], path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for doc in docs:
            out.write(json.dumps({"text": doc.text, "spans": [dataclasses.asdict(s) for s in doc.spans],
                                  "template": doc.template}, ensure_ascii=False) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="write the documents here as JSON lines")
    args = parser.parse_args(argv)
    docs = generate(args.n, args.seed)
    if args.out:
        write_jsonl(docs, args.out)
    counts = collections.Counter(s.entity_type for d in docs for s in d.spans)
    for entity_type in ENTITY_TYPES:
        print(f"{entity_type:24s}{counts[entity_type]:6d}")
    print(f"{'documents':24s}{len(docs):6d}\n{'without labels':24s}{sum(not d.spans for d in docs):6d}\n"
          f"{'templates used':24s}{len({d.template for d in docs}):6d}")


if __name__ == "__main__":
    main()
