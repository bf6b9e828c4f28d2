"""Clarification traces: an underspecified request answered with ONE targeted question (the
``<clarify>`` meta token), next to its fully specified look-alike answered directly with tools.

Why pairs: a model shown only the underspecified half learns "ask questions"; shown only the specified
half it learns "always answer". The pair differs in exactly the missing fact (the amount, the unit, the
equation, the jurisdiction ...), so what it learns is *when* to ask. Both halves are filed under the
underspecified request, so they land in the same split.

Where a checklist applies (VAT, ``conf/tools/default.yaml``), the assistant does not decide by itself
what is missing: it calls ``checklist_check`` with the facts the user gave, and its question is the
checklist's question for the first missing item the user can answer. The fully specified look-alike
passes the same tool a complete list and then answers (VAT: reverse charge, or the rate applied with
the calculator). Rates are the EU standard VAT rates in force in 2025.

Metadata: ``clarify`` (true for the question half), ``missing`` (what was left out).
"""

from __future__ import annotations

import random
from decimal import Decimal

from svend.data.generators.base import Context, Drop, Example, Trace, money, pick, rounded
from svend.data.generators.tool_traces import COMPOUNDS, think


def _pair(under: Trace, full: Trace, answer, missing) -> list[Example]:
    """The question half and its look-alike. Both are filed under the underspecified request — the
    text that repeats across draws — so a request is in one split, with every look-alike it has."""
    key = under.messages[0]["content"]
    return [
        Example(under.messages, problem=key, answer=None, extra={"clarify": True, "missing": missing}),
        Example(full.messages, problem=key, answer=None if answer is None else str(answer), extra={"clarify": False, "missing": None}),
    ]


def _ask(ctx: Context, question: str, text: str) -> Trace:
    t = Trace(ctx, question)
    t.finish(f"<clarify>{text}")
    return t


def missing_amount(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    tip, bill = pick(rng, [10, 12, 15, 18, 20, 25]), Decimal(rng.randint(1500, 30000)) / 100
    where = pick(rng, ["at the restaurant", "for the taxi", "at the hairdresser", "for the delivery", "for dinner", "at the bar",
                       "for the tour guide", "at the café", "for room service", "for the movers", "at brunch", "for the barber"])
    under = pick(rng, [f"How much should I tip {where} at {tip}%?", f"What's a {tip}% tip {where}?", f"Work out a {tip} percent tip {where} for me."])
    full = pick(rng, [f"How much should I tip {where} at {tip}% on a ${bill} bill?", f"What's a {tip}% tip on ${bill} {where}?",
                      f"Work out a {tip} percent tip on a ${bill} total {where} for me."])
    u = _ask(ctx, under, pick(rng, ["How much is the bill?", "What is the total amount before the tip?", "What was the bill amount?"]))
    f = Trace(ctx, full)
    r = f.call("calculator", {"expression": f"{bill}*{tip}/100"}, think(rng, "Tip = bill × rate."))
    f.finish(f"A {tip}% tip on ${bill} is ${money(r['result'])}.", money(r["result"]))
    return _pair(u, f, money(r["result"]), "amount")


UNITS = [("mph", "km/h", ["mph", "m/s", "knots"]), ("km", "mile", ["km", "m", "miles"]), ("kg", "lb", ["kg", "g", "stone"]),
         ("degC", "degF", ["°C", "K"]), ("L", "gallon", ["litres", "millilitres", "cubic metres"]), ("ft", "m", ["feet", "inches", "yards"])]
WORDS = {"mph": "mph", "km/h": "km/h", "km": "km", "mile": "miles", "kg": "kg", "lb": "pounds", "degC": "°C", "degF": "°F",
         "L": "litres", "gallon": "US gallons", "ft": "feet", "m": "metres"}


def missing_unit(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    src, dst, guesses = pick(rng, UNITS)
    value = rng.randint(2, 400)
    under = pick(rng, [f"Convert {value} to {WORDS[dst]} units.", f"Convert units: {value} into {WORDS[dst]}.",
                       f"Please convert {value} into {WORDS[dst]} (unit conversion)."])
    full = pick(rng, [f"Convert {value} {WORDS[src]} to {WORDS[dst]} units.", f"Convert units: {value} {WORDS[src]} into {WORDS[dst]}.",
                      f"Please convert {value} {WORDS[src]} into {WORDS[dst]} (unit conversion)."])
    u = _ask(ctx, under, f"{value} in which unit — {', '.join(guesses[:-1])} or {guesses[-1]}?")
    f = Trace(ctx, full)
    r = f.call("physics_convert", {"quantity": f"{value} {src}", "to": dst}, think(rng, "A unit conversion."))
    f.finish(f"{value} {WORDS[src]} = {r['text']}.", r["text"])
    return _pair(u, f, r["text"], "unit")


def missing_equation(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    x, a, b = rng.randint(-20, 20), rng.randint(2, 12), rng.randint(1, 60)
    c = a * x + b
    k, page = rng.randint(1, 40), rng.randint(1, 300)
    where = pick(rng, ["", f" in question {k} of my worksheet", f" on page {page}", f" from exercise {k}", f" in problem {k}",
                       " my teacher gave us", " from my homework", " in the screenshot", f" from lecture {k}"])
    under = pick(rng, [f"Solve the equation{where} for x.", f"Can you solve the equation{where} for x?", f"Solve for x in the equation{where}, please.",
                       f"I need x from the equation{where}."])
    full = pick(rng, [f"Solve the equation{where} for x: {a}x + {b} = {c}.", f"Can you solve the equation{where} for x? It is {a}x + {b} = {c}.",
                      f"Solve for x in the equation{where}: {a}x + {b} = {c}."])
    u = _ask(ctx, under, pick(rng, ["Which equation? Please write it out, for example 2x + 3 = 11.", "What is the equation? Please type it out.",
                                    "I can't see the equation — could you write it here?"]))
    f = Trace(ctx, full)
    r = f.call("math_solve", {"equations": f"{a}*x + {b} = {c}", "variables": ["x"]}, think(rng, "A linear equation."))
    if r.get("count") != 1:
        raise Drop("unexpected_tool_result", str(r))
    xv = r["solutions"][0]["x"]
    f.finish(f"x = {xv}.", xv)
    return _pair(u, f, xv, "equation")


def missing_quantity(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    name, formula = pick(rng, COMPOUNDS)
    grams = rng.randint(1, 400)
    held = pick(rng, ["sample", "beaker", "flask", "jar", "vial", "bottle", "weighing boat", "test tube", "bag", "crucible"])
    under = pick(rng, [f"How many moles of {name} ({formula}) are in my {held}?", f"Convert the {formula} in my {held} to moles.",
                       f"I have some {name} ({formula}) in a {held}. How many moles is that?"])
    full = pick(rng, [f"How many moles are in the {grams} g of {name} ({formula}) in my {held}?", f"Convert the {grams} grams of {formula} in my {held} to moles.",
                      f"I have {grams} grams of {name} ({formula}) in a {held}. How many moles is that?"])
    u = _ask(ctx, under, pick(rng, [f"How many grams of {formula} are there?", f"What is the mass of the {formula}, in grams?"]))
    f = Trace(ctx, full)
    r = f.call("chem_grams_to_moles", {"formula": formula, "grams": grams}, think(rng, "moles = grams / molar mass."))
    n = f"{r['moles']:.4g}"
    f.finish(f"{grams} g of {formula} is {n} mol.", f"{n} mol")
    return _pair(u, f, f"{n} mol", "quantity")


def missing_data(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    values = [rng.randint(40, 100) for _ in range(rng.randint(3, 7))]
    what = pick(rng, ["test scores", "quiz marks", "exam results", "lap times in seconds", "monthly electricity bills",
                      "daily step counts (in hundreds)", "weekly running distances in km", "grades", "sales figures (in $1000s)"])
    when = pick(rng, ["", " this term", " this year", " from last month", " this season", " so far", " from the spreadsheet",
                      " for the last few weeks", f" for {len(values)} weeks", f" ({len(values)} of them)"])
    listed = ", ".join(map(str, values))
    under = pick(rng, [f"What's the average of my {what}{when}?", f"Can you compute the mean of my {what}{when}?",
                       f"Work out the average of my {what}{when}."])
    full = pick(rng, [f"What's the average of my {what}{when}: {listed}?", f"Can you compute the mean of my {what}{when} ({listed})?",
                      f"Work out the average of my {what}{when}: {listed}."])
    u = _ask(ctx, under, pick(rng, [f"Which values? Please list your {what}.", "Could you paste the numbers? I don't have them."]))
    f = Trace(ctx, full)
    r = f.call("calculator", {"expression": f"({'+'.join(map(str, values))})/{len(values)}"}, think(rng, "Mean = sum / count."))
    value = rounded(r["result"], 2)
    f.finish(f"The average is {value}.", value)
    return _pair(u, f, value, "data")


def missing_rate(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    dist, pace = rng.randint(20, 900), rng.choice([5, 15, 20, 50, 60, 80, 90, 100, 110, 120])
    how = "walk" if pace == 5 else ("cycle" if pace <= 20 else "drive")
    under = pick(rng, [f"How long will it take me to {how} {dist} km?", f"I need to {how} {dist} km. How many hours is that?",
                       f"How many hours does a {dist} km {how} take?"])
    full = pick(rng, [f"How long will it take me to {how} {dist} km at {pace} kilometres an hour?",
                      f"I need to {how} {dist} km, averaging {pace} kilometres an hour. How many hours is that?",
                      f"How many hours does a {dist} km {how} take at {pace} kilometres per hour?"])
    u = _ask(ctx, under, f"At what average pace will you {how}, in kilometres per hour?")
    f = Trace(ctx, full)
    r = f.call("calculator", {"expression": f"{dist}/{pace}"}, think(rng, "time = distance / pace."))
    h = rounded(r["result"], 2)
    f.finish(f"{dist} km at {pace} km an hour takes {h} hours.", h)
    return _pair(u, f, h, "rate")


def missing_interest(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    principal, rate, years = rng.randint(10, 500) * 100, pick(rng, [1.5, 2, 2.5, 3, 4, 5, 6]), rng.randint(2, 30)
    under = pick(rng, [f"How much will my ${principal} savings be worth in {years} years?",
                       f"If I leave ${principal} in the bank for {years} years, what will I have?"])
    full = pick(rng, [f"How much will my ${principal} savings be worth in {years} years at {rate}% a year, compounded annually?",
                      f"If I leave ${principal} in the bank for {years} years at {rate}% interest compounded yearly, what will I have?"])
    u = _ask(ctx, under, "What annual interest rate does the account pay (and is it compounded yearly)?")
    f = Trace(ctx, full)
    r = f.call("calculator", {"expression": f"{principal}*(1+{rate}/100)**{years}"}, think(rng, "Compound growth: P(1+r)^n."))
    f.finish(f"After {years} years: ${money(r['result'])}.", money(r["result"]))
    return _pair(u, f, money(r["result"]), "rate_of_interest")


# -- VAT: the checklist decides what is missing ------------------------------------------------------------

VAT_RATES = {"Germany": 19, "France": 20, "the Netherlands": 21, "Spain": 21, "Italy": 22, "Belgium": 21, "Austria": 20,
             "Ireland": 23, "Sweden": 25, "Denmark": 25, "Poland": 23, "Portugal": 23}
SELLERS = ["Nordlys", "Brightpath", "Kestrel", "Alder & Co", "Bluefin", "Marlowe", "Tessera", "Quillon", "Halvard", "Oakridge"]
BUYERS = ["Müller GmbH", "Dupont SARL", "Rossi Srl", "Jansen BV", "García SL", "Novak", "Byrne Ltd", "Lindqvist AB"]
SERVICES = ["consulting services", "software development", "marketing services", "translation services", "design work"]
# Facts the user states; the checklist's other items (reverse charge, place of supply) the assistant decides.
USER_ITEMS = ["jurisdictions_identified", "b2b_or_b2c", "supply_classified"]


def _vat_case(rng: random.Random) -> dict:
    seller_country, buyer_country = pick(rng, list(VAT_RATES)), pick(rng, list(VAT_RATES))
    domestic = rng.random() < 0.5
    if domestic:
        buyer_country = seller_country
    b2b = domestic is False or rng.random() < 0.6  # cross-border cases here are B2B services (reverse charge)
    return {"seller": pick(rng, SELLERS), "buyer": pick(rng, BUYERS) if b2b else pick(rng, ["a private customer", "a consumer", "an individual client"]),
            "seller_country": seller_country, "buyer_country": buyer_country, "b2b": b2b, "domestic": domestic,
            "service": pick(rng, SERVICES), "amount": rng.randint(5, 400) * 50}


def _vat_question(c: dict, leave_out: str | None) -> str:
    """The request, stating every user fact except ``leave_out``."""
    where = leave_out != "jurisdictions_identified"
    seller = f"{c['seller']}, based in {c['seller_country']}," if where else c["seller"]
    if leave_out == "b2b_or_b2c":
        buyer = f"a client in {c['buyer_country']}" if where else "a client"
    elif c["b2b"]:
        buyer = f"{c['buyer']}, a business in {c['buyer_country']}," if where else f"{c['buyer']}, a business,"
    else:
        buyer = f"{c['buyer']} in {c['buyer_country']}" if where else c["buyer"]
    what = "some work" if leave_out == "supply_classified" else c["service"]
    return (f"We are {seller} and sell {what} to {buyer} for €{c['amount']:,}. No exemption or reduced rate applies and we "
            f"are VAT-registered. How much VAT goes on the invoice?").replace(",,", ",").replace(", and", " and")


def _known(c: dict, leave_out: str | None, decided: bool) -> dict:
    known = {
        "parties_identified": f"{c['seller']} -> {c['buyer']}",
        "jurisdictions_identified": f"{c['seller_country']} -> {c['buyer_country']}",
        "b2b_or_b2c": "B2B" if c["b2b"] else "B2C",
        "supply_classified": "services",
        "exemptions_checked": "no exemption or reduced rate",
        "thresholds_verified": "seller VAT-registered",
    }
    if leave_out:
        known.pop(leave_out)
    if decided:
        known["place_of_supply_determined"] = (f"{c['buyer_country']} (B2B services: where the customer is established)"
                                               if not c["domestic"] else f"{c['seller_country']} (domestic supply)")
        known["reverse_charge_assessed"] = "yes: cross-border B2B services" if not c["domestic"] else "no: domestic supply"
    return known


def vat(ctx: Context, rng: random.Random, index: int) -> list[Example]:
    c = _vat_case(rng)
    leave_out = pick(rng, USER_ITEMS)
    if c["b2b"] is False and leave_out == "b2b_or_b2c":
        leave_out = "jurisdictions_identified"
    under_q, full_q = _vat_question(c, leave_out), _vat_question(c, None)

    u = Trace(ctx, under_q)
    r = u.call("checklist_check", {"checklist": "vat", "known": _known(c, leave_out, decided=False)},
               "<think>VAT depends on facts; check which are still missing.</think>")
    missing = [m["id"] for m in r["missing"]]
    asked = next((m for m in r["missing"] if m["id"] in USER_ITEMS), None)
    if asked is None:
        raise Drop("unexpected_tool_result", str(r))
    u.finish(f"<clarify>{asked['question']}")

    f = Trace(ctx, full_q)
    done = f.call("checklist_check", {"checklist": "vat", "known": _known(c, None, decided=True)},
                  "<think>Check the VAT facts are complete before answering.</think>")
    if not done["complete"]:
        raise Drop("unexpected_tool_result", str(done))
    if not c["domestic"]:
        f.finish(f"No VAT on the invoice: B2B services to a business in another EU country fall under the reverse charge, so "
                 f"{c['buyer']} accounts for {c['buyer_country']} VAT. Write \"Reverse charge\" and both VAT numbers on the invoice.",
                 "0")
        answer = "0"
    else:
        rate = VAT_RATES[c["seller_country"]]
        v = f.call("calculator", {"expression": f"{c['amount']}*{rate}/100"}, f"Domestic supply: the standard rate in {c['seller_country']} is {rate}%.")
        answer = money(v["result"])
        f.finish(f"Charge {c['seller_country']} VAT at {rate}%: €{answer} on €{c['amount']:,}.", answer)
    return [Example(u.messages, problem=under_q, answer=None, extra={"clarify": True, "missing": missing}),
            Example(f.messages, problem=under_q, answer=answer, extra={"clarify": False, "missing": None})]


GENERATORS = {
    "clarification.missing_amount": missing_amount,
    "clarification.missing_unit": missing_unit,
    "clarification.missing_equation": missing_equation,
    "clarification.missing_quantity": missing_quantity,
    "clarification.missing_data": missing_data,
    "clarification.missing_rate": missing_rate,
    "clarification.missing_interest": missing_interest,
    "clarification.vat": vat,
}
