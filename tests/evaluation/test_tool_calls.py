"""Tool-call correctness: each criterion on hand-made calls, against hand-made tool traces."""

from __future__ import annotations

import pytest

from svend.evaluation.tool_calls import ToolCallTask
from tests.evaluation.completions import call, generation


@pytest.fixture
def task(data_dir):
    return ToolCallTask(data_dir / "fixture" / "tool_traces" / "test.jsonl")


def test_problems_are_the_prompt_before_the_first_assistant_turn(task):
    problems = task.problems()
    assert [p["id"] for p in problems] == [f"tool_calls/{i}" for i in range(4)]
    first = problems[0]
    assert first["messages"] == [{"role": "user", "content": "What is 17 * 23?"}]
    assert first["reference_tool"] == "calculator" and first["reference_answer"] == "391"
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "physics_convert"]
    assert problems[1]["reference_tool"] == "physics_convert"
    assert [p["id"] for p in task.problems(limit=2, seed=0)] == [p["id"] for p in task.problems(limit=2, seed=0)]
    assert len(task.problems(limit=2, seed=0)) == 2


def test_right_completion_scores_on_every_criterion(task):
    problem = task.problems()[0]
    calculator = call("calculator", {"expression": "17*23"})
    right = task.evaluate(problem, generation("17 × 23 = 391.\nAnswer: 391", [calculator]))
    assert right == {**right, "called": True, "well_formed": True, "executed": True, "right_tool": True,
                     "answer_correct": True, "all_correct": True}


@pytest.mark.parametrize("final, calls, failed", [
    ("Answer: 391", [], {"called", "well_formed", "executed", "right_tool", "all_correct"}),
    ("Answer: 391", [call("math_evaluate", {"expression": "17*23"})], {"right_tool", "all_correct"}),
    ("Answer: 391", [call(None, None, ok=False)], {"well_formed", "executed", "right_tool", "all_correct"}),
    ("Answer: 391", [call("calculator", {"expression": "17*"}, ok=False)], {"executed", "all_correct"}),
    ("Answer: 391", [call("calculator", {"expression": "17*23"}), call("calculator", None, ok=False, round=1)],
     {"well_formed", "executed", "all_correct"}),
    ("Answer: 392", [call("calculator", {"expression": "17*23"})], {"answer_correct", "all_correct"}),
])
def test_each_wrong_completion_fails_exactly_its_criteria(task, final, calls, failed):
    row = task.evaluate(task.problems()[0], generation(final, calls))
    criteria = {"called", "well_formed", "executed", "right_tool", "answer_correct", "all_correct"}
    assert {k for k in criteria if row[k] is False} == failed
    assert {k for k in criteria if row[k] is True} == criteria - failed


def test_numeric_tolerance_and_aggregate(task):
    problems = task.problems()
    rows = [
        task.evaluate(problems[0], generation("Answer: 391", [call("calculator", {"expression": "17*23"})])),
        task.evaluate(problems[1], generation("About 26.82 m/s.\nAnswer: 26.82",
                                              [call("physics_convert", {"quantity": "60 mph", "to": "m/s"})])),
        task.evaluate(problems[2], generation("Answer: 4,650", [call("math_evaluate", {"expression": "1250+3400"})])),
        task.evaluate(problems[3], generation("Answer: 1024")),
    ]
    assert rows[1]["all_correct"] and rows[2]["answer_correct"] and not rows[2]["right_tool"]
    metrics = task.aggregate(rows)
    assert metrics == {"n": 4.0, "called": 0.75, "well_formed": 0.75, "executed": 0.75, "right_tool": 0.5,
                       "answer_correct": 1.0, "all_correct": 0.5}


def test_missing_file_names_the_command_that_creates_it(tmp_path):
    task = ToolCallTask(tmp_path / "data" / "arith" / "tool_traces" / "test.jsonl")
    with pytest.raises(FileNotFoundError, match=r"svend-data generate recipe=arith"):
        task.problems()


def test_a_file_without_tool_calls_is_refused(data_dir):
    task = ToolCallTask(data_dir / "fixture" / "clarification" / "test.jsonl")
    with pytest.raises(ValueError, match=r"record 1 has no tool call"):
        task.problems()
