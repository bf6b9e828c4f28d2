"""Tool latency benchmark: p50/p99 per family over a fixed mix of calls, and the sandbox round trip.

    python -m svend.benchmarks.tools [--repeats 20] [--isolation process]

The registry is ``conf/tools/default.yaml``; calls go through ``Registry.call`` exactly as inference makes them (schema validation, the worker
process for sympy/pint/z3 tools), after one warm-up pass, so the numbers are what a generation loop
sees. Targets (issue 4): math/physics/chemistry p50 < 20 ms; sandboxed ``print(1)`` p50 < 150 ms.
``MIX`` has one valid call per tool; the tests use it to check that every tool answers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from svend.tools.cli import load_registry
from svend.tools.registry import FAMILIES, Registry

MIX: dict[str, dict] = {
    "calculator": {"expression": "987654321 * 123456789 + 2**64 // 7"},
    "math_evaluate": {"expression": "1/3 + 1/6 + sqrt(8)"},
    "math_simplify": {"expression": "(x^2 - 1)/(x - 1)"},
    "math_expand": {"expression": "(x + 1)^5"},
    "math_factor": {"expression": "x^3 - 6x^2 + 11x - 6"},
    "math_solve": {"equations": ["x + y = 10", "x - y = 2"]},
    "math_differentiate": {"expression": "x^3*sin(x)", "variable": "x"},
    "math_integrate": {"expression": "x*exp(x)", "variable": "x", "lower": "0", "upper": "1"},
    "math_limit": {"expression": "sin(x)/x", "point": "0"},
    "math_series": {"expression": "cos(x)", "order": 6},
    "math_substitute": {"expression": "x^2 + 2x + 1", "values": {"x": "3"}},
    "math_matrix": {"matrix": [[2, 1], [1, 3]], "operation": "determinant"},
    "physics_convert": {"quantity": "60 mph", "to": "m/s"},
    "physics_kinematics": {"initial_velocity": "0 m/s", "acceleration": "9.8 m/s^2", "time": "3 s"},
    "physics_projectile": {"speed": "20 m/s", "angle": "30 degree"},
    "physics_work": {"force": "10 N", "distance": "5 m", "angle": "60 degree"},
    "physics_collision": {"mass1": "2 kg", "velocity1": "3 m/s", "mass2": "1 kg", "velocity2": "0 m/s"},
    "physics_resistors": {"resistances": ["100 ohm", "220 ohm"], "arrangement": "parallel", "voltage": "12 V"},
    "physics_newton_second_law": {"mass": "1200 kg", "acceleration": "2.5 m/s^2"},
    "physics_ohms_law": {"voltage": "12 V", "resistance": "4 ohm"},
    "physics_wave": {"frequency": "440 Hz", "wavelength": "0.78 m"},
    "physics_ideal_gas": {"amount": "2 mol", "temperature": "300 K", "volume": "10 L"},
    "physics_pressure": {"force": "500 N", "area": "0.25 m^2"},
    "physics_density": {"mass": "2.7 kg", "volume": "1 L"},
    "physics_power": {"energy": "3 kJ", "time": "1 min"},
    "physics_momentum": {"mass": "0.15 kg", "velocity": "40 m/s"},
    "physics_kinetic_energy": {"mass": "1000 kg", "speed": "72 km/h"},
    "physics_potential_energy": {"mass": "10 kg", "height": "5 m", "gravity": "9.81 m/s^2"},
    "physics_gravitation": {"mass1": "5.972e24 kg", "mass2": "70 kg", "distance": "6371 km"},
    "chem_molar_mass": {"formula": "CuSO4·5H2O"},
    "chem_percent_composition": {"formula": "C6H12O6"},
    "chem_grams_to_moles": {"formula": "NaCl", "grams": 29.22},
    "chem_moles_to_grams": {"formula": "H2SO4", "moles": 0.5},
    "chem_balance": {"equation": "C3H8 + O2 -> CO2 + H2O"},
    "chem_stoichiometry": {"equation": "H2 + O2 -> H2O", "given": "H2", "grams": 4.0, "target": "H2O"},
    "chem_limiting_reagent": {"equation": "N2 + H2 -> NH3", "grams": {"N2": 28.0, "H2": 10.0}},
    "chem_theoretical_yield": {"equation": "N2 + H2 -> NH3", "grams": {"N2": 28.0, "H2": 10.0}, "product": "NH3",
                               "actual_grams": 17.0},
    "chem_molarity": {"grams": 58.44, "formula": "NaCl", "volume_liters": 2.0},
    "chem_dilution": {"c1": 2.0, "v1": 0.1, "c2": 0.5},
    "chem_ph": {"concentration": 0.01, "kind": "strong_acid"},
    "chem_gas_moles": {"pressure_atm": 1.0, "volume_liters": 22.4, "temperature_kelvin": 273.15},
    "chem_empirical_formula": {"percentages": {"C": 40.0, "H": 6.71, "O": 53.29}, "molar_mass": 180.16},
    "chem_element": {"symbol": "Fe"},
    "logic_satisfiable": {"formulas": ["p & (q | !r) -> s", "p", "!s"]},
    "logic_solve": {"constraints": ["x + 2*y <= 10", "x >= 1", "y >= 1"], "maximize": "x + y"},
    "logic_implies": {"premises": ["p -> q", "q -> r"], "conclusion": "p -> r"},
    "logic_equivalent": {"a": "!(p & q)", "b": "!p | !q"},
    "logic_schedule": {"tasks": {"a": 3, "b": 2, "c": 4}, "before": [["a", "c"]]},
    "logic_assign": {"items": ["alice", "bob", "carol"], "options": ["red", "green", "blue"],
                     "constraints": ["alice != red", "bob == green"]},
    "run_python": {"code": "print(1)"},
    "checklist_check": {"checklist": "vat", "known": {"parties_identified": "ACME GmbH sells to Bob"}},
}
TARGETS_MS = {"math": 20.0, "physics": 20.0, "chemistry": 20.0, "code": 150.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(registry: Registry, repeats: int) -> dict[str, list[float]]:
    """Latency in ms of every call of ``MIX`` (``repeats`` times), by family; one warm-up pass first."""
    calls = [(name, args) for name, args in MIX.items() if name in registry]
    for name, args in calls:
        registry.call(name, args)
    timings: dict[str, list[float]] = {family: [] for family in FAMILIES}
    for _ in range(repeats):
        for name, args in calls:
            started = time.perf_counter()
            result = registry.call(name, args)
            timings[registry.tools[name].family].append((time.perf_counter() - started) * 1000)
            if "error" in result:
                raise RuntimeError(f"benchmark call {name} failed: {result['error']}")
    return {family: values for family, values in timings.items() if values}


def table(timings: dict[str, list[float]]) -> str:
    rows = ["| family | calls | p50 ms | p99 ms | target p50 |", "|---|---:|---:|---:|---|"]
    for family, values in timings.items():
        target = TARGETS_MS.get(family)
        p50 = statistics.median(values)
        verdict = "" if target is None else f"< {target:g} ms {'ok' if p50 < target else 'MISSED'}"
        label = "code (sandboxed print(1))" if family == "code" else family
        rows.append(f"| {label} | {len(values)} | {p50:.2f} | {_percentile(values, 0.99):.2f} | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--isolation", choices=["process", "none"], default="process")
    args = parser.parse_args(argv)
    registry = load_registry(isolation=args.isolation)
    try:
        print(f"Tool latency, {args.repeats} repeats, isolation={args.isolation}\n")
        print(table(measure(registry, args.repeats)))
    finally:
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
