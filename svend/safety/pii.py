"""PII filters: find personal data and secrets in model outputs and log lines, and redact them.

Each type is a pattern *plus a validity check*, because a pattern alone redacts half of every
changelog: a card number must pass the Luhn check and carry a known issuer prefix, an IBAN must have
its country's length and pass ISO 13616 mod-97, an SSN may not use the area numbers the SSA never
issues (000, 666, 9xx). Phone numbers have no checksum, so they need a phone *shape* (``+``
international, NANP ``(555) 123-4567``, a national trunk ``0…`` with 10–11 digits) or a phone word
nearby ("call", "tel", "mobile"); dates, versions, IP addresses and order numbers have none of these.

Types and their ids (the keys of ``conf/safety/default.yaml`` ``pii:``): ``email``, ``phone``,
``card``, ``iban``, ``api_key`` (provider-prefixed keys, JWTs, and ``secret = "…"`` assignments),
``private_key`` (PEM/OpenSSH blocks), ``us_ssn``, ``uk_nino``. Each has an action: ``redact``
(replace the span with ``[REDACTED:<type>]``), ``block`` (the gate refuses the whole output) or
``allow`` (leave it). Example::

    f = PIIFilter({"email": "redact", "card": "block"})
    f.apply("mail jo@example.com")     # PIIResult(text='mail [REDACTED:email]', ...)

Findings carry the type and the character span, never the matched text, so they can be logged.
``RedactingFilter`` puts the same redaction on a ``logging`` handler.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Mapping

PII_TYPES = ("email", "phone", "card", "iban", "api_key", "private_key", "us_ssn", "uk_nino")
ACTIONS = ("redact", "block", "allow")
# When spans overlap, the earlier type wins: a key block before the base64 in it, an IBAN before the
# digit groups inside it, a card before a phone-shaped piece of it.
_PRIORITY = ("private_key", "api_key", "iban", "card", "email", "us_ssn", "uk_nino", "phone")


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


@dataclass(frozen=True)
class Finding:
    """One piece of PII: its type, where it is, and which detector saw it (no text)."""

    type: str
    start: int
    end: int
    detector: str = ""


@dataclass
class PIIResult:
    text: str                              # the text with every ``redact`` finding replaced
    findings: list[Finding] = field(default_factory=list)
    redacted: dict[str, int] = field(default_factory=dict)   # type -> count
    blocked: dict[str, int] = field(default_factory=dict)
    allowed: dict[str, int] = field(default_factory=dict)


# --- checksums --------------------------------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616: country length, then the number made by moving the first four characters to the
    end and letters to 10..35 must be 1 mod 97."""
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _card_issuer_ok(digits: str) -> bool:
    """Issuer ranges of the networks in use (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro) with their lengths."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return 16 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if two == 62:
        return 16 <= n <= 19
    if two in (50, 56, 57, 58, 63, 67):  # Maestro; its rare 12–15 digit numbers are left out
        return 16 <= n <= 19
    return False


# Registry lengths (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

# --- detectors --------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w-])")
_NOT_TLD = frozenset("png jpg jpeg gif svg webp bmp ico tif tiff".split())  # icon@2x.png is a file

# (?<!\d ) and friends: not the tail of a longer digit-group run (an IBAN or a card written in groups)
_NOT_A_TAIL = r"(?<!\d )(?<!\d-)(?<!\d\.)"
_PHONE_INTL = re.compile(_NOT_A_TAIL + r"(?<![\w+])(?:\+|\b00)[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w]|[.-]\d)")
_PHONE_NANP = re.compile(
    _NOT_A_TAIL + r"(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)")
_PHONE_TRUNK = re.compile(_NOT_A_TAIL + r"(?<![\w+.-])0\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?![\w]|[.-]\d)")
_PHONE_WORD = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|text|sms|whatsapp|fax|ring|contact number|reach me)\b"
    r"[^\d\n]{0,24}?(\+?\(?\d[\d ().-]{5,18}\d)(?![\w]|[.-]\d)", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^(\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")

_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){11,18}(?![\w]|[.-]\d)")

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})(?=[ ]?[A-Z0-9])")

_API_KEYS = [
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})\b")),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])")),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
]
# `api_key = "…"`, `Authorization: Bearer …`, `"client_secret": "…"`: only the value is redacted.
_SECRET_ASSIGN = re.compile(
    r"(?i)\b(?:api[_-]?key|apikey|secret[_-]?key|secret|access[_-]?key(?:[_-]?id)?|client[_-]?secret|auth[_-]?token"
    r"|access[_-]?token|refresh[_-]?token|token|password|passwd|pwd|bearer)[\"']?\s*(?:[:=]|=>|\s)\s*[\"']?"
    r"([A-Za-z0-9_\-+/=.~]{16,})")
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|your[_-].*|.*(?:here|example|placeholder|changeme|dummy|redacted).*)$")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL)

_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w]|[.-]\d)")
_SSN_WORD = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?| #)?)\b[^\d\n]{0,15}"
                       r"((?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})(?!\d)")
_NINO = re.compile(r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                   r"( ?)\d{2}\1\d{2}\1\d{2}\1[A-D](?![A-Za-z0-9])")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _find_email(text: str):
    for m in _EMAIL.finditer(text):
        if m.group(1).lower() not in _NOT_TLD:
            yield m.start(), m.end(), "email"


def _find_phone(text: str):
    for m in _PHONE_INTL.finditer(text):
        s = m.group()
        if s.startswith("00") and not re.search(r"[ .()-]", s):
            continue  # 00 and a run of digits is more often a product code than a dialled number
        if 8 <= len(_digits(s)) - (2 if s.startswith("00") else 0) <= 15:
            yield m.start(), m.end(), "international"
    for m in _PHONE_NANP.finditer(text):
        yield m.start(), m.end(), "nanp"
    for m in _PHONE_TRUNK.finditer(text):
        s = m.group()
        if 10 <= len(_digits(s)) <= 11 and not _DATE_LIKE.match(s):
            yield m.start(), m.end(), "national"
    for m in _PHONE_WORD.finditer(text):
        s = m.group(1)
        if 7 <= len(_digits(s)) <= 15 and not _DATE_LIKE.match(s):
            yield m.start(1), m.end(1), "keyword"


def _find_card(text: str):
    for m in _CARD.finditer(text):
        s = m.group()
        groups = re.split(r"[ -]", s)
        if len(groups) > 1 and (min(len(g) for g in groups) < 3 or len({c for c in s if not c.isdigit()}) > 1):
            continue  # "1 2 3 4 …" or mixed separators are not how cards are written
        d = _digits(s)
        if 12 <= len(d) <= 19 and luhn_ok(d) and _card_issuer_ok(d):
            yield m.start(), m.end(), "luhn"


def _find_iban(text: str):
    for m in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1))
        if length is None:
            continue
        # Read `length` alphanumerics from the start, allowing single spaces between them.
        i, chars, end = m.start(), [], m.start()
        while i < len(text) and len(chars) < length:
            c = text[i]
            if c.isascii() and c.isalnum():
                chars.append(c)
                end = i + 1
            elif not (c == " " and chars and i + 1 < len(text) and text[i + 1] != " "):
                break
            i += 1
        if len(chars) != length or (end < len(text) and text[end].isalnum()):
            continue
        if iban_ok("".join(chars)):
            yield m.start(), end, "mod97"


def _find_api_key(text: str):
    for name, pattern in _API_KEYS:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), name
    for m in _SECRET_ASSIGN.finditer(text):
        if _random_looking(m.group(1)):
            yield m.start(1), m.end(1), "assignment"


def _random_looking(value: str) -> bool:
    """A generated secret, not a word or an expression: letters and digits mixed, or letters whose
    case flips as often as random text's does (CamelCase flips every word, a key every other char)."""
    if len(set(value)) <= 5 or _PLACEHOLDER.match(value):
        return False
    letters = [c for c in value if c.isalpha()]
    if any(c.isdigit() for c in value) and letters:
        return True
    flips = sum(a.isupper() != b.isupper() for a, b in zip(letters, letters[1:]))
    return len(letters) >= 20 and flips >= len(letters) / 4


def _find_private_key(text: str):
    for m in _PRIVATE_KEY.finditer(text):
        yield m.start(), m.end(), "pem"


def _find_ssn(text: str):
    for m in _SSN.finditer(text):
        yield m.start(), m.end(), "pattern"
    for m in _SSN_WORD.finditer(text):
        yield m.start(1), m.end(1), "keyword"


def _find_nino(text: str):
    for m in _NINO.finditer(text):
        yield m.start(), m.end(), "pattern"


_DETECTORS = {
    "email": _find_email, "phone": _find_phone, "card": _find_card, "iban": _find_iban,
    "api_key": _find_api_key, "private_key": _find_private_key, "us_ssn": _find_ssn, "uk_nino": _find_nino,
}


def find_pii(text: str, types=PII_TYPES) -> list[Finding]:
    """Every PII span of the given types, non-overlapping (``_PRIORITY`` decides), in text order."""
    taken: list[Finding] = []
    for kind in _PRIORITY:
        if kind not in types:
            continue
        for start, end, detector in _DETECTORS[kind](text):
            if all(end <= f.start or start >= f.end for f in taken):
                taken.append(Finding(kind, start, end, detector))
    return sorted(taken, key=lambda f: f.start)


class PIIFilter:
    """PII detection with one action per type (``redact`` | ``block`` | ``allow``).

    ``actions`` maps type ids to actions; types left out get ``default`` (redact). An unknown type or
    action is an error that names it, so ``safety.pii.emial=allow`` fails instead of doing nothing.
    """

    def __init__(self, actions: Mapping[str, str] | None = None, default: str = "redact"):
        if default not in ACTIONS:
            raise ValueError(f"safety.pii: default action {default!r} is not one of {', '.join(ACTIONS)}")
        self.actions = {kind: default for kind in PII_TYPES}
        for kind, action in dict(actions or {}).items():
            if kind not in PII_TYPES:
                raise ValueError(f"safety.pii.{kind}: unknown PII type; known: {', '.join(PII_TYPES)}")
            if action not in ACTIONS:
                raise ValueError(f"safety.pii.{kind}: action {action!r} is not one of {', '.join(ACTIONS)}")
            self.actions[kind] = action

    def apply(self, text: str) -> PIIResult:
        """Find every type (allowed ones too, so they still claim their span and are counted), then
        replace the ``redact`` spans."""
        findings = find_pii(text)
        result = PIIResult(text=text, findings=findings)
        pieces, last = [], 0
        for f in findings:
            action = self.actions[f.type]
            bucket = {"redact": result.redacted, "block": result.blocked, "allow": result.allowed}[action]
            bucket[f.type] = bucket.get(f.type, 0) + 1
            if action == "redact":
                pieces += [text[last:f.start], placeholder(f.type)]
                last = f.end
        result.text = "".join(pieces) + text[last:]
        return result

    def redact(self, text: str) -> str:
        """Every finding not ``allow``-ed replaced (``block`` too: for logs there is nothing to refuse)."""
        pieces, last = [], 0
        for f in find_pii(text):
            if self.actions[f.type] != "allow":
                pieces += [text[last:f.start], placeholder(f.type)]
                last = f.end
        return "".join(pieces) + text[last:]


class RedactingFilter(logging.Filter):
    """A ``logging`` filter that redacts PII from each record's message before any handler writes it::

        handler.addFilter(RedactingFilter(PIIFilter()))

    The message is formatted once (``record.getMessage()``), redacted, and stored back with no args.
    """

    def __init__(self, pii: PIIFilter | None = None):
        super().__init__()
        self.pii = pii or PIIFilter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.pii.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
