"""Keep keys and credentials out of training data.

A model trained on a private key or an API token can repeat it to anyone, so a file that looks like a
secret is skipped whole — by its name (``.env``, ``*.pem``, ``id_rsa``, ``credentials.json`` …) or by
its content (a PEM private-key block, a cloud or service token, ``api_key = "…"`` with a real-looking
value). Erring towards skipping is deliberate: a skipped file is listed in ``metadata.json`` with the
rule that matched, so a false alarm costs one look; a leaked key cannot be taken back.

Name words (``secret``, ``token``, ``credentials`` …) only count for config and docs files and files
without an extension (``credentials``): code named ``tokens.py`` is usually a tokenizer, and its
content is scanned like any other file's; other file types are not ingested anyway.

This is not PII redaction (names, e-mail addresses): that is the safety filter's job, later.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Sequence

# Patterns whose match is a secret on its own. The name is what the report says; the value never is.
KEY_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("OpenAI/Anthropic API key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
]

# `password = "…"`, `"api_key": "…"`, `SECRET_KEY: '…'`: a quoted value of 12+ characters without
# spaces, holding letters and digits, that is not an obvious placeholder or a variable reference.
_ASSIGNED = re.compile(
    r"""(?ix)
    (?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|private[_-]?key|password|passwd)
    ["']?\s*[:=]\s*["']([^"'\s]{12,})["']
    """
)
_PLACEHOLDER = re.compile(r"(?i)(x{4,}|\*{3,}|your|example|changeme|dummy|placeholder|redacted|fake|sample|[<>{}$%])")


def secret_name(name: str, patterns: Sequence[str], words: Sequence[str], check_words: bool) -> str | None:
    """The rule a file name matches (``"*.pem"``, ``"name word 'secret'"``), or ``None``. Name words are
    only checked with ``check_words`` (config and docs files, and files without an extension)."""
    lower = name.lower()
    for pattern in patterns:
        if fnmatchcase(lower, pattern.lower()):
            return f"name matches {pattern!r}"
    if check_words:
        parts = set(re.split(r"[^a-z0-9]+", lower))
        for word in words:
            if word.lower() in parts:
                return f"name word {word!r}"
    return None


def secret_content(text: str) -> str | None:
    """What in ``text`` looks like a secret and on which line (``"AWS access key id at line 3"``)."""
    for label, pattern in KEY_PATTERNS:
        match = pattern.search(text)
        if match:
            return f"{label} at line {text.count(chr(10), 0, match.start()) + 1}"
    for match in _ASSIGNED.finditer(text):
        value = match.group(1)
        if _PLACEHOLDER.search(value) or not (re.search(r"[A-Za-z]", value) and re.search(r"\d", value)):
            continue
        return f"hard-coded credential assignment at line {text.count(chr(10), 0, match.start()) + 1}"
    return None
