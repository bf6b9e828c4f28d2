"""Each gate and the regression suite on models with known outcomes, through the real harness: the
runner, the tasks' own scoring, the tools and the bubblewrap sandbox.

- a random tiny Llama through the real engine answers nothing right: it fails every gate;
- a replay of known-correct completions (HumanEval's canonical solutions, reasoning-gym's answers, the
  traces' tool calls really run, <clarify> exactly where a fact is missing) passes every gate and
  climbs the ladder to its last stage;
- the regression check flags the random model against the replay as its generation N−1, not the reverse.
"""

from __future__ import annotations

import json

import pytest
from hydra.utils import instantiate

from svend.gates import regression_check, run_gate, run_regression_suite
from svend.tools.code import bwrap_path
from tests.conftest import one_thread
from tests.gates.conftest import compose_ladder, replay_engine

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")

LIMIT = 3  # problems per task: the clarification fixture's 3 (2 must ask, 1 need not), 4 tool traces
GATES = ("syntax", "execution", "domain", "ambiguity")
HEADLINES = {"syntax/parses", "humaneval/pass@1", "code_suite/pass@1", "tool_calls/all_correct",
             "basic_arithmetic/accuracy", "chain_sum/accuracy", "gsm_symbolic/accuracy",
             "clarification/asked_when_needed"}


@pytest.fixture
def ladder(tmp_path):
    return instantiate(compose_ladder(tmp_path, [f"gate.gates.{name}.limit={LIMIT}" for name in GATES] +
                                      [f"gate.regression.limit={LIMIT}"]))


def check_run_folder(out_dir, label: str, tasks: list[str], n: int) -> None:
    """The gate's evaluation left what any evaluation leaves: metrics.json, report.md, transcripts."""
    saved = json.loads((out_dir / "metrics.json").read_text())
    assert list(saved["metrics"][label]) == tasks and saved["settings"]["limit"] == n
    assert (out_dir / "report.md").read_text().startswith("# Svend report card")
    for task in tasks:
        assert len((out_dir / label / f"{task}.jsonl").read_text().splitlines()) == saved["metrics"][label][task]["n"]


def test_a_random_tiny_model_fails_every_gate(ladder, random_engine, task_cfgs, tmp_path):
    with one_thread():
        results = [run_gate(gate, random_engine, task_cfgs, tmp_path / gate.name, label="random")
                   for gate in ladder.gates]
    for gate, result in zip(ladder.gates, results):
        assert (result.name, result.number, result.passed) == (gate.name, gate.number, False)
        assert result.thresholds == gate.thresholds and result.out_dir == str(tmp_path / gate.name)
        assert result.failures and all(f.split(" = ")[0] in gate.thresholds for f in result.failures)
        assert {k: v for k, v in result.scores.items() if k in HEADLINES} == dict.fromkeys(
            HEADLINES & set(gate.thresholds), 0.0), gate.name
        check_run_folder(tmp_path / gate.name, "random", gate.tasks, LIMIT)
    assert results[3].failures[0].startswith("clarification/asked_when_needed = 0.000 < 0.800")


def test_known_correct_completions_pass_every_gate(ladder, task_cfgs, registry, tmp_path):
    stage, passed = ladder.stages[0], []
    while (gate := ladder.gate_for(stage)) is not None:
        engine = replay_engine(task_cfgs, gate.tasks, gate.limit, 0, registry)
        result = run_gate(gate, engine, task_cfgs, tmp_path / gate.name, label="replay")
        assert result.passed and result.failures == [], gate.name
        assert {k: result.scores[k] for k in gate.thresholds} == dict.fromkeys(gate.thresholds, 1.0)
        check_run_folder(tmp_path / gate.name, "replay", gate.tasks, LIMIT)
        passed.append(gate.name)
        stage = ladder.stage_after(gate.number)
    assert passed == list(GATES) and stage == "Apex"
    # the sandbox really ran the programs: the transcripts hold the canonical code and no error
    record = json.loads((tmp_path / "execution" / "replay" / "humaneval.jsonl").read_text().splitlines()[0])
    assert record["passed"] and record["score"]["error"] is None and "```python" in record["completion"]


def test_the_regression_check_flags_the_random_model(ladder, random_engine, task_cfgs, registry, tmp_path):
    suite = ladder.regression
    good = replay_engine(task_cfgs, suite.tasks, suite.limit, suite.seed, registry)
    previous = run_regression_suite(good, suite, task_cfgs, tmp_path / "gen1", label="gen1")
    with one_thread():
        current = run_regression_suite(random_engine, suite, task_cfgs, tmp_path / "gen2", label="gen2")
    check_run_folder(tmp_path / "gen2", "gen2", suite.tasks, LIMIT)
    assert all(previous[k] == 1.0 for k in suite.tolerances if k not in suite.lower_is_better)

    verdict = regression_check(current, previous, suite.tolerances, suite.lower_is_better)
    assert verdict.regressed and set(verdict.deltas) == set(suite.tolerances)
    fell = {reason.split(" ")[0] for reason in verdict.reasons}
    assert fell == {k for k in suite.tolerances if k not in suite.lower_is_better}
    assert not regression_check(previous, current, suite.tolerances, suite.lower_is_better).regressed
    same = regression_check(previous, previous, suite.tolerances, suite.lower_is_better)
    assert not same.regressed and set(same.deltas.values()) == {0.0}
