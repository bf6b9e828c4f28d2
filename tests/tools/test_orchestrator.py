"""Tool-call parsing and dispatch: the one syntax, sloppy output as structured errors, responses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from svend.tokens import TOOL_RESPONSE_END, TOOL_RESPONSE_START, format_tool_call
from svend.tools.orchestrator import ParseError, ParsedCall, parse_tool_calls, run_openai_tool_calls, run_tool_calls


def test_parse_the_one_format():
    text = "Let me compute.\n" + format_tool_call("calculator", {"expression": "17*23"}) + "\nand " + \
        format_tool_call("chem_molar_mass", {"formula": "H2O"})
    calls = parse_tool_calls(text)
    assert [(c.name, c.arguments, c.id) for c in calls] == [
        ("calculator", {"expression": "17*23"}, "call_0"), ("chem_molar_mass", {"formula": "H2O"}, "call_1")]


@pytest.mark.parametrize("body, name, arguments", [
    ('{"name": "calculator", "arguments": {"expression": "1+1"}}', "calculator", {"expression": "1+1"}),
    ('```json\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n```', "calculator", {"expression": "1+1"}),
    ('{"name": "calculator", "arguments": "{\\"expression\\": \\"1+1\\"}"}', "calculator", {"expression": "1+1"}),
    ('{"name": "calculator", "parameters": {"expression": "1+1"}}', "calculator", {"expression": "1+1"}),
    ('{"function": {"name": "calculator", "arguments": {"expression": "1+1"}}}', "calculator", {"expression": "1+1"}),
    ('{"name": "checklist_check"}', "checklist_check", {}),
])
def test_sloppy_but_clear_calls_accepted(body, name, arguments):
    (call,) = parse_tool_calls(f"<tool_call>{body}</tool_call>")
    assert isinstance(call, ParsedCall) and (call.name, call.arguments) == (name, arguments)


def test_unclosed_last_call_runs_to_end():
    (call,) = parse_tool_calls('<tool_call>\n{"name": "calculator", "arguments": {"expression": "2"}}')
    assert isinstance(call, ParsedCall) and call.name == "calculator"


@pytest.mark.parametrize("body", [
    "", "not json", '{"name": "calculator", "arguments": {"expression": "1+1"}', '["calculator"]',
    '{"arguments": {}}', '{"name": 3}', '{"name": "calculator", "arguments": [1]}',
    '{"name": "calculator", "arguments": "{broken"}', "[" * 5000,
])
def test_malformed_calls_become_parse_errors(registry, body):
    (call,) = parse_tool_calls(f"<tool_call>{body}</tool_call>")
    assert isinstance(call, ParseError)
    turn = run_tool_calls(registry, f"<tool_call>{body}</tool_call>")
    assert turn.results[0].result["error"]["type"] == "invalid_tool_call"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_raises(text):
    for call in parse_tool_calls(text) + parse_tool_calls("<tool_call>" + text):
        assert isinstance(call, (ParsedCall, ParseError))


def test_run_renders_responses_in_order(registry):
    text = (format_tool_call("calculator", {"expression": "17*23"}) + format_tool_call("nope", {})
            + format_tool_call("calculator", {"expression": "1/0"}) + "<tool_call>{oops</tool_call>")
    turn = run_tool_calls(registry, text)
    assert [r.ok for r in turn.results] == [True, False, False, False]
    blocks = turn.text.split(TOOL_RESPONSE_END)
    assert len(blocks) == 5 and all(b.strip().startswith(TOOL_RESPONSE_START) for b in blocks[:4])
    assert json.loads(blocks[0].split(TOOL_RESPONSE_START)[1]) == {"expression": "17*23", "result": "391"}
    assert [json.loads(m["content"]).get("error", {}).get("type") for m in turn.messages] == [
        None, "unknown_tool", "division_by_zero", "invalid_tool_call"]
    assert turn.messages[0] == {"role": "tool", "tool_call_id": "call_0", "name": "calculator",
                                "content": '{"expression": "17*23", "result": "391"}'}


def test_too_many_calls(registry):
    text = format_tool_call("calculator", {"expression": "1"}) * 4
    results = run_tool_calls(registry, text, max_calls=2).results
    assert [r.result.get("error", {}).get("type") for r in results] == [None, None, "too_many_calls", "too_many_calls"]


def test_openai_tool_calls(registry):
    turn = run_openai_tool_calls(registry, [
        {"id": "abc", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "2**10"}'}},
        {"id": "def", "type": "function", "function": {"name": "calculator", "arguments": "{bad"}},
        "garbage",
    ])
    assert [m["tool_call_id"] for m in turn.messages] == ["abc", "def", "call_2"]
    assert turn.results[0].result["result"] == "1024" and not turn.results[1].ok and not turn.results[2].ok


def test_router(registry):
    assert registry.route("A ball is launched at 20 m/s at 30 degrees; how far does it go?")[0] == "physics"
    assert registry.route("Balance the equation H2 + O2 -> H2O")[0] == "chemistry"
    assert registry.route("Is (p -> q) equivalent to (!q -> !p)?")[0] == "logic"
    assert registry.route("Solve x^2 - 5x + 6 = 0")[0] == "math"
    assert registry.route("Do I charge VAT on this invoice to a German company?")[0] == "checklist"
    assert registry.route("Write a python function that reverses a string")[0] == "code"
    # No rule matches: a word problem (it has a number) gets the default families, small talk no tools.
    assert registry.route("Ann has 3 boxes of 12 eggs. How many eggs does she have?") == ["calculator", "math"]
    assert registry.route("hello there") == []
    assert registry.tools_for("Why is the sky blue?") == []


def test_tools_for_picks_few_relevant_tools(registry):
    names = lambda q, k=4: [t["function"]["name"] for t in registry.tools_for(q, k)]  # noqa: E731
    assert names("What is 17 * 23?") == ["calculator"]
    assert names("Differentiate x^3 * sin(x) with respect to x")[0] == "math_differentiate"
    assert names("Convert 60 mph to m/s")[0] == "physics_convert"
    assert len(names("A ball is launched at 20 m/s at 30 degrees; what projectile range?", 3)) == 3
    assert "physics_projectile" in names("A ball is launched at 20 m/s at 30 degrees; what projectile range?", 3)
