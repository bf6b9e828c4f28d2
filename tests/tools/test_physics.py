"""Physics: known answers with units in and out, dimension mismatches as structured errors."""

from __future__ import annotations

import pytest

from tests.tools.checks import fails, ok


def value(result: dict, key: str, unit: str | None = None) -> float:
    entry = result[key]
    if unit is not None:
        assert entry["unit"] == unit, entry
    return entry["value"]


def test_convert(registry):
    assert value({"r": ok(registry.call("physics_convert", {"quantity": "60 mph", "to": "m/s"}))}, "r", "m/s") == \
        pytest.approx(26.8224)
    assert ok(registry.call("physics_convert", {"quantity": "25 degC", "to": "K"}))["value"] == pytest.approx(298.15)
    assert ok(registry.call("physics_convert", {"quantity": "1 atm", "to": "kPa"}))["value"] == pytest.approx(101.325)


def test_kinematics_free_fall(registry):
    (solution,) = ok(registry.call("physics_kinematics", {"initial_velocity": "0 m/s", "acceleration": "9.8 m/s^2",
                                                         "time": "3 s"}))["solutions"]
    assert value(solution, "final_velocity", "m/s") == pytest.approx(29.4)
    assert value(solution, "displacement", "m") == pytest.approx(44.1)


def test_kinematics_quadratic_gives_both_times(registry):
    result = ok(registry.call("physics_kinematics", {"initial_velocity": "10 m/s", "acceleration": "-9.8 m/s^2",
                                                    "displacement": "0 m"}))
    assert sorted(s["time"]["value"] for s in result["solutions"]) == pytest.approx([0.0, 20 / 9.8])


def test_kinematics_every_pair_of_unknowns(registry):
    truth = {"initial_velocity": 5.0, "final_velocity": 25.0, "acceleration": 4.0, "time": 5.0, "displacement": 75.0}
    units = {"initial_velocity": "m/s", "final_velocity": "m/s", "acceleration": "m/s^2", "time": "s", "displacement": "m"}
    names = list(truth)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            given = {k: f"{v} {units[k]}" for k, v in truth.items() if k not in (a, b)}
            solutions = ok(registry.call("physics_kinematics", given))["solutions"]
            assert any(all(s[k]["value"] == pytest.approx(v) for k, v in truth.items()) for s in solutions), (a, b)


def test_projectile(registry):
    result = ok(registry.call("physics_projectile", {"speed": "20 m/s", "angle": "45 degree", "gravity": "10 m/s^2"}))
    assert value(result, "range", "m") == pytest.approx(40.0)
    assert value(result, "max_height", "m") == pytest.approx(10.0)
    assert value(result, "time_of_flight", "s") == pytest.approx(2 * 2**0.5)


@pytest.mark.parametrize("tool, args, key, unit, expected", [
    ("physics_newton_second_law", {"mass": "2 kg", "acceleration": "3 m/s^2"}, "force", "N", 6.0),
    ("physics_newton_second_law", {"force": "10 N", "mass": "500 g"}, "acceleration", "m/s²", 20.0),
    ("physics_ohms_law", {"voltage": "12 V", "resistance": "4 ohm"}, "current", "A", 3.0),
    ("physics_wave", {"speed": "340 m/s", "frequency": "170 Hz"}, "wavelength", "m", 2.0),
    ("physics_ideal_gas", {"amount": "1 mol", "temperature": "273.15 K", "pressure": "101.325 kPa"}, "volume", "l", 22.414),
    ("physics_pressure", {"force": "500 N", "area": "0.25 m^2"}, "pressure", "Pa", 2000.0),
    ("physics_density", {"mass": "2.7 kg", "volume": "1 L"}, "density", "kg/m³", 2700.0),
    ("physics_power", {"energy": "3 kJ", "time": "1 min"}, "power", "W", 50.0),
    ("physics_momentum", {"mass": "0.15 kg", "velocity": "40 m/s"}, "momentum", "kg·m/s", 6.0),
    ("physics_kinetic_energy", {"mass": "1000 kg", "speed": "72 km/h"}, "energy", "J", 200_000.0),
    ("physics_kinetic_energy", {"mass": "2 kg", "energy": "100 J"}, "speed", "m/s", 10.0),
    ("physics_potential_energy", {"mass": "10 kg", "height": "5 m", "gravity": "9.81 m/s^2"}, "energy", "J", 490.5),
    ("physics_gravitation", {"mass1": "5.972e24 kg", "mass2": "1 kg", "distance": "6371 km"}, "force", "N", 9.82),
])
def test_laws(registry, tool, args, key, unit, expected):
    assert value(ok(registry.call(tool, args)), key, unit) == pytest.approx(expected, rel=1e-3)


def test_work_collision_resistors(registry):
    assert ok(registry.call("physics_work", {"force": "10 N", "distance": "5 m", "angle": "60 degree"}))["work"]["value"] \
        == pytest.approx(25.0)
    elastic = ok(registry.call("physics_collision", {"mass1": "2 kg", "velocity1": "3 m/s", "mass2": "1 kg",
                                                    "velocity2": "0 m/s"}))
    assert (elastic["velocity1_after"]["value"], elastic["velocity2_after"]["value"]) == pytest.approx((1.0, 4.0))
    assert elastic["kinetic_energy_after"]["value"] == pytest.approx(elastic["kinetic_energy_before"]["value"])
    sticky = ok(registry.call("physics_collision", {"mass1": "2 kg", "velocity1": "3 m/s", "mass2": "1 kg",
                                                   "velocity2": "0 m/s", "kind": "perfectly_inelastic"}))
    assert sticky["momentum_after"]["value"] == pytest.approx(6.0) and sticky["velocity1_after"]["value"] == pytest.approx(2.0)
    network = ok(registry.call("physics_resistors", {"resistances": ["100 ohm", "100 ohm"], "arrangement": "parallel",
                                                    "voltage": "10 V"}))
    assert network["total_resistance"]["value"] == pytest.approx(50.0) and network["current"]["value"] == pytest.approx(0.2)
    assert ok(registry.call("physics_resistors", {"resistances": ["1 kohm", "220 ohm"], "arrangement": "series"})
              )["total_resistance"]["value"] == pytest.approx(1220.0)


@pytest.mark.parametrize("tool, args", [
    ("physics_newton_second_law", {"mass": "2 kg", "acceleration": "3 kg"}),
    ("physics_ohms_law", {"voltage": "12 m", "current": "1 A"}),
    ("physics_convert", {"quantity": "3 kg", "to": "m"}),
    ("physics_kinematics", {"initial_velocity": "0 m", "acceleration": "1 m/s^2", "time": "1 s"}),
    ("physics_projectile", {"speed": "20 m/s", "angle": "3 m"}),
])
def test_dimension_mismatch(registry, tool, args):
    fails(registry.call(tool, args), "dimension_mismatch")


@pytest.mark.parametrize("quantity", ["9**9**9 m", "1 m**99**99", "1 m^(9)", "1 m**999", "__import__('os') m",
                                      "1 __import__", "1e400 m", "m", "one metre", "1 m; import os"])
def test_bad_quantities(registry, quantity):
    fails(registry.call("physics_convert", {"quantity": quantity, "to": "m"}))


def test_relation_needs_all_but_one(registry):
    fails(registry.call("physics_ohms_law", {"voltage": "1 V"}), "invalid_arguments")
    fails(registry.call("physics_ohms_law", {"voltage": "1 V", "current": "1 A", "resistance": "1 ohm"}), "invalid_arguments")


@pytest.mark.parametrize("tool, args, kind", [
    ("physics_ohms_law", {"voltage": "1 V", "current": "0 A"}, "division_by_zero"),
    ("physics_kinetic_energy", {"energy": "-5 J", "mass": "1 kg"}, "domain_error"),
    ("physics_gravitation", {"force": "1 N", "mass1": "1 kg", "mass2": "-1 kg"}, "domain_error"),
    ("physics_convert", {"quantity": "1e308 m", "to": "nm"}, "overflow"),
    ("physics_projectile", {"speed": "20 m/s", "angle": "30 degree", "gravity": "0 m/s^2"}, "domain_error"),
])
def test_domain_errors(registry, tool, args, kind):
    fails(registry.call(tool, args), kind)
