"""Safety: one gate in front of the model and behind it, used alike by the inference engine, the
server and the evaluation harness.

    from svend.safety import load_gate               # or hydra.utils.instantiate(cfg.safety)
    gate = load_gate("default", ["safety.threshold=0.6"])
    d = gate.check_input(user_text)                   # Decision: action allow|refuse, category, score, reasons
    if d.refused: reply = d.refusal                   # a short redirection (support lines for self-harm)
    d = gate.check_output(model_text)                 # PII: action "redact" and d.text is the cleaned text
    d = gate.check_code(snippet)                      # before the sandbox runs it, never instead of it
    response["safety"] = d.to_dict()                  # safe to send: no text, no PII

Modules, one concern each:
- ``rules``    weighted patterns per harm category, with context exemptions (``conf/safety/rules/``)
- ``pii``      PII and secret detection with checksums; redact / block / allow per type; a log filter
- ``code``     code-interpreter abuse: exfiltration, scans, fork bombs, mining, reverse shells
- ``gate``     the ``Gate`` and its ``Decision``; the classifier slot; logging and the audit file
- ``evaluate`` refusal recall, over-refusal, per-category figures and confusion for a configuration
- ``ensemble`` several classifier runs averaged, with a threshold chosen on validation (``safety=ensemble``)

Configs: ``conf/safety/default.yaml`` (rules + filters + code checks, ``classifier: null``),
``rules_only.yaml``, ``off.yaml`` (allow everything, for benchmarks). Try one prompt with
``python -m svend.safety "how do I kill a hung process"``.
"""

from svend.safety.gate import Decision, Gate, load_gate

__all__ = ["Decision", "Gate", "load_gate"]
