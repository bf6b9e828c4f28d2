"""Symbolic math: every operation on known answers, and a parser that never evaluates Python."""

from __future__ import annotations

import time

import pytest
import sympy

from svend.tools.symbolic import parse
from svend.tools.registry import ToolError
from tests.tools.checks import fails, ok


def test_exact_big_integer_and_rationals(registry):
    assert ok(registry.call("math_evaluate", {"expression": "987654321 * 123456789"}))["exact"] == "121932631112635269"
    assert ok(registry.call("math_evaluate", {"expression": "1/3 + 1/6"}))["exact"] == "1/2"
    assert ok(registry.call("math_evaluate", {"expression": "0.1 + 0.2"}))["exact"] == "3/10"
    result = ok(registry.call("math_evaluate", {"expression": "sqrt(8)", "digits": 30}))
    assert result["exact"] == "2*sqrt(2)" and result["numeric"].startswith("2.82842712474619009760337744")
    assert ok(registry.call("math_evaluate", {"expression": "2^100"}))["exact"] == str(2**100)


@pytest.mark.parametrize("tool, args, key, expected", [
    ("math_simplify", {"expression": "sin(x)^2 + cos(x)^2"}, "result", "1"),
    ("math_simplify", {"expression": "(x^2 - 1)/(x - 1)"}, "result", "x + 1"),
    ("math_expand", {"expression": "(x + 1)^3"}, "result", "x**3 + 3*x**2 + 3*x + 1"),
    ("math_factor", {"expression": "x^2 - 5x + 6"}, "result", "(x - 3)*(x - 2)"),
    ("math_factor", {"expression": "360"}, "factors", {"2": 3, "3": 2, "5": 1}),
    ("math_differentiate", {"expression": "x^3 * sin(x)"}, "result", "x**3*cos(x) + 3*x**2*sin(x)"),
    ("math_differentiate", {"expression": "x^4", "order": 2}, "result", "12*x**2"),
    ("math_integrate", {"expression": "x^2"}, "result", "x**3/3"),
    ("math_integrate", {"expression": "exp(-x^2)", "lower": "-oo", "upper": "oo"}, "result", "sqrt(pi)"),
    ("math_integrate", {"expression": "x", "variable": "x", "lower": "0", "upper": "2"}, "result", "2"),
    ("math_limit", {"expression": "sin(x)/x", "point": "0"}, "result", "1"),
    ("math_limit", {"expression": "1/x", "point": "0", "direction": "+"}, "result", "oo"),
    ("math_series", {"expression": "exp(x)", "order": 4}, "polynomial", "x**3/6 + x**2/2 + x + 1"),
    ("math_substitute", {"expression": "x^2 + y", "values": {"x": "3", "y": 1}}, "result", "10"),
    ("math_matrix", {"matrix": [[1, 2], [3, 4]], "operation": "determinant"}, "result", "-2"),
    ("math_matrix", {"matrix": [[1, 2], [3, 4]], "operation": "inverse"}, "result", [["-2", "1"], ["3/2", "-1/2"]]),
    ("math_matrix", {"matrix": [[2, 0], [0, 3]], "operation": "eigenvalues"}, "result", {"2": 1, "3": 1}),
    ("math_matrix", {"matrix": [[1, 2], [2, 4]], "operation": "rank"}, "result", 1),
    ("math_matrix", {"matrix": [["a", "b"]], "operation": "transpose"}, "result", [["a"], ["b"]]),
])
def test_known_answers(registry, tool, args, key, expected):
    assert ok(registry.call(tool, args))[key] == expected


def test_solve_equation_and_system(registry):
    assert ok(registry.call("math_solve", {"equations": "x^2 = 4"}))["solutions"] == [{"x": "-2"}, {"x": "2"}]
    system = ok(registry.call("math_solve", {"equations": ["x + y = 10", "x - y = 2"], "variables": ["x", "y"]}))
    assert system["solutions"] == [{"x": "6", "y": "4"}]
    assert ok(registry.call("math_solve", {"equations": "x = x + 1"}))["count"] == 0


def test_eigenvectors(registry):
    result = ok(registry.call("math_matrix", {"matrix": [[2, 0], [0, 3]], "operation": "eigenvectors"}))["result"]
    assert [(e["eigenvalue"], e["vectors"]) for e in result] == [("2", [["1", "0"]]), ("3", [["0", "1"]])]


@pytest.mark.parametrize("tool, args, kind", [
    ("math_matrix", {"matrix": [[1, 2], [2, 4]], "operation": "inverse"}, "singular_matrix"),
    ("math_matrix", {"matrix": [[1, 2, 3], [4, 5, 6]], "operation": "determinant"}, "invalid_matrix"),
    ("math_matrix", {"matrix": [[1, 2], [3]], "operation": "rank"}, "invalid_matrix"),
    ("math_differentiate", {"expression": "x*y"}, "missing_variable"),
    ("math_integrate", {"expression": "x", "lower": "0"}, "invalid_arguments"),
    ("math_evaluate", {"expression": "2**10**10"}, "too_large"),
    ("math_evaluate", {"expression": "factorial(10**6)"}, "too_large"),
    ("math_expand", {"expression": "(x + y)^100000"}, "too_large"),
    ("math_evaluate", {"expression": "x = 1 = 2"}, "invalid_expression"),
])
def test_structured_errors(registry, tool, args, kind):
    fails(registry.call(tool, args), kind)


ATTACKS = [
    "__import__('os').system('id')",
    "__import__('os')",
    "x.__class__.__mro__[1].__subclasses__()",
    "(1).__class__",
    "x.real",
    "(lambda: __import__('os'))()",
    "(lambda x: x)(1)",
    "getattr(x, 'evalf')()",
    "eval('1+1')",
    "exec('import os')",
    "Symbol('x')",
    "sympify('1')",
    "open('/etc/passwd')",
    "[1, 2][0]",
    "'abc'",
    "sin(x=1)",
    "sin(*[1])",
    "{'a': 1}",
    "x if y else z",
    "[c for c in 'ab']",
    "Integer(1).__repr__()",
    "f'{x}'",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_injection_rejected(registry, attack):
    fails(registry.call("math_simplify", {"expression": attack}), "invalid_expression")


def test_injection_rejected_in_every_field(registry):
    attack = "__import__('os').system('touch /tmp/svend-pwned')"
    for tool, args in [("math_solve", {"equations": [attack]}), ("math_limit", {"expression": "x", "point": attack}),
                       ("math_substitute", {"expression": "x", "values": {"x": attack}}),
                       ("math_matrix", {"matrix": [[attack]], "operation": "determinant"}),
                       ("math_integrate", {"expression": "x", "lower": attack, "upper": "1"})]:
        fails(registry.call(tool, args), "invalid_expression")


def test_parser_builds_without_eval():
    x = sympy.Symbol("x")
    assert parse("2x + 3(x + 1)") == 5 * x + 3
    assert parse("x^2") == x**2
    assert parse("1e3") == 1000
    assert parse("ln(E)") == 1
    assert parse("y = 2") == sympy.Eq(sympy.Symbol("y"), 2)
    with pytest.raises(ToolError):
        parse("9**9**9**9")


def test_size_limits_are_fast(registry):
    started = time.perf_counter()
    fails(registry.call("math_evaluate", {"expression": "+".join(["x"] * 600)}), "too_large")
    fails(registry.call("math_evaluate", {"expression": "(" * 999 + "1" + ")" * 999}), "invalid_expression")
    assert time.perf_counter() - started < 1.0
