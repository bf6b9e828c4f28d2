"""Answer matching shared by the data-file tasks: numbers within 0.1 %, text after folding."""

from __future__ import annotations

import pytest

from svend.evaluation.task import answers_match, as_number, mean_of, subsample


@pytest.mark.parametrize("predicted, reference", [
    ("391", "391"), ("1,150", "1150"), ("$3.50", "3.5"), ("0.333", "1/3"), ("26.82", "26.8224"), ("12%", "12"),
    ("-7.", "-7"), ("1e3", "1000"), ("  Paris ", "paris"), ("x = 2", "X  =  2"),
])
def test_matching_answers(predicted, reference):
    assert answers_match(predicted, reference)


@pytest.mark.parametrize("predicted, reference", [
    ("392", "391"), ("0.33", "1/3"), ("26.7", "26.8224"), (None, "1"), ("1", None), ("Paris", "London"), ("", "0"),
])
def test_mismatching_answers(predicted, reference):
    assert not answers_match(predicted, reference)


def test_numbers_and_means():
    assert as_number("1/0") is None and as_number("inf") is None and as_number("nan") is None
    assert mean_of([{"a": True, "b": None}, {"a": False, "b": None}, {"a": None}], ["a", "b"]) == {"a": 0.5}


def test_subsample_is_seeded_and_keeps_order():
    items = list(range(100))
    picked = subsample(items, 10, seed=3)
    assert picked == sorted(picked) and len(set(picked)) == 10
    assert subsample(items, 10, seed=3) == picked and subsample(items, 10, seed=4) != picked
    assert subsample(items, None, seed=3) == items and subsample(items, 500, seed=3) == items
    with pytest.raises(ValueError, match="eval.limit"):
        subsample(items, -1, seed=0)
