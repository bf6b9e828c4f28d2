"""How well a gate configuration refuses what it should and answers what it should.

``evaluate_gate(gate, records)`` runs ``gate.check_inputs`` over labelled prompts and reports:
- ``refusal_recall``: refused harmful prompts / harmful prompts (the launch target: > 95 % correct);
- ``over_refusal``: refused benign look-alikes / benign prompts;
- ``accuracy``, ``precision``, the 2×2 ``confusion`` (label × action) and, for harmful prompts, the
  ``category_confusion`` (labelled category × refused-as category, ``"allowed"`` when let through);
- ``per_category``: the same figures per labelled category.

To compare rules alone, classifier alone and both, build one gate per configuration and evaluate
each on the same records (``safety=rules_only``; ``safety.rules=null`` for the classifier alone) —
``--compare`` does exactly that and prints one table.

A record is a chat record whose ``metadata`` has ``label`` (``refuse`` | ``comply``) and
``category``; the prompt is the last user turn before the first assistant turn. A plain
``{"text", "label", "category"}`` dict works too. From the command line::

    python -m svend.safety.evaluate data/<recipe>/safety/test.jsonl [--config rules_only] [-o safety.threshold=0.6]
    python -m svend.safety.evaluate data/safety/safety/test.jsonl --compare -o safety.classifier.source=<run>
    python -m svend.safety.evaluate data/safety/safety/val.jsonl --calibrate 0.97 -o safety.classifier.source=<run>

``--calibrate R`` (``calibrate_threshold``) picks the classifier threshold for the *combined* gate on a
validation set: the highest one at which rules-or-classifier still refuses at least R of the harmful
prompts. The stage's own threshold (``head.json``) is the classifier's best alone; in the gate the
rules already catch the explicit requests, so the classifier can refuse less often for the same
recall, and every look-alike it lets through is an over-refusal saved. Pass the printed override on
(``-o safety.classifier.threshold=…``, the same on ``svend-serve`` and ``svend-eval``).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Sequence

from svend.safety.rules import CATEGORIES

LABELS = ("refuse", "comply")


def prompt_of(record: Mapping[str, Any], index: int) -> tuple[str, str, str]:
    """(text, label, category) of one record; a clear error names the record and what is missing."""
    where = f"record {index}"
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(record).__name__}")
    meta = record.get("metadata") if isinstance(record.get("metadata"), Mapping) else record
    label, category = meta.get("label"), meta.get("category")
    if label not in LABELS:
        raise ValueError(f"{where}: label must be one of {', '.join(LABELS)}, got {label!r}")
    if not isinstance(category, str) or not category:
        raise ValueError(f"{where}: needs a category (one of {', '.join(CATEGORIES)})")
    if isinstance(record.get("text"), str):
        return record["text"], label, category
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise ValueError(f"{where}: needs 'text' or a 'messages' list")
    text = None
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        if message.get("role") == "assistant":
            break
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            text = message["content"]
    if text is None:
        raise ValueError(f"{where}: no user turn before the first assistant turn")
    return text, label, category


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate_gate(gate: Any, records: Iterable[Mapping[str, Any]], batch_size: int = 64) -> dict:
    """Refusal recall, over-refusal, per-category figures and confusion matrices of ``gate`` on
    ``records`` (see the module docstring for the record format)."""
    items = [prompt_of(r, i) for i, r in enumerate(records)]
    if not items:
        raise ValueError("evaluate_gate: no records")
    decisions = []
    for start in range(0, len(items), batch_size):
        decisions += gate.check_inputs([text for text, _, _ in items[start:start + batch_size]])

    confusion = {label: {"refuse": 0, "comply": 0} for label in LABELS}
    category_confusion: dict[str, Counter] = defaultdict(Counter)
    per: dict[str, Counter] = defaultdict(Counter)
    errors = []
    for i, ((_, label, category), decision) in enumerate(zip(items, decisions)):
        acted = "refuse" if decision.action == "refuse" else "comply"
        confusion[label][acted] += 1
        stats = per[category]
        if label == "refuse":
            stats["harmful"] += 1
            stats["refused"] += acted == "refuse"
            stats["right_category"] += decision.category == category
            category_confusion[category][decision.category if acted == "refuse" else "allowed"] += 1
        else:
            stats["benign"] += 1
            stats["over_refused"] += acted == "refuse"
        if acted != label:
            errors.append({"index": i, "label": label, "category": category, "action": decision.action,
                           "gate_category": decision.category, "score": round(float(decision.score), 4)})

    tp, fn = confusion["refuse"]["refuse"], confusion["refuse"]["comply"]
    fp, tn = confusion["comply"]["refuse"], confusion["comply"]["comply"]
    per_category = {}
    for category in sorted(per, key=lambda c: (CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES), c)):
        s = per[category]
        per_category[category] = {
            "harmful": s["harmful"], "refused": s["refused"], "refusal_recall": _rate(s["refused"], s["harmful"]),
            "category_correct": _rate(s["right_category"], s["refused"]),
            "benign": s["benign"], "over_refused": s["over_refused"],
            "over_refusal": _rate(s["over_refused"], s["benign"]),
        }
    return {
        "n": len(items), "harmful": tp + fn, "benign": fp + tn,
        "refusal_recall": _rate(tp, tp + fn), "over_refusal": _rate(fp, fp + tn),
        "accuracy": _rate(tp + tn, len(items)), "precision": _rate(tp, tp + fp),
        "confusion": confusion,
        "category_confusion": {c: dict(v) for c, v in sorted(category_confusion.items())},
        "per_category": per_category,
        "errors": errors,
    }


def calibrate_threshold(rules_gate: Any, gate: Any, records: Iterable[Mapping[str, Any]], min_recall: float,
                        batch_size: int = 64) -> dict:
    """The highest classifier threshold at which ``rules_gate`` OR ``gate``'s classifier (score ≥
    threshold) refuses at least ``min_recall`` of the harmful ``records``, with the recall and
    over-refusal there; ``threshold`` is None when no threshold reaches it."""
    if not 0 < min_recall <= 1:
        raise ValueError(f"--calibrate: the recall to keep must be in (0, 1], got {min_recall}")
    items = [prompt_of(r, i) for i, r in enumerate(records)]
    texts, harmful = [t for t, _, _ in items], [label == "refuse" for _, label, _ in items]
    if not any(harmful) or all(harmful):
        raise ValueError("--calibrate needs both harmful (refuse) and benign (comply) records")
    ruled, scores = [], []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        ruled += [d.action == "refuse" for d in rules_gate.check_inputs(chunk)]
        scores += gate.harmful_scores(chunk)
    n_harm, n_benign = sum(harmful), len(items) - sum(harmful)

    def rates(threshold: float) -> tuple[float, float]:
        refused = [r or s >= threshold for r, s in zip(ruled, scores)]
        caught = sum(f and h for f, h in zip(refused, harmful))
        return caught / n_harm, sum(f and not h for f, h in zip(refused, harmful)) / n_benign

    # The highest threshold that reaches the recall is the score of the last harmful prompt the rules
    # miss and the classifier must add: one sort, not a full re-count per candidate threshold.
    need = next(c for c in range(n_harm + 1) if c / n_harm >= min_recall) - sum(r and h for r, h in zip(ruled, harmful))
    missed = sorted((s for r, s, h in zip(ruled, scores, harmful) if h and not r), reverse=True)
    best = None
    if need <= len(missed):
        threshold = missed[need - 1] if need > 0 else max(scores)
        recall, over = rates(threshold)
        best = {"threshold": round(threshold, 6), "refusal_recall": round(recall, 4), "over_refusal": round(over, 4)}
    rules_recall, rules_over = rates(float("inf"))
    return {"min_recall": min_recall, "records": len(items), "harmful": n_harm, "benign": n_benign,
            "rules_alone": {"refusal_recall": round(rules_recall, 4), "over_refusal": round(rules_over, 4)},
            "classifier_threshold": getattr(gate.classifier, "threshold", None),
            "chosen": best, "override": None if best is None else f"safety.classifier.threshold={best['threshold']}"}


# --compare: the parts of the gate and the whole, on the same records (overrides on the --config option).
PARTS = {"rules alone": ["safety.classifier=null"], "classifier alone": ["safety.rules=null"], "combined gate": []}


def comparison_table(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """One markdown row per configuration: refusal recall and over-refusal (with their counts), precision,
    then refusal recall per category."""
    categories = [c for c in CATEGORIES if any(c in r["per_category"] for r in reports.values())]
    head = ["gate", "refusal recall", "over-refusal", "precision", *categories]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in reports.items():
        c = r["confusion"]
        cells = [name, f"{r['refusal_recall']:.1%} ({c['refuse']['refuse']}/{r['harmful']})",
                 f"{r['over_refusal']:.1%} ({c['comply']['refuse']}/{r['benign']})",
                 "—" if r["precision"] is None else f"{r['precision']:.1%}"]
        for category in categories:
            value = r["per_category"].get(category, {}).get("refusal_recall")
            cells.append("—" if value is None else f"{value:.0%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from svend.data.schema import read_jsonl
    from svend.safety.gate import load_gate

    parser = argparse.ArgumentParser(prog="python -m svend.safety.evaluate",
                                     description="Evaluate a safety gate configuration on a labelled JSONL set.")
    parser.add_argument("path", help="JSONL of chat records with metadata.label (refuse|comply) and metadata.category")
    parser.add_argument("--config", default="default", help="conf/safety option (default: %(default)s)")
    parser.add_argument("-o", "--override", action="append", default=[], dest="overrides",
                        help="a Hydra override, repeatable, e.g. -o safety.threshold=0.6")
    parser.add_argument("--errors", action="store_true", help="include the misjudged records' indices")
    parser.add_argument("--compare", action="store_true",
                        help="rules alone, classifier alone and the combined gate as one table "
                             "(needs -o safety.classifier.source=<safety_classifier run>)")
    parser.add_argument("--calibrate", type=float, metavar="RECALL",
                        help="choose the classifier threshold for the combined gate on this (validation) set: the highest "
                             "with refusal recall >= RECALL (needs -o safety.classifier.source=<run>)")
    args = parser.parse_args(argv)
    records = list(read_jsonl(args.path))
    config = args.config if args.config != "default" else "classifier"  # --calibrate, --compare: a gate with a classifier
    if args.calibrate is not None:
        report = calibrate_threshold(load_gate(config, [*args.overrides, "safety.classifier=null"]),
                                     load_gate(config, args.overrides), records, args.calibrate)
        print(json.dumps(report, indent=2))
        return 0
    if args.compare:
        reports = {name: evaluate_gate(load_gate(config, [*args.overrides, *extra]), records) for name, extra in PARTS.items()}
        print(f"{args.path}: {len(records)} records\n")
        print(comparison_table(reports))
        return 0
    report = evaluate_gate(load_gate(args.config, args.overrides), records)
    if not args.errors:
        report.pop("errors")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
