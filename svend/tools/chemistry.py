"""Chemistry: element data from periodictable, our own formula parser (parentheses, brackets,
hydrates such as ``CuSO4·5H2O``), equation balancing by the integer null space of the element
matrix, stoichiometry, yields, solutions, pH and gases.

The formula parser is hand-written (a recursive descent over a tiny grammar) because it must accept
exactly chemical notation and nothing else — it is the one parser here that never touches Python
evaluation at all. ``format_formula(parse_formula(s))`` is the canonical (Hill order) spelling.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import reduce

import periodictable
import sympy

from svend.tools.registry import Tool, ToolError, number, params, string

MAX_FORMULA = 200
MAX_COUNT = 100_000
R_L_ATM = 0.082057366080960  # L·atm/(mol·K), CODATA R in these units
KW = 1e-14  # ion product of water at 25 °C

_ELEMENT = re.compile(r"[A-Z][a-z]{0,2}")
_HYDRATE = re.compile(r"[·•.*]")
_ARROW = re.compile(r"\s*(?:<=>|<->|->|=>|→|⟶|=)\s*")


def _element(symbol: str) -> str:
    try:
        periodictable.elements.symbol(symbol)
    except ValueError:
        raise ToolError("unknown_element", f"{symbol!r} is not an element symbol") from None
    return symbol


class _Parser:
    """formula := part (('·'|'.'|'*') part)* ; part := digits? group+ ;
    group := (Element | '(' group+ ')' | '[' group+ ']') digits?"""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def fail(self, what: str) -> ToolError:
        return ToolError("invalid_formula", f"{self.text!r} at position {self.pos}: {what}")

    def digits(self, default: int) -> int:
        match = re.compile(r"\d+").match(self.text, self.pos)
        if not match:
            return default
        self.pos = match.end()
        value = int(match.group())
        if not 0 < value <= MAX_COUNT:
            raise self.fail(f"counts must be between 1 and {MAX_COUNT}")
        return value

    def groups(self, close: str | None) -> Counter:
        total: Counter = Counter()
        while self.pos < len(self.text) and self.text[self.pos] != close:
            char = self.text[self.pos]
            if char in "([":
                self.pos += 1
                inner = self.groups(")" if char == "(" else "]")
                if self.pos >= len(self.text):
                    raise self.fail(f"unclosed {char!r}")
                self.pos += 1
            elif match := _ELEMENT.match(self.text, self.pos):
                self.pos = match.end()
                inner = Counter({_element(match.group()): 1})
            elif _HYDRATE.match(char) and close is None:
                break
            else:
                raise self.fail(f"unexpected {char!r}")
            count = self.digits(1)
            for element, n in inner.items():
                total[element] += n * count
        if not total:
            raise self.fail("empty group")
        return total

    def formula(self) -> Counter:
        total: Counter = Counter()
        while True:
            multiplier = self.digits(1)
            for element, n in self.groups(None).items():
                total[element] += n * multiplier
            if self.pos >= len(self.text):
                break
            self.pos += 1  # a hydrate separator
        if max(total.values()) > MAX_COUNT:
            raise self.fail(f"an element occurs more than {MAX_COUNT} times")
        return total


def parse_formula(formula: str) -> Counter:
    """Element counts of a formula, e.g. ``Ca(OH)2`` -> ``{Ca: 1, O: 2, H: 2}``."""
    text = formula.strip() if isinstance(formula, str) else ""
    if not text or len(text) > MAX_FORMULA or re.search(r"\s", text):
        raise ToolError("invalid_formula", f"a formula is 1 to {MAX_FORMULA} characters without spaces, like 'CuSO4·5H2O'")
    return _Parser(text).formula()


def format_formula(counts: Counter | dict) -> str:
    """Hill order: C, then H, then the rest alphabetically (all alphabetical without carbon)."""
    first = ["C", "H"] if "C" in counts else []
    order = first + sorted(e for e in counts if e not in first)
    return "".join(f"{e}{counts[e] if counts[e] != 1 else ''}" for e in order if counts.get(e))


def molar_mass_of(counts: Counter) -> float:
    return sum(n * periodictable.elements.symbol(e).mass for e, n in counts.items())


def _species(formula: str) -> tuple[int, str]:
    """A species of an equation, with any coefficient the writer put in front split off."""
    match = re.match(r"(\d+)\s*(?=[A-Z(\[])", formula)
    return (int(match.group(1)), formula[match.end():]) if match else (1, formula)


def balance_equation(equation: str) -> dict:
    """Smallest positive integer coefficients, from the null space of the element × species matrix."""
    if not isinstance(equation, str) or len(equation) > 500:
        raise ToolError("invalid_equation", "an equation is a string of at most 500 characters")
    sides = _ARROW.split(equation.strip())
    if len(sides) != 2 or not all(s.strip() for s in sides):
        raise ToolError("invalid_equation", "write reactants -> products, e.g. 'H2 + O2 -> H2O'")
    reactants, products = ([_species(s.strip())[1] for s in re.split(r"\s+\+\s+|\s*\+\s*(?=\d*[A-Z(\[])", side)]
                           for side in sides)
    species = reactants + products
    if len(species) > 12:
        raise ToolError("too_large", "equations are limited to 12 species")
    counts = [parse_formula(s) for s in species]
    elements = sorted(set().union(*counts))
    if set().union(*counts[:len(reactants)]) != set().union(*counts[len(reactants):]):
        raise ToolError("cannot_balance", "the two sides do not contain the same elements")
    matrix = sympy.Matrix([[c.get(e, 0) * (1 if i < len(reactants) else -1) for i, c in enumerate(counts)]
                           for e in elements])
    space = matrix.nullspace()
    if len(space) != 1:
        raise ToolError("cannot_balance", "no unique balance: the equation has "
                        + ("no solution" if not space else f"{len(space)} independent balances; split it into reactions"))
    vector = space[0]
    scale = reduce(sympy.ilcm, (sympy.Rational(x).q for x in vector), 1)
    coefficients = [int(x * scale) for x in vector]
    if coefficients[0] < 0:
        coefficients = [-c for c in coefficients]
    if any(c <= 0 for c in coefficients):
        raise ToolError("cannot_balance", "no balance with every species taking part (a coefficient would be ≤ 0)")
    divisor = reduce(math.gcd, coefficients)
    coefficients = [c // divisor for c in coefficients]
    side = lambda names, coefs: " + ".join(f"{c if c > 1 else ''}{n}" for n, c in zip(names, coefs))  # noqa: E731
    return {
        "balanced": f"{side(reactants, coefficients)} -> {side(products, coefficients[len(reactants):])}",
        "coefficients": dict(zip(species, coefficients)),
        "reactants": reactants,
        "products": products,
    }


def _mass(formula: str) -> float:
    return molar_mass_of(parse_formula(formula))


def _positive(value: float, name: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ToolError("domain_error", f"{name} must be a positive number")
    return value


def molar_mass(formula: str) -> dict:
    counts = parse_formula(formula)
    return {"formula": format_formula(counts), "molar_mass_g_per_mol": round(molar_mass_of(counts), 4),
            "elements": dict(counts)}


def percent_composition(formula: str) -> dict:
    counts = parse_formula(formula)
    total = molar_mass_of(counts)
    return {"formula": format_formula(counts), "percent_by_mass": {
        e: round(100 * n * periodictable.elements.symbol(e).mass / total, 4) for e, n in counts.items()}}


def grams_to_moles(formula: str, grams: float) -> dict:
    return {"moles": _positive(grams, "grams") / _mass(formula), "molar_mass_g_per_mol": round(_mass(formula), 4)}


def moles_to_grams(formula: str, moles: float) -> dict:
    return {"grams": _positive(moles, "moles") * _mass(formula), "molar_mass_g_per_mol": round(_mass(formula), 4)}


def _coefficient(balanced: dict, formula: str) -> int:
    for name, coefficient in balanced["coefficients"].items():
        if name == formula or parse_formula(name) == parse_formula(formula):
            return coefficient
    raise ToolError("unknown_species", f"{formula} is not in the equation; species: {', '.join(balanced['coefficients'])}")


def stoichiometry(equation: str, given: str, target: str, grams: float | None = None, moles: float | None = None) -> dict:
    balanced = balance_equation(equation)
    if (grams is None) == (moles is None):
        raise ToolError("invalid_arguments", "give the amount of the given species as grams or as moles (one of them)")
    given_moles = _positive(moles, "moles") if moles is not None else _positive(grams, "grams") / _mass(given)
    target_moles = given_moles * _coefficient(balanced, target) / _coefficient(balanced, given)
    return {"balanced": balanced["balanced"], "target_moles": target_moles, "target_grams": target_moles * _mass(target)}


def limiting_reagent(equation: str, grams: dict[str, float]) -> dict:
    balanced = balance_equation(equation)
    if not grams:
        raise ToolError("invalid_arguments", "give the grams of at least one reactant")
    moles = {f: _positive(g, f"grams of {f}") / _mass(f) for f, g in grams.items()}
    for formula in moles:
        if formula not in balanced["reactants"] and all(parse_formula(formula) != parse_formula(r)
                                                        for r in balanced["reactants"]):
            raise ToolError("unknown_species", f"{formula} is not a reactant of {balanced['balanced']}")
    extent = {f: n / _coefficient(balanced, f) for f, n in moles.items()}
    limiting = min(extent, key=extent.get)
    reaction = extent[limiting]  # moles of "reaction events" the limiting reagent allows
    return {
        "balanced": balanced["balanced"],
        "limiting_reagent": limiting,
        "theoretical_yield_grams": {p: reaction * _coefficient(balanced, p) * _mass(p) for p in balanced["products"]},
        "excess_remaining_grams": {f: (moles[f] - reaction * _coefficient(balanced, f)) * _mass(f)
                                   for f in moles if f != limiting},
    }


def theoretical_yield(equation: str, grams: dict[str, float], product: str, actual_grams: float | None = None) -> dict:
    result = limiting_reagent(equation, grams)
    yields = result["theoretical_yield_grams"]
    key = next((p for p in yields if parse_formula(p) == parse_formula(product)), None)
    if key is None:
        raise ToolError("unknown_species", f"{product} is not a product of {result['balanced']}")
    out = {"balanced": result["balanced"], "limiting_reagent": result["limiting_reagent"],
           "theoretical_yield_grams": yields[key]}
    if actual_grams is not None:
        out["percent_yield"] = 100 * _positive(actual_grams, "actual_grams") / yields[key]
    return out


def molarity(volume_liters: float | None = None, molarity: float | None = None, moles: float | None = None,
             grams: float | None = None, formula: str | None = None) -> dict:
    if grams is not None:
        if formula is None or moles is not None:
            raise ToolError("invalid_arguments", "grams needs the formula (and replaces moles)")
        moles = _positive(grams, "grams") / _mass(formula)
    known = {k: v for k, v in {"moles": moles, "volume_liters": volume_liters, "molarity": molarity}.items() if v is not None}
    if len(known) != 2:
        raise ToolError("invalid_arguments", "give two of amount (moles, or grams with formula), volume_liters, molarity")
    for k, v in known.items():
        _positive(v, k)
    if moles is None:
        return {"moles": molarity * volume_liters}
    if volume_liters is None:
        return {"volume_liters": moles / molarity}
    return {"molarity": moles / volume_liters}


def dilution(c1: float | None = None, v1: float | None = None, c2: float | None = None, v2: float | None = None) -> dict:
    known = {k: _positive(v, k) for k, v in {"c1": c1, "v1": v1, "c2": c2, "v2": v2}.items() if v is not None}
    if len(known) != 3:
        raise ToolError("invalid_arguments", "give three of c1, v1, c2, v2 (c1·v1 = c2·v2, any consistent units)")
    missing = ({"c1", "v1", "c2", "v2"} - set(known)).pop()
    partner = {"c1": "v1", "v1": "c1", "c2": "v2", "v2": "c2"}[missing]
    other = ("c2", "v2") if missing in ("c1", "v1") else ("c1", "v1")
    return {missing: known[other[0]] * known[other[1]] / known[partner]}


def ph(concentration: float, kind: str, ions: int = 1) -> dict:
    """pH of a strong acid or base, counting water's own ions (right even for 1e-8 M HCl)."""
    c = _positive(concentration, "concentration") * ions
    major = c / 2 + math.sqrt(c * c / 4 + KW)  # [H+] for an acid, [OH-] for a base
    h = major if kind == "strong_acid" else KW / major
    return {"pH": -math.log10(h), "pOH": -math.log10(KW / h), "H_plus_molar": h, "OH_minus_molar": KW / h}


def gas_moles(pressure_atm: float, volume_liters: float, temperature_kelvin: float) -> dict:
    n = _positive(pressure_atm, "pressure_atm") * _positive(volume_liters, "volume_liters") / (
        R_L_ATM * _positive(temperature_kelvin, "temperature_kelvin"))
    return {"moles": n}


def empirical_formula(percentages: dict[str, float], molar_mass: float | None = None) -> dict:
    if not percentages:
        raise ToolError("invalid_arguments", "give the mass percentage of each element")
    moles = {_element(e): _positive(p, f"percentage of {e}") / periodictable.elements.symbol(e).mass
             for e, p in percentages.items()}
    smallest = min(moles.values())
    ratios = {e: n / smallest for e, n in moles.items()}
    for multiplier in range(1, 13):
        if all(abs(r * multiplier - round(r * multiplier)) < 0.1 for r in ratios.values()):
            break
    else:
        raise ToolError("no_solution", "the percentages do not give a whole-number ratio with small multipliers")
    counts = Counter({e: round(r * multiplier) for e, r in ratios.items()})
    out = {"empirical_formula": format_formula(counts), "empirical_molar_mass": round(molar_mass_of(counts), 4)}
    if molar_mass is not None:
        factor = round(_positive(molar_mass, "molar_mass") / molar_mass_of(counts))
        if factor < 1 or abs(factor * molar_mass_of(counts) - molar_mass) > 0.05 * molar_mass:
            raise ToolError("no_solution", "the molar mass is not a whole multiple of the empirical formula's mass")
        out["molecular_formula"] = format_formula(Counter({e: n * factor for e, n in counts.items()}))
    return out


def element(symbol: str) -> dict:
    data = periodictable.elements.symbol(_element(symbol))
    return {"symbol": data.symbol, "name": data.name, "atomic_number": data.number, "atomic_mass": data.mass,
            "density_g_per_cm3": data.density}


def tools() -> list[Tool]:
    formula = string("a chemical formula, e.g. 'Ca(OH)2' or 'CuSO4·5H2O'", MAX_FORMULA)
    equation = string("reactants -> products, e.g. 'H2 + O2 -> H2O'", 500)
    amount = number("a positive amount", exclusiveMinimum=0, maximum=1e30)
    by_formula = {"type": "object", "minProperties": 1, "maxProperties": 12, "additionalProperties": amount}

    def tool(name: str, description: str, parameters: dict, function) -> Tool:
        return Tool(name, description, parameters, function, family="chemistry")

    return [
        tool("chem_molar_mass", "Molar mass (g/mol) and element counts of a formula.", params({"formula": formula}), molar_mass),
        tool("chem_percent_composition", "Percent by mass of each element in a formula.", params({"formula": formula}),
             percent_composition),
        tool("chem_grams_to_moles", "Convert grams of a substance to moles.", params({"formula": formula, "grams": amount}),
             grams_to_moles),
        tool("chem_moles_to_grams", "Convert moles of a substance to grams.", params({"formula": formula, "moles": amount}),
             moles_to_grams),
        tool("chem_balance", "Balance a chemical equation with the smallest whole-number coefficients.",
             params({"equation": equation}), balance_equation),
        tool("chem_stoichiometry", "Moles and grams of a target species from an amount of a given species.",
             params({"equation": equation, "given": formula, "target": formula}, {"grams": amount, "moles": amount}),
             stoichiometry),
        tool("chem_limiting_reagent", "Limiting reagent, theoretical yields and leftover excess from grams of reactants.",
             params({"equation": equation, "grams": by_formula}), limiting_reagent),
        tool("chem_theoretical_yield", "Theoretical yield of a product (and percent yield given the actual grams).",
             params({"equation": equation, "grams": by_formula, "product": formula}, {"actual_grams": amount}),
             theoretical_yield),
        tool("chem_molarity", "Solution concentration: give two of amount (moles, or grams with formula), volume_liters, "
             "molarity.", params(optional={"moles": amount, "grams": amount, "formula": formula,
                                           "volume_liters": amount, "molarity": amount}), molarity),
        tool("chem_dilution", "Dilution c1·v1 = c2·v2: give three, get the fourth.",
             params(optional={"c1": amount, "v1": amount, "c2": amount, "v2": amount}), dilution),
        tool("chem_ph", "pH and pOH of a strong acid or strong base solution (mol/L).",
             params({"concentration": amount, "kind": {"enum": ["strong_acid", "strong_base"]}},
                    {"ions": {"type": "integer", "minimum": 1, "maximum": 4,
                              "description": "H+ or OH- per formula unit, e.g. 2 for Ba(OH)2"}}), ph),
        tool("chem_gas_moles", "Moles of an ideal gas from pressure (atm), volume (L) and temperature (K).",
             params({"pressure_atm": amount, "volume_liters": amount, "temperature_kelvin": amount}), gas_moles),
        tool("chem_empirical_formula", "Empirical (and molecular, given the molar mass) formula from mass percentages.",
             params({"percentages": {"type": "object", "minProperties": 1, "maxProperties": 10,
                                     "additionalProperties": amount}}, {"molar_mass": amount}), empirical_formula),
        tool("chem_element", "Data of an element: name, atomic number, atomic mass, density.",
             params({"symbol": string("element symbol, e.g. 'Fe'", 3)}), element),
    ]
