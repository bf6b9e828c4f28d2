"""Physics with units (pint): every input is a quantity string such as ``"20 m/s"`` or ``"3 kN"``,
every output carries its unit, and a quantity of the wrong kind (``"3 kg"`` where a speed belongs) is
a structured ``dimension_mismatch`` error, not a wrong number.

Most laws here are products of powers equal to a constant (F = m a, V = I R, p V = n R T, …); one
``Relation`` solves any of them for whichever variable is left out, so each law is a few lines of
data. Kinematics, projectiles, work, collisions and resistor networks have their own functions.

Quantity strings are parsed by a strict pattern before pint sees them (pint evaluates numeric
expressions in unit strings, so ``"9**9**9 m"`` must never reach it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pint

from svend.tools.registry import Tool, ToolError, params, string

_QUANTITY = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?)\s*(.*?)\s*\Z")
_UNIT = re.compile(r"[A-Za-zµμΩ°_ \t*/^().·\-0-9]*\Z")
# Unit exponents are small integers: no three-digit numbers, no power of a power ("m^9^9").
_BIG_EXPONENT = re.compile(r"\d{3}|\^(?!\s*-?\d{1,2}(?![\d^.]))")
STANDARD_GRAVITY = "9.80665 m/s^2"


@lru_cache(maxsize=1)
def units() -> pint.UnitRegistry:
    """The one pint registry (building it takes ~0.2 s, so it is made once per process)."""
    return pint.UnitRegistry()


def quantity(text: Any, name: str = "quantity") -> pint.Quantity:
    """A pint quantity from ``"<number> <unit>"``; a bare number is dimensionless."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = repr(text)
    if not isinstance(text, str) or len(text) > 100:
        raise ToolError("invalid_quantity", f"{name} must be a string like '9.8 m/s^2' (at most 100 characters)")
    match = _QUANTITY.match(text.replace("−", "-"))
    if not match:
        raise ToolError("invalid_quantity", f"{name}={text!r}: write a number then a unit, e.g. '9.8 m/s^2'")
    number, unit = match.groups()
    if not _UNIT.match(unit) or _BIG_EXPONENT.search(unit.replace("**", "^")):
        raise ToolError("invalid_quantity", f"{name}={text!r}: units are names with small integer powers, e.g. 'm/s^2' or 'kg*m^-3'")
    try:
        return units().Quantity(float(number), units().parse_units(unit.replace("·", "*")) if unit else "")
    except (pint.errors.PintError, AttributeError, ValueError, TypeError, SyntaxError, KeyError) as exc:
        raise ToolError("unknown_unit", f"{name}={text!r}: {exc}"[:300]) from None


def expect(q: pint.Quantity, unit: str, name: str) -> pint.Quantity:
    """``q`` in base units, after checking it is the same kind of quantity as ``unit``."""
    wanted = units().parse_units(unit)
    if q.dimensionality != wanted.dimensionality:
        raise ToolError("dimension_mismatch",
                        f"{name} must be in units like {unit} ({wanted.dimensionality}), got {q.units:~P} "
                        f"({q.dimensionality or 'dimensionless'})")
    return q.to_base_units()


def show(q: pint.Quantity, unit: str) -> dict:
    q = q.to(unit)
    value = float(q.magnitude)
    if not math.isfinite(value):
        raise ToolError("overflow", "the result is not a finite number")
    return {"value": value, "unit": f"{q.units:~P}" or "dimensionless", "text": f"{value:.6g} {q.units:~P}".strip()}


def _given(arguments: dict[str, Any], spec: dict[str, str]) -> dict[str, pint.Quantity]:
    return {k: expect(quantity(v, k), spec[k], k) for k, v in arguments.items() if v is not None}


@dataclass(frozen=True)
class Relation:
    """``constant = Π variable ** power``; give all variables but one and get the one left out."""

    name: str
    description: str
    variables: dict[str, str]  # variable -> the unit its result is shown in
    powers: dict[str, float]
    constant: str = "1"

    def solve(self, **given: Any) -> dict:
        values = _given(given, self.variables)
        missing = [v for v in self.variables if v not in values]
        if len(missing) != 1:
            raise ToolError("invalid_arguments", f"give all but one of {', '.join(self.variables)}; "
                                                 f"missing now: {', '.join(missing) or 'none'}")
        unknown = missing[0]
        rest = units().Quantity(self.constant).to_base_units()
        for var, q in values.items():
            rest = rest / q ** self.powers[var]
        if self.powers[unknown] % 2 == 0 and rest.magnitude < 0:
            raise ToolError("domain_error", f"no real {unknown}: the given values would need a negative square")
        result = rest ** (1 / self.powers[unknown])
        return {unknown: show(result, self.variables[unknown]), "solved_for": unknown}

    def tool(self) -> Tool:
        schema = params(optional={v: string(f"{v}, with units like '{u}'", 100) for v, u in self.variables.items()})
        return Tool(self.name, self.description, schema, self.solve, family="physics")


RELATIONS = [
    Relation("physics_newton_second_law", "Newton's second law F = m a: give two of force, mass, acceleration.",
             {"force": "N", "mass": "kg", "acceleration": "m/s^2"}, {"force": 1, "mass": -1, "acceleration": -1}),
    Relation("physics_ohms_law", "Ohm's law V = I R: give two of voltage, current, resistance.",
             {"voltage": "V", "current": "A", "resistance": "ohm"}, {"voltage": 1, "current": -1, "resistance": -1}),
    Relation("physics_wave", "Wave speed v = f λ: give two of speed, frequency, wavelength.",
             {"speed": "m/s", "frequency": "Hz", "wavelength": "m"}, {"speed": 1, "frequency": -1, "wavelength": -1}),
    Relation("physics_ideal_gas", "Ideal gas p V = n R T: give three of pressure, volume, amount, temperature.",
             {"pressure": "kPa", "volume": "L", "amount": "mol", "temperature": "K"},
             {"pressure": 1, "volume": 1, "amount": -1, "temperature": -1}, "1 molar_gas_constant"),
    Relation("physics_pressure", "Pressure p = F / A: give two of pressure, force, area.",
             {"pressure": "Pa", "force": "N", "area": "m^2"}, {"pressure": 1, "area": 1, "force": -1}),
    Relation("physics_density", "Density ρ = m / V: give two of density, mass, volume.",
             {"density": "kg/m^3", "mass": "kg", "volume": "m^3"}, {"density": 1, "volume": 1, "mass": -1}),
    Relation("physics_power", "Power P = W / t: give two of power, energy (work), time.",
             {"power": "W", "energy": "J", "time": "s"}, {"power": 1, "time": 1, "energy": -1}),
    Relation("physics_momentum", "Momentum p = m v: give two of momentum, mass, velocity.",
             {"momentum": "kg*m/s", "mass": "kg", "velocity": "m/s"}, {"momentum": 1, "mass": -1, "velocity": -1}),
    Relation("physics_kinetic_energy", "Kinetic energy E = ½ m v²: give two of energy, mass, speed.",
             {"energy": "J", "mass": "kg", "speed": "m/s"}, {"energy": 1, "mass": -1, "speed": -2}, "0.5"),
    Relation("physics_potential_energy", "Gravitational potential energy E = m g h: give all but one of energy, mass, "
             "height, gravity.", {"energy": "J", "mass": "kg", "height": "m", "gravity": "m/s^2"},
             {"energy": 1, "mass": -1, "height": -1, "gravity": -1}),
    Relation("physics_gravitation", "Newton's gravitation F = G m1 m2 / r²: give all but one of force, mass1, mass2, "
             "distance.", {"force": "N", "mass1": "kg", "mass2": "kg", "distance": "m"},
             {"force": 1, "distance": 2, "mass1": -1, "mass2": -1}, "1 gravitational_constant"),
]


def convert(quantity_: str, to: str) -> dict:
    q = quantity(quantity_, "quantity")
    try:
        target = quantity(f"1 {to}", "to").units
        return show(q.to(target), target)
    except pint.errors.DimensionalityError as exc:
        raise ToolError("dimension_mismatch", f"cannot convert {q.units:~P} to {to}: {exc}") from None


_KINEMATICS = {"initial_velocity": "m/s", "final_velocity": "m/s", "acceleration": "m/s^2", "time": "s",
               "displacement": "m"}
# The five constant-acceleration equations, each written as f(u, v, a, t, s) = 0, keyed by the
# variable it does not contain.
_SUVAT = {
    "displacement": lambda u, v, a, t, s: v - u - a * t,
    "final_velocity": lambda u, v, a, t, s: s - u * t - 0.5 * a * t * t,
    "initial_velocity": lambda u, v, a, t, s: s - v * t + 0.5 * a * t * t,
    "acceleration": lambda u, v, a, t, s: s - 0.5 * (u + v) * t,
    "time": lambda u, v, a, t, s: v * v - u * u - 2 * a * s,
}
_ORDER = list(_KINEMATICS)


def _roots(f) -> list[float]:
    """Real roots of f, a polynomial of degree ≤ 2 in one variable, found from three samples."""
    c0, plus, minus = f(0.0), f(1.0), f(-1.0)
    c1, c2 = (plus - minus) / 2, (plus + minus) / 2 - c0
    if abs(c2) > 1e-12 * max(1.0, abs(c1), abs(c0)):
        disc = c1 * c1 - 4 * c2 * c0
        if disc < 0:
            return []
        return sorted({(-c1 + sign * math.sqrt(disc)) / (2 * c2) for sign in (1, -1)})
    if abs(c1) > 1e-300:
        return [-c0 / c1]
    raise ToolError("underdetermined", "these three values do not determine the motion (e.g. zero time or acceleration)")


def _residual(values: dict[str, float], equation: str) -> float:
    # The variable an equation lacks may be unknown yet; it is unused, so any placeholder does.
    return _SUVAT[equation](*(values.get(k, 0.0) for k in _ORDER))


def kinematics(**given: Any) -> dict:
    values = {k: q.magnitude for k, q in _given(given, _KINEMATICS).items()}
    if len(values) != 3:
        raise ToolError("invalid_arguments", f"give exactly three of {', '.join(_KINEMATICS)}; got {len(values)}")
    first, second = [k for k in _ORDER if k not in values]
    solutions = []
    # The equation without `second` has `first` as its only unknown; then the one without `first`
    # gives `second`. Every candidate must satisfy all five equations (and non-negative time).
    for x in _roots(lambda x: _residual({**values, first: x}, second)):
        known = {**values, first: x}
        for y in _roots(lambda y: _residual({**known, second: y}, first)):
            full = {**known, second: y}
            scale = max(1.0, *(abs(v) for v in full.values())) ** 2
            if full["time"] >= 0 and all(abs(_residual(full, eq)) <= 1e-9 * scale for eq in _SUVAT):
                solutions.append({k: show(units().Quantity(full[k], u), u) for k, u in _KINEMATICS.items()})
    if not solutions:
        raise ToolError("no_solution", "no motion with non-negative time fits these values")
    return {"solutions": solutions, "count": len(solutions)}


def projectile(speed: str, angle: str, height: str = "0 m", gravity: str = STANDARD_GRAVITY) -> dict:
    v = expect(quantity(speed, "speed"), "m/s", "speed").magnitude
    theta = expect(quantity(angle, "angle"), "degree", "angle").magnitude  # radians after to_base_units
    h = expect(quantity(height, "height"), "m", "height").magnitude
    g = expect(quantity(gravity, "gravity"), "m/s^2", "gravity").magnitude
    if g <= 0 or v < 0 or h < 0:
        raise ToolError("domain_error", "speed and height must be non-negative and gravity positive")
    vx, vy = v * math.cos(theta), v * math.sin(theta)
    flight = (vy + math.sqrt(vy * vy + 2 * g * h)) / g
    q = units().Quantity
    return {
        "time_of_flight": show(q(flight, "s"), "s"),
        "range": show(q(vx * flight, "m"), "m"),
        "max_height": show(q(h + max(vy, 0) ** 2 / (2 * g), "m"), "m"),
        "time_to_apex": show(q(max(vy, 0) / g, "s"), "s"),
        "impact_speed": show(q(math.hypot(vx, vy - g * flight), "m/s"), "m/s"),
    }


def work(force: str, distance: str, angle: str = "0 degree") -> dict:
    f = expect(quantity(force, "force"), "N", "force")
    d = expect(quantity(distance, "distance"), "m", "distance")
    theta = expect(quantity(angle, "angle"), "degree", "angle").magnitude
    return {"work": show(f * d * math.cos(theta), "J")}


def collision(mass1: str, velocity1: str, mass2: str, velocity2: str, kind: str = "elastic") -> dict:
    m1 = expect(quantity(mass1, "mass1"), "kg", "mass1").magnitude
    m2 = expect(quantity(mass2, "mass2"), "kg", "mass2").magnitude
    u1 = expect(quantity(velocity1, "velocity1"), "m/s", "velocity1").magnitude
    u2 = expect(quantity(velocity2, "velocity2"), "m/s", "velocity2").magnitude
    if m1 <= 0 or m2 <= 0:
        raise ToolError("domain_error", "masses must be positive")
    if kind == "elastic":
        v1 = ((m1 - m2) * u1 + 2 * m2 * u2) / (m1 + m2)
        v2 = ((m2 - m1) * u2 + 2 * m1 * u1) / (m1 + m2)
    else:
        v1 = v2 = (m1 * u1 + m2 * u2) / (m1 + m2)
    q = units().Quantity
    return {
        "velocity1_after": show(q(v1, "m/s"), "m/s"),
        "velocity2_after": show(q(v2, "m/s"), "m/s"),
        "momentum_before": show(q(m1 * u1 + m2 * u2, "kg*m/s"), "kg*m/s"),
        "momentum_after": show(q(m1 * v1 + m2 * v2, "kg*m/s"), "kg*m/s"),
        "kinetic_energy_before": show(q(0.5 * m1 * u1**2 + 0.5 * m2 * u2**2, "J"), "J"),
        "kinetic_energy_after": show(q(0.5 * m1 * v1**2 + 0.5 * m2 * v2**2, "J"), "J"),
    }


def resistors(resistances: list[str], arrangement: str, voltage: str | None = None) -> dict:
    values = [expect(quantity(r, f"resistances[{i}]"), "ohm", f"resistances[{i}]").magnitude
              for i, r in enumerate(resistances)]
    if any(r <= 0 for r in values) and arrangement == "parallel":
        raise ToolError("domain_error", "resistances in parallel must be positive")
    total = sum(values) if arrangement == "series" else 1 / sum(1 / r for r in values)
    out = {"total_resistance": show(units().Quantity(total, "ohm"), "ohm")}
    if voltage is not None:
        v = expect(quantity(voltage, "voltage"), "V", "voltage").magnitude
        out["current"] = show(units().Quantity(v / total, "A"), "A")
        out["power"] = show(units().Quantity(v * v / total, "W"), "W")
    return out


def tools() -> list[Tool]:
    q = lambda description: string(description, 100)  # noqa: E731 - a schema shorthand
    kinematic = {k: q(f"{k.replace('_', ' ')}, e.g. '3 {u}'") for k, u in _KINEMATICS.items()}

    def tool(name: str, description: str, parameters: dict, function) -> Tool:
        return Tool(name, description, parameters, function, family="physics")

    return [
        tool("physics_convert", "Convert a quantity to another unit, e.g. '60 mph' to 'm/s'.",
             params({"quantity": q("the quantity, e.g. '60 mph'"), "to": q("target unit, e.g. 'm/s'")}),
             lambda quantity, to: convert(quantity, to)),
        tool("physics_kinematics", "Constant-acceleration motion: give three of initial_velocity, final_velocity, "
             "acceleration, time, displacement; get the other two.", params(optional=kinematic), kinematics),
        tool("physics_projectile", "Projectile launched at a speed and angle (optionally from a height): flight time, "
             "range, maximum height, impact speed.",
             params({"speed": q("launch speed, e.g. '20 m/s'"), "angle": q("launch angle, e.g. '30 degree'")},
                    {"height": q("launch height, default '0 m'"), "gravity": q(f"default '{STANDARD_GRAVITY}'")}),
             projectile),
        tool("physics_work", "Work W = F d cos θ done by a force over a distance.",
             params({"force": q("e.g. '10 N'"), "distance": q("e.g. '5 m'")}, {"angle": q("default '0 degree'")}), work),
        tool("physics_collision", "One-dimensional collision (elastic or perfectly inelastic): velocities after, "
             "momentum and kinetic energy before and after.",
             params({"mass1": q("e.g. '2 kg'"), "velocity1": q("e.g. '3 m/s'"), "mass2": q("e.g. '1 kg'"),
                     "velocity2": q("e.g. '0 m/s'")}, {"kind": {"enum": ["elastic", "perfectly_inelastic"]}}),
             collision),
        tool("physics_resistors", "Total resistance of resistors in series or parallel (and current, power at a "
             "voltage).", params({"resistances": {"type": "array", "items": q("e.g. '100 ohm'"), "minItems": 1,
                                                  "maxItems": 50},
                                  "arrangement": {"enum": ["series", "parallel"]}}, {"voltage": q("e.g. '12 V'")}),
             resistors),
        *(relation.tool() for relation in RELATIONS),
    ]
