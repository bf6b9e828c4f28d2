"""Tool traces for reasoning-gym problems: an external benchmark's generators and, crucially, its
scorers. Each problem is solved with Svend's tools, and the trace is kept only when
``dataset.score_answer(<the trace's final answer>, entry)`` is exactly 1.0; anything else is dropped
(and counted as ``scorer`` in ``metadata.json``). So a trace can't teach an answer the benchmark would
mark wrong, and a tool or parsing mistake shows up as a drop rate instead of bad data.

Seeds: ``Context.rg_dataset`` keeps every training item's rng seed below 1 000 000; the evaluation
harness draws its problems at or above it.

Per dataset (names as reasoning-gym spells them):
  basic_arithmetic, chain_sum   calculator on the expression in the item's metadata
  gsm_symbolic                  one calculator call per arithmetic step of the item's worked solution,
                                each checked against the step's stated result (a mismatch drops it)
  simple_equations              math_solve
  fraction_simplification       math_simplify
  prime_factorization           math_factor, the factors written out with ×
  polynomial_equations          math_solve, then math_evaluate for roots without a short decimal form
  propositional_logic           logic_satisfiable for a model, then logic_implies to find a conclusion
                                the premises really imply (refining the candidate from counterexamples)
"""

from __future__ import annotations

import random
import re

from svend.data.generators.base import Context, Drop, Example, Trace, num, rounded
from svend.data.generators.tool_traces import think

RG_NAMES = ("basic_arithmetic", "chain_sum", "gsm_symbolic", "simple_equations", "fraction_simplification",
            "prime_factorization", "polynomial_equations", "propositional_logic")


def _entry(ctx: Context, name: str, index: int) -> tuple[object, dict]:
    dataset = ctx.rg_dataset(name)
    if index >= ctx.rg_size:
        raise Drop("exhausted", f"{name}: index {index} beyond {ctx.rg_size}")
    return dataset, dataset[index]


def _finish(trace: Trace, dataset, entry: dict, text: str, answer: str) -> Example:
    score = dataset.score_answer(answer, entry)
    if score != 1.0:
        raise Drop("scorer", f"{entry['metadata'].get('source_dataset')}: {answer!r} scored {score}")
    trace.finish(text, answer)
    return Example(trace.messages, problem=entry["question"], answer=answer)


def _expression_trace(name: str):
    def generate(ctx: Context, rng: random.Random, index: int) -> Example:
        dataset, entry = _entry(ctx, name, index)
        expr = entry["metadata"]["expression"]
        t = Trace(ctx, entry["question"])
        # The expression exactly as the question writes it: a small model copies far more reliably than
        # it rewrites (dropping spaces made it lose signs and terms on the way into the calculator).
        r = t.call("calculator", {"expression": expr}, think(rng, "Exact arithmetic: use the calculator."))
        value = num(r["result"])
        return _finish(t, dataset, entry, f"{expr} = {value}.", value)

    return generate


# -- gsm_symbolic: the worked solution's arithmetic, step by step ------------------------------------------

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_UNIT = r"(?:\s+(?!x\b)[A-Za-z][A-Za-z/]*){0,2}"  # "52 students", "120 patients/day": words after a number
_OP = r"(?:[-+*/×÷]|\bx\b)"
_STEP = re.compile(rf"(?<![\w.])({_NUMBER}{_UNIT}(?:\s*{_OP}\s*\(?{_NUMBER}\)?{_UNIT})+)\s*=\s*(-?{_NUMBER})")
_CURRENCY = re.compile(r"[$€£¥]")
_WORDS = re.compile(r"(?<=[\d)])(?:\s+(?!x\b)[A-Za-z][A-Za-z/]*)+")


def gsm_steps(cot: str) -> list[tuple[str, str]]:
    """``(expression, stated result)`` for each ``a op b = c`` in a worked solution, in order: currency
    signs, thousands separators and unit words ("52 students - 31 girls = 21") removed, ``x`` and ``×``
    read as multiplication. A step it misreads is caught later: the tool's result must equal the
    stated one, and the last result must pass the dataset's scorer."""
    steps = []
    for line in cot.splitlines():
        if line.startswith("####"):
            continue
        for match in _STEP.finditer(_CURRENCY.sub("", line)):
            expr = _WORDS.sub("", match.group(1))
            expr = re.sub(r"(?<=\d),(?=\d{3})", "", expr)
            expr = re.sub(r"\s*(?:×|\bx\b)\s*", "*", expr).replace("÷", "/")
            steps.append((re.sub(r"\s+", "", expr), match.group(2).replace(",", "")))
    return steps


def gsm_symbolic(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "gsm_symbolic", index)
    steps = gsm_steps(entry["metadata"].get("answer_cot", ""))
    if not steps:
        raise Drop("unparsed_solution")
    if len(steps) > 6:
        raise Drop("too_many_steps")
    t = Trace(ctx, entry["question"])
    value = None
    for k, (expr, stated) in enumerate(steps):
        text = think(rng, "Work through the quantities one step at a time.", "Compute each quantity in turn.", p=0.9) if k == 0 else ""
        r = t.call("calculator", {"expression": expr}, text)
        if abs(float(r["result"]) - float(stated)) > 1e-6 * max(1.0, abs(float(stated))):
            raise Drop("solution_mismatch", f"{expr} = {r['result']}, the solution says {stated}")
        value = num(r["result"])
    return _finish(t, dataset, entry, f"The last step gives {value}.", value)


# -- algebra -------------------------------------------------------------------------------------------------

def simple_equations(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "simple_equations", index)
    var = entry["metadata"]["variable"]
    t = Trace(ctx, entry["question"])
    r = t.call("math_solve", {"equations": entry["metadata"]["equation"], "variables": [var]}, think(rng, "A linear equation: solve it symbolically."))
    if r.get("count") != 1:
        raise Drop("unexpected_tool_result", str(r))
    value = r["solutions"][0][var]
    return _finish(t, dataset, entry, f"{var} = {value}.", value)


def fraction_simplification(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "fraction_simplification", index)
    m = entry["metadata"]
    t = Trace(ctx, entry["question"])
    r = t.call("math_simplify", {"expression": f"{m['numerator']}/{m['denominator']}"}, think(rng, "Divide out the greatest common factor."))
    return _finish(t, dataset, entry, f"{m['numerator']}/{m['denominator']} = {r['result']}.", r["result"])


def prime_factorization(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "prime_factorization", index)
    n = entry["metadata"]["number"]
    t = Trace(ctx, entry["question"])
    r = t.call("math_factor", {"expression": str(n)}, think(rng, "Factor the integer into primes."))
    factors = [int(p) for p, e in sorted(r["factors"].items(), key=lambda kv: int(kv[0])) for _ in range(int(e))]
    answer = " × ".join(map(str, factors))
    return _finish(t, dataset, entry, f"{n} = {r['result']}.", answer)


def _is_real(root: str) -> bool:
    return "I" not in root


def polynomial_equations(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "polynomial_equations", index)
    m = entry["metadata"]
    var = m["variable"]
    t = Trace(ctx, entry["question"])
    r = t.call("math_solve", {"equations": f"{m['polynomial_expr']} = 0", "variables": [var]}, think(rng, "Solve exactly, then give real roots as decimals."))
    roots = [s[var] for s in r["solutions"] if _is_real(s[var])]
    values: dict[str, float] = {}
    exact = [root for root in roots if re.fullmatch(r"-?\d+(/\d+)?", root) is None]
    simple = [root for root in roots if root not in exact]
    for root in simple:  # integers and fractions: exact decimal without a tool
        p, _, q = root.partition("/")
        values[root] = int(p) / int(q or 1)
    if exact:
        results = t.calls([("math_evaluate", {"expression": root, "digits": 15}) for root in exact],
                          "<think>Decimal values of the irrational roots.</think>")
        for root, res in zip(exact, results):
            if "error" in res or "I" in res["numeric"]:
                raise Drop("unexpected_tool_result", str(res))
            values[root] = float(res["numeric"])
    ordered = sorted(values.values())
    answer = ", ".join(rounded(v, 4) if v != int(v) else f"{int(v)}.0" for v in ordered)
    text = f"Real roots: {', '.join(roots)}." if roots else "There are no real roots."
    return _finish(t, dataset, entry, text, answer)


# -- propositional logic -------------------------------------------------------------------------------------

_TO_TOOL = {"∧": "&", "∨": "|", "→": "->", "↔": "<->", "¬": "!"}
_FROM_TOOL = {"<->": "↔", "->": "→", "&": "∧", "|": "∨", "!": "¬"}


def to_tool(formula: str) -> str:
    for a, b in _TO_TOOL.items():
        formula = formula.replace(a, f" {b} " if b != "!" else b)
    return re.sub(r"\s+", " ", formula).strip()


def _conjunction(literals: dict[str, bool]) -> str:
    parts = [v if val else f"¬{v}" for v, val in sorted(literals.items())]
    return parts[0] if len(parts) == 1 else "(" + " ∧ ".join(parts) + ")"


def propositional_logic(ctx: Context, rng: random.Random, index: int) -> Example:
    dataset, entry = _entry(ctx, "propositional_logic", index)
    premises = entry["metadata"]["premises"]
    tool_premises = [to_tool(p) for p in premises]
    t = Trace(ctx, entry["question"])
    sat = t.call("logic_satisfiable", {"formulas": tool_premises}, think(rng, "Find what the premises force: first a model of them.", p=0.9))
    if not sat["satisfiable"]:
        raise Drop("inconsistent_premises")
    literals = {k: v for k, v in sat["model"].items() if k in entry["metadata"]["variables"]}
    candidate = None
    for _ in range(len(literals) + 1):
        if not literals:
            break
        conj = _conjunction(literals)
        if len(literals) == 1 and not conj.startswith("¬"):
            other = next((p for p in premises if p.strip() != conj), None)
            if other is None:
                break
            conj = f"({conj} ∧ {other})"
        r = t.call("logic_implies", {"premises": tool_premises, "conclusion": to_tool(conj)},
                   f"Does {conj} follow?" if len(t.messages) > 3 else "")
        if r["valid"]:
            candidate = conj
            break
        literals = {v: val for v, val in literals.items() if r["counterexample"].get(v, val) == val}
    if candidate is None:  # no forced literal: the premises themselves, joined
        distinct = list(dict.fromkeys(p.strip() for p in premises))
        if len(distinct) < 2:
            raise Drop("no_conclusion")
        conj = f"({distinct[0]} ∧ {distinct[1]})"
        r = t.call("logic_implies", {"premises": tool_premises, "conclusion": to_tool(conj)}, "Then the conjunction of two premises.")
        if not r["valid"]:
            raise Drop("unexpected_tool_result", str(r))
        candidate = conj
    return _finish(t, dataset, entry, f"The premises imply {candidate}.", candidate)


GENERATORS = {
    "reasoning_gym.basic_arithmetic": _expression_trace("basic_arithmetic"),
    "reasoning_gym.chain_sum": _expression_trace("chain_sum"),
    "reasoning_gym.gsm_symbolic": gsm_symbolic,
    "reasoning_gym.simple_equations": simple_equations,
    "reasoning_gym.fraction_simplification": fraction_simplification,
    "reasoning_gym.prime_factorization": prime_factorization,
    "reasoning_gym.polynomial_equations": polynomial_equations,
    "reasoning_gym.propositional_logic": propositional_logic,
}
