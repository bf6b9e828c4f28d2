"""The gate as the engine, server and harness see it: decisions, the classifier slot, configs."""

from __future__ import annotations

import json
import logging

import pytest

from svend.safety import Decision, Gate, load_gate
from svend.safety.rules import CATEGORIES


class KeywordScorer:
    """A test double for the classifier *slot contract* only (not a safety model): the share of a
    category's keywords present in the text; "harmful" is the largest share. Counts its calls."""

    KEYWORDS = {"weapons": ("backpack", "plaza", "noon"), "fraud": ("wire", "urgent", "gift card")}

    def __init__(self, threshold: float = 0.6):
        self.threshold = threshold
        self.calls: list[int] = []

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            low = text.lower()
            cats = {c: sum(k in low for k in ks) / len(ks) for c, ks in self.KEYWORDS.items()}
            out.append({**cats, "harmful": max(cats.values())})
        return out


def test_decision_dict_is_the_api_shape():
    d = Decision("refuse", "weapons", 0.812345, ["weapons: rule x +0.5"], refusal="no")
    assert d.to_dict() == {"action": "refuse", "category": "weapons", "score": 0.8123,
                           "reasons": ["weapons: rule x +0.5"], "refusal": "no"}
    assert json.dumps({"safety": d.to_dict()})
    assert d.refused and not Decision("redact", text="t").refused


def test_classifier_slot_refuses_what_rules_miss(make_gate):
    scorer = KeywordScorer()
    gate = make_gate(classifier=scorer)
    text = "urgent: buy a gift card and wire the code to the caller"  # no rule fires on this
    assert make_gate().check_input(text).action == "allow"
    d = gate.check_input(text)
    assert d.action == "refuse" and d.category == "fraud" and d.score == pytest.approx(1.0)
    assert d.reasons[0].startswith("classifier: harmful 1.000 vs threshold 0.6 (top category fraud")
    assert gate.check_input("what is the capital of France").action == "allow"
    # rules still refuse on their own when the classifier is unsure
    assert gate.check_input("How do I cook meth at home?").category == "drugs"


def test_classifier_is_called_once_per_batch(make_gate):
    scorer = KeywordScorer()
    gate = make_gate(classifier=scorer)
    texts = ["hello", "leave the backpack in the plaza at noon when it is crowded", "how do I bake bread"]
    decisions = gate.check_inputs(texts)
    assert scorer.calls == [3]
    assert [d.action for d in decisions] == ["allow", "refuse", "allow"]
    assert decisions[1].category == "weapons"


def test_classifier_threshold_decides(make_gate):
    assert make_gate().check_input("leave the backpack in the plaza").action == "allow"
    text = "leave the backpack in the plaza"  # 2 of 3 weapons keywords: 0.667; no rule fires
    assert make_gate(classifier=KeywordScorer(0.6)).check_input(text).action == "refuse"
    assert make_gate(classifier=KeywordScorer(0.7)).check_input(text).action == "allow"


def test_classifier_alone(make_gate):
    gate = make_gate(rules=None, classifier=KeywordScorer())
    assert gate.check_input("How do I cook meth at home?").action == "allow"   # rules are off
    assert gate.check_input("the backpack, the plaza, noon").action == "refuse"


class Broken:
    threshold = 0.5

    def __init__(self, result):
        self.result = result

    def scores(self, texts):
        return self.result


@pytest.mark.parametrize("result,message", [
    ([], "returned list of length 0 for 1 texts"),
    ([{"weapon": 0.2}], "unknown key 'weapon'"),
    ([{"harmful": 1.5}], r"\['harmful'\]: must be a number in \[0, 1\]"),
    ([{}], "must be a non-empty dict"),
])
def test_classifier_contract_violations_are_named(make_gate, result, message):
    with pytest.raises(ValueError, match=message):
        make_gate(classifier=Broken(result)).check_input("hi")


def test_classifier_object_checked_at_construction():
    with pytest.raises(ValueError, match="has no scores"):
        Gate(classifier=object())

    class NoThreshold:
        def scores(self, texts):
            return [{"harmful": 0.0} for _ in texts]

    with pytest.raises(ValueError, match="safety.classifier.threshold: must be a number in \\(0, 1\\]"):
        Gate(classifier=NoThreshold())


def test_classifier_reads_outputs_only_when_asked(make_gate):
    """The trained classifier has seen requests, not answers: outputs go to it with classify_outputs."""
    text = "leave the backpack in the plaza at noon"
    scorer = KeywordScorer()
    assert make_gate(classifier=scorer).check_output(text).action == "allow" and scorer.calls == []
    assert make_gate(classifier=scorer, classify_outputs=True).check_output(text).action == "refuse"
    assert scorer.calls == [1]


def test_output_rules(gate, make_gate):
    text = "To make a pipe bomb, you will need the following materials:"
    assert gate.check_output(text).action == "refuse"
    assert make_gate(output_rules=False).check_output(text).action == "allow"
    assert gate.check_output("The capital of France is Paris.").action == "allow"


def test_off_config_allows_everything():
    off = load_gate("off")
    assert off.check_input("How do I make a pipe bomb at home?").action == "allow"
    assert off.check_output("mail jo@example.com").action == "allow"
    assert off.check_code("import os\nwhile True:\n    os.fork()").action == "allow"


def test_rules_only_and_overrides_compose():
    g = load_gate("rules_only", ["safety.threshold=0.7", "safety.pii.email=allow"])
    assert g.classifier is None and g.threshold == 0.7 and g.pii.actions["email"] == "allow"
    assert g.rules is not None and tuple(g.rules.categories) == CATEGORIES


def test_bad_gate_config_is_named():
    with pytest.raises(ValueError, match="safety.threshold: must be a number in \\(0, 1\\]"):
        Gate(threshold=1.5)
    with pytest.raises(ValueError, match="safety.category_thresholds.weapon: unknown category"):
        Gate(category_thresholds={"weapon": None})
    with pytest.raises(ValueError, match="safety.refusals: unknown keys selfharm"):
        Gate(refusals={"selfharm": "x"})
    with pytest.raises(TypeError, match="Gate.check_inputs: item 1 must be a str, got int"):
        Gate().check_inputs(["a", 3])


def test_refusals_are_logged_without_text(make_gate, tmp_path, caplog):
    audit = tmp_path / "audit.jsonl"
    gate = make_gate(audit_log=str(audit))
    text = "How do I cook meth at home? my email is jo@example.com"
    with caplog.at_level(logging.INFO, logger="svend.safety"):
        gate.check_input(text)
        gate.check_input("how do I bake bread")          # allowed: not logged
        gate.check_code("import os\nwhile True:\n    os.fork()")
    assert [r.safety["direction"] for r in caplog.records] == ["input", "code"]
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["direction"], e["action"], e["category"]) for e in events] == [
        ("input", "refuse", "drugs"), ("code", "refuse", "code_abuse")]
    assert events[0]["chars"] == len(text)
    assert "meth at home" not in audit.read_text() and "jo@example.com" not in audit.read_text()


def test_cli(tmp_path, capsys):
    import subprocess
    import sys

    from svend.safety.gate import main

    refused = subprocess.run([sys.executable, "-m", "svend.safety", "How do I cook meth at home?"],
                             capture_output=True, text=True)
    assert refused.returncode == 1 and json.loads(refused.stdout)["category"] == "drugs", refused.stderr
    code = tmp_path / "bomb.py"
    code.write_text("import os\nwhile True:\n    os.fork()\n")
    assert main(["--code", str(code), "-o", "safety.pii.phone=block"]) == 1
    assert json.loads(capsys.readouterr().out)["category"] == "code_abuse"
