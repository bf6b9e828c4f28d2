"""The numbers the classification stages report, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from svend.stages.safety_classifier import safety_metrics, threshold_curve
from svend.stages.verifier import reliability_bins, verifier_metrics


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_verifier_metrics_by_hand():
    p = torch.tensor([0.9, 0.8, 0.3, 0.6, 0.2, 0.1])
    label = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    group = torch.tensor([1, 1, 1, 0, 2, 2])  # none, none, none, arithmetic, final_answer ×2
    m = verifier_metrics(torch.logit(p), label, group, ["arithmetic", "none", "final_answer"], threshold=0.5,
                         step_logit=torch.logit(torch.tensor([0.9, 0.2])), step_label=torch.tensor([1.0, 0.0]))
    # AUROC: of the 9 (correct, corrupted) pairs, only (0.3 vs 0.6) is ordered wrongly.
    assert m["auroc"] == pytest.approx(8 / 9)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["brier"] == pytest.approx(((p - label) ** 2).mean().item())
    assert m["loss"] == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.3) + math.log(0.4) + math.log(0.8) + math.log(0.9)) / 6, rel=1e-5)
    assert m["flagged"] == {"arithmetic": 0.0, "none": pytest.approx(1 / 3), "final_answer": 1.0}
    assert m["step_auroc"] == 1.0
    # ECE over 15 bins: |mean score - fraction correct| weighted by bin size; each score sits alone here.
    assert m["ece"] == pytest.approx(sum(abs(s - y) for s, y in zip(p.tolist(), label.tolist())) / 6, rel=1e-5)


def test_a_calibrated_verifier_has_zero_ece_and_matching_bins():
    p = torch.full((10,), 0.8)
    label = torch.tensor([1.0] * 8 + [0.0] * 2)
    m = verifier_metrics(torch.logit(p), label, torch.zeros(10, dtype=torch.long), ["none"])
    assert m["ece"] == pytest.approx(0.0, abs=1e-6) and m["auroc"] == pytest.approx(0.5)  # no ranking at all
    bins = reliability_bins(p, label)
    (full,) = [b for b in bins if b["count"]]
    assert full["count"] == 10 and full["mean_score"] == pytest.approx(0.8) and full["fraction_correct"] == pytest.approx(0.8)


def test_safety_metrics_per_class_and_category():
    # refuse = 1. Scores at threshold 0.5: predicted refuse for 0.9, 0.7, 0.6.
    p = torch.tensor([0.9, 0.7, 0.2, 0.6, 0.1, 0.3])
    label = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    group = torch.tensor([0, 0, 1, 0, 1, 1])  # weapons, weapons, fraud, weapons, fraud, fraud
    m = safety_metrics(torch.logit(p), label, group, ["weapons", "fraud"], 0.5)
    refuse, comply = m["classes"]["refuse"], m["classes"]["comply"]
    assert (refuse["tp"], refuse["fp"], refuse["fn"], refuse["tn"]) == (2, 1, 1, 2)
    assert refuse["precision"] == pytest.approx(2 / 3) and refuse["recall"] == pytest.approx(2 / 3)
    assert refuse["f1"] == pytest.approx(2 / 3) and refuse["fpr"] == pytest.approx(1 / 3)
    assert (comply["tp"], comply["fp"], comply["fn"], comply["tn"]) == (2, 1, 1, 2)
    weapons, fraud = m["categories"]["weapons"], m["categories"]["fraud"]
    assert weapons["recall"] == 1.0 and weapons["fpr"] == 1.0 and weapons["precision"] == pytest.approx(2 / 3)
    assert fraud["recall"] == 0.0 and fraud["fpr"] == 0.0 and fraud["precision"] is None  # nothing refused
    assert m["auroc"] == pytest.approx(7 / 9)


def test_threshold_curve_matches_brute_force():
    torch.manual_seed(0)
    p = torch.rand(40).round(decimals=1)  # ties on purpose
    label = (torch.rand(40) < 0.5).float()
    curve = threshold_curve(p, label)
    thresholds = [c["threshold"] for c in curve]
    assert thresholds == sorted(thresholds, reverse=True) and thresholds[-1] == 0.0
    for point in curve:
        refused = p >= point["threshold"] - 1e-6
        tp = int((refused & label.bool()).sum())
        fp = int((refused & ~label.bool()).sum())
        assert (point["tp"], point["fp"]) == (tp, fp)
        assert point["recall"] == pytest.approx(tp / int(label.sum()))
        assert point["fpr"] == pytest.approx(fp / int((1 - label).sum()))
    assert curve[-1]["recall"] == 1.0 and curve[-1]["fpr"] == 1.0
