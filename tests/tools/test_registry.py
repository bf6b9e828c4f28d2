"""The registry: config, specs, validation, and "no call can raise" for every tool and every kind of
bad input. ``MIX`` (one valid call per tool, shared with the benchmark) drives the generic tests."""

from __future__ import annotations

import json
import time

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from svend.benchmarks.tools import MIX
from svend.tokens import render_tools
from svend.tools.registry import FAMILIES, build_registry
from tests.tools.checks import fails, ok
from tests.tools.conftest import CONF, load


def test_default_config_builds_every_family(registry):
    assert registry.families() == sorted(FAMILIES)
    assert sorted(registry.names()) == sorted(MIX), "every tool needs a MIX example (and nothing else)"
    assert len(registry.names(["math"])) >= 10 and len(registry.names(["physics"])) >= 10
    assert len(registry.names(["chemistry"])) >= 10


def test_none_config_is_empty():
    empty = load("none")
    assert len(empty) == 0 and empty.openai_tools() == []
    fails(empty.call("calculator", {"expression": "1+1"}), "unknown_tool")


def test_family_switch_and_limits():
    cfg = OmegaConf.load(CONF / "default.yaml")
    cfg.families.code = False
    cfg.isolation = "none"
    cfg.time_limits = {"math_solve": 1.5}
    reg = instantiate(cfg)
    assert "run_python" not in reg and reg.tools["math_solve"].time_limit_s == 1.5
    assert reg.tools["math_expand"].time_limit_s == cfg.time_limit_s
    with pytest.raises(ValueError, match="unknown tool family"):
        build_registry(families={"alchemy": True})
    with pytest.raises(ValueError, match="not built"):
        build_registry(families={"math": False}, time_limits={"math_solve": 1})


@pytest.mark.parametrize("name", sorted(MIX))
def test_every_tool_answers_its_example(registry, name):
    result = ok(registry.call(name, MIX[name]))
    json.dumps(result, allow_nan=False)


def test_openai_tools_and_prompt_block(registry):
    tools = registry.openai_tools()
    assert all(t["type"] == "function" and set(t["function"]) == {"name", "description", "parameters"} for t in tools)
    assert all("\n" not in t["function"]["description"] for t in tools)
    assert registry.prompt_block(["math"]) == render_tools(registry.openai_tools(["math"]))
    assert "math_solve" in registry.prompt_block(["math"]) and "run_python" not in registry.prompt_block(["math"])


def _wrong_type(schema: dict):
    kind = schema.get("type")
    if kind == "string" or "oneOf" in schema:
        return {"not": "a string"}
    if kind in ("number", "integer"):
        return "12"
    if kind == "array":
        return "not a list"
    if kind == "object":
        return ["not", "an", "object"]
    if kind == "boolean":
        return "yes"
    return {"odd": object.__name__}


def _huge(schema: dict):
    kind = schema.get("type")
    if kind == "string" or "oneOf" in schema:
        return "9" * 200_000
    if kind in ("number", "integer"):
        return 10**400
    if kind == "array":
        return ["1"] * 10_000
    if kind == "object":
        return {f"k{i}": 1 for i in range(10_000)}
    return "9" * 200_000


@pytest.mark.parametrize("name", sorted(MIX))
def test_bad_arguments_are_structured_errors(registry, name):
    schema = registry.tools[name].parameters
    fails(registry.call(name, {**MIX[name], "unexpected_argument": 1}), "invalid_arguments")
    fails(registry.call(name, {}))  # every tool needs something
    fails(registry.call(name, "[1, 2]"), "invalid_arguments")
    fails(registry.call(name, "{not json"), "invalid_json")
    fails(registry.call(name, '{"x": NaN}'), "invalid_json")
    for key, prop in schema["properties"].items():
        fails(registry.call(name, {**MIX[name], key: _wrong_type(prop)}))
        fails(registry.call(name, {**MIX[name], key: _huge(prop)}))
    for key in schema["required"]:
        fails(registry.call(name, {k: v for k, v in MIX[name].items() if k != key}), "invalid_arguments")


@pytest.mark.parametrize("name", sorted(n for n in MIX if n.startswith(("math", "physics", "chem", "logic"))))
def test_huge_numbers_never_raise(registry, name):
    for key, prop in registry.tools[name].parameters["properties"].items():
        if prop.get("type") == "number":
            result = registry.call(name, {**MIX[name], key: 1e308})
            json.dumps(result, allow_nan=False)


def test_unknown_tool_and_odd_names(registry):
    for name in ["nope", "", None, 3, "calculator; rm -rf /"]:
        fails(registry.call(name, {}), "unknown_tool")


def test_isolated_registry_matches_in_process(registry, isolated_registry):
    for name in ["math_solve", "physics_projectile", "chem_balance", "logic_implies", "calculator", "checklist_check"]:
        assert isolated_registry.call(name, MIX[name]) == registry.call(name, MIX[name])


@pytest.mark.slow
def test_time_limit_kills_runaway_sympy_and_recovers():
    reg = build_registry(families={"math": True, "code": False}, time_limits={"math_integrate": 1.0})
    try:
        assert ok(reg.call("math_expand", {"expression": "(x+1)^2"}))  # starts the worker
        started = time.perf_counter()
        error = fails(reg.call("math_integrate", {"expression": "x**40*exp(x)*sin(x)*cos(x)**3"}), "timeout")
        assert time.perf_counter() - started < 3.0 and "1 s" in error["message"]
        assert ok(reg.call("math_expand", {"expression": "(x+1)^2"}))["result"] == "x**2 + 2*x + 1"
    finally:
        reg.close()
