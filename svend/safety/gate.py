"""The safety gate: rules, PII filters, code checks and an optional classifier, combined into one
decision — the one object the inference engine, the server and the evaluation harness all call::

    gate = hydra.utils.instantiate(cfg.safety)        # conf/safety/default.yaml, or load_gate("default")
    gate.check_input("how do I make a pipe bomb")      # Decision(action="refuse", category="weapons", ...)
    gate.check_output("mail me at jo@example.com")     # Decision(action="redact", text="mail me at [REDACTED:email]")
    gate.check_code("import os\\nwhile True: os.fork()")  # Decision(action="refuse", category="code_abuse")
    gate.check_inputs(texts)                           # the batched form (one classifier call)

How a decision is made
- input: each rule category scores the text (``svend.safety.rules``); a category at or over its
  threshold (``threshold``, or ``category_thresholds[category]``) refuses, the highest score wins.
  The classifier, when there is one, refuses on its own when its score reaches *its* threshold.
  Either refusing refuses (rules catch the explicit, the classifier the paraphrased). Code pasted
  into the message ("run this: …", fenced blocks) adds its code-abuse signals to ``code_abuse``
  (``code_in_inputs``).
- output: PII first (``svend.safety.pii``): a ``block`` type refuses, ``redact`` types are replaced
  and the decision is ``redact`` with ``decision.text`` the cleaned text; then the rules as for an
  input (``output_rules: false`` skips them), and the classifier only with ``classify_outputs: true``
  (the trained one has seen requests, not answers).
- code: ``svend.safety.code`` signals against the ``code_abuse`` threshold. In addition to the
  sandbox, never instead of it.

The classifier slot (item 3 of the safety issue; the trained checkpoint plugs in here later).
``classifier`` is any object with
    ``scores(texts: list[str]) -> list[dict[str, float]]`` — one dict per text, same order; keys are
        category ids (``svend.safety.rules.CATEGORIES``) and/or ``"harmful"``; values in [0, 1];
    ``threshold: float`` — the calibrated cut-off in (0, 1].
The gate compares ``"harmful"`` (or, without it, the largest category score) with ``threshold``; the
category named is the classifier's top category, else the rules' top category, else ``"harmful"``.
It is called once per ``check_inputs`` batch, so a model-backed classifier batches there. ``None``
(the default) means rules + filters only. A classifier that breaks the contract raises
``ValueError`` naming what it returned.

Logging. Every refusal and redaction goes to the ``svend.safety`` logger and, when ``audit_log`` is a
path, as one JSON line to that file: direction, action, category, score, reasons, PII types with
counts and character spans, the text's length — never the text, never the PII.
``Decision.to_dict()`` is what API clients see (``{"safety": {...}}``); it holds no text either.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from svend.safety.code import CodeChecker, extract_code
from svend.safety.pii import PIIFilter, PIIResult
from svend.safety.rules import CATEGORIES, CategoryScore, RuleSet

log = logging.getLogger("svend.safety")
# Used only when the config names no refusal for a category and no `default`.
FALLBACK_REFUSAL = "I can't help with that. If there's a related question I can help with, please ask."


@dataclass
class Decision:
    """One verdict. ``text`` is the text to deliver when ``action == "redact"``; ``refusal`` the
    message to deliver instead when ``action == "refuse"``."""

    action: str
    category: str | None = None
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    text: str | None = None
    refusal: str | None = None

    @property
    def refused(self) -> bool:
        return self.action == "refuse"

    def to_dict(self) -> dict:
        """The client-facing summary: no text, so no PII (reasons name rules and PII types only)."""
        return {"action": self.action, "category": self.category, "score": round(float(self.score), 4),
                "reasons": list(self.reasons), "refusal": self.refusal}


def _check_unit(value: Any, where: str, low_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or not (0 < value <= 1 if low_open else 0 <= value <= 1):
        raise ValueError(f"{where}: must be a number in {'(0, 1]' if low_open else '[0, 1]'}, got {value!r}")
    return float(value)


class Gate:
    """Built from ``conf/safety/*.yaml``; every part may be switched off with ``null``."""

    def __init__(
        self,
        rules: RuleSet | Mapping[str, Any] | None = None,
        pii: PIIFilter | Mapping[str, str] | None = None,
        code: CodeChecker | Mapping[str, Any] | None = None,
        classifier: Any = None,
        threshold: float = 0.5,
        category_thresholds: Mapping[str, float] | None = None,
        output_rules: bool = True,
        classify_outputs: bool = False,
        code_in_inputs: bool = True,
        refusals: Mapping[str, str] | None = None,
        audit_log: str | Path | None = None,
    ):
        self.threshold = _check_unit(threshold, "safety.threshold")
        self.category_thresholds = {}
        for cat, value in dict(category_thresholds or {}).items():
            if cat not in CATEGORIES:
                raise ValueError(f"safety.category_thresholds.{cat}: unknown category; known: {', '.join(CATEGORIES)}")
            if value is None:
                continue  # null in the config: the global threshold
            self.category_thresholds[cat] = _check_unit(value, f"safety.category_thresholds.{cat}")
        if isinstance(rules, Mapping):
            unknown = set(rules) - {"macros", "categories"}
            if unknown:
                raise ValueError(f"safety.rules: unknown keys {', '.join(sorted(unknown))}; "
                                 "expected macros, categories")
            rules = RuleSet(rules.get("categories") or {}, rules.get("macros"))
        self.rules: RuleSet | None = rules
        self.pii: PIIFilter | None = PIIFilter(pii) if isinstance(pii, Mapping) else pii
        if isinstance(code, Mapping):
            unknown = set(code) - {"weights"}
            if unknown:
                raise ValueError(f"safety.code: unknown keys {', '.join(sorted(unknown))}; expected weights")
            code = CodeChecker(code.get("weights"))
        self.code: CodeChecker | None = code
        if classifier is not None:
            if not callable(getattr(classifier, "scores", None)):
                raise ValueError(f"safety.classifier: {type(classifier).__name__} has no scores(texts) method")
            _check_unit(getattr(classifier, "threshold", None), "safety.classifier.threshold")
        self.classifier = classifier
        self.output_rules = bool(output_rules)
        self.classify_outputs = bool(classify_outputs)
        self.code_in_inputs = bool(code_in_inputs)
        self.refusals = {str(k): str(v) for k, v in dict(refusals or {}).items()}
        unknown = set(self.refusals) - set(CATEGORIES) - {"pii", "harmful", "default"}
        if unknown:
            raise ValueError(f"safety.refusals: unknown keys {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(CATEGORIES)}, pii, harmful, default")
        self.audit_log = Path(audit_log) if audit_log else None
        self._lock = threading.Lock()

    # --- the three checks ------------------------------------------------------------------------

    def check_input(self, text: str) -> Decision:
        return self.check_inputs([text])[0]

    def check_inputs(self, texts: Sequence[str]) -> list[Decision]:
        """Decisions for a batch of user turns (one classifier call for the batch)."""
        texts = self._texts(texts, "check_inputs")
        decisions = [self._judge(t, s, code=self.code_in_inputs) for t, s in zip(texts, self._classify(texts))]
        for t, d in zip(texts, decisions):
            self._record("input", d, len(t))
        return decisions

    def check_output(self, text: str) -> Decision:
        text = self._texts([text], "check_output")[0]
        found = self.pii.apply(text) if self.pii is not None else None
        if found is not None and found.blocked:
            decision = Decision("refuse", "pii", 1.0, _pii_reasons(found), refusal=self._refusal("pii"))
        else:
            cleaned = found.text if found is not None else text  # rules and classifier never see the PII
            cls = self._classify([cleaned])[0] if self.classify_outputs else None
            decision = self._judge(cleaned, cls, rules=self.output_rules)
            if found is not None and found.findings:
                if decision.action == "allow" and found.redacted:
                    decision = Decision("redact", "pii", 1.0, _pii_reasons(found), text=cleaned)
                else:
                    decision.reasons += _pii_reasons(found)
        self._record("output", decision, len(text), found)
        return decision

    def check_code(self, source: str) -> Decision:
        source = self._texts([source], "check_code")[0]
        if self.code is None:
            return Decision("allow")
        score, findings = self.code.score(source)
        reasons = [f.reason() for f in findings]
        if score >= self._threshold("code_abuse"):
            decision = Decision("refuse", "code_abuse", score, reasons, refusal=self._refusal("code_abuse"))
        else:
            decision = Decision("allow", "code_abuse" if findings else None, score, reasons)
        self._record("code", decision, len(source))
        return decision

    # --- parts -----------------------------------------------------------------------------------

    def _threshold(self, category: str) -> float:
        return self.category_thresholds.get(category, self.threshold)

    def _refusal(self, category: str) -> str:
        return self.refusals.get(category) or self.refusals.get("default") or FALLBACK_REFUSAL

    @staticmethod
    def _texts(texts: Sequence[str], where: str) -> list[str]:
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(f"Gate.{where}: expected a list of strings, got {type(texts).__name__}")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"Gate.{where}: item {i} must be a str, got {type(t).__name__}")
        return list(texts)

    def _classify(self, texts: list[str]) -> list[dict[str, float] | None]:
        if self.classifier is None or not texts:
            return [None] * len(texts)
        out = self.classifier.scores(list(texts))
        name = type(self.classifier).__name__
        if not isinstance(out, Sequence) or len(out) != len(texts):
            raise ValueError(f"safety.classifier: {name}.scores returned {type(out).__name__} of length "
                             f"{len(out) if isinstance(out, Sequence) else '?'} for {len(texts)} texts")
        for i, scores in enumerate(out):
            if not isinstance(scores, Mapping) or not scores:
                raise ValueError(f"safety.classifier: {name}.scores item {i} must be a non-empty dict, got {scores!r}")
            for key, value in scores.items():
                if key not in CATEGORIES and key != "harmful":
                    raise ValueError(f"safety.classifier: {name}.scores item {i} has unknown key {key!r}; "
                                     f"expected 'harmful' or one of {', '.join(CATEGORIES)}")
                _check_unit(value, f"safety.classifier: {name}.scores item {i} [{key!r}]", low_open=False)
        return [dict(s) for s in out]

    def harmful_scores(self, texts: Sequence[str]) -> list[float]:
        """The classifier's score per text, the number compared with its threshold (one batched call)."""
        if self.classifier is None:
            raise ValueError("Gate.harmful_scores: this gate has no classifier (safety.classifier)")
        return [harmful_score(c) for c in self._classify(self._texts(texts, "harmful_scores"))]

    def _code_evidence(self, scored: dict[str, CategoryScore], text: str) -> None:
        """Code pasted into a message ("run this: …") adds its code-abuse signals to ``code_abuse``."""
        results = [self.code.score(segment) for segment in extract_code(text)]
        _, findings = max(results, key=lambda r: r[0], default=(0.0, []))
        if not findings:
            return
        cs = scored.get("code_abuse") or CategoryScore("code_abuse", 0.0)
        cs.hits = cs.hits + [(f"embedded_code.{f.signal}", f.weight) for f in findings]
        raw = sum(w for _, w in cs.hits) - sum(w for _, w in cs.exemptions)
        cs.score = round(min(max(raw, 0.0), 1.0), 6)
        scored["code_abuse"] = cs

    def _judge(self, text: str, cls: Mapping[str, float] | None, rules: bool = True, code: bool = False) -> Decision:
        """Rules (plus any embedded code) and classifier on one text → allow or refuse."""
        best = None
        scored = self.rules.score(text) if rules and self.rules is not None else {}
        if code and self.code is not None:
            self._code_evidence(scored, text)
        if scored:
            over = [s for s in scored.values() if s.score >= self._threshold(s.category)]
            pool = over or [s for s in scored.values() if s.score > 0]
            if pool:
                best = max(pool, key=lambda s: (s.score, -CATEGORIES.index(s.category)))
            if over:
                return Decision("refuse", best.category, best.score, best.reasons(),
                                refusal=self._refusal(best.category))
        if cls is not None:
            cats = {k: v for k, v in cls.items() if k != "harmful"}
            harmful = harmful_score(cls)
            top = max(cats, key=lambda k: (cats[k], -CATEGORIES.index(k))) if cats else None
            reason = f"classifier: harmful {harmful:.3f} vs threshold {self.classifier.threshold:g}" + (
                f" (top category {top} {cats[top]:.3f})" if top else "")
            if harmful >= self.classifier.threshold:
                category = top or (best.category if best is not None else "harmful")
                return Decision("refuse", category, harmful, [reason] + (best.reasons() if best else []),
                                refusal=self._refusal(category))
            if best is None or harmful > best.score:
                return Decision("allow", None, harmful, [reason] + (best.reasons() if best else []))
        if best is not None:
            return Decision("allow", None, best.score, best.reasons())
        return Decision("allow")

    def _record(self, direction: str, decision: Decision, length: int, pii: PIIResult | None = None) -> None:
        """Log refusals and redactions (types, counts, spans — never text)."""
        if decision.action == "allow":
            return
        event = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "direction": direction, "action": decision.action,
                 "category": decision.category, "score": round(float(decision.score), 4),
                 "reasons": decision.reasons, "chars": length}
        if pii is not None and pii.findings:
            summary: dict[str, dict] = {}
            for f in pii.findings:
                entry = summary.setdefault(f.type, {"count": 0, "spans": []})
                entry["count"] += 1
                entry["spans"].append([f.start, f.end])
            event["pii"] = summary
        log.info("safety %s %s category=%s score=%.3f reasons=%s", direction, decision.action, decision.category,
                 decision.score, "; ".join(decision.reasons), extra={"safety": event})
        if self.audit_log is not None:
            line = json.dumps(event, ensure_ascii=False) + "\n"
            with self._lock:
                self.audit_log.parent.mkdir(parents=True, exist_ok=True)
                with self.audit_log.open("a", encoding="utf-8") as f:
                    f.write(line)


def harmful_score(cls: Mapping[str, float]) -> float:
    """A classifier's verdict on one text: its ``"harmful"`` score, else its largest category score."""
    cats = [v for k, v in cls.items() if k != "harmful"]
    return float(cls.get("harmful", max(cats) if cats else 0.0))


def _pii_reasons(found: PIIResult) -> list[str]:
    out = []
    for label, bucket in (("redacted", found.redacted), ("blocked", found.blocked), ("allowed", found.allowed)):
        out += [f"pii: {kind} x{n} {label}" for kind, n in sorted(bucket.items())]
    return out


def load_config(name: str = "default", overrides: Sequence[str] = ()):
    """``conf/safety/<name>.yaml`` composed by Hydra with overrides (``"safety.threshold=0.7"``,
    ``"safety.pii.email=allow"``); the ``safety`` node."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from svend.config import CONF_DIR

    args = [f"+safety={name}", *overrides]
    if GlobalHydra.instance().is_initialized():
        cfg = compose(overrides=args)
    else:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(overrides=args)
    return cfg.safety


def load_gate(name: str = "default", overrides: Sequence[str] = ()) -> Gate:
    """The gate of ``conf/safety/<name>.yaml`` with Hydra overrides, for code that runs outside a
    Hydra entry point (inside one: ``hydra.utils.instantiate(cfg.safety)``)."""
    from hydra.utils import instantiate

    return instantiate(load_config(name, overrides))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m svend.safety "text"`` — print the decision (``--output``, ``--code FILE``)."""
    parser = argparse.ArgumentParser(prog="python -m svend.safety", description="Check one text with the safety gate.")
    parser.add_argument("text", nargs="?", help="an input (or, with --output, an output) to check")
    parser.add_argument("--output", action="store_true", help="check TEXT as a model output (PII, rules)")
    parser.add_argument("--code", metavar="FILE", help="check the code in FILE ('-' for stdin) instead")
    parser.add_argument("--config", default="default", help="conf/safety option (default: %(default)s)")
    parser.add_argument("-o", "--override", action="append", default=[], dest="overrides",
                        help="a Hydra override, repeatable, e.g. -o safety.threshold=0.7")
    args = parser.parse_args(argv)
    gate = load_gate(args.config, args.overrides)
    if args.code:
        import sys

        source = sys.stdin.read() if args.code == "-" else Path(args.code).read_text(encoding="utf-8")
        decision = gate.check_code(source)
    elif args.text is None:
        parser.error("give TEXT or --code FILE")
    else:
        decision = gate.check_output(args.text) if args.output else gate.check_input(args.text)
    print(json.dumps({**decision.to_dict(), "text": decision.text}, indent=2, ensure_ascii=False))
    return 0 if decision.action != "refuse" else 1
