"""Symbolic math with sympy, behind a parser that never evaluates Python.

``sympify`` and ``parse_expr`` run ``eval`` on their input, so a model-written expression such as
``__import__('os').system('id')`` would execute. ``parse`` instead walks the Python AST of the text and
builds the sympy expression itself from a whitelist: number literals (decimals become exact
rationals), identifiers (symbols, or a handful of constants), + - * / ** and calls to whitelisted
functions by bare name. Attributes, subscripts, lambdas, keywords, strings and every other node are
refused, and sizes are bounded before sympy sees them (text length, node count, powers, factorials)
so that ``2**10**10`` is an error, not an hour of CPU. What a bound cannot foresee (a hard integral)
is stopped by the registry's per-call time limit, because these tools run in the worker process.

Tools: math_evaluate, math_simplify, math_expand, math_factor, math_solve, math_differentiate,
math_integrate, math_limit, math_series, math_substitute, math_matrix.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from typing import Any

import sympy

from svend.tools.calculator import parse_bounded
from svend.tools.registry import Tool, ToolError, params, string

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_BITS = 20_000  # largest exact integer a power may produce (~6,000 digits)
MAX_SYMBOLIC_EXPONENT = 1000
MAX_FACTORIAL = 5000
MAX_OUTPUT = 20_000
MAX_MATRIX = 8

_CONSTANTS = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E, "I": sympy.I, "oo": sympy.oo, "inf": sympy.oo,
              "infinity": sympy.oo, "nan": sympy.nan}
_FUNCTIONS = {
    name: getattr(sympy, name)
    for name in ("sin cos tan cot sec csc asin acos atan acot atan2 sinh cosh tanh asinh acosh atanh exp log sqrt "
                 "cbrt root Abs factorial binomial gcd lcm floor ceiling sign Min Max re im conjugate gamma erf "
                 "Mod isprime").split()
}
_FUNCTIONS.update({"ln": sympy.log, "abs": sympy.Abs, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
                   "Eq": sympy.Eq, "min": sympy.Min, "max": sympy.Max})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,23}\Z")
# "2x", "3(x+1)", ")(" and ")x" mean multiplication in maths; "1e5" stays a number.
_IMPLICIT = [(re.compile(r"(?<![A-Za-z_\d.])(\d+\.?\d*)(?![eE][+-]?\d)(?=[A-Za-z(])"), r"\1*"),
             (re.compile(r"\)(?=[A-Za-z0-9(])"), ")*")]
_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


def _number_bits(value: sympy.Expr) -> float:
    """log2 of a number's size, for bounding powers before sympy computes them."""
    if value.is_Rational:
        return max(int(value.p).bit_length(), int(value.q).bit_length())
    return math.log2(abs(float(value))) if value.is_Float and value != 0 else 0.0


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    if exponent.is_Number and exponent.is_finite:
        if base.is_Number and abs(base) != 1 and base != 0:
            if abs(float(exponent)) * max(_number_bits(base), 1) > MAX_BITS:
                raise ToolError("too_large", f"{base}**{exponent} has more than {MAX_BITS} bits; use a smaller power")
        elif not base.is_Number and abs(exponent) > MAX_SYMBOLIC_EXPONENT:
            raise ToolError("too_large", f"exponents of symbolic expressions are limited to ±{MAX_SYMBOLIC_EXPONENT}")
    return sympy.Pow(base, exponent)


def _call(name: str, args: list[sympy.Expr]) -> sympy.Expr:
    if name in ("factorial", "binomial", "gamma"):
        for arg in args:
            if arg.is_Number and abs(arg) > MAX_FACTORIAL:
                raise ToolError("too_large", f"{name} arguments are limited to {MAX_FACTORIAL}")
    if name == "isprime":
        if len(args) != 1 or not args[0].is_Integer:
            raise ToolError("invalid_expression", "isprime takes one integer")
        return sympy.true if sympy.isprime(int(args[0])) else sympy.false
    return _FUNCTIONS[name](*args)


_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Mod: lambda a, b: sympy.Mod(a, b),
           ast.FloorDiv: lambda a, b: sympy.floor(a / b), ast.Pow: _power}


def _build(node: ast.AST, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Rational(repr(node.value))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise ToolError("invalid_expression", f"{node.id} is a function; call it as {node.id}(...)")
        if not _NAME.match(node.id):
            raise ToolError("invalid_expression", f"{node.id[:40]!r} is not a variable name (letters, digits, _; at most 24)")
        return symbols.setdefault(node.id, sympy.Symbol(node.id))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, symbols)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_build(node.left, symbols), _build(node.right, symbols))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            shown = ast.unparse(node.func)[:40]
            raise ToolError("invalid_expression", f"{shown!r} is not an allowed function; allowed: {', '.join(sorted(_FUNCTIONS))}")
        if node.keywords or len(node.args) > 3 or any(isinstance(a, ast.Starred) for a in node.args):
            raise ToolError("invalid_expression", f"{node.func.id} takes up to three plain arguments")
        return _call(node.func.id, [_build(a, symbols) for a in node.args])
    raise ToolError("invalid_expression",
                    f"{type(node).__name__} is not allowed in an expression; use numbers, variables, + - * / ^ and functions")


def parse(text: Any, symbols: dict[str, sympy.Symbol] | None = None) -> sympy.Expr:
    """A sympy expression from text, without evaluating Python. ``lhs = rhs`` gives an equation."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = repr(text)
    if not isinstance(text, str):
        raise ToolError("invalid_expression", f"expected an expression string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ToolError("too_large", f"expressions are limited to {MAX_LENGTH} characters")
    symbols = {} if symbols is None else symbols
    sides = _EQUALS.split(text.replace("==", "="))
    if len(sides) == 2:
        return sympy.Eq(parse(sides[0], symbols), parse(sides[1], symbols))
    if len(sides) > 2:
        raise ToolError("invalid_expression", "an equation has exactly one '='")
    source = text.replace("^", "**").replace("×", "*").replace("−", "-").strip()
    for pattern, replacement in _IMPLICIT:
        source = pattern.sub(replacement, source)
    tree = parse_bounded(source, text, MAX_NODES)
    if not source:
        raise ToolError("invalid_expression", "the expression is empty")
    try:
        return _build(tree.body, symbols)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ToolError("invalid_expression", f"cannot build {text[:80]!r}: {exc}") from None


def _symbol(name: str, symbols: dict[str, sympy.Symbol]) -> sympy.Symbol:
    if not _NAME.match(name) or keyword.iskeyword(name) or name in _CONSTANTS or name in _FUNCTIONS:
        raise ToolError("invalid_variable", f"{name[:40]!r} is not a variable name")
    return symbols.setdefault(name, sympy.Symbol(name))


def _default_variable(expr: sympy.Expr, variable: str | None, symbols: dict[str, sympy.Symbol]) -> sympy.Symbol:
    if variable:
        return _symbol(variable, symbols)
    free = sorted(expr.free_symbols, key=str)
    if len(free) != 1:
        raise ToolError("missing_variable", f"say which variable to use; the expression has {len(free)}: "
                                            f"{', '.join(map(str, free)) or 'none'}")
    return free[0]


def show(expr: Any) -> str:
    text = str(expr)
    if len(text) > MAX_OUTPUT:
        raise ToolError("too_large", f"the result has more than {MAX_OUTPUT} characters; ask for something smaller")
    return text


def _numeric(expr: sympy.Expr, digits: int) -> str | None:
    if getattr(expr, "free_symbols", None) or not isinstance(expr, sympy.Expr):
        return None
    value = sympy.N(expr, digits)
    return show(value) if value.is_number else None


# --- operations -------------------------------------------------------------------------------

def evaluate(expression: str, digits: int = 15) -> dict:
    expr = parse(expression)
    exact = sympy.nsimplify(expr) if expr.is_Float else expr
    return {"exact": show(exact), "numeric": _numeric(exact, digits)}


def simplify(expression: str) -> dict:
    return {"result": show(sympy.simplify(parse(expression)))}


def expand(expression: str) -> dict:
    return {"result": show(sympy.expand(parse(expression)))}


def factor(expression: str) -> dict:
    expr = parse(expression)
    if expr.is_Integer:
        if abs(expr) > 10**40:
            raise ToolError("too_large", "integer factorisation is limited to 40 digits")
        factors = sympy.factorint(int(expr))
        shown = " * ".join(f"{p}^{k}" if k > 1 else str(p) for p, k in factors.items())
        return {"result": shown or str(expr), "factors": {str(p): k for p, k in factors.items()}}
    return {"result": show(sympy.factor(expr))}


def solve(equations: str | list[str], variables: list[str] | None = None) -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    items = [equations] if isinstance(equations, str) else list(equations)
    exprs = [e for e in (parse(e, symbols) for e in items) if e is not sympy.true]
    if any(e is sympy.false for e in exprs):
        return {"variables": variables or [], "solutions": [], "count": 0, "note": "the equations contradict each other"}
    unknowns = [_symbol(v, symbols) for v in variables] if variables else sorted(
        set().union(*(e.free_symbols for e in exprs)), key=str)
    if not unknowns:
        raise ToolError("missing_variable", "there is nothing to solve for: the equations have no variables")
    solutions = sympy.solve(exprs, unknowns, dict=True)
    return {"variables": [str(u) for u in unknowns],
            "solutions": [{str(k): show(v) for k, v in s.items()} for s in solutions],
            "count": len(solutions)}


def differentiate(expression: str, variable: str | None = None, order: int = 1) -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    expr = parse(expression, symbols)
    return {"result": show(sympy.diff(expr, _default_variable(expr, variable, symbols), order))}


def integrate(expression: str, variable: str | None = None, lower: str | None = None, upper: str | None = None) -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    expr = parse(expression, symbols)
    var = _default_variable(expr, variable, symbols)
    if (lower is None) != (upper is None):
        raise ToolError("invalid_arguments", "give both lower and upper for a definite integral, or neither")
    if lower is None:
        result = sympy.integrate(expr, var)
    else:
        result = sympy.integrate(expr, (var, parse(lower, symbols), parse(upper, symbols)))
    out = {"result": show(result), "closed_form": not result.has(sympy.Integral)}
    if lower is not None:
        out["numeric"] = _numeric(result, 15)
    return out


def limit(expression: str, point: str, variable: str | None = None, direction: str = "+-") -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    expr = parse(expression, symbols)
    result = sympy.limit(expr, _default_variable(expr, variable, symbols), parse(point, symbols), direction)
    return {"result": show(result)}


def series(expression: str, variable: str | None = None, point: str = "0", order: int = 6) -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    expr = parse(expression, symbols)
    result = sympy.series(expr, _default_variable(expr, variable, symbols), parse(point, symbols), order)
    return {"result": show(result), "polynomial": show(result.removeO())}


def substitute(expression: str, values: dict[str, str | float]) -> dict:
    symbols: dict[str, sympy.Symbol] = {}
    expr = parse(expression, symbols)
    mapping = {_symbol(k, symbols): parse(v, symbols) for k, v in values.items()}
    result = sympy.simplify(expr.subs(mapping))
    return {"result": show(result), "numeric": _numeric(result, 15)}


def matrix(matrix: list[list[Any]], operation: str) -> dict:
    rows = [[parse(cell) for cell in row] for row in matrix]
    if len({len(r) for r in rows}) != 1:
        raise ToolError("invalid_matrix", "every row must have the same number of entries")
    m = sympy.Matrix(rows)
    square = m.rows == m.cols
    if operation in ("determinant", "inverse", "eigenvalues", "eigenvectors") and not square:
        raise ToolError("invalid_matrix", f"{operation} needs a square matrix, got {m.rows}x{m.cols}")
    if operation == "determinant":
        return {"result": show(m.det())}
    if operation == "inverse":
        if m.det() == 0:
            raise ToolError("singular_matrix", "the matrix has determinant 0 and no inverse")
        return {"result": [[show(x) for x in row] for row in m.inv().tolist()]}
    if operation == "eigenvalues":
        return {"result": {show(k): int(v) for k, v in m.eigenvals().items()}}
    if operation == "eigenvectors":
        return {"result": [{"eigenvalue": show(val), "multiplicity": int(mult),
                            "vectors": [[show(x) for x in vec] for vec in vecs]}
                           for val, mult, vecs in m.eigenvects()]}
    if operation == "rank":
        return {"result": int(m.rank())}
    if operation == "transpose":
        return {"result": [[show(x) for x in row] for row in m.T.tolist()]}
    reduced, pivots = m.rref()
    return {"result": [[show(x) for x in row] for row in reduced.tolist()], "pivots": list(pivots)}


def tools() -> list[Tool]:
    expr = string("a maths expression: numbers, variables, + - * / ^, functions such as sin, exp, log, sqrt", MAX_LENGTH)
    var = string("the variable, e.g. 'x' (optional when the expression has one)", 24)
    cell = {"type": ["string", "number"], "maxLength": 200}

    def tool(name: str, description: str, parameters: dict, function) -> Tool:
        return Tool(name, description, parameters, function, family="math")

    return [
        tool("math_evaluate", "Exact arithmetic (big integers, fractions, surds, pi) with a decimal approximation.",
             params({"expression": expr}, {"digits": {"type": "integer", "minimum": 1, "maximum": 100}}), evaluate),
        tool("math_simplify", "Simplify an expression.", params({"expression": expr}), simplify),
        tool("math_expand", "Expand products and powers.", params({"expression": expr}), expand),
        tool("math_factor", "Factor a polynomial, or an integer into primes.", params({"expression": expr}), factor),
        tool("math_solve", "Solve an equation ('x^2 = 4') or a system (list of equations) for the given variables.",
             params({"equations": {"oneOf": [expr, {"type": "array", "items": expr, "minItems": 1, "maxItems": 10}]}},
                    {"variables": {"type": "array", "items": var, "maxItems": 10}}), solve),
        tool("math_differentiate", "Derivative of an expression (order 1 to 10).",
             params({"expression": expr}, {"variable": var, "order": {"type": "integer", "minimum": 1, "maximum": 10}}),
             differentiate),
        tool("math_integrate", "Indefinite integral, or definite with lower and upper bounds ('0', 'pi', 'oo').",
             params({"expression": expr}, {"variable": var, "lower": string("lower bound", 200),
                                           "upper": string("upper bound", 200)}), integrate),
        tool("math_limit", "Limit of an expression as the variable approaches a point ('0', 'oo').",
             params({"expression": expr, "point": string("the point, e.g. '0' or 'oo'", 200)},
                    {"variable": var, "direction": {"enum": ["+", "-", "+-"]}}), limit),
        tool("math_series", "Taylor series of an expression around a point, up to an order.",
             params({"expression": expr}, {"variable": var, "point": string("expansion point", 200),
                                           "order": {"type": "integer", "minimum": 1, "maximum": 20}}), series),
        tool("math_substitute", "Substitute values for variables and simplify (checks a solution).",
             params({"expression": expr, "values": {"type": "object", "maxProperties": 20,
                                                   "additionalProperties": cell}}), substitute),
        tool("math_matrix", "Matrix determinant, inverse, eigenvalues, eigenvectors, rank, transpose or rref.",
             params({"matrix": {"type": "array", "minItems": 1, "maxItems": MAX_MATRIX,
                                "items": {"type": "array", "minItems": 1, "maxItems": MAX_MATRIX, "items": cell}},
                     "operation": {"enum": ["determinant", "inverse", "eigenvalues", "eigenvectors", "rank",
                                            "transpose", "rref"]}}), matrix),
    ]
