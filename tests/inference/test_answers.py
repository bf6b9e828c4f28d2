"""extract_answer's order of evidence, normalize_answer's equivalences, and the voting scorers."""

from __future__ import annotations

import pytest

from svend.inference.answers import extract_answer, normalize_answer
from svend.inference.engine import Generation
from svend.inference.scorers import SCORERS, majority, resolve_scorer, weighted_vote


@pytest.mark.parametrize("text, answer", [
    ("17 * 23 = 391.\nAnswer: 391", "391"),
    ("Answer: 12\nWait, I made an error.\nAnswer: 13.", "13"),            # the last Answer line
    ("**Answer:** 7", "7"),                                                # markdown bold
    ("The answer: x = 2", "x = 2"),
    ("<answer>Paris</answer> and 42", "Paris"),                           # before the last number
    ("so the result is $\\boxed{\\frac{1}{2}}$ or 0.5 approx", "\\frac{1}{2}"),  # nested braces
    ("It costs $1,250 in total, down from 1,400.", "1400"),               # last number, separators out
    ("Temperature fell to -3.5 degrees", "-3.5"),
    ("Answer:\n<answer>yes</answer>", "yes"),                             # an empty Answer: is no answer
    ("No number here.", None),
    ("", None),
    (None, None),
])
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


@pytest.mark.parametrize("a, b, same", [
    ("$1,250.00", "1250", True), ("391.", "391", True), ("Paris", " paris ", True), ("0.5", "1/2", False),
    ("-3", "-3.0", True), ("12", "13", False),
])
def test_normalize_answer(a, b, same):
    assert (normalize_answer(a) == normalize_answer(b)) is same


def gen(final: str) -> Generation:
    return Generation(messages=[], text=final, final=final, tool_calls=[], finish_reason="stop", rounds=1, new_tokens=1)


def test_majority_scores_the_share_of_agreeing_candidates():
    candidates = [gen("Answer: 12"), gen("so 391"), gen("Answer: 391."), gen("no idea"), gen("Answer: $391")]
    assert majority([], candidates) == [0.2, 0.6, 0.6, 0.0, 0.6]


def test_weighted_vote_sums_the_weights_of_candidates_with_one_answer():
    candidates = [gen("Answer: 12"), gen("so 391"), gen("Answer: 391."), gen("no idea"), gen("Answer: 12.0")]
    scores = weighted_vote(candidates, [0.9, 0.25, 0.25, 1.0, 0.05])
    assert scores == pytest.approx([0.95, 0.5, 0.5, 0.0, 0.95])   # one confident 12 outweighs two doubted 391s


def constant_scorer():
    return lambda conversation, candidates: [0.5] * len(candidates)


def scorer_of(value: str):
    return lambda conversation, candidates: [float(value)] * len(candidates)


def test_scorers_resolve_by_name_target_or_callable():
    assert resolve_scorer("majority") is majority
    assert resolve_scorer({"_target_": "svend.inference.scorers.resolve_scorer", "spec": "majority"}) is majority
    fn = lambda conv, cands: [0.0] * len(cands)  # noqa: E731
    assert resolve_scorer(fn) is fn
    SCORERS["lazy"] = f"{__name__}:constant_scorer"  # a "module:attr" factory, imported on first use
    SCORERS["lazy_arg"] = f"{__name__}:scorer_of"  # name:argument calls the factory with the argument
    try:
        assert resolve_scorer("lazy")([], [gen("a"), gen("b")]) == [0.5, 0.5]
        assert resolve_scorer("lazy_arg:0.25")([], [gen("a")]) == [0.25]
    finally:
        del SCORERS["lazy"], SCORERS["lazy_arg"]
    with pytest.raises(ValueError, match="majority takes no argument"):
        resolve_scorer("majority:3")
    with pytest.raises(ValueError, match="unknown scorer"):
        resolve_scorer("nope")
    with pytest.raises(ValueError, match="needs _target_"):
        resolve_scorer({"name": "majority"})
