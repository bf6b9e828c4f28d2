"""The safe calculator: arithmetic on numbers by walking Python's AST — no ``eval``, no names, no
calls, no attributes. Semantics are Python's (``/`` is true division, ``//`` floors, ints are exact
and unbounded) with bounds so that ``9**9**9`` fails at once instead of hanging: integer powers are
refused before they are computed when the result would exceed ``MAX_BITS``, and every intermediate
integer is checked against the same bound.
"""

from __future__ import annotations

import ast
import math
import operator

from svend.tools.registry import Tool, ToolError, params, string

MAX_BITS = 20_000  # about 6,000 decimal digits: enough for exact big-integer work, fast to print
MAX_LENGTH = 1000
MAX_NODES = 400

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _bits(value: int | float) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _check(value: int | float) -> int | float:
    if isinstance(value, complex):
        raise ToolError("domain_error", "the result is a complex number; the calculator works on real numbers")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("overflow", "the result is too large for a floating-point number")
    if isinstance(value, int) and _bits(value) > MAX_BITS:
        raise ToolError("overflow", f"an intermediate integer exceeds {MAX_BITS} bits; use math_evaluate for symbolic work")
    return value


def _power(base: int | float, exponent: int | float) -> int | float:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        # Refuse before computing: the size of base**exponent is known without computing it.
        if abs(base) > 1 and exponent * (abs(base).bit_length() - 1) > MAX_BITS:
            raise ToolError("overflow", f"the power has more than {MAX_BITS} bits; the calculator refuses it")
    return base**exponent


def _walk(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _walk(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_walk(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Pow):
            return _check(_power(left, right))
        if isinstance(node.op, ast.Mult) and _bits(left) + _bits(right) > MAX_BITS + 1:
            raise ToolError("overflow", f"the product exceeds {MAX_BITS} bits")
        return _check(_BINARY[type(node.op)](left, right))
    allowed = "numbers, + - * / // % ** and parentheses"
    raise ToolError("invalid_expression", f"{type(node).__name__} is not allowed; the calculator takes {allowed}")


def parse_bounded(source: str, shown: str, max_nodes: int) -> ast.Expression:
    """``ast.parse`` in eval mode with a node budget; parse failures become ``ToolError`` quoting
    ``shown`` (what the caller wrote). Parsing never executes anything; the walkers decide what is allowed."""
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ToolError("invalid_expression", f"cannot parse {shown[:80]!r}: {getattr(exc, 'msg', exc)}") from None
    if sum(1 for _ in ast.walk(tree)) > max_nodes:
        raise ToolError("too_large", f"the expression has more than {max_nodes} parts")
    return tree


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or ``ToolError``."""
    if len(expression) > MAX_LENGTH:
        raise ToolError("too_large", f"the expression is longer than {MAX_LENGTH} characters")
    text = expression.replace("^", "**").replace("×", "*").replace("÷", "/").strip()
    tree = parse_bounded(text, expression, MAX_NODES)
    try:
        return _walk(tree)
    except ZeroDivisionError:
        raise ToolError("division_by_zero", "division by zero") from None
    except OverflowError as exc:
        raise ToolError("overflow", f"the result overflows: {exc}") from None


def calculate(expression: str) -> dict:
    value = evaluate(expression)
    return {"expression": expression, "result": repr(value) if isinstance(value, float) else str(value)}


def tools() -> list[Tool]:
    return [
        Tool(
            name="calculator",
            description="Evaluate arithmetic exactly: integers of any size, decimals, + - * / // % ** and parentheses.",
            parameters=params({"expression": string("arithmetic, e.g. '987654321 * 123456789' or '(2.5+1)/7'", MAX_LENGTH)}),
            function=calculate,
            family="calculator",
            isolated=False,
        )
    ]
