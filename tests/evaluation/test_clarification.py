"""Clarification: ask (``<clarify>``) exactly when the reference asks; answer right otherwise."""

from __future__ import annotations

import pytest

from svend.evaluation.clarification import ClarificationTask
from tests.evaluation.completions import generation

ASK = "<clarify>How far is it, and how fast will you go?"


@pytest.fixture
def task(data_dir):
    return ClarificationTask(data_dir / "fixture" / "clarification" / "test.jsonl")


def test_reference_turns_with_clarify_are_the_must_ask_problems(task):
    problems = task.problems()
    assert [p["should_ask"] for p in problems] == [True, True, False]
    assert problems[2]["reference_answer"] == "60" and problems[0]["reference_answer"] is None


def test_right_and_wrong_completions(task):
    must_ask, _, clear = task.problems()
    asked = task.evaluate(must_ask, generation(ASK))
    assert asked["correct"] and asked["asked_when_needed"] is True and asked["answered_when_clear"] is None
    guessed = task.evaluate(must_ask, generation("It takes about 3 hours.\nAnswer: 3"))
    assert not guessed["correct"] and guessed["asked_when_needed"] is False
    answered = task.evaluate(clear, generation("120 / 2 = 60 km/h.\nAnswer: 60"))
    assert answered["correct"] and answered["answered_when_clear"] is True and answered["answer_correct"] is True
    wrong_answer = task.evaluate(clear, generation("Answer: 240"))
    assert wrong_answer["correct"] and wrong_answer["answer_correct"] is False
    over_asked = task.evaluate(clear, generation(ASK))
    assert not over_asked["correct"] and over_asked["answered_when_clear"] is False
    assert over_asked["answer_correct"] is False


def test_aggregate_balances_asking_and_answering(task):
    must_ask, also_must_ask, clear = task.problems()
    always_ask = task.aggregate([task.evaluate(p, generation(ASK)) for p in task.problems()])
    assert always_ask["asked_when_needed"] == 1.0 and always_ask["answered_when_clear"] == 0.0
    assert always_ask["balanced"] == 0.5 and always_ask["correct"] == pytest.approx(2 / 3)
    mixed = task.aggregate([task.evaluate(must_ask, generation(ASK)),
                            task.evaluate(also_must_ask, generation("Answer: 5")),
                            task.evaluate(clear, generation("Answer: 60"))])
    assert mixed == {"n": 3.0, "asked_when_needed": 0.5, "answered_when_clear": 1.0, "correct": pytest.approx(2 / 3),
                     "answer_correct": 1.0, "balanced": 0.75}
