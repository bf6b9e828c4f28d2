"""Logic with z3: satisfiability, constraint solving with a model, implication and equivalence with a
counterexample, and two puzzle shapes (scheduling, assignment).

Formulas are written in a small language parsed here by recursive descent — never Python ``eval``:

    p & (q | !r) -> s        x + 2*y <= 10 & x != y        distinct(a, b, c)
    not: ! ~ not     and: & && and     or: | || or     xor: ^ xor
    implies: -> => implies     iff: <-> <=> iff     compare: < <= > >= == = !=     arithmetic: + - * / %

A variable's sort comes from ``variables`` (``{"x": "int", "y": "real", "p": "bool"}``); without a
declaration a name is boolean where a truth value is expected and an integer where a number is.
"""

from __future__ import annotations

import operator
import re
from fractions import Fraction
from typing import Any

import z3

from svend.tools.registry import Tool, ToolError, params, string

MAX_TEXT = 2000
MAX_DEPTH = 30  # each level is ~18 Python frames; 30 stays well inside the recursion limit
MAX_VARIABLES = 200
SOLVER_TIMEOUT_MS = 4000  # below the registry's default 5 s limit, so z3 answers "unknown" first

_TOKEN = re.compile(r"\s*(<->|<=>|->|=>|<=|>=|==|!=|&&|\|\||[-+*/%()<>=!~&|^,]|\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)")
_WORDS = {"and": "&", "or": "|", "not": "!", "xor": "^", "implies": "->", "iff": "<->"}
_ALIASES = {"&&": "&", "||": "|", "~": "!", "=>": "->", "<=>": "<->", "=": "=="}
_SORTS = {"bool": z3.BoolSort, "int": z3.IntSort, "real": z3.RealSort}
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod}
_CONNECTIVES = {"&": z3.And, "|": z3.Or, "^": z3.Xor, "->": z3.Implies, "<->": operator.eq}


def _tokens(text: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        raise ToolError("invalid_formula", "a formula is a non-empty string")
    if len(text) > MAX_TEXT:
        raise ToolError("too_large", f"formulas are limited to {MAX_TEXT} characters")
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ToolError("invalid_formula", f"unexpected {text[pos:pos + 10]!r} at position {pos}")
        token = match.group(1)
        out.append(_ALIASES.get(token, _WORDS.get(token, token)))
        pos = match.end()
    return out


class _Parser:
    """Tokens to a tree of tuples; precedence from loosest: <->, ->, |, ^, &, !, comparison, + -, * / %."""

    def __init__(self, text: str):
        self.tokens, self.pos, self.depth = _tokens(text), 0, 0
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ToolError("invalid_formula", f"expected {expected or 'more input'} at token {self.pos} of {self.text[:60]!r}")
        self.pos += 1
        return token

    def parse(self) -> tuple:
        tree = self.iff()
        if self.peek() is not None:
            raise ToolError("invalid_formula", f"unexpected {self.peek()!r} at token {self.pos} of {self.text[:60]!r}")
        return tree

    def binary(self, operators: tuple[str, ...], next_level, kind: str) -> tuple:
        left = next_level()
        while self.peek() in operators:
            op = self.take()
            left = (kind, op, left, next_level())
        return left

    def nested(self, rule) -> tuple:
        """Apply a recursive rule, refusing nesting deeper than MAX_DEPTH (a bound, not a crash)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ToolError("too_large", f"formulas nest at most {MAX_DEPTH} levels deep")
        tree = rule()
        self.depth -= 1
        return tree

    def iff(self) -> tuple:
        return self.binary(("<->",), self.implies, "bool")

    def implies(self) -> tuple:
        left = self.disjunction()
        if self.peek() == "->":
            self.take()
            return ("bool", "->", left, self.nested(self.implies))  # right-associative
        return left

    def disjunction(self) -> tuple:
        return self.binary(("|",), self.exclusive, "bool")

    def exclusive(self) -> tuple:
        return self.binary(("^",), self.conjunction, "bool")

    def conjunction(self) -> tuple:
        return self.binary(("&",), self.negation, "bool")

    def negation(self) -> tuple:
        if self.peek() == "!":
            self.take()
            return ("not", self.nested(self.negation))
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.sum()
        if self.peek() in ("<", "<=", ">", ">=", "==", "!="):
            op = self.take()
            return ("cmp", op, left, self.sum())
        return left

    def sum(self) -> tuple:
        return self.binary(("+", "-"), self.product, "num")

    def product(self) -> tuple:
        return self.binary(("*", "/", "%"), self.unary, "num")

    def unary(self) -> tuple:
        if self.peek() == "-":
            self.take()
            return ("neg", self.nested(self.unary))
        return self.atom()

    def atom(self) -> tuple:
        token = self.take()
        if token == "(":
            inner = self.nested(self.iff)
            self.take(")")
            return inner
        if token[0].isdigit():
            return ("lit", Fraction(token))
        if token in ("true", "false"):
            return ("truth", token == "true")
        if token[0].isalpha() or token[0] == "_":
            if self.peek() == "(":
                if token != "distinct":
                    raise ToolError("invalid_formula", f"unknown function {token!r}; the only function is distinct(...)")
                self.take("(")
                args = [self.sum()]
                while self.peek() == ",":
                    self.take()
                    args.append(self.sum())
                self.take(")")
                return ("distinct", args)
            return ("var", token)
        raise ToolError("invalid_formula", f"unexpected {token!r} in {self.text[:60]!r}")


class Context:
    """z3 variables by name, with declared or inferred sorts, shared by all formulas of one call."""

    def __init__(self, variables: dict[str, str] | None = None, constants: dict[str, int] | None = None):
        self.vars: dict[str, z3.ExprRef] = {}
        self.constants = dict(constants or {})
        for name, sort in (variables or {}).items():
            self.declare(name, sort)

    def declare(self, name: str, sort: str) -> z3.ExprRef:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", name) or name in _WORDS or name in ("true", "false", "distinct"):
            raise ToolError("invalid_variable", f"{name[:40]!r} is not a variable name")
        if len(self.vars) >= MAX_VARIABLES:
            raise ToolError("too_large", f"at most {MAX_VARIABLES} variables")
        self.vars[name] = z3.Const(name, _SORTS[sort]())
        return self.vars[name]

    def formula(self, text: str) -> z3.BoolRef:
        return self.build(_Parser(text).parse(), "bool")

    def term(self, text: str) -> z3.ArithRef:
        return self.build(_Parser(text).parse(), "num")

    def build(self, node: tuple, want: str) -> z3.ExprRef:
        kind = node[0]
        if kind == "var":
            name = node[1]
            if name in self.constants:
                value = z3.IntVal(self.constants[name])
            else:
                value = self.vars[name] if name in self.vars else self.declare(name, "bool" if want == "bool" else "int")
            is_bool = z3.is_bool(value)
            if is_bool != (want == "bool"):
                raise ToolError("type_error", f"{name} is {'a truth value' if is_bool else 'a number'} but is used as "
                                              f"{'a truth value' if want == 'bool' else 'a number'}")
            return value
        produces = {"lit": "num", "truth": "bool", "bool": "bool", "not": "bool", "cmp": "bool", "distinct": "bool",
                    "num": "num", "neg": "num"}[kind]
        if produces != want:
            raise ToolError("type_error", f"a {'number' if produces == 'num' else 'truth value'} is used where a "
                                          f"{'truth value' if want == 'bool' else 'number'} belongs")
        if kind == "lit":
            value = node[1]
            return z3.IntVal(int(value)) if value.denominator == 1 else z3.RealVal(f"{value.numerator}/{value.denominator}")
        if kind == "truth":
            return z3.BoolVal(node[1])
        if kind == "not":
            return z3.Not(self.build(node[1], "bool"))
        if kind == "neg":
            return -self.build(node[1], "num")
        if kind == "distinct":
            return z3.Distinct(*[self.build(a, "num") for a in node[1]]) if len(node[1]) > 1 else z3.BoolVal(True)
        op, left, right = node[1], node[2], node[3]
        if kind == "cmp":
            sides = "bool" if op in ("==", "!=") and self._is_bool(left) else "num"
            a, b = self.build(left, sides), self.build(right, sides)
            return _COMPARE[op](a, b)
        if kind == "num":
            a, b = self.build(left, "num"), self.build(right, "num")
            if op == "%" and not (z3.is_int(a) and z3.is_int(b)):
                raise ToolError("type_error", "% takes integers")
            return _ARITHMETIC[op](a, b)
        a, b = self.build(left, "bool"), self.build(right, "bool")
        return _CONNECTIVES[op](a, b)

    def _is_bool(self, node: tuple) -> bool:
        if node[0] == "var":
            known = self.vars.get(node[1])
            return known is not None and z3.is_bool(known)
        return node[0] in ("truth", "bool", "not", "cmp", "distinct")

    def model(self, model: z3.ModelRef) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, var in sorted(self.vars.items()):
            value = model.eval(var, model_completion=True)
            if z3.is_bool(value):
                out[name] = z3.is_true(value)
            elif z3.is_int_value(value):
                out[name] = value.as_long()
            else:
                out[name] = str(value.as_fraction()) if z3.is_rational_value(value) else str(value)
        return out


def _check(solver: z3.Solver | z3.Optimize) -> z3.CheckSatResult:
    solver.set("timeout", SOLVER_TIMEOUT_MS)
    result = solver.check()
    if result == z3.unknown:
        raise ToolError("timeout", f"z3 gave no answer within {SOLVER_TIMEOUT_MS} ms ({solver.reason_unknown()}); "
                                   "simplify the constraints")
    return result


def satisfiable(formulas: list[str], variables: dict[str, str] | None = None) -> dict:
    ctx = Context(variables)
    solver = z3.Solver()
    solver.add(*[ctx.formula(f) for f in formulas])
    if _check(solver) == z3.sat:
        return {"satisfiable": True, "model": ctx.model(solver.model())}
    return {"satisfiable": False}


def solve(constraints: list[str], variables: dict[str, str] | None = None, minimize: str | None = None,
          maximize: str | None = None) -> dict:
    if minimize is not None and maximize is not None:
        raise ToolError("invalid_arguments", "give minimize or maximize, not both")
    ctx = Context(variables)
    solver = z3.Optimize()
    solver.add(*[ctx.formula(c) for c in constraints])
    objective = None
    if minimize is not None:
        objective = solver.minimize(ctx.term(minimize))
    elif maximize is not None:
        objective = solver.maximize(ctx.term(maximize))
    if _check(solver) != z3.sat:
        return {"satisfiable": False}
    out: dict[str, Any] = {"satisfiable": True, "model": ctx.model(solver.model())}
    if objective is not None:
        out["objective"] = str(objective.value())
    return out


def implies(premises: list[str], conclusion: str, variables: dict[str, str] | None = None) -> dict:
    ctx = Context(variables)
    solver = z3.Solver()
    solver.add(*[ctx.formula(p) for p in premises], z3.Not(ctx.formula(conclusion)))
    if _check(solver) == z3.sat:
        return {"valid": False, "counterexample": ctx.model(solver.model())}
    return {"valid": True}


def equivalent(a: str, b: str, variables: dict[str, str] | None = None) -> dict:
    ctx = Context(variables)
    solver = z3.Solver()
    solver.add(ctx.formula(a) != ctx.formula(b))
    if _check(solver) == z3.sat:
        return {"equivalent": False, "counterexample": ctx.model(solver.model())}
    return {"equivalent": True}


def schedule(tasks: dict[str, int], before: list[list[str]] | None = None, parallel: bool = False,
             horizon: int | None = None) -> dict:
    """Start times minimising the makespan; tasks share one machine unless ``parallel``."""
    ctx = Context({name: "int" for name in tasks})
    start = ctx.vars
    solver = z3.Optimize()
    end = z3.Int("__makespan")
    for name, duration in tasks.items():
        solver.add(start[name] >= 0, end >= start[name] + duration)
    for pair in before or []:
        if len(pair) != 2 or any(p not in tasks for p in pair):
            raise ToolError("invalid_arguments", f"'before' pairs name two tasks, got {pair!r}")
        solver.add(start[pair[0]] + tasks[pair[0]] <= start[pair[1]])
    if not parallel:
        names = list(tasks)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                solver.add(z3.Or(start[a] + tasks[a] <= start[b], start[b] + tasks[b] <= start[a]))
    if horizon is not None:
        solver.add(end <= horizon)
    solver.minimize(end)
    if _check(solver) != z3.sat:
        return {"feasible": False}
    model = solver.model()
    return {"feasible": True, "start": ctx.model(model), "makespan": model.eval(end).as_long()}


def assign(items: list[str], options: list[str], constraints: list[str] | None = None, distinct: bool = True) -> dict:
    """Give each item one option so that the constraints hold (``alice != red``, ``bob == green | carol == green``)."""
    if set(items) & set(options):
        raise ToolError("invalid_arguments", "item and option names must differ")
    ctx = Context({name: "int" for name in items}, constants={o: i for i, o in enumerate(options)})
    solver = z3.Solver()
    for name in items:
        solver.add(ctx.vars[name] >= 0, ctx.vars[name] < len(options))
    if distinct and len(items) > 1:
        solver.add(z3.Distinct(*[ctx.vars[n] for n in items]))
    solver.add(*[ctx.formula(c) for c in constraints or []])
    if _check(solver) != z3.sat:
        return {"feasible": False}
    model = ctx.model(solver.model())
    assignment = {n: options[model[n]] for n in items}
    solver.add(z3.Or(*[ctx.vars[n] != options.index(v) for n, v in assignment.items()]))
    return {"feasible": True, "assignment": assignment, "unique": _check(solver) == z3.unsat}


def tools() -> list[Tool]:
    formula = string("a formula, e.g. 'p & (q | !r) -> s' or 'x + 2*y <= 10'", MAX_TEXT)
    formulas = {"type": "array", "items": formula, "minItems": 1, "maxItems": 50}
    name = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,40}$"}
    variables = {"type": "object", "maxProperties": MAX_VARIABLES, "propertyNames": name,
                 "additionalProperties": {"enum": ["bool", "int", "real"]},
                 "description": "sorts of variables, e.g. {\"x\": \"int\"}; undeclared: bool or int by use"}
    names = {"type": "array", "items": name, "minItems": 1, "maxItems": 30, "uniqueItems": True}

    def tool(name_: str, description: str, parameters: dict, function) -> Tool:
        return Tool(name_, description, parameters, function, family="logic")

    return [
        tool("logic_satisfiable", "Is a set of formulas satisfiable together? Returns a model if so.",
             params({"formulas": formulas}, {"variables": variables}), satisfiable),
        tool("logic_solve", "Solve integer/real/boolean constraints, optionally minimising or maximising an expression.",
             params({"constraints": formulas}, {"variables": variables, "minimize": string("expression to minimise", 500),
                                                "maximize": string("expression to maximise", 500)}), solve),
        tool("logic_implies", "Do the premises imply the conclusion? Returns a counterexample if not.",
             params({"premises": formulas, "conclusion": formula}, {"variables": variables}), implies),
        tool("logic_equivalent", "Are two formulas equivalent? Returns a counterexample if not.",
             params({"a": formula, "b": formula}, {"variables": variables}), equivalent),
        tool("logic_schedule", "Schedule tasks (integer durations) with precedences, minimising the total time.",
             params({"tasks": {"type": "object", "minProperties": 1, "maxProperties": 30, "propertyNames": name,
                               "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10**6}}},
                    {"before": {"type": "array", "maxItems": 200, "items": {"type": "array", "items": name}},
                     "parallel": {"type": "boolean"}, "horizon": {"type": "integer", "minimum": 0, "maximum": 10**9}}),
             schedule),
        tool("logic_assign", "Assign each item one option (all different by default) subject to constraints like "
             "'alice != red' or 'bob == green | carol == green'.",
             params({"items": names, "options": names},
                    {"constraints": {"type": "array", "items": formula, "maxItems": 50}, "distinct": {"type": "boolean"}}),
             assign),
    ]
