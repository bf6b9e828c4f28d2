"""The pass rule, the ladder and the regression check as plain logic, and conf/gate/ as it composes."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from hydra.utils import instantiate

from svend.gates import Gate, GateLadder, GateResult, RegressionSuite, check_thresholds, regression_check
from svend.gates.gate import flatten_metrics
from tests.gates.conftest import compose_ladder

SUITE = RegressionSuite(tasks=["code_suite"], tolerances={"code_suite/pass@1": 0.1})


# -- the pass rule ---------------------------------------------------------------------------------

def test_every_threshold_must_hold():
    thresholds = {"humaneval/pass@1": 0.3, "code_suite/pass@1": 0.6}
    assert check_thresholds({"humaneval/pass@1": 0.3, "code_suite/pass@1": 0.75, "humaneval/n": 10}, thresholds) == []
    assert check_thresholds({"humaneval/pass@1": 0.1 + 0.2, "code_suite/pass@1": 0.6}, thresholds) == []  # 0.30000000000000004
    failures = check_thresholds({"humaneval/pass@1": 0.2, "code_suite/pass@1": 0.5}, thresholds)
    assert failures == ["humaneval/pass@1 = 0.200 < 0.300", "code_suite/pass@1 = 0.500 < 0.600"]


def test_a_missing_metric_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"gate 3 \(ambiguity\): threshold on clarification/asked_when_needed, "
                                         r"but .* task clarification reported: answered_when_clear, correct, n"):
        check_thresholds({"clarification/correct": 1.0, "clarification/answered_when_clear": 1.0, "clarification/n": 1},
                         {"clarification/asked_when_needed": 0.8}, where="gate 3 (ambiguity)")


def test_flatten_metrics():
    assert flatten_metrics({"syntax": {"parses": 1, "n": 3.0}, "chain_sum": {"accuracy": 0.5}}) == {
        "syntax/parses": 1.0, "syntax/n": 3.0, "chain_sum/accuracy": 0.5}


def test_gate_config_errors_name_the_gate_and_the_key():
    with pytest.raises(ValueError, match="gate domain: threshold humaneval/pass@1 is on task humaneval, which the "
                                         "gate does not run"):
        Gate("domain", 2, ["chain_sum"], {"humaneval/pass@1": 0.3})
    with pytest.raises(ValueError, match="'pass@1' is not a metric name of the form <task>/<metric>"):
        Gate("execution", 1, ["humaneval"], {"pass@1": 0.3})
    with pytest.raises(ValueError, match="gate syntax: no thresholds"):
        Gate("syntax", 0, ["syntax"], {})
    with pytest.raises(ValueError, match="gate syntax: limit must be a positive number"):
        Gate("syntax", 0, ["syntax"], {"syntax/parses": 0.9}, limit=0)


# -- the ladder ------------------------------------------------------------------------------------

def ladder_of(stages, names=("syntax", "execution")) -> GateLadder:
    return GateLadder.from_config(stages, {n: {"tasks": [n], "thresholds": {f"{n}/ok": 1}} for n in names},
                                  {"tasks": ["code_suite"], "tolerances": {"code_suite/pass@1": 0.1}})


def test_stages_promote_one_gate_at_a_time():
    ladder = ladder_of(["Egg", "Chick", "Hen"])
    assert [(g.number, g.name) for g in ladder.gates] == [(0, "syntax"), (1, "execution")]
    assert ladder.gate_for("Egg").name == "syntax" and ladder.stage_after(0) == "Chick"
    assert ladder.gate_for("Chick").name == "execution" and ladder.stage_after(1) == "Hen"
    assert ladder.gate_for("Hen") is None  # every gate passed
    with pytest.raises(ValueError, match="unknown stage 'Rooster'; the stages are Egg, Chick, Hen"):
        ladder.gate_for("Rooster")
    with pytest.raises(ValueError, match=r"no gate 2; the gates are 0 … 1"):
        ladder.stage_after(2)


def test_ladder_config_errors():
    with pytest.raises(ValueError, match="2 gate\\(s\\) need 3 stage names .* got 2: Egg, Hen"):
        ladder_of(["Egg", "Hen"])
    with pytest.raises(ValueError, match="stage names must be unique"):
        ladder_of(["Egg", "Egg", "Hen"])
    with pytest.raises(ValueError, match="gate syntax: .*unexpected keyword argument 'treshold'.*; a gate takes tasks"):
        GateLadder.from_config(["A", "B"], {"syntax": {"tasks": ["syntax"], "treshold": {}}}, asdict(SUITE))
    with pytest.raises(ValueError, match="gates are numbered by position from 0, but execution is 0"):
        GateLadder(["A", "B", "C"], [Gate("syntax", 0, ["syntax"], {"syntax/parses": 1}),
                                     Gate("execution", 0, ["humaneval"], {"humaneval/pass@1": 0.3})], SUITE)


@pytest.mark.parametrize("option", ["default", "cpu"])
def test_shipped_ladders_compose_and_instantiate(option, tmp_path):
    ladder = instantiate(compose_ladder(tmp_path, [f"gate={option}"]))
    assert isinstance(ladder, GateLadder)
    assert ladder.stages == ["Hatchling", "Fledgling", "Journeyman", "Expert", "Apex"]
    assert [g.name for g in ladder.gates] == ["syntax", "execution", "domain", "ambiguity"]
    assert ladder.gates[1].tasks == ["humaneval", "code_suite"]
    assert ladder.gates[3].thresholds == {"clarification/asked_when_needed": 0.8,
                                          "clarification/answered_when_clear": 0.8}
    assert ladder.regression.lower_is_better == ["humaneval/timeout"]
    assert json.loads(json.dumps(asdict(ladder))) == asdict(ladder)  # plain JSON for the state store
    if option == "cpu":
        assert {g.limit for g in ladder.gates} == {10} and ladder.regression.limit == 10


def test_every_gate_task_is_a_shipped_task(tmp_path, task_cfgs):
    ladder = instantiate(compose_ladder(tmp_path))
    for name in [t for g in ladder.gates for t in g.tasks] + ladder.regression.tasks:
        assert name in task_cfgs, f"conf/gate/default.yaml runs {name}, which conf/eval.yaml does not compose"


def test_overrides_reach_the_gates(tmp_path):
    ladder = instantiate(compose_ladder(tmp_path, ["gate.gates.execution.limit=40", "gate.stages=[A,B,C,D,E]",
                                                   "gate.gates.execution.thresholds={humaneval/pass@1: 0.5}"]))
    assert ladder.gates[1].limit == 40 and ladder.stage_after(3) == "E"
    assert ladder.gates[1].thresholds == {"humaneval/pass@1": 0.5, "code_suite/pass@1": 0.6}


def test_a_gate_result_is_plain_json():
    result = GateResult("syntax", 0, False, {"syntax/parses": 0.5}, {"syntax/parses": 0.9},
                        ["syntax/parses = 0.500 < 0.900"], "/tmp/x")
    assert json.loads(json.dumps(asdict(result)))["failures"] == ["syntax/parses = 0.500 < 0.900"]


# -- the regression check --------------------------------------------------------------------------

TOLERANCES = {"code_suite/pass@1": 0.1, "humaneval/timeout": 0.05}
PREVIOUS = {"code_suite/pass@1": 0.5, "humaneval/timeout": 0.1, "code_suite/seconds": 3.0}


def test_an_improvement_is_no_regression():
    verdict = regression_check({"code_suite/pass@1": 0.75, "humaneval/timeout": 0.0}, PREVIOUS, TOLERANCES,
                               ["humaneval/timeout"])
    assert not verdict.regressed and verdict.reasons == []
    assert verdict.deltas == pytest.approx({"code_suite/pass@1": 0.25, "humaneval/timeout": -0.1})


def test_a_drop_within_tolerance_is_no_regression():
    verdict = regression_check({"code_suite/pass@1": 0.4, "humaneval/timeout": 0.15, "code_suite/seconds": 99.0},
                               PREVIOUS, TOLERANCES, ["humaneval/timeout"])
    assert not verdict.regressed  # exactly the tolerance both ways; seconds is not compared
    assert set(verdict.deltas) == set(TOLERANCES)


def test_a_drop_beyond_tolerance_regresses():
    verdict = regression_check({"code_suite/pass@1": 0.3125, "humaneval/timeout": 0.1}, PREVIOUS, TOLERANCES,
                               ["humaneval/timeout"])
    assert verdict.regressed
    assert verdict.reasons == ["code_suite/pass@1 fell 0.500 → 0.312 (-0.188; tolerance 0.100)"]


def test_a_lower_is_better_metric_regresses_when_it_rises():
    current = {"code_suite/pass@1": 0.5, "humaneval/timeout": 0.3}
    verdict = regression_check(current, PREVIOUS, TOLERANCES, ["humaneval/timeout"])
    assert verdict.regressed
    assert verdict.reasons == ["humaneval/timeout rose 0.100 → 0.300 (+0.200; lower is better, tolerance 0.050)"]
    # the same numbers, read as higher-is-better, are an improvement
    assert not regression_check(current, PREVIOUS, TOLERANCES).regressed


def test_regression_check_errors_name_the_metric():
    with pytest.raises(ValueError, match="the current generation's metrics lack humaneval/timeout"):
        regression_check({"code_suite/pass@1": 0.5}, PREVIOUS, TOLERANCES)
    with pytest.raises(ValueError, match="lower_is_better names code_suite/seconds, which tolerances does not"):
        regression_check(PREVIOUS, PREVIOUS, TOLERANCES, ["code_suite/seconds"])
    with pytest.raises(ValueError, match="the tolerance of code_suite/pass@1 must be 0 or more"):
        regression_check(PREVIOUS, PREVIOUS, {"code_suite/pass@1": -0.1})
    with pytest.raises(ValueError, match="regression suite: tolerance chain_sum/accuracy is on task chain_sum, "
                                         "which the suite does not run"):
        RegressionSuite(tasks=["code_suite"], tolerances={"chain_sum/accuracy": 0.1})
