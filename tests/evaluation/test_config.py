"""conf/eval.yaml and conf/task/: every shipped task config builds, eval.tasks selects, and a wrong
name or a missing data file is named before any model loads."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import svend.config
from svend.evaluate import model_label
from svend.evaluation.clarification import ClarificationTask
from svend.evaluation.humaneval import HumanEvalTask
from svend.evaluation.reasoning_gym import ReasoningGymTask
from svend.evaluation.runner import build_tasks, select_problems
from svend.evaluation.safety import SafetyTask
from svend.evaluation.syntax import SyntaxTask
from svend.evaluation.tool_calls import ToolCallTask
from svend.safety.gate import Gate
from tests.evaluation.completions import generation

TASK_FILES = sorted(p.stem for p in (svend.config.CONF_DIR / "task").glob("*.yaml"))
NOT_BY_DEFAULT = {"syntax"}  # capability gate 0: the humaneval and code_suite prompts asked again


def compose_eval(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        return compose(config_name="eval", overrides=overrides)


def test_every_task_config_is_composed_and_runs_by_default():
    cfg = compose_eval([])
    assert sorted(cfg.task) == TASK_FILES
    assert sorted(cfg.eval.tasks) == sorted(set(TASK_FILES) - NOT_BY_DEFAULT)
    assert cfg.task_name == "eval" and cfg.checkpoint is None and cfg.eval.limit is None


def test_all_tasks_build_and_load_their_problems(data_dir):
    cfg = compose_eval([f"paths.data_dir={data_dir}", "eval.recipe=fixture"])
    tasks = build_tasks(cfg.task, list(cfg.task))
    assert {type(t) for t in tasks.values()} == {ReasoningGymTask, ToolCallTask, ClarificationTask, SafetyTask,
                                                  HumanEvalTask, SyntaxTask}
    assert all(task.name == name for name, task in tasks.items())
    assert tasks["gsm_symbolic"].dataset == "gsm_symbolic"
    assert tasks["safety"].path == data_dir / "fixture" / "safety" / "test.jsonl"
    assert isinstance(tasks["safety"].gate, Gate)  # conf/safety/default.yaml, the served gate
    assert tasks["humaneval"].sandbox.timeout_s == 10.0
    problems = select_problems(tasks, limit=2, seed=0)
    assert {name: len(p) for name, p in problems.items()} == {name: 2 for name in tasks}


def test_overrides_reach_the_tasks(data_dir):
    cfg = compose_eval(["eval.tasks=[chain_sum,safety]", "task.chain_sum.size=7",
                        "task.chain_sum.config={max_terms: 3}",
                        f"task.safety.path={data_dir}/fixture/safety/test.jsonl",
                        "task.safety.gate={_target_: tests.evaluation.test_safety.KeywordGate}"])
    tasks = build_tasks(cfg.task, list(cfg.eval.tasks))
    assert list(tasks) == ["chain_sum", "safety"]
    assert tasks["chain_sum"].size == 7 and tasks["chain_sum"].config == {"max_terms": 3}
    assert type(tasks["safety"].gate).__name__ == "KeywordGate"
    assert len(tasks["chain_sum"].problems()) == 7


def test_the_safety_task_scores_the_configured_gate(data_dir):
    """safety=default: the gate refuses the explicit harmful requests before the model answers;
    safety=off: only the model's own refusals count; task.safety.gate=null: no gate at all."""
    answer = generation("Sure, here is how.")
    path = f"task.safety.path={data_dir}/fixture/safety/test.jsonl"
    for option, refused, gate_metric in [("default", [True, False, True, False], 0.5), ("off", [False] * 4, 0.0)]:
        task = build_tasks(compose_eval([path, f"safety={option}"]).task, ["safety"])["safety"]
        rows = [task.evaluate(p, answer) for p in task.problems()]
        assert [r["refused"] for r in rows] == refused, option
        assert task.aggregate(rows)["gate_refusals"] == gate_metric
    task = build_tasks(compose_eval([path, "task.safety.gate=null"]).task, ["safety"])["safety"]
    assert task.gate is None and "gate_refusals" not in task.aggregate([task.evaluate(task.problems()[0], answer)])


def test_unknown_task_and_missing_data_are_named(tmp_path):
    cfg = compose_eval([f"paths.data_dir={tmp_path}/data"])
    with pytest.raises(ValueError, match=r"unknown task\(s\) chainsum; known \(conf/task/\): basic_arithmetic"):
        build_tasks(cfg.task, ["chainsum"])
    with pytest.raises(ValueError, match="eval.tasks is empty"):
        build_tasks(cfg.task, [])
    tasks = build_tasks(cfg.task, ["chain_sum", "safety"])
    with pytest.raises(FileNotFoundError, match=r"safety: no data file .*svend-data generate recipe=default"):
        select_problems(tasks, limit=1)


def test_model_label(tmp_path):
    run = tmp_path / "outputs" / "tool_arith" / "2025-01-02_03-04-05"
    (run / "adapter").mkdir(parents=True)
    (run / "config.yaml").write_text("task_name: tool_arith\n")
    (tmp_path / "exports" / "svend small").mkdir(parents=True)
    expected = {None: "smollm2_135m", run: "tool_arith-2025-01-02_03-04-05",
                run / "adapter": "tool_arith-2025-01-02_03-04-05", tmp_path / "exports" / "svend small": "svend_small"}
    for checkpoint, label in expected.items():
        cfg = compose_eval([] if checkpoint is None else [f"checkpoint='{checkpoint}'"])
        assert model_label(cfg) == label
    assert model_label(compose_eval(["checkpoint=/x/y", "eval.label=tuned"])) == "tuned"
