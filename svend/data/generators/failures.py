"""Failure-recognition traces: a tool answers with a real error — produced by running the tool on the
call, never written by hand — and the assistant either repairs the call, or says plainly that there is
no answer, or asks for what is missing.

Why: a model that has only seen successful calls treats an error message as a result, or retries the
same call forever. The errors chosen here are ones a careful assistant cannot avoid by being careful,
because they come from the user's problem: a divisor that is zero, a square root of a negative
number, a power too large for the calculator, a mass that is negative, a formula with a typo, an
equation whose sides do not share elements, a matrix without an inverse, a computation that runs past
its time limit, a motion problem with too few knowns. (Errors the assistant causes by being sloppy —
misspelt argument names — are not imitated: the loss covers assistant turns, so the model would learn
the sloppiness too.) Each example records the error types it saw under ``metadata.error_types``.
"""

from __future__ import annotations

import random

from svend.data.generators.base import Context, Drop, Example, Trace, pick, rounded
from svend.data.generators.tool_traces import COMPOUNDS, think
from svend.tools.registry import is_error


def _expect_error(trace: Trace, name: str, args: dict, types: tuple[str, ...], text: str = "") -> dict:
    """Run a call that must fail with one of ``types``; anything else drops the example."""
    result = trace.call(name, args, text, expect_ok=False)
    if not is_error(result) or result["error"]["type"] not in types:
        raise Drop("no_error", f"{name}{args} -> {str(result)[:120]}")
    return result


def _example(trace: Trace, question: str, text: str, answer=None, errors=()) -> Example:
    trace.finish(text, answer)
    return Example(trace.messages, problem=question, answer=None if answer is None else str(answer),
                   extra={"error_types": list(errors)})


def division_by_zero(ctx: Context, rng: random.Random, index: int) -> Example:
    a, c, k = rng.randint(2, 999), rng.randint(1, 50), rng.randint(2, 9)
    form = rng.randrange(3)
    if form == 0:
        shown, expr, why = f"{a} / ({c} - {c})", f"{a}/({c}-{c})", f"{c} - {c} = 0"
    elif form == 1:
        shown, expr, why = f"({a} + {c}) / ({k} * {c} - {k * c})", f"({a}+{c})/({k}*{c}-{k * c})", f"{k} × {c} - {k * c} = 0"
    else:
        shown, expr, why = f"{a} / 0", f"{a}/0", "the divisor is 0"
    q = pick(rng, [f"What is {shown}?", f"Compute {shown}.", f"Evaluate {shown} for me.", f"Calculate {shown}, please."])
    t = Trace(ctx, q)
    err = _expect_error(t, "calculator", {"expression": expr}, ("division_by_zero",), think(rng, "Straight arithmetic."))
    text = pick(rng, [f"That has no value: {why}, and division by zero is undefined. I can't give a number for it.",
                      f"The calculator reports a division by zero: {why}. The expression is undefined, so there is no answer."])
    return _example(t, q, text, None, [err["error"]["type"]])


def sqrt_negative(ctx: Context, rng: random.Random, index: int) -> Example:
    n = rng.randint(1, 40)
    value = n * n if rng.random() < 0.6 else rng.randint(2, 500)
    q = pick(rng, [f"What is the square root of -{value}?", f"Compute sqrt(-{value}).", f"Find the square root of -{value}."])
    t = Trace(ctx, q)
    err = _expect_error(t, "calculator", {"expression": f"(-{value})**0.5"}, ("domain_error",), think(rng, "A square root is a power of 0.5."))
    r = t.call("math_evaluate", {"expression": f"sqrt(-{value})"}, "No real result; the exact tool handles complex numbers.")
    return _example(t, q, f"-{value} has no real square root; over the complex numbers it is {r['exact']}.", r["exact"], [err["error"]["type"]])


def overflow_digits(ctx: Context, rng: random.Random, index: int) -> Example:
    base, exp = rng.randint(2, 99), rng.choice([10**5, 10**6, 10**7, 123456, 999999, 5 * 10**6]) + rng.randint(0, 999)
    q = pick(rng, [f"Let x = {base}^{exp}. How many decimal digits does the integer x have?",
                   f"The integer x = {base}^{exp}: how many digits does x have?",
                   f"How many digits does the integer x = {base}^{exp} have?"])
    t = Trace(ctx, q)
    err = _expect_error(t, "calculator", {"expression": f"{base}**{exp}"}, ("overflow",), think(rng, "Compute the power, then count digits."))
    r = t.call("math_evaluate", {"expression": f"floor({exp}*log({base}, 10)) + 1"},
               "<think>Too large to compute directly; digits = floor(n·log10(b)) + 1.</think>")
    return _example(t, q, f"{base}^{exp} has {r['exact']} digits.", r["exact"], [err["error"]["type"]])


def expression_repair(ctx: Context, rng: random.Random, index: int) -> Example:
    """The user pasted an expression with characters Python arithmetic does not read; the call fails,
    and the repaired call uses plain operators."""
    a, b, c = rng.randint(1000, 99999), rng.randint(1000, 99999), rng.randint(2, 99)
    form = rng.randrange(3)
    if form == 0:  # thousands separators
        shown, bad, good = f"{a:,} + {b:,}", f"{a:,}+{b:,}", f"{a}+{b}"
    elif form == 1:  # a typographic minus sign, as pasted from a document
        shown, bad, good = f"{a} − {b}", f"{a} − {b}", f"{a} - {b}"
    else:  # percent sign
        shown, bad, good = f"{c}% of {a}", f"{c}% of {a}", f"{a}*{c}/100"
    q = pick(rng, [f"What is {shown}?", f"Calculate {shown}.", f"Quick one: {shown}?"])
    t = Trace(ctx, q)
    err = _expect_error(t, "calculator", {"expression": bad}, ("invalid_expression",))
    r = t.call("calculator", {"expression": good}, "The calculator needs plain operators; rewriting the expression.")
    value = rounded(r["result"], 4)
    return _example(t, q, f"{shown} = {value}.", value, [err["error"]["type"]])


def missing_known(ctx: Context, rng: random.Random, index: int) -> Example:
    """Too few knowns: the tool says which are missing, and the assistant asks for one."""
    a, v0 = rng.randint(1, 9), rng.choice([0, 0, 0, 2, 3, 5, 8, 10, 12, 15, 20])
    thing = pick(rng, ["A car", "A cyclist", "A sled", "A train", "A runner", "A scooter", "A boat", "A lift"])
    start = "starts from rest" if v0 == 0 else f"moving at {v0} m/s"
    q = pick(rng, [f"{thing} {start} with an acceleration of {a} m/s^2. How far does it travel?",
                   f"{thing} {start} accelerates at {a} m/s^2. What distance does it cover?",
                   f"{thing} {start} has an acceleration of {a} m/s^2. What is its final velocity?"])
    t = Trace(ctx, q)
    err = _expect_error(t, "physics_kinematics", {"initial_velocity": f"{v0} m/s", "acceleration": f"{a} m/s^2"}, ("invalid_arguments",),
                        think(rng, "Constant acceleration: use the kinematics tool."))
    asked = "distance" if "velocity" not in q else "final velocity"
    text = pick(rng, [f"<clarify>The {asked} depends on how long it accelerates: for how many seconds (or over what distance)?",
                      f"<clarify>I need one more fact for the {asked}: how long does it accelerate?"])
    return _example(t, q, text, None, [err["error"]["type"]])


def unit_mismatch(ctx: Context, rng: random.Random, index: int) -> Example:
    src, dst, what = pick(rng, [("kg", "m", "mass into a length"), ("km", "kg", "a length into a mass"), ("s", "m", "a time into a length"),
                                ("L", "kg", "a volume into a mass"), ("J", "W", "energy into power"), ("N", "kg", "a force into a mass")])
    value = rng.randint(1, 500)
    q = pick(rng, [f"Convert {value} {src} to {dst} units.", f"Convert units: {value} {src} into {dst}."])
    t = Trace(ctx, q)
    err = _expect_error(t, "physics_convert", {"quantity": f"{value} {src}", "to": dst}, ("dimension_mismatch",))
    text = (f"That conversion isn't possible: it would turn {what}, and the units measure different things. "
            "Tell me what connects them (a density, a speed, a time) and I can work it out.")
    return _example(t, q, text, None, [err["error"]["type"]])


def negative_amount(ctx: Context, rng: random.Random, index: int) -> Example:
    name, formula = pick(rng, COMPOUNDS)
    grams = -rng.randint(1, 300)
    q = pick(rng, [f"How many moles are in {grams} grams of {formula}?", f"Convert {grams} g of {name} ({formula}) to moles."])
    t = Trace(ctx, q)
    err = _expect_error(t, "chem_grams_to_moles", {"formula": formula, "grams": grams}, ("invalid_arguments",))
    text = f"A mass of {grams} g isn't physical: the amount has to be positive. Did you mean {-grams} g?"
    return _example(t, q, text, None, [err["error"]["type"]])


def _typo(formula: str, rng: random.Random) -> str:
    """A typing slip in a formula: wrong case somewhere (element symbols are case-sensitive)."""
    how = rng.randrange(4)
    if how == 0:
        return formula.upper()
    if how == 1:
        return formula.lower()
    letters = [i for i, ch in enumerate(formula) if ch.isalpha()]
    i = rng.choice(letters)
    return formula[:i] + formula[i].swapcase() + formula[i + 1:]


def formula_typo(ctx: Context, rng: random.Random, index: int) -> Example:
    """A formula with a case slip: the tool rejects it; when the intended compound is clear the
    assistant repairs the call, otherwise it asks."""
    name, good = pick(rng, COMPOUNDS)
    bad = _typo(good, rng)
    if bad == good:
        raise Drop("no_error", "typo left the formula unchanged")
    q = pick(rng, [f"What is the molar mass of {bad}?", f"Calculate the molar mass of {bad}.", f"Find the molar mass of {bad} in g/mol."])
    t = Trace(ctx, q)
    err = _expect_error(t, "chem_molar_mass", {"formula": bad}, ("invalid_formula", "unknown_element"))
    if rng.random() < 0.25:  # not sure which compound was meant: ask
        return _example(t, q, f"<clarify>{bad} isn't a valid formula ({err['error']['message']}). Which compound did you mean?",
                        None, [err["error"]["type"]])
    r = t.call("chem_molar_mass", {"formula": good}, f"Element symbols are case-sensitive; {bad} is most likely {good} ({name}).")
    m = rounded(r["molar_mass_g_per_mol"], 3)
    return _example(t, q, f"Reading {bad} as {good}: its molar mass is {m} g/mol.", f"{m} g/mol", [err["error"]["type"]])


REACTANTS = ["H2", "O2", "Fe", "Na", "Cl2", "Mg", "Zn", "Al", "C", "CH4", "N2", "Ca", "Cu", "S", "K", "HCl", "H2O", "CO2"]
PRODUCTS = ["NaCl", "H2O", "CO2", "Fe2O3", "MgO", "ZnCl2", "Al2O3", "NH3", "CaO", "CuO", "SO2", "KCl", "NaOH", "CaCO3", "H2SO4"]


def cannot_balance(ctx: Context, rng: random.Random, index: int) -> Example:
    """Reactants and products that do not share their elements; the tool finds that out."""
    left = " + ".join(rng.sample(REACTANTS, rng.randint(1, 2)))
    right = " + ".join(rng.sample(PRODUCTS, rng.randint(1, 2)))
    eq = f"{left} -> {right}"
    q = pick(rng, [f"Balance the equation {eq}.", f"Please balance this reaction: {eq}", f"Balance {eq} with whole-number coefficients.",
                   f"What coefficients balance {eq}?"])
    t = Trace(ctx, q)
    err = _expect_error(t, "chem_balance", {"equation": eq}, ("cannot_balance",), think(rng, "Balance atoms on both sides."))
    text = f"It can't be balanced as written: {err['error']['message']}. Please check the reactants and products."
    return _example(t, q, text, None, [err["error"]["type"]])


def singular_matrix(ctx: Context, rng: random.Random, index: int) -> Example:
    a, b, k = rng.randint(1, 9), rng.randint(1, 9), rng.randint(2, 5)
    m = [[a, b], [k * a, k * b]]
    q = pick(rng, [f"Invert the matrix [{a} {b}; {k * a} {k * b}].", f"What is the inverse of the matrix [[{a}, {b}], [{k * a}, {k * b}]]?"])
    t = Trace(ctx, q)
    err = _expect_error(t, "math_matrix", {"matrix": m, "operation": "inverse"}, ("singular_matrix",))
    text = f"That matrix has no inverse: its second row is {k} × the first, so the determinant is 0."
    return _example(t, q, text, None, [err["error"]["type"]])


def timeout_repair(ctx: Context, rng: random.Random, index: int) -> Example:
    """A brute-force loop runs past its time limit; the repaired program uses a closed form."""
    n = rng.choice([10**11, 10**12, 5 * 10**11, 10**13]) + rng.randint(0, 10**6)
    form = rng.randrange(2)
    if form == 0:
        q = f"Use Python to compute the sum of all integers from 1 to {n}."
        slow, fast, note = (f"total = 0\nfor i in range(1, {n} + 1):\n    total += i\nprint(total)",
                            f"n = {n}\nprint(n * (n + 1) // 2)", "the sum is n(n+1)/2")
    else:
        q = f"Write Python code to count the multiples of 7 between 1 and {n}."
        slow, fast, note = (f"print(sum(1 for i in range(1, {n} + 1) if i % 7 == 0))", f"print({n} // 7)", "the count is n // 7")
    t = Trace(ctx, q)
    err = _expect_error(t, "run_python", {"code": slow, "timeout_s": 0.2}, ("timeout",), think(rng, "Try the direct loop with a short time limit."))
    r = t.call("run_python", {"code": fast}, f"<think>The loop is far too slow for {n} steps; {note}.</think>")
    if r.get("exit_code") != 0:
        raise Drop("unexpected_tool_result", str(r)[:200])
    out = r["stdout"].strip()
    return _example(t, q, f"The brute-force loop timed out; the closed form gives {out}.", out, [err["error"]["type"]])


GENERATORS = {
    "failures.division_by_zero": division_by_zero,
    "failures.sqrt_negative": sqrt_negative,
    "failures.overflow_digits": overflow_digits,
    "failures.expression_repair": expression_repair,
    "failures.missing_known": missing_known,
    "failures.unit_mismatch": unit_mismatch,
    "failures.negative_amount": negative_amount,
    "failures.formula_typo": formula_typo,
    "failures.cannot_balance": cannot_balance,
    "failures.singular_matrix": singular_matrix,
    "failures.timeout_repair": timeout_repair,
}
