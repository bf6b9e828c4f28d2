"""Verifier data: a correct solution chain and a corrupted copy of it, labelled per chain and per step.

A chain is a multi-step arithmetic solution: each step is one assistant turn that restates the
previous tool result and calls the calculator for the next quantity; the last turn states the answer.
The corrupted copy changes exactly one thing, of one of four kinds:

  arithmetic         a step is done "in the head" (no tool call) and its result is wrong
  tool_copy          a tool result is restated wrongly in the next step, and the chain goes on with it
  final_answer       every step is right but the ``Answer:`` line is not the last result
  unjustified_leap   a step asserts a quantity without computing it (and it is wrong)

Every tool message, in correct and corrupted chains alike, comes from executing the call that is in
the chain — a corrupted chain calls the calculator on the corrupted numbers — so ``svend-data verify``
passes on both and the error is only ever in what the assistant wrote.

Labels (``metadata``): ``label`` 1 for a correct chain, 0 for a corrupted one; ``step_labels`` one per
assistant turn, 1 up to the first wrong turn and 0 from it on (later turns build on the error);
``corruption`` the kind, or null. Chains come from reasoning-gym ``gsm_symbolic`` worked solutions and
from a few multi-step word-problem templates; the pair shares its problem, hence its split.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal

from svend.data.generators.base import Context, Drop, Example, Trace, num, pick
from svend.data.generators.reasoning_gym import gsm_steps
from svend.data.generators.tool_traces import ITEMS, NAMES

CORRUPTIONS = ("arithmetic", "tool_copy", "final_answer", "unjustified_leap")
_REF = re.compile(r"\{r(\d+)\}")


def _wrong(value: str, rng: random.Random) -> str:
    """A plausible wrong number near ``value`` (a slip, not nonsense): off by a little, by a power of
    ten, or two adjacent digits swapped."""
    v = Decimal(num(value))
    options = [v + d for d in (1, -1, 2, -2, 3, -3, 10, -10, 100, -100)] + [v * 10, v * 2]
    digits = list(num(value))
    pairs = [k for k in range(len(digits) - 1) if digits[k].isdigit() and digits[k + 1].isdigit() and digits[k] != digits[k + 1]]
    if pairs and not (pairs[0] == 0 and digits[1] == "0"):
        k = rng.choice(pairs)
        digits[k], digits[k + 1] = digits[k + 1], digits[k]
        if digits[0] != "0" or len(digits) == 1:
            options += [Decimal("".join(digits))] * 4  # the most human slip: weighted up
    rng.shuffle(options)
    for w in options:
        text = num(str(w))
        if text != num(value):
            return text
    raise AssertionError("unreachable: options always differ from value")


def _chain(ctx: Context, question: str, steps: list[str], corruption: str | None, at: int, rng: random.Random) -> tuple[Trace, list[int], str]:
    """Run the chain; ``steps`` are calculator expressions that may refer to earlier results as
    ``{rK}``. With a corruption, step ``at`` is where it happens. Returns the trace, the step labels
    and the final answer."""
    t = Trace(ctx, question)
    values: list[str] = []  # what the chain believes each step's result is
    labels: list[int] = []
    said = ""  # the restatement that opens the next assistant turn
    wrong_from = None
    for k, template in enumerate(steps):
        expr = _REF.sub(lambda m: values[int(m.group(1))], template)
        if corruption == "arithmetic" and k == at:
            true = t.ctx.registry.call("calculator", {"expression": expr})  # to be sure the head-count is wrong
            value = _wrong(num(true["result"]), rng)
            said = f"{said} {expr} = {value}.".strip()
            values.append(value)
            wrong_from = len(labels)
            continue
        if corruption == "unjustified_leap" and k == at:
            true = t.ctx.registry.call("calculator", {"expression": expr})
            value = _wrong(num(true["result"]), rng)
            said = f"{said} That makes {value}.".strip()
            values.append(value)
            wrong_from = len(labels)
            continue
        r = t.call("calculator", {"expression": expr}, said)
        labels.append(0 if wrong_from is not None else 1)
        value = num(r["result"])
        if corruption == "tool_copy" and k == at:
            shown = _wrong(value, rng)
            wrong_from = len(labels)  # the next turn, which restates it
            value = shown
        values.append(value)
        said = f"{expr} = {value}."
    final = values[-1]
    answer = final
    if corruption == "final_answer":
        answer = _wrong(final, rng)
        wrong_from = len(labels)
    t.finish(said, answer)
    labels.append(0 if wrong_from is not None else 1)
    if corruption is not None and all(labels):
        raise Drop("corruption_not_placed")
    return t, labels, answer


# -- chain sources ------------------------------------------------------------------------------------------

def _gsm_chain(ctx: Context, index: int) -> tuple[str, list[str]]:
    entry = ctx.rg_dataset("gsm_symbolic")[index]
    steps = gsm_steps(entry["metadata"].get("answer_cot", ""))
    if len(steps) < 2 or len(steps) > 6:
        raise Drop("chain_length")
    templates, stated = [], []
    for expr, result in steps:  # later steps that reuse an earlier result refer to it, so corruptions propagate
        for k, value in enumerate(stated):
            expr = re.sub(rf"(?<![\d.]){re.escape(value)}(?![\d.])", f"{{r{k}}}", expr)
        templates.append(expr)
        stated.append(num(result))
    if not any(_REF.search(t) for t in templates[1:]):
        raise Drop("independent_steps")
    if num(steps[-1][1]) != num(entry["answer"]):
        raise Drop("solution_mismatch")
    return entry["question"], templates


def _shopping_chain(rng: random.Random) -> tuple[str, list[str]]:
    (_, p1s), (_, p2s) = rng.sample(ITEMS, 2)
    q1, q2, p1, p2 = rng.randint(2, 9), rng.randint(2, 6), rng.randint(2, 40), rng.randint(2, 60)
    budget = rng.choice([200, 300, 500, 1000])
    who = pick(rng, NAMES)
    return (f"{who} buys {q1} {p1s} at ${p1} each and {q2} {p2s} at ${p2} each from a budget of ${budget}. How much is left?",
            [f"{q1}*{p1}", f"{q2}*{p2}", "{r0}+{r1}", f"{budget}-{{r2}}"])


def _savings_chain(rng: random.Random) -> tuple[str, list[str]]:
    income, rent, food, weeks = rng.randint(400, 1500), rng.randint(100, 350), rng.randint(40, 150), rng.randint(3, 52)
    who = pick(rng, NAMES)
    return (f"{who} earns ${income} a week, pays ${rent} rent and ${food} for food weekly. How much is saved in {weeks} weeks?",
            [f"{rent}+{food}", f"{income}-{{r0}}", f"{{r1}}*{weeks}"])


def _factory_chain(rng: random.Random) -> tuple[str, list[str]]:
    per_hour, hours, days, defective = rng.randint(12, 90), rng.randint(4, 12), rng.randint(2, 7), rng.randint(1, 30)
    return (f"A machine makes {per_hour} parts an hour and runs {hours} hours a day for {days} days; {defective} parts a day are "
            f"defective. How many good parts are made in total?",
            [f"{per_hour}*{hours}", f"{{r0}}-{defective}", f"{{r1}}*{days}"])


def _trip_chain(rng: random.Random) -> tuple[str, list[str]]:
    km, per100, price, people = rng.randint(100, 1200), rng.randint(4, 12), rng.randint(150, 250) / 100, rng.randint(2, 5)
    return (f"A {km} km trip in a car using {per100} litres per 100 km, with fuel at ${price} a litre, is split between {people} "
            f"people. What does each pay for fuel?",
            [f"{km}/100*{per100}", f"{{r0}}*{price}", f"{{r1}}/{people}"])


TEMPLATES = (_shopping_chain, _savings_chain, _factory_chain, _trip_chain)


def chains(ctx: Context, rng: random.Random, index: int, source: str) -> list[Example]:
    question, steps = _gsm_chain(ctx, index) if source == "gsm" else pick(rng, TEMPLATES)(rng)
    corruption = pick(rng, CORRUPTIONS)
    at = rng.randrange(len(steps) - 1) if corruption == "tool_copy" else rng.randrange(len(steps))
    good, good_labels, good_answer = _chain(ctx, question, steps, None, -1, rng)
    bad, bad_labels, bad_answer = _chain(ctx, question, steps, corruption, at, rng)
    if bad_answer == good_answer and corruption != "final_answer":
        raise Drop("corruption_cancelled")
    return [Example(good.messages, problem=question, answer=good_answer, extra={"label": 1, "step_labels": good_labels, "corruption": None}),
            Example(bad.messages, problem=question, answer=bad_answer, extra={"label": 0, "step_labels": bad_labels, "corruption": corruption})]


GENERATORS = {
    "verifier.gsm_chains": lambda ctx, rng, index: chains(ctx, rng, index, "gsm"),
    "verifier.word_chains": lambda ctx, rng, index: chains(ctx, rng, index, "templates"),
}
