"""Logic: z3 answers through a formula language that is parsed, never evaluated."""

from __future__ import annotations

import pytest

from tests.tools.checks import fails, ok


def test_satisfiable_with_model(registry):
    result = ok(registry.call("logic_satisfiable", {"formulas": ["p & (q | !r) -> s", "p", "!s"]}))
    model = result["model"]
    assert result["satisfiable"] and model["p"] and not model["s"] and not (model["q"] or not model["r"])
    assert ok(registry.call("logic_satisfiable", {"formulas": ["p and not p"]})) == {"satisfiable": False}
    assert ok(registry.call("logic_satisfiable", {"formulas": ["(a xor b) iff (a <-> !b)"]}))["satisfiable"]


def test_solve_integers_reals_and_optimum(registry):
    result = ok(registry.call("logic_solve", {"constraints": ["x + 2*y <= 10", "x >= 1", "y >= 1", "x != y"],
                                              "maximize": "x + y"}))
    assert result["objective"] == "9" and result["model"] == {"x": 8, "y": 1}
    assert ok(registry.call("logic_solve", {"constraints": ["2*x == 3"], "variables": {"x": "real"}}))["model"] == {"x": "3/2"}
    assert ok(registry.call("logic_solve", {"constraints": ["x % 7 == 3", "x > 20"], "minimize": "x"}))["model"] == {"x": 24}
    assert ok(registry.call("logic_solve", {"constraints": ["x > 2", "x < 3"]})) == {"satisfiable": False}


def test_implication_and_equivalence(registry):
    assert ok(registry.call("logic_implies", {"premises": ["p -> q", "q -> r"], "conclusion": "p -> r"})) == {"valid": True}
    affirming = ok(registry.call("logic_implies", {"premises": ["p -> q", "q"], "conclusion": "p"}))
    assert affirming == {"valid": False, "counterexample": {"p": False, "q": True}}
    assert ok(registry.call("logic_equivalent", {"a": "!(p & q)", "b": "!p | !q"})) == {"equivalent": True}
    converse = ok(registry.call("logic_equivalent", {"a": "p -> q", "b": "q -> p"}))
    assert not converse["equivalent"] and converse["counterexample"]["p"] != converse["counterexample"]["q"]
    assert ok(registry.call("logic_implies", {"premises": ["x > 5"], "conclusion": "x > 3"})) == {"valid": True}


def test_schedule(registry):
    result = ok(registry.call("logic_schedule", {"tasks": {"a": 3, "b": 2, "c": 4}, "before": [["a", "c"]]}))
    start = result["start"]
    assert result["makespan"] == 9 and start["a"] + 3 <= start["c"]
    parallel = ok(registry.call("logic_schedule", {"tasks": {"a": 3, "b": 2, "c": 4}, "before": [["a", "c"]],
                                                   "parallel": True}))
    assert parallel["makespan"] == 7
    assert ok(registry.call("logic_schedule", {"tasks": {"a": 3, "b": 2}, "horizon": 4})) == {"feasible": False}


def test_assign(registry):
    result = ok(registry.call("logic_assign", {"items": ["alice", "bob", "carol"], "options": ["red", "green", "blue"],
                                               "constraints": ["alice != red", "bob == green", "carol != blue"]}))
    assert result == {"feasible": True, "assignment": {"alice": "blue", "bob": "green", "carol": "red"}, "unique": True}
    assert ok(registry.call("logic_assign", {"items": ["a", "b"], "options": ["x"]})) == {"feasible": False}


@pytest.mark.parametrize("formula", [
    "__import__('os').system('id')", "x.y", "lambda: 1", "p; q", "exec('1')", "p & ", "(p", "p q", "'p'",
    "p[0]", "f(x)", "p @ q", "!" * 100 + "p", "(" * 40 + "p" + ")" * 40,
])
def test_injection_and_syntax_rejected(registry, formula):
    error = fails(registry.call("logic_satisfiable", {"formulas": [formula]}))
    assert error["type"] in ("invalid_formula", "too_large")


@pytest.mark.parametrize("formulas, variables", [
    (["p + 1 > 2", "p"], None),
    (["x & y"], {"x": "int"}),
    (["x % 2 == 1"], {"x": "real"}),
])
def test_type_errors(registry, formulas, variables):
    args = {"formulas": formulas} | ({"variables": variables} if variables else {})
    fails(registry.call("logic_satisfiable", args), "type_error")
