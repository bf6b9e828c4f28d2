"""A seed ensemble of two real (tiny) safety classifier runs: the build averages the members' validation
scores and picks the threshold the way the stage does, the gate's classifier slot averages the same
way, and the evaluation CLI compares rules, ensemble and both."""

from __future__ import annotations

import json
import os

import pytest
import torch

from svend.data.classification import request_messages
from svend.data.schema import read_jsonl
from svend.safety.ensemble import SafetyEnsemble, build, main
from svend.safety.gate import load_gate
from svend.stages.safety_classifier import SafetyScorer, robust_operating_point, threshold_curve
from svend.train import train
from tests.conftest import compose_train
from tests.stages.conftest import data_overrides
from tests.stages.test_safety_classifier import SAFETY


@pytest.fixture(scope="module")
def runs(safety_files, tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    for seed in (1, 2):
        train(compose_train([*SAFETY, f"seed={seed}", *data_overrides(safety_files)], root / f"seed{seed}"))
    return [root / "seed1", root / "seed2"]


def test_the_ensemble_averages_its_members_and_chooses_its_threshold_on_validation(runs, safety_files, tmp_path, capsys):
    out = tmp_path / "ensembles" / "seeds"
    assert main([*map(str, runs), "--out", str(out), "--val", str(safety_files["val"])]) == 0
    printed = capsys.readouterr().out
    assert f"ensemble of 2 written to {out}" in printed and f"safety.classifier.source={out}" in printed
    meta = json.loads((out / "ensemble.json").read_text())
    # Members relative to the ensemble folder: the outputs tree can move as a whole.
    assert meta["members"] == [os.path.relpath(r.resolve(), out.resolve()) for r in runs] and meta["members"][0].startswith("..")

    # The same choice, recomputed from the members' own scores on the validation requests.
    records = list(read_jsonl(safety_files["val"]))
    requests = [request_messages(r["messages"]) for r in records]
    members = [SafetyScorer(r) for r in runs]
    p = torch.tensor([m.score_many(requests) for m in members]).mean(0)
    label = torch.tensor([float(r["metadata"]["label"] == "refuse") for r in records])
    intents = sorted({r["metadata"]["intent"] for r in records})
    cluster = torch.tensor([intents.index(r["metadata"]["intent"]) for r in records])
    expected = robust_operating_point(threshold_curve(p, label), p, label, cluster, 0.95, 0.05)
    assert meta["threshold"] == pytest.approx(expected["threshold"], abs=1e-5)
    assert meta["threshold_rule"]["p_meets"] == expected["p_meets"]
    chosen = json.loads((out / "threshold_curve.json").read_text())["chosen"]
    assert chosen["threshold"] == meta["threshold"] and chosen["recall"] == expected["recall"]

    # The gate's classifier slot: the members' mean, refused at the ensemble's threshold.
    gate = load_gate("ensemble", [f"safety.classifier.source={out}", "safety.rules=null"])
    assert isinstance(gate.classifier, SafetyEnsemble) and gate.classifier.threshold == meta["threshold"]
    texts = [r["messages"][0]["content"] for r in records[:8]]
    scores = gate.harmful_scores(texts)
    assert scores == pytest.approx(p[:8].tolist(), abs=1e-5)
    every = gate.classifier.scores(texts)
    first, second = members[0].scores(texts), members[1].scores(texts)
    for row, a, b in zip(every, first, second):
        assert row.keys() == a.keys() and all(row[k] == pytest.approx((a[k] + b[k]) / 2) for k in row)
    refused = [d.action == "refuse" for d in gate.check_inputs(texts)]
    assert refused == [s >= meta["threshold"] for s in scores]


def test_the_evaluation_compares_rules_ensemble_and_both(runs, safety_files, tmp_path, capsys):
    from svend.safety.evaluate import main as evaluate

    out = tmp_path / "seeds"
    build(runs, safety_files["val"], out)
    assert evaluate([str(safety_files["test"]), "--config", "ensemble", "--compare", "-o", f"safety.classifier.source={out}"]) == 0
    table = capsys.readouterr().out
    assert all(f"| {row} |" in table for row in ("rules alone", "classifier alone", "combined gate"))


def test_bad_ensembles_are_refused_by_name(runs, safety_files, verifier_files, tmp_path):
    with pytest.raises(ValueError, match="at least one run"):
        build([], safety_files["val"], tmp_path / "one")
    with pytest.raises(ValueError, match=r"val.jsonl:1: a verifier record"):
        build(runs, verifier_files["val"], tmp_path / "wrong")
    with pytest.raises(FileNotFoundError, match=r"no ensemble.json; build the ensemble with python -m svend.safety.ensemble"):
        SafetyEnsemble(runs[0])
    assert not (tmp_path / "one").exists() and not (tmp_path / "wrong").exists()
