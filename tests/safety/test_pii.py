"""PII: each type found and redacted, checksums respected, actions honoured, nothing raw in what
leaves the gate (Decision.to_dict, log records, the audit file), and measured recall / false
redactions on a generated set."""

from __future__ import annotations

import json
import logging

import pytest

from svend.safety import Gate, load_gate
from svend.safety.pii import PII_TYPES, PIIFilter, RedactingFilter, find_pii, iban_ok, luhn_ok
from tests.safety.pii_corpus import lookalikes, positives

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"
EXAMPLES = {
    "email": ("Write to jo.bloggs+news@mail.example.co.uk today.", "jo.bloggs+news@mail.example.co.uk"),
    "phone": ("Call me on +44 20 7946 0958 after six.", "+44 20 7946 0958"),
    "card": ("Card: 4111 1111 1111 1111, exp 12/29", "4111 1111 1111 1111"),
    "iban": ("Pay GB82 WEST 1234 5698 7654 32 by Monday", "GB82 WEST 1234 5698 7654 32"),
    "api_key": ("export OPENAI_API_KEY=sk-proj-AbCdEf0123456789GhIjKlMnOp", "sk-proj-AbCdEf0123456789GhIjKlMnOp"),
    "private_key": (f"here is my key\n{KEY}\nthanks", KEY),
    "us_ssn": ("SSN on file: 123-45-6789.", "123-45-6789"),
    "uk_nino": ("NI number QQ 12 34 56 C is the sample; mine is AB 12 34 56 C", "AB 12 34 56 C"),
}


@pytest.mark.parametrize("kind", PII_TYPES)
def test_each_type_detected_and_redacted(kind):
    text, value = EXAMPLES[kind]
    result = PIIFilter().apply(text)
    assert [f.type for f in result.findings] == [kind]
    assert value not in result.text and f"[REDACTED:{kind}]" in result.text
    assert result.redacted == {kind: 1}


def test_checksums():
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and iban_ok("DE89370400440532013000")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33") and not iban_ok("GB82 WEST 1234 5698 7654")


@pytest.mark.parametrize("text", [
    "Card 4111 1111 1111 1112 was declined.",            # Luhn fails
    "Use 4111-1111-1111-1113 as a test.",
    "1234 5678 9012 3456",                               # Luhn fails, no issuer
    "IBAN GB82 WEST 1234 5698 7654 33 bounced.",         # mod-97 fails
    "DE89370400440532013001",
    "SSN 000-12-3456 and 666-12-3456 and 912-34-5678 are never issued.",
    "v2.13.4 released 2024-03-15, build 20240315.2, order #88231904",
    "ping 192.168.10.254 and 10.0.0.1:8080",
])
def test_lookalikes_not_redacted(text):
    assert PIIFilter().apply(text).findings == []


def test_actions_per_type():
    text = "mail jo@example.com, card 4111 1111 1111 1111, tel +1 415 555 0132"
    result = PIIFilter({"email": "allow", "card": "block", "phone": "redact"}).apply(text)
    assert "jo@example.com" in result.text                     # allow: untouched
    assert "4111 1111 1111 1111" in result.text                 # block: the gate refuses the whole text
    assert "+1 415 555 0132" not in result.text
    assert (result.allowed, result.blocked, result.redacted) == ({"email": 1}, {"card": 1}, {"phone": 1})


def test_gate_output_honours_actions_from_config(make_gate):
    text = "Sure: reach her at jo@example.com or +1 415 555 0132."
    d = make_gate().check_output(text)
    assert d.action == "redact" and d.category == "pii"
    assert d.text == "Sure: reach her at [REDACTED:email] or [REDACTED:phone]."
    d = load_gate("default", ["safety.pii.email=allow"]).check_output(text)  # the override users type
    assert d.action == "redact" and "jo@example.com" in d.text and "[REDACTED:phone]" in d.text
    d = make_gate(**{"pii.phone": "block"}).check_output(text)
    assert d.action == "refuse" and d.category == "pii" and d.text is None and d.refusal
    d = make_gate(**{"pii.email": "allow", "pii.phone": "allow"}).check_output(text)
    assert d.action == "allow"


def test_no_raw_pii_leaves_the_gate(tmp_path, caplog, make_gate):
    values = [value for _, value in EXAMPLES.values()]
    text = "Answer:\n" + "\n".join(text for text, _ in EXAMPLES.values())
    audit = tmp_path / "audit" / "safety.jsonl"
    gate = make_gate(audit_log=str(audit))
    with caplog.at_level(logging.INFO, logger="svend.safety"):
        d = gate.check_output(text)
        blocked = make_gate(**{"pii.card": "block", "audit_log": str(audit)}).check_output(text)
    assert d.action == "redact" and blocked.action == "refuse"
    leaving = [json.dumps(d.to_dict()), json.dumps(blocked.to_dict()), audit.read_text()]
    leaving += [r.getMessage() for r in caplog.records] + [json.dumps(r.safety) for r in caplog.records]
    assert len(caplog.records) == 2
    for blob in leaving:
        for value in values:
            for piece in value.split("\n"):  # also no single line of the key block
                assert piece not in blob, (piece, blob[:200])
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["action"] for e in events] == ["redact", "refuse"]
    assert {k: v["count"] for k, v in events[0]["pii"].items()} == {k: 1 for k in PII_TYPES}
    start, end = events[0]["pii"]["email"]["spans"][0]
    assert text[start:end] == EXAMPLES["email"][1]      # spans point at the PII without holding it


def test_redacting_log_filter(caplog):
    logger = logging.getLogger("svend.test.pii")
    handler_filter = RedactingFilter(PIIFilter())
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="svend.test.pii"):
            logger.info("user %s paid with %s", "jo@example.com", "4111111111111111")
    finally:
        logger.removeFilter(handler_filter)
    assert caplog.records[0].getMessage() == "user [REDACTED:email] paid with [REDACTED:card]"


def test_bad_pii_config_is_named():
    with pytest.raises(ValueError, match="safety.pii.emial: unknown PII type"):
        PIIFilter({"emial": "allow"})
    with pytest.raises(ValueError, match="safety.pii.email: action 'hide' is not one of redact, block, allow"):
        PIIFilter({"email": "hide"})
    with pytest.raises(ValueError, match="safety.pii.emial"):
        Gate(pii={"emial": "redact"})


def test_generated_set_recall_and_false_redactions():
    """≥ 500 strings per PII type in 15 contexts and 1000 PII-free look-alikes. Targets: recall
    ≥ 99 %, false redactions ≤ 1 %. (Measured: recall 100.00 %, false redactions 0.00 %.)"""
    pii = PIIFilter()
    pos, neg = positives(per_type=500), lookalikes(1000)
    assert len(pos) >= 500 * len(PII_TYPES) and len(neg) >= 500
    missed = []
    for text, kind, value in pos:
        result = pii.apply(text)
        secret = value.split('"')[1] if '"' in value else value.split(" ")[-1].split("=")[-1] \
            if kind == "api_key" and ("=" in value or ": " in value) else value
        if not any(f.type == kind for f in result.findings) or secret in result.text:
            missed.append((kind, text))
    false = [text for text in neg if find_pii(text)]
    recall, false_rate = 1 - len(missed) / len(pos), len(false) / len(neg)
    print(f"PII recall {recall:.4f} on {len(pos)}; false redactions {false_rate:.4f} on {len(neg)}")
    assert recall >= 0.99, missed[:10]
    assert false_rate <= 0.01, false[:10]
