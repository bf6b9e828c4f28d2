"""Tool traces: problems from templates with random values, one set per tool family, answered by
calling the tools — several calls where the problem has several steps — and a final answer built from
the results.

Why templates and not a model: every number in a trace must be checkable. The template draws the
problem; the registry computes every result (``Trace.call``); the final turn only restates results the
tools returned, rounded where a person would round. A template never computes an answer itself — it
may compute *problem parameters* (e.g. pick a note larger than the bill), never tool outputs.

Style of the assistant turns (kept short: inference on CPU reads every token): an optional one-line
``<think>`` before a call, a one-line restatement, and ``Answer: <value>``.

Names are ``<family>.<template>``; ``GENERATORS`` maps them to functions. Add a template by writing a
function and listing it there; the recipes in ``conf/recipe/`` choose weights by name.
"""

from __future__ import annotations

import random
from decimal import Decimal

from svend.data.generators.base import Context, Drop, Example, Trace, money, num, pick, rounded

# -- shared phrasing ---------------------------------------------------------------------------------


def think(rng: random.Random, *options: str, p: float = 0.5) -> str:
    """A one-line ``<think>`` before a call, present about ``p`` of the time."""
    return f"<think>{pick(rng, options)}</think>" if rng.random() < p else ""


def _done(trace: Trace, question: str, text: str, answer) -> Example:
    trace.finish(text, answer)
    return Example(trace.messages, problem=question, answer=None if answer is None else str(answer))


NAMES = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon", "Kira", "Liam", "Mei",
         "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe"]
ITEMS = [("notebook", "notebooks"), ("pen", "pens"), ("coffee", "coffees"), ("sandwich", "sandwiches"),
         ("ticket", "tickets"), ("apple", "apples"), ("book", "books"), ("cable", "cables"), ("mug", "mugs"),
         ("bus pass", "bus passes"), ("candle", "candles"), ("plant", "plants")]


# -- calculator ----------------------------------------------------------------------------------------


def calc_multiply(ctx: Context, rng: random.Random, index: int) -> Example:
    a, b = rng.randint(12, 99999), rng.randint(12, 9999)
    q = pick(rng, [f"What is {a} × {b}?", f"Compute {a} * {b}.", f"What's {a} * {b}?", f"Calculate {a} × {b}.",
                   f"{a} * {b} = ?", f"Please work out {a} × {b} exactly.", f"How much is {a} × {b}?"])
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": f"{a}*{b}"}, think(rng, "Exact multiplication: use the calculator.",
                                                                    "Large product, so I compute it exactly."))
    return _done(t, q, f"{a} × {b} = {r['result']}.", r["result"])


def _expression(rng: random.Random, terms: int) -> str:
    ops = ["+", "-", "*"]
    parts = [str(rng.randint(1, 999))]
    for _ in range(terms - 1):
        parts += [pick(rng, ops), str(rng.randint(1, 99 if parts[-1] == "*" else 999))]
    if terms >= 3 and rng.random() < 0.5:  # parentheses around one operation
        i = 2 * rng.randrange(terms - 1)
        parts[i], parts[i + 2] = "(" + parts[i], parts[i + 2] + ")"
    return " ".join(parts)


def calc_expression(ctx: Context, rng: random.Random, index: int) -> Example:
    expr = _expression(rng, rng.randint(3, 6))
    q = pick(rng, [f"Evaluate {expr}.", f"What is {expr}?", f"Compute {expr}.", f"Work out {expr}",
                   f"Find the value of {expr}.", f"{expr} = ?"])
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": expr.replace(" ", "")}, think(rng, "Several operations; the calculator keeps the order right."))
    return _done(t, q, f"{expr} = {r['result']}.", num(r["result"]))


def calc_percent(ctx: Context, rng: random.Random, index: int) -> Example:
    p, n = pick(rng, [5, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 60, 75, 7.5, 12.5, 2.5]), rng.randint(20, 5000)
    kind = rng.randrange(3)
    if kind == 0:
        q = pick(rng, [f"What is {num(p)}% of {n}?", f"Calculate {num(p)} percent of {n}.", f"How much is {num(p)}% of {n}?"])
        expr, what = f"{n}*{num(p)}/100", f"{num(p)}% of {n}"
    elif kind == 1:
        q = pick(rng, [f"A price of ${n} goes up by {num(p)}%. What is the new price?", f"Increase {n} by {num(p)}%.",
                       f"My rent of {n} rises {num(p)} percent. What is the new rent?"])
        expr, what = f"{n}*(1+{num(p)}/100)", f"{n} increased by {num(p)}%"
    else:
        q = pick(rng, [f"A ${n} jacket is {num(p)}% off. What do I pay?", f"Decrease {n} by {num(p)}%.",
                       f"What is {n} after a {num(p)} percent discount?"])
        expr, what = f"{n}*(1-{num(p)}/100)", f"{n} less {num(p)}%"
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": expr}, think(rng, "A percentage is a multiplication by p/100."))
    value = rounded(r["result"], 2)
    return _done(t, q, f"{what} is {value}.", value)


def calc_shopping(ctx: Context, rng: random.Random, index: int) -> Example:
    (i1, p1s), (i2, p2s) = rng.sample(ITEMS, 2)
    q1, q2 = rng.randint(2, 9), rng.randint(1, 6)
    p1, p2 = Decimal(rng.randint(50, 1500)) / 100, Decimal(rng.randint(50, 2500)) / 100
    total = q1 * p1 + q2 * p2
    note = next(n for n in (10, 20, 50, 100, 200, 500) if n > total)  # a problem parameter, not a tool result
    who = pick(rng, NAMES)
    q = pick(rng, [
        f"{who} buys {q1} {p1s} at ${p1} each and {q2} {p2s if q2 > 1 else i2} at ${p2} each, paying with a ${note} note. How much change does {who} get?",
        f"I bought {q1} {p1s} for ${p1} apiece and {q2} {p2s if q2 > 1 else i2} for ${p2} apiece. I paid ${note}. What's my change?",
        f"{q1} {p1s} cost ${p1} each and {q2} {p2s if q2 > 1 else i2} cost ${p2} each. From ${note}, how much change is left?",
    ])
    t = Trace(ctx, q)
    r1 = t.call("calculator", {"expression": f"{q1}*{p1} + {q2}*{p2}"}, think(rng, "First the total, then the change.", p=0.8))
    spent = money(r1["result"])
    r2 = t.call("calculator", {"expression": f"{note} - {spent}"}, f"The total is ${spent}.")
    change = money(r2["result"])
    return _done(t, q, f"Total ${spent}, so the change from ${note} is ${change}.", change)


def calc_split_bill(ctx: Context, rng: random.Random, index: int) -> Example:
    bill, tip, people = Decimal(rng.randint(2000, 40000)) / 100, pick(rng, [10, 12, 15, 18, 20, 22, 25]), rng.randint(2, 9)
    q = pick(rng, [
        f"Dinner for {people} came to ${bill}. We add a {tip}% tip and split it evenly. How much does each person pay?",
        f"Our bill is ${bill}; with a {tip}% tip, what is each of the {people} people's share?",
        f"Split ${bill} plus a {tip} percent tip between {people} friends. What does each pay?",
    ])
    t = Trace(ctx, q)
    r1 = t.call("calculator", {"expression": f"{bill}*(1+{tip}/100)"}, think(rng, "Add the tip, then divide by the number of people.", p=0.8))
    total = money(r1["result"])
    r2 = t.call("calculator", {"expression": f"{total}/{people}"}, f"With the tip the total is ${total}.")
    share = money(r2["result"])
    return _done(t, q, f"${total} split {people} ways is ${share} each.", share)


def calc_average(ctx: Context, rng: random.Random, index: int) -> Example:
    values = [rng.randint(1, 100) for _ in range(rng.randint(3, 8))]
    listed = ", ".join(map(str, values))
    q = pick(rng, [f"What is the average of {listed}?", f"Find the mean of {listed}.", f"Compute the mean of these numbers: {listed}.",
                   f"My scores were {listed}. What's my average?"])
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": f"({'+'.join(map(str, values))})/{len(values)}"},
               think(rng, "Mean = sum / count.", "Sum the values and divide by how many there are."))
    value = rounded(r["result"], 2)
    return _done(t, q, f"The mean of the {len(values)} values is {value}.", value)


def calc_power(ctx: Context, rng: random.Random, index: int) -> Example:
    base, exp = rng.randint(2, 19), rng.randint(8, 40)
    q = pick(rng, [f"What is {base}^{exp}?", f"Compute {base}^{exp} exactly.", f"What is {base}**{exp} exactly?",
                   f"Calculate {base} ^ {exp}.", f"Give me the exact value of {base}^{exp}."])
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": f"{base}**{exp}"}, think(rng, "Big integer power: compute it exactly."))
    return _done(t, q, f"{base}^{exp} = {r['result']}.", r["result"])


def calc_rate(ctx: Context, rng: random.Random, index: int) -> Example:
    speed, hours = rng.randint(40, 130), rng.randint(2, 6)
    dist, dist2 = speed * hours, rng.randint(50, 900)
    who = pick(rng, ["A train", "A bus", "A car", "A cyclist" if speed < 50 else "A van", "A truck"])
    q = pick(rng, [f"{who} covers {dist} km in {hours} hours. At the same pace, how many hours does {dist2} km take?",
                   f"{who} travels {dist} km in {hours} h. How long will {dist2} km take at that rate?"])
    t = Trace(ctx, q)
    r1 = t.call("calculator", {"expression": f"{dist}/{hours}"}, think(rng, "Speed first, then time = distance / speed.", p=0.8))
    v = num(r1["result"])
    r2 = t.call("calculator", {"expression": f"{dist2}/{v}"}, f"The speed is {v} km/h.")
    h = rounded(r2["result"], 2)
    return _done(t, q, f"{dist2} km at {v} km/h takes {h} hours.", h)


def calc_compound(ctx: Context, rng: random.Random, index: int) -> Example:
    principal, rate, years = rng.randint(5, 200) * 100, pick(rng, [1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7]), rng.randint(2, 25)
    q = pick(rng, [f"I invest ${principal} at {num(rate)}% interest compounded yearly. What is it worth after {years} years?",
                   f"What does ${principal} grow to in {years} years at {num(rate)}% per year, compounded annually?"])
    t = Trace(ctx, q)
    r = t.call("calculator", {"expression": f"{principal}*(1+{num(rate)}/100)**{years}"}, think(rng, "Compound growth: P(1+r)^n."))
    value = money(r["result"])
    return _done(t, q, f"After {years} years it is worth ${value}.", value)


def calc_savings(ctx: Context, rng: random.Random, index: int) -> Example:
    income, rent, food, weeks = rng.randint(400, 1500), rng.randint(100, 350), rng.randint(40, 150), rng.randint(3, 52)
    who = pick(rng, NAMES)
    q = pick(rng, [f"{who} earns ${income} a week, pays ${rent} rent and spends ${food} on food each week. How much does {who} save in {weeks} weeks?",
                   f"Weekly pay ${income}, weekly rent ${rent}, weekly groceries ${food}. What is saved over {weeks} weeks?"])
    t = Trace(ctx, q)
    r1 = t.call("calculator", {"expression": f"{income} - {rent} - {food}"}, think(rng, "Weekly savings first, then times the weeks.", p=0.8))
    r2 = t.call("calculator", {"expression": f"{r1['result']}*{weeks}"}, f"Each week ${r1['result']} is left.")
    return _done(t, q, f"${r1['result']} a week for {weeks} weeks is ${r2['result']}.", r2["result"])


# -- math (sympy) ---------------------------------------------------------------------------------------


def _linear(a: int, b: int) -> str:
    return f"{a}*x {'+' if b >= 0 else '-'} {abs(b)}"


def math_solve_linear(ctx: Context, rng: random.Random, index: int) -> Example:
    x, a, b = rng.randint(-30, 30), rng.choice([i for i in range(-15, 16) if i not in (0, 1)]), rng.randint(-99, 99)
    c = a * x + b
    shown = f"{a}x {'+' if b >= 0 else '-'} {abs(b)} = {c}"
    q = pick(rng, [f"Solve {shown} for x.", f"Solve the equation {shown}.", f"Solve for x: {shown}", f"What x solves the equation {shown}?"])
    t = Trace(ctx, q)
    r = t.call("math_solve", {"equations": f"{_linear(a, b)} = {c}", "variables": ["x"]}, think(rng, "A linear equation: solve it symbolically."))
    xs = [s["x"] for s in r["solutions"]]
    if len(xs) != 1:
        raise Drop("unexpected_tool_result", str(r))
    return _done(t, q, f"x = {xs[0]}.", xs[0])


def math_quadratic_check(ctx: Context, rng: random.Random, index: int) -> Example:
    r1, r2 = sorted(rng.sample(range(-12, 13), 2))
    poly, expr = _poly([1, -(r1 + r2), r1 * r2])
    q = pick(rng, [f"Solve {poly} = 0 and check the solutions by substitution.", f"Solve the equation {poly} = 0, then substitute the roots back to verify.",
                   f"Solve {poly} = 0. Verify each solution by substituting it."])
    t = Trace(ctx, q)
    r = t.call("math_solve", {"equations": f"{expr} = 0", "variables": ["x"]}, think(rng, "A quadratic: solve, then check."))
    roots = [s["x"] for s in r["solutions"]]
    if len(roots) != 2:
        raise Drop("unexpected_tool_result", str(r))
    checks = t.calls([("math_substitute", {"expression": expr, "values": {"x": root}}) for root in roots],
                     "<verify>Substitute both roots back into the polynomial.</verify>")
    if any(c.get("result") != "0" for c in checks):
        raise Drop("unexpected_tool_result", str(checks))
    return _done(t, q, f"x = {roots[0]} or x = {roots[1]}; both make the polynomial 0.", ", ".join(roots))


def _poly(coeffs: list[int]) -> tuple[str, str]:
    """(shown, sympy) forms of a polynomial given highest-degree-first coefficients."""
    deg = len(coeffs) - 1
    shown, code = [], []
    for i, a in enumerate(coeffs):
        p = deg - i
        if a == 0:
            continue
        sign = "-" if a < 0 else "+"
        mag = abs(a)
        body_s = (f"{mag if mag != 1 or p == 0 else ''}" + ("x" if p >= 1 else "") + (f"^{p}" if p > 1 else ""))
        body_c = (f"{mag}" + ("*x" if p >= 1 else "") + (f"**{p}" if p > 1 else "")) if mag != 1 or p == 0 else ("x" + (f"**{p}" if p > 1 else ""))
        shown.append((sign, body_s))
        code.append((sign, body_c))

    def join(parts):
        first_sign, first = parts[0]
        return ("-" if first_sign == "-" else "") + first + "".join(f" {s} {b}" for s, b in parts[1:])

    return join(shown), join(code)


def math_derivative_at(ctx: Context, rng: random.Random, index: int) -> Example:
    coeffs = [rng.choice([i for i in range(-6, 7) if i]), rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(-20, 20)]
    shown, code = _poly(coeffs)
    k = rng.randint(-5, 5)
    q = pick(rng, [f"Find the derivative of f(x) = {shown}, then substitute x = {k}.", f"Take the derivative of {shown} and substitute x = {k} into it.",
                   f"What is the derivative of f(x) = {shown}? Substitute x = {k} to get the slope there."])
    t = Trace(ctx, q)
    d = t.call("math_differentiate", {"expression": code, "variable": "x"}, think(rng, "Differentiate, then substitute the point.", p=0.8))
    v = t.call("math_substitute", {"expression": d["result"], "values": {"x": k}}, f"f'(x) = {d['result']}.")
    return _done(t, q, f"f'({k}) = {v['result']}.", v["result"])


def math_integral(ctx: Context, rng: random.Random, index: int) -> Example:
    coeffs = [rng.randint(-5, 5) for _ in range(rng.randint(2, 4))]
    if not coeffs[0]:
        coeffs[0] = rng.randint(1, 5)
    shown, code = _poly(coeffs)
    lo, hi = sorted(rng.sample(range(-3, 6), 2))
    q = pick(rng, [f"Integrate {shown} from x = {lo} to x = {hi}.", f"Compute the definite integral of {shown} dx between {lo} and {hi}.",
                   f"What is the integral of {shown} over [{lo}, {hi}]?"])
    t = Trace(ctx, q)
    r = t.call("math_integrate", {"expression": code, "variable": "x", "lower": str(lo), "upper": str(hi)},
               think(rng, "A definite integral of a polynomial."))
    return _done(t, q, f"The integral equals {r['result']}.", r["result"])


def math_factor_poly(ctx: Context, rng: random.Random, index: int) -> Example:
    roots = rng.sample(range(-7, 8), rng.randint(2, 3))
    coeffs = [1]
    for r in roots:  # multiply by (x - r): a problem parameter, computed exactly here
        coeffs = [a - r * b for a, b in zip(coeffs + [0], [0] + coeffs)]
    shown, code = _poly(coeffs)
    q = pick(rng, [f"Factor {shown}.", f"Factorise the polynomial {shown}.", f"Write {shown} as a product of linear factors."])
    t = Trace(ctx, q)
    r = t.call("math_factor", {"expression": code}, think(rng, "Factor the polynomial symbolically."))
    return _done(t, q, f"{shown} = {r['result']}.", r["result"])


def math_expand(ctx: Context, rng: random.Random, index: int) -> Example:
    a, b, c = rng.randint(1, 9), rng.randint(-9, 9), rng.randint(-9, 9)
    form = rng.randrange(3)
    if form == 0:
        shown, code = f"({a}x + {b})(x - {c})", f"({a}*x + {b})*(x - {c})"
    elif form == 1:
        shown, code = f"(x + {b})^2", f"(x + {b})**2"
    else:
        shown, code = f"(x - {a})(x + {a})(x + {c})", f"(x - {a})*(x + {a})*(x + {c})"
    shown, code = shown.replace("+ -", "- ").replace("- -", "+ "), code.replace("+ -", "- ").replace("- -", "+ ")
    q = pick(rng, [f"Expand {shown}.", f"Multiply out {shown}.", f"Expand and simplify {shown}."])
    t = Trace(ctx, q)
    r = t.call("math_expand", {"expression": code}, think(rng, "Expand the product."))
    return _done(t, q, f"{shown} = {r['result']}.", r["result"])


def math_system(ctx: Context, rng: random.Random, index: int) -> Example:
    x, y = rng.randint(-9, 9), rng.randint(-9, 9)
    while True:
        a1, b1, a2, b2 = (rng.choice([i for i in range(-6, 7) if i]) for _ in range(4))
        if a1 * b2 - a2 * b1:
            break
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y

    def eq(a, b, c):
        return f"{a}*x {'+' if b > 0 else '-'} {abs(b)}*y = {c}"

    e1, e2 = eq(a1, b1, c1), eq(a2, b2, c2)
    q = pick(rng, [f"Solve the system {e1.replace('*', '')} and {e2.replace('*', '')}.",
                   f"Solve the system of equations for x and y: {e1.replace('*', '')}; {e2.replace('*', '')}.",
                   f"Solve these equations simultaneously: {e1.replace('*', '')}, {e2.replace('*', '')}."])
    t = Trace(ctx, q)
    r = t.call("math_solve", {"equations": [e1, e2], "variables": ["x", "y"]}, think(rng, "Two linear equations, two unknowns."))
    if r.get("count") != 1:
        raise Drop("unexpected_tool_result", str(r))
    s = r["solutions"][0]
    return _done(t, q, f"x = {s['x']}, y = {s['y']}.", f"x = {s['x']}, y = {s['y']}")


def math_determinant(ctx: Context, rng: random.Random, index: int) -> Example:
    n = rng.choice([2, 3, 3])
    m = [[rng.randint(-9, 9) for _ in range(n)] for _ in range(n)]
    shown = "[" + "; ".join(" ".join(map(str, row)) for row in m) + "]"
    q = pick(rng, [f"What is the determinant of the matrix {shown}?", f"Compute the determinant of the matrix {shown}.",
                   f"Find the determinant of the matrix {shown} (rows separated by ;)."])
    t = Trace(ctx, q)
    r = t.call("math_matrix", {"matrix": m, "operation": "determinant"}, think(rng, "Determinant of a small matrix."))
    return _done(t, q, f"The determinant is {r['result']}.", r["result"])


def math_limit(ctx: Context, rng: random.Random, index: int) -> Example:
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    if rng.random() < 0.5:
        shown, code, point = f"sin({a}x)/({b}x)", f"sin({a}*x)/({b}*x)", "0"
    else:
        shown, code, point = f"(x^2 - {a * a})/(x - {a})", f"(x**2 - {a * a})/(x - {a})", str(a)
    q = pick(rng, [f"What is the limit of {shown} as x approaches {point}?", f"Evaluate the limit of {shown} as x → {point}.",
                   f"Find the limit as x → {point} of {shown}."])
    t = Trace(ctx, q)
    r = t.call("math_limit", {"expression": code, "point": point, "variable": "x"}, think(rng, "Direct substitution gives 0/0, so take the limit."))
    return _done(t, q, f"The limit is {r['result']}.", r["result"])


# -- physics (pint) -------------------------------------------------------------------------------------

CONVERSIONS = [("mph", "km/h", "miles per hour", "km/h"), ("km/h", "m/s", "km/h", "m/s"), ("km", "mile", "km", "miles"),
               ("mile", "km", "miles", "kilometres"), ("kg", "lb", "kg", "pounds"), ("lb", "kg", "pounds", "kg"),
               ("degC", "degF", "°C", "°F"), ("degF", "degC", "°F", "°C"), ("L", "gallon", "litres", "US gallons"),
               ("ft", "m", "feet", "metres"), ("inch", "cm", "inches", "cm"), ("kWh", "MJ", "kWh", "megajoules"),
               ("psi", "kPa", "psi", "kPa"), ("m/s", "km/h", "m/s", "km/h"), ("hour", "s", "hours", "seconds")]


def phys_convert(ctx: Context, rng: random.Random, index: int) -> Example:
    src, dst, src_word, dst_word = pick(rng, CONVERSIONS)
    value = rng.randint(1, 500) if rng.random() < 0.7 else round(rng.uniform(0.5, 200), 1)
    q = pick(rng, [f"Convert {num(value)} {src_word} to {dst_word} units.", f"Convert units: {num(value)} {src_word} into {dst_word}.",
                   f"Please convert {num(value)} {src_word} into {dst_word} (unit conversion).", f"How many {dst_word} is {num(value)} {src_word}? Convert the units."])
    t = Trace(ctx, q)
    r = t.call("physics_convert", {"quantity": f"{num(value)} {src}", "to": dst}, think(rng, "A unit conversion."))
    return _done(t, q, f"{num(value)} {src_word} = {r['text']}.", r["text"])


def phys_kinematics(ctx: Context, rng: random.Random, index: int) -> Example:
    v0, a, time = rng.randint(0, 20), rng.randint(1, 8), rng.randint(2, 15)
    thing = pick(rng, ["A car", "A cyclist", "A train", "A sled", "A runner"])
    start = "from rest" if v0 == 0 else f"at {v0} m/s"
    q = pick(rng, [f"{thing} starts {start} and accelerates at {a} m/s^2 for {time} s. What is its final velocity and how far does it go?",
                   f"{thing} moving {start} speeds up at {a} m/s² for {time} seconds. Find the final speed and the distance covered."])
    t = Trace(ctx, q)
    r = t.call("physics_kinematics", {"initial_velocity": f"{v0} m/s", "acceleration": f"{a} m/s^2", "time": f"{time} s"},
               think(rng, "Constant acceleration with three knowns."))
    s = r["solutions"][0]
    v, d = s["final_velocity"]["text"], s["displacement"]["text"]
    return _done(t, q, f"Final velocity {v}; distance {d}.", f"{v}, {d}")


def phys_projectile(ctx: Context, rng: random.Random, index: int) -> Example:
    speed, angle = rng.randint(5, 60), rng.choice([15, 20, 25, 30, 35, 40, 45, 50, 60, 70])
    q = pick(rng, [f"A ball is launched at {speed} m/s at {angle} degrees above level ground. How far does it travel?",
                   f"A projectile is thrown at {speed} m/s, {angle}° up. What is its range on flat ground?"])
    t = Trace(ctx, q)
    r = t.call("physics_projectile", {"speed": f"{speed} m/s", "angle": f"{angle} degree"}, think(rng, "Projectile motion without air resistance."))
    return _done(t, q, f"It lands {r['range']['text']} away after {r['time_of_flight']['text']}.", r["range"]["text"])


def phys_ohms(ctx: Context, rng: random.Random, index: int) -> Example:
    voltage, resistance = pick(rng, [1.5, 3, 5, 9, 12, 24, 110, 230]), rng.choice([2, 4, 5, 8, 10, 20, 47, 100, 220, 330, 470, 1000])
    q = pick(rng, [f"What current flows through a {resistance} ohm resistor at {num(voltage)} V?",
                   f"A {num(voltage)} V source drives a {resistance} Ω resistor. Find the current."])
    t = Trace(ctx, q)
    r = t.call("physics_ohms_law", {"voltage": f"{num(voltage)} V", "resistance": f"{resistance} ohm"}, think(rng, "Ohm's law: I = V / R."))
    return _done(t, q, f"I = {r['current']['text']}.", r["current"]["text"])


def phys_kinetic_energy(ctx: Context, rng: random.Random, index: int) -> Example:
    mass, kmh = rng.choice([60, 75, 500, 900, 1200, 1500, 2000]), rng.randint(10, 130)
    thing = "person" if mass < 100 else pick(rng, ["car", "van", "small boat"])
    q = pick(rng, [f"What is the kinetic energy of a {mass} kg {thing} moving at {kmh} km/h?",
                   f"A {thing} of mass {mass} kg travels at {kmh} km/h. How much kinetic energy does it have?"])
    t = Trace(ctx, q)
    e = t.call("physics_kinetic_energy", {"mass": f"{mass} kg", "speed": f"{kmh} km/h"}, think(rng, "E = ½ m v²; the tool handles the units."))
    return _done(t, q, f"E = {e['energy']['text']}.", e["energy"]["text"])


def phys_momentum_energy(ctx: Context, rng: random.Random, index: int) -> Example:
    mass, speed = rng.choice([0.145, 0.43, 2, 5, 10, 70, 1000]), rng.randint(2, 45)
    thing = pick(rng, ["ball", "cart", "block", "sled"]) if mass < 100 else "car"
    q = pick(rng, [f"What are the momentum and the kinetic energy of a {num(mass)} kg {thing} moving at {speed} m/s?",
                   f"A {num(mass)} kg {thing} moves at {speed} m/s. Find its momentum and its kinetic energy."])
    t = Trace(ctx, q)
    p, e = t.calls([("physics_momentum", {"mass": f"{num(mass)} kg", "velocity": f"{speed} m/s"}),
                    ("physics_kinetic_energy", {"mass": f"{num(mass)} kg", "speed": f"{speed} m/s"})],
                   think(rng, "Two independent formulas: p = m v and E = ½ m v².", p=0.7))
    if "error" in p or "error" in e:
        raise Drop("unexpected_tool_error", str(p if "error" in p else e))
    return _done(t, q, f"p = {p['momentum']['text']}, E = {e['energy']['text']}.", f"{p['momentum']['text']}, {e['energy']['text']}")


def phys_resistors(ctx: Context, rng: random.Random, index: int) -> Example:
    values = [rng.choice([10, 22, 47, 100, 150, 220, 330, 470, 1000]) for _ in range(rng.randint(2, 4))]
    how = pick(rng, ["series", "parallel"])
    listed = ", ".join(f"{v} ohm" for v in values)
    q = pick(rng, [f"What is the total resistance of {listed} resistors in {how}?", f"Resistors of {listed} are connected in {how}. Total resistance?"])
    t = Trace(ctx, q)
    r = t.call("physics_resistors", {"resistances": [f"{v} ohm" for v in values], "arrangement": how}, think(rng, f"Resistors in {how}."))
    return _done(t, q, f"In {how} they total {r['total_resistance']['text']}.", r["total_resistance"]["text"])


def phys_density(ctx: Context, rng: random.Random, index: int) -> Example:
    mass, volume = rng.randint(10, 2000), rng.randint(5, 1000)
    q = pick(rng, [f"A block has a mass of {mass} g and a volume of {volume} cm^3. What is its density?",
                   f"What is the density of an object with mass {mass} g and volume {volume} cm³?"])
    t = Trace(ctx, q)
    r = t.call("physics_density", {"mass": f"{mass} g", "volume": f"{volume} cm^3"}, think(rng, "Density = mass / volume."))
    return _done(t, q, f"The density is {r['density']['text']}.", r["density"]["text"])


def phys_wave(ctx: Context, rng: random.Random, index: int) -> Example:
    freq = rng.choice([20, 50, 60, 100, 128, 220, 256, 261, 330, 440, 512, 880, 1000, 1500, 2000, 3000, 5000, 10000, 16000])
    medium, speed = pick(rng, [("air", 343), ("water", 1480), ("steel", 5960), ("seawater", 1530), ("helium", 972), ("glass", 4540)])
    q = pick(rng, [f"A {freq} Hz sound wave travels through {medium} at {speed} m/s. What is its wavelength?",
                   f"What is the wavelength of a {freq} Hz wave moving at {speed} m/s?"])
    t = Trace(ctx, q)
    r = t.call("physics_wave", {"frequency": f"{freq} Hz", "speed": f"{speed} m/s"}, think(rng, "λ = v / f."))
    return _done(t, q, f"λ = {r['wavelength']['text']}.", r["wavelength"]["text"])


# -- chemistry (periodictable) --------------------------------------------------------------------------

COMPOUNDS = [("water", "H2O"), ("table salt", "NaCl"), ("carbon dioxide", "CO2"), ("glucose", "C6H12O6"), ("ammonia", "NH3"),
             ("sulfuric acid", "H2SO4"), ("calcium carbonate", "CaCO3"), ("methane", "CH4"), ("ethanol", "C2H5OH"),
             ("sodium hydroxide", "NaOH"), ("potassium permanganate", "KMnO4"), ("calcium hydroxide", "Ca(OH)2"),
             ("iron(III) oxide", "Fe2O3"), ("sodium bicarbonate", "NaHCO3"), ("magnesium sulfate", "MgSO4"),
             ("hydrochloric acid", "HCl"), ("nitric acid", "HNO3"), ("acetic acid", "CH3COOH"), ("sucrose", "C12H22O11"),
             ("copper(II) sulfate", "CuSO4")]
REACTIONS = ["H2 + O2 -> H2O", "CH4 + O2 -> CO2 + H2O", "Fe + O2 -> Fe2O3", "Al + O2 -> Al2O3", "C3H8 + O2 -> CO2 + H2O",
             "N2 + H2 -> NH3", "Na + Cl2 -> NaCl", "KClO3 -> KCl + O2", "C2H6 + O2 -> CO2 + H2O", "Mg + HCl -> MgCl2 + H2",
             "CaCO3 -> CaO + CO2", "Zn + HCl -> ZnCl2 + H2", "P4 + O2 -> P4O10", "C6H12O6 + O2 -> CO2 + H2O",
             "Fe2O3 + CO -> Fe + CO2", "NaOH + H2SO4 -> Na2SO4 + H2O", "Al + HCl -> AlCl3 + H2", "C4H10 + O2 -> CO2 + H2O",
             "C2H5OH + O2 -> CO2 + H2O", "NH3 + O2 -> NO + H2O", "Cu + O2 -> CuO", "Na + H2O -> NaOH + H2", "K + H2O -> KOH + H2",
             "Ca + H2O -> Ca(OH)2 + H2", "H2O2 -> H2O + O2", "SO2 + O2 -> SO3", "NO + O2 -> NO2", "Fe + Cl2 -> FeCl3",
             "C5H12 + O2 -> CO2 + H2O", "CaCO3 + HCl -> CaCl2 + H2O + CO2", "Pb(NO3)2 + KI -> PbI2 + KNO3",
             "AgNO3 + NaCl -> AgCl + NaNO3", "C8H18 + O2 -> CO2 + H2O", "Fe + H2O -> Fe3O4 + H2", "Mg + N2 -> Mg3N2",
             "Li + O2 -> Li2O", "Al + Fe2O3 -> Al2O3 + Fe", "N2O5 -> NO2 + O2", "Cu + AgNO3 -> Cu(NO3)2 + Ag"]


def _compound(rng: random.Random) -> tuple[str, str]:
    name, formula = pick(rng, COMPOUNDS)
    return (f"{name} ({formula})" if rng.random() < 0.6 else formula), formula


def chem_molar_mass(ctx: Context, rng: random.Random, index: int) -> Example:
    shown, formula = _compound(rng)
    q = pick(rng, [f"What is the molar mass of {shown}?", f"Calculate the molar mass of {shown} in g/mol.",
                   f"Find the molar mass of {shown}."])
    t = Trace(ctx, q)
    r = t.call("chem_molar_mass", {"formula": formula}, think(rng, "Sum the atomic masses of the formula."))
    m = rounded(r["molar_mass_g_per_mol"], 3)
    return _done(t, q, f"The molar mass of {formula} is {m} g/mol.", f"{m} g/mol")


def chem_grams_to_moles(ctx: Context, rng: random.Random, index: int) -> Example:
    shown, formula = _compound(rng)
    grams = rng.randint(1, 500) if rng.random() < 0.6 else round(rng.uniform(0.5, 250), 1)
    q = pick(rng, [f"How many moles are in {num(grams)} grams of {shown}?", f"Convert {num(grams)} g of {shown} to moles.",
                   f"{num(grams)} g of {shown} is how many mol?"])
    t = Trace(ctx, q)
    r = t.call("chem_grams_to_moles", {"formula": formula, "grams": grams}, think(rng, "moles = grams / molar mass."))
    n = f"{r['moles']:.4g}"
    return _done(t, q, f"{num(grams)} g of {formula} is {n} mol.", f"{n} mol")


def chem_moles_to_grams(ctx: Context, rng: random.Random, index: int) -> Example:
    shown, formula = _compound(rng)
    moles = pick(rng, [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 10])
    q = pick(rng, [f"Convert {num(moles)} moles of {shown} to grams.", f"How many grams are {num(moles)} moles of {shown}?"])
    t = Trace(ctx, q)
    r = t.call("chem_moles_to_grams", {"formula": formula, "moles": moles}, think(rng, "grams = moles × molar mass."))
    g = rounded(r["grams"], 3)
    return _done(t, q, f"{num(moles)} mol of {formula} weighs {g} g.", f"{g} g")


def chem_balance(ctx: Context, rng: random.Random, index: int) -> Example:
    eq = pick(rng, REACTIONS)
    q = pick(rng, [f"Balance the chemical equation {eq}.", f"Balance this reaction: {eq}", f"What are the coefficients that balance {eq}?"])
    t = Trace(ctx, q)
    r = t.call("chem_balance", {"equation": eq}, think(rng, "Balance atoms on both sides."))
    return _done(t, q, f"Balanced: {r['balanced']}.", r["balanced"])


def chem_stoichiometry(ctx: Context, rng: random.Random, index: int) -> Example:
    eq = pick(rng, REACTIONS[:10])
    left, right = (side.split(" + ") for side in eq.split(" -> "))
    given, target = pick(rng, left), pick(rng, right)
    grams = rng.randint(1, 200)
    q = pick(rng, [f"In the reaction {eq}, how many grams and moles of {target} form from {grams} g of {given} (everything else in excess)?",
                   f"Given {eq}: {grams} g of {given} reacts completely. How many moles and grams of {target} are produced?"])
    t = Trace(ctx, q)
    r = t.call("chem_stoichiometry", {"equation": eq, "given": given, "target": target, "grams": grams},
               think(rng, "Balance, then convert through moles.", p=0.8))
    g = rounded(r["target_grams"], 2)
    return _done(t, q, f"{grams} g of {given} gives {g} g of {target} ({r['target_moles']:.4g} mol).", f"{g} g")


def chem_ph(ctx: Context, rng: random.Random, index: int) -> Example:
    acid = rng.random() < 0.5
    name, ions = pick(rng, [("HCl", 1), ("HNO3", 1), ("H2SO4", 2)] if acid else [("NaOH", 1), ("KOH", 1), ("Ba(OH)2", 2), ("Ca(OH)2", 2)])
    conc = pick(rng, [0.1, 0.05, 0.01, 0.005, 0.001, 0.0001, 0.2, 0.02, 0.002])
    q = pick(rng, [f"What is the pH of a {num(conc)} M {name} solution?", f"Find the pH of {num(conc)} mol/L {name} (strong {'acid' if acid else 'base'})."])
    t = Trace(ctx, q)
    r = t.call("chem_ph", {"concentration": conc, "kind": "strong_acid" if acid else "strong_base", "ions": ions},
               think(rng, f"A strong {'acid' if acid else 'base'} dissociates fully."))
    ph = rounded(r["pH"], 2)
    return _done(t, q, f"pH = {ph}.", ph)


def chem_dilution(ctx: Context, rng: random.Random, index: int) -> Example:
    c1, v1 = pick(rng, [0.5, 1, 2, 3, 6, 12]), pick(rng, [0.01, 0.025, 0.05, 0.1, 0.25, 0.5])
    c2 = pick(rng, [c for c in (0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 1) if c < c1])
    q = pick(rng, [f"Dilution: I take {num(v1)} L of a {num(c1)} M stock solution down to {num(c2)} M. What is the final volume?",
                   f"After dilution of {num(v1)} L of {num(c1)} mol/L solution to {num(c2)} mol/L, what is the volume?"])
    t = Trace(ctx, q)
    r = t.call("chem_dilution", {"c1": c1, "v1": v1, "c2": c2}, think(rng, "c1·v1 = c2·v2."))
    v2 = rounded(r["v2"], 4)
    return _done(t, q, f"The final volume is {v2} L.", f"{v2} L")


def chem_element(ctx: Context, rng: random.Random, index: int) -> Example:
    symbol = pick(rng, ["H", "He", "C", "N", "O", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Fe", "Cu", "Zn", "Ag", "Au", "Pb", "U", "Ne", "Ar", "Ti", "Ni"])
    q = pick(rng, [f"What is the atomic number and atomic mass of {symbol}?", f"Look up the element {symbol}: atomic number and mass?",
                   f"Which element is {symbol}, and what is its atomic mass?"])
    t = Trace(ctx, q)
    r = t.call("chem_element", {"symbol": symbol}, think(rng, "Element data lookup."))
    return _done(t, q, f"{symbol} is {r['name']}, atomic number {r['atomic_number']}, atomic mass {r['atomic_mass']}.", str(r["atomic_mass"]))


# -- logic (z3) -------------------------------------------------------------------------------------------

STATEMENTS = [("it rains", "r"), ("the match is cancelled", "m"), ("the road is wet", "w"), ("the alarm rings", "a"),
              ("the server is down", "s"), ("the build passes", "b"), ("Ada is at home", "h"), ("the light is on", "l"),
              ("the store is open", "o"), ("the train is late", "t"), ("the tests run", "e"), ("the door is locked", "d")]
# (premises, conclusion) over three statements P, Q, R; valid and invalid argument forms alike.
FORMS = [(["P -> Q", "P"], "Q"), (["P -> Q", "!Q"], "!P"), (["P -> Q", "Q -> R"], "P -> R"), (["P | Q", "!P"], "Q"),
         (["P -> Q", "Q"], "P"), (["P -> Q", "!P"], "!Q"), (["P | Q", "P"], "!Q"), (["P & Q -> R", "P", "!R"], "!Q"),
         (["P -> Q", "P -> R"], "P -> Q & R"), (["P -> R", "Q -> R", "P | Q"], "R"), (["!(P & Q)", "P"], "!Q"),
         (["P <-> Q", "!Q"], "!P"), (["P -> Q | R", "P", "!Q"], "R"), (["P -> Q"], "Q -> P")]


def _english(formula: str, words: dict[str, str]) -> str:
    f = formula
    for var, phrase in words.items():
        f = f.replace(var, phrase)
    if " <-> " in f:
        a, b = f.split(" <-> ")
        return f"{a} if and only if {b}"
    if " -> " in f:
        a, b = f.split(" -> ")
        a = a.replace("!", "not ").replace(" & ", " and ").replace(" | ", " or ")
        b = b.replace("!", "not ").replace(" & ", " and ").replace(" | ", " or ")
        return f"if {a}, then {b}"
    if f.startswith("!(") and f.endswith(")"):
        return f"not both {f[2:-1].replace(' & ', ' and ')}"
    return f.replace("!", "not ").replace(" & ", " and ").replace(" | ", " or ")


def logic_implies(ctx: Context, rng: random.Random, index: int) -> Example:
    premises, conclusion = pick(rng, FORMS)
    chosen = rng.sample(STATEMENTS, 3)
    words = {v: s for v, (s, _) in zip("PQR", chosen)}
    code = {v: c for v, (_, c) in zip("PQR", chosen)}
    to_code = lambda f: "".join(code.get(ch, ch) for ch in f)  # noqa: E731
    said = "; ".join(_english(p, words).capitalize() for p in premises)
    q = pick(rng, [f"{said}. Do these premises imply that {_english(conclusion, words)}?",
                   f"Premises: {said}. Do they imply the conclusion \"{_english(conclusion, words)}\"?",
                   f"Given the premises {said}: does the conclusion {_english(conclusion, words)} follow? Does it imply it?"])
    t = Trace(ctx, q)
    names = ", ".join(f"{code[v]} = {words[v]}" for v in "PQR")
    r = t.call("logic_implies", {"premises": [to_code(p) for p in premises], "conclusion": to_code(conclusion)},
               f"<think>Let {names}.</think>")
    if r["valid"]:
        return _done(t, q, "Yes: the premises imply it in every case.", "yes")
    ce = ", ".join(f"{k} = {str(v).lower()}" for k, v in sorted(r["counterexample"].items()))
    return _done(t, q, f"No: with {ce} the premises hold but the conclusion fails.", "no")


def logic_schedule(ctx: Context, rng: random.Random, index: int) -> Example:
    names = rng.sample(["design", "build", "test", "deploy", "review", "docs", "audit", "train", "plan", "ship"], rng.randint(3, 5))
    durations = {n: rng.randint(1, 9) for n in names}
    before = [[a, b] for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < 0.35]
    tasks = ", ".join(f"{n} ({d} h)" for n, d in durations.items())
    order = "; ".join(f"{a} before {b}" for a, b in before) or "no ordering constraints"
    q = pick(rng, [f"Tasks: {tasks}. Constraints: {order}. Tasks can run in parallel. What is the shortest total time to schedule them?",
                   f"I need to schedule {tasks} with {order}, running tasks in parallel where possible. Minimum makespan?"])
    t = Trace(ctx, q)
    r = t.call("logic_schedule", {"tasks": durations, "before": before, "parallel": True}, think(rng, "A scheduling problem: let the solver minimise the makespan."))
    starts = ", ".join(f"{k} at {v}" for k, v in r["start"].items())
    return _done(t, q, f"Start {starts}; everything finishes after {r['makespan']} h.", str(r["makespan"]))


def logic_assign(ctx: Context, rng: random.Random, index: int) -> Example:
    people = rng.sample(["alice", "bob", "carol", "dave", "erin"], 3)
    options = rng.sample(["red", "green", "blue", "yellow"], 3)
    truth = dict(zip(people, rng.sample(options, 3)))  # a hidden solution, so the puzzle is satisfiable
    constraints = []
    for p in people:
        wrong = [o for o in options if o != truth[p]]
        constraints.append(f"{p} != {pick(rng, wrong)}")
    constraints = rng.sample(constraints, 2) + [f"{people[0]} == {truth[people[0]]} | {people[1]} == {truth[people[1]]}"]
    said = "; ".join(c.replace(" != ", " does not get ").replace(" == ", " gets ").replace(" | ", " or ") for c in constraints)
    q = pick(rng, [f"Assign {', '.join(options)} to {', '.join(people)} (one each, all different) so that: {said}. Who gets which?",
                   f"Puzzle: {', '.join(people)} each pick a different colour from {', '.join(options)}. Constraints: {said}. Find an assignment."])
    t = Trace(ctx, q)
    r = t.call("logic_assign", {"items": people, "options": options, "constraints": constraints}, think(rng, "A constraint puzzle for the solver."))
    if not r.get("feasible"):
        raise Drop("unexpected_tool_result", str(r))
    answer = ", ".join(f"{k}: {v}" for k, v in r["assignment"].items())
    note = "" if r.get("unique") else " (other assignments also work)"
    return _done(t, q, f"{answer}{note}.", answer)


def logic_optimize(ctx: Context, rng: random.Random, index: int) -> Example:
    pa, pb = rng.randint(2, 9), rng.randint(2, 9)
    hours, a_max, ha, hb = rng.randint(20, 80), rng.randint(5, 20), rng.randint(1, 4), rng.randint(1, 4)
    q = pick(rng, [f"A workshop makes chairs (profit ${pa}) and stools (profit ${pb}). A chair takes {ha} h, a stool {hb} h; the constraints are {hours} h available and at most {a_max} chairs sold. How many of each maximise profit?",
                   f"Maximise {pa}x + {pb}y subject to the constraints {ha}x + {hb}y <= {hours}, x <= {a_max}, x, y integers >= 0. What are x, y and the maximum?"])
    t = Trace(ctx, q)
    r = t.call("logic_solve", {"constraints": [f"{ha}*x + {hb}*y <= {hours}", f"x <= {a_max}", "x >= 0", "y >= 0"],
                               "variables": {"x": "int", "y": "int"}, "maximize": f"{pa}*x + {pb}*y"},
               think(rng, "An integer optimisation: x chairs, y stools." if "chairs" in q else "An integer linear program."))
    m = r["model"]
    return _done(t, q, f"x = {m['x']}, y = {m['y']} gives the maximum {r['objective']}.", r["objective"])


# -- code (sandbox) -------------------------------------------------------------------------------------

PROGRAMS = [
    ("Count the primes below {n} with a Python program.",
     "n = {n}\nsieve = [True] * n\nsieve[:2] = [False, False]\nfor i in range(2, int(n ** 0.5) + 1):\n    if sieve[i]:\n        sieve[i*i::i] = [False] * len(sieve[i*i::i])\nprint(sum(sieve))", (100, 200000)),
    ("Write and run Python code for the sum of the digits of 2**{n}.", "print(sum(int(d) for d in str(2 ** {n})))", (10, 2000)),
    ("Run a Python script to find the {n}th Fibonacci number (F1 = F2 = 1).",
     "a, b = 0, 1\nfor _ in range({n}):\n    a, b = b, a + b\nprint(a)", (10, 150)),
    ("Use Python code to count the Collatz steps for {n} to reach 1.",
     "n, steps = {n}, 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    steps += 1\nprint(steps)", (2, 100000)),
    ("With a Python program, count the palindromic numbers between 1 and {n}.", "print(sum(str(i) == str(i)[::-1] for i in range(1, {n} + 1)))", (100, 100000)),
    ("Write code to compute the sum of the squares of 1..{n} in Python and run it.", "print(sum(i * i for i in range(1, {n} + 1)))", (10, 100000)),
    ("Run Python code to count how many numbers from 1 to {n} are divisible by 3 or 5.", "print(sum(1 for i in range(1, {n} + 1) if i % 3 == 0 or i % 5 == 0))", (10, 100000)),
    ("Use a Python function to compute gcd({n}, {m}) and run it.", "import math\nprint(math.gcd({n}, {m}))", (100, 10**9)),
]


def code_run(ctx: Context, rng: random.Random, index: int) -> Example:
    question, code, (lo, hi) = pick(rng, PROGRAMS)
    n, m = rng.randint(lo, hi), rng.randint(lo, hi)
    q = question.format(n=n, m=m)
    t = Trace(ctx, q)
    r = t.call("run_python", {"code": code.format(n=n, m=m)}, think(rng, "Write a short script and run it in the sandbox."))
    if r.get("exit_code") != 0 or not r.get("stdout", "").strip():
        raise Drop("unexpected_tool_result", str(r)[:200])
    out = r["stdout"].strip()
    return _done(t, q, f"The program prints {out}.", out)


GENERATORS = {
    "calculator.multiply": calc_multiply,
    "calculator.expression": calc_expression,
    "calculator.percent": calc_percent,
    "calculator.shopping": calc_shopping,
    "calculator.split_bill": calc_split_bill,
    "calculator.average": calc_average,
    "calculator.power": calc_power,
    "calculator.rate": calc_rate,
    "calculator.compound": calc_compound,
    "calculator.savings": calc_savings,
    "math.solve_linear": math_solve_linear,
    "math.quadratic_check": math_quadratic_check,
    "math.derivative_at": math_derivative_at,
    "math.integral": math_integral,
    "math.factor_poly": math_factor_poly,
    "math.expand": math_expand,
    "math.system": math_system,
    "math.determinant": math_determinant,
    "math.limit": math_limit,
    "physics.convert": phys_convert,
    "physics.kinematics": phys_kinematics,
    "physics.projectile": phys_projectile,
    "physics.ohms_law": phys_ohms,
    "physics.kinetic_energy": phys_kinetic_energy,
    "physics.momentum_energy": phys_momentum_energy,
    "physics.resistors": phys_resistors,
    "physics.density": phys_density,
    "physics.wave": phys_wave,
    "chemistry.molar_mass": chem_molar_mass,
    "chemistry.grams_to_moles": chem_grams_to_moles,
    "chemistry.moles_to_grams": chem_moles_to_grams,
    "chemistry.balance": chem_balance,
    "chemistry.stoichiometry": chem_stoichiometry,
    "chemistry.ph": chem_ph,
    "chemistry.dilution": chem_dilution,
    "chemistry.element": chem_element,
    "logic.implies": logic_implies,
    "logic.schedule": logic_schedule,
    "logic.assign": logic_assign,
    "logic.optimize": logic_optimize,
    "code.run": code_run,
}
