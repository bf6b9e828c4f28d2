"""Safety classifiers alone on the hand-written prompts of tests/safety/cases.py.

Those 255 harmful requests and 311 benign look-alikes were written for the rule tests, not by the data
generator, so they measure how a classifier trained on generated phrasings carries over to requests
worded by someone else. Per run: AUROC (threshold-free) and recall / over-refusal at the run's own
threshold (head.json). Run from the repository root:

    python experiments/safety_classifier/handwritten.py outputs/safety_classifier/<run> [<run> ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torchmetrics.functional.classification import binary_auroc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.safety.cases
from svend.safety.gate import load_gate  # noqa: E402
from tests.safety.cases import BENIGN, HARMFUL, MORE_BENIGN, MORE_HARMFUL  # noqa: E402


def prompts() -> tuple[list[str], list[bool]]:
    harmful = [t for source in (HARMFUL, MORE_HARMFUL) for texts in source.values() for t in texts]
    benign = [t for texts in BENIGN.values() for t in texts] + list(MORE_BENIGN)
    return harmful + benign, [True] * len(harmful) + [False] * len(benign)


def main(runs: list[str]) -> None:
    if not runs:
        raise SystemExit(__doc__)
    texts, harmful = prompts()
    n_harm, n_benign = sum(harmful), len(harmful) - sum(harmful)
    print(f"{n_harm} harmful, {n_benign} benign hand-written prompts\n")
    print("| run | AUROC | threshold | recall | over-refusal |\n|---|---:|---:|---:|---:|")
    for run in runs:
        gate = load_gate("classifier", [f"safety.classifier.source={run}"])
        classifier = gate.classifier
        harm = [s for i in range(0, len(texts), 64) for s in gate.harmful_scores(texts[i:i + 64])]
        auroc = binary_auroc(torch.tensor(harm), torch.tensor(harmful).long()).item()
        refused = [s >= classifier.threshold for s in harm]
        caught = sum(r and h for r, h in zip(refused, harmful))
        over = sum(r and not h for r, h in zip(refused, harmful))
        print(f"| `{run}` | {auroc:.3f} | {classifier.threshold:.3f} | {caught / n_harm:.1%} ({caught}/{n_harm}) "
              f"| {over / n_benign:.1%} ({over}/{n_benign}) |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
