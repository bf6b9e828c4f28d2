"""reasoning-gym tasks: evaluation seeds, deterministic subsamples, and reasoning-gym's own scorer on
hand-made right and wrong completions."""

from __future__ import annotations

import pytest
import reasoning_gym

from svend.data.generators.base import RG_SEED_LIMIT
from svend.evaluation.reasoning_gym import ReasoningGymTask, eval_seed
from tests.evaluation.completions import call, generation

DATASETS = ["basic_arithmetic", "chain_sum", "gsm_symbolic", "simple_equations", "propositional_logic"]


def right_answer(problem: dict) -> str:
    entry = problem["entry"]
    # propositional_logic has no single oracle answer; its metadata carries one valid conclusion
    return entry["answer"] if entry["answer"] is not None else entry["metadata"]["example_answer"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_right_and_wrong_completions(dataset):
    task = ReasoningGymTask(dataset, size=50)
    problems = task.problems(limit=3, seed=0)
    assert len(problems) == 3
    for problem in problems:
        assert problem["messages"] == [{"role": "user", "content": problem["entry"]["question"]}]
        right = task.evaluate(problem, generation(f"Let me work it out.\nAnswer: {right_answer(problem)}"))
        assert right["score"] == 1.0 and right["accuracy"] is True and right["answered"] is True
        wrong = task.evaluate(problem, generation("I am not sure."))
        assert wrong["score"] == 0.0 and wrong["accuracy"] is False
    metrics = task.aggregate([task.evaluate(p, generation(f"Answer: {right_answer(p)}")) for p in problems])
    assert metrics == {"n": 3.0, "score": 1.0, "accuracy": 1.0, "answered": 1.0, "tool_use": 0.0}


def test_numeric_answer_scoring_and_tool_use():
    task = ReasoningGymTask("chain_sum")
    problem = task.problems(limit=1)[0]
    answer = int(problem["entry"]["answer"])
    assert task.evaluate(problem, generation(f"The sum is {answer + 1}.\nAnswer: {answer + 1}"))["score"] == 0.0
    used = task.evaluate(problem, generation(f"Answer: {answer}", [call("calculator", {"expression": "1+1"})]))
    assert used["tool_use"] is True and used["accuracy"] is True
    # a plain string is a final answer without tool calls
    assert task.evaluate(problem, f"Answer: {answer}")["score"] == 1.0


def test_propositional_logic_partial_credit_is_reasoning_gyms():
    task = ReasoningGymTask("propositional_logic")
    problem = task.problems(limit=1)[0]
    variable = problem["entry"]["metadata"]["variables"][0]
    tautology = task.evaluate(problem, generation(f"Answer: ({variable} ∨ ¬{variable})"))
    assert tautology["score"] == 0.25 and tautology["accuracy"] is False


def test_eval_seeds_are_disjoint_from_training_seeds_and_deterministic():
    task = ReasoningGymTask("basic_arithmetic", size=20)
    first, again = task.problems(limit=5, seed=0), task.problems(limit=5, seed=0)
    assert [p["entry"]["question"] for p in first] == [p["entry"]["question"] for p in again]
    assert first[0]["id"] == f"basic_arithmetic/{RG_SEED_LIMIT}/0" and eval_seed(2) == 3 * RG_SEED_LIMIT
    # the limit is a prefix of the full set
    full = task.problems(seed=0)
    assert len(full) == 20 and [p["id"] for p in full[:5]] == [p["id"] for p in first]
    # item i comes from Random(seed + i): eval.seed=1 must not be eval.seed=0 shifted by one item
    shifted = reasoning_gym.create_dataset("basic_arithmetic", size=6, seed=RG_SEED_LIMIT + 1)
    other = task.problems(limit=5, seed=1)
    assert [p["entry"]["question"] for p in other] != [shifted[i]["question"] for i in range(5)]
    assert [p["entry"]["question"] for p in full[1:6]] == [shifted[i]["question"] for i in range(5)]
    # the last training rng seed is RG_SEED_LIMIT - 1; the first evaluation item is not that problem
    last_training = reasoning_gym.create_dataset("basic_arithmetic", size=1, seed=RG_SEED_LIMIT - 1)[0]
    assert last_training["question"] != first[0]["entry"]["question"]


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="no dataset 'chain_summ'"):
        ReasoningGymTask("chain_summ")
    with pytest.raises(ValueError, match="task chain_sum: bad reasoning-gym config"):
        ReasoningGymTask("chain_sum", config={"max_termz": 3})
    with pytest.raises(ValueError, match="may not set size or seed"):
        ReasoningGymTask("chain_sum", config={"seed": 3})
    with pytest.raises(ValueError, match="eval.seed"):
        ReasoningGymTask("chain_sum").problems(limit=1, seed=-1)
    with pytest.raises(ValueError, match="size must be between"):
        ReasoningGymTask("chain_sum", size=0)
