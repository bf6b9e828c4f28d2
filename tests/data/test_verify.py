"""`svend-data verify`: a changed tool result is caught and named file:line; timeouts are checked by
type; solver answers that differ from a fresh run are accepted only when they are valid."""

from __future__ import annotations

import json

import pytest

from svend.data.schema import RecordError
from svend.data.verify import main, verify
from svend.tools.cli import load_registry


@pytest.fixture(scope="module")
def registry():
    r = load_registry(isolation="none")
    yield r
    r.close()


def trace(calls: list[tuple[str, dict, object]]) -> dict:
    """A record with one assistant turn per call and the given recorded results."""
    messages = [{"role": "user", "content": "q"}]
    for name, args, result in calls:
        messages.append({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": args}}]})
        messages.append({"role": "tool", "content": json.dumps(result)})
    messages.append({"role": "assistant", "content": "done"})
    return {"messages": messages}


def write(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def check(registry, tmp_path, records):
    path = tmp_path / "t.jsonl"
    write(path, records)
    return verify([path], registry, progress=False), path


def test_matching_results_pass_and_a_changed_one_is_named(registry, tmp_path):
    good = trace([("calculator", {"expression": "17*23"}, {"expression": "17*23", "result": "391"})])
    bad = trace([("calculator", {"expression": "2*3"}, {"expression": "2*3", "result": "7"})])
    report, path = check(registry, tmp_path, [good, good, bad])
    assert report.calls == 3 and len(report.problems) == 1
    assert report.problems[0].startswith(f"{path}:3: messages[1].tool_calls[0] (calculator): recorded")


def test_errors_must_match_and_timeouts_are_checked_by_type(registry, tmp_path):
    div = ("calculator", {"expression": "1/0"}, {"error": {"type": "division_by_zero", "message": "division by zero"}})
    loop = {"code": "while True: pass", "timeout_s": 0.2}
    timeout = ("run_python", loop, {"error": {"type": "timeout", "message": "some other wording"}})
    not_a_timeout = ("run_python", {"code": "print(1)"}, {"error": {"type": "timeout", "message": "x"}})
    report, _ = check(registry, tmp_path, [trace([div, timeout])])
    assert report.ok and report.timeouts == 1
    report, _ = check(registry, tmp_path, [trace([not_a_timeout])])
    assert not report.ok and "recorded a timeout" in report.problems[0]
    wrong_error = ("calculator", {"expression": "1/0"}, {"error": {"type": "overflow", "message": "x"}})
    assert not check(registry, tmp_path, [trace([wrong_error])])[0].ok


def test_sandbox_wall_time_is_not_compared(registry, tmp_path):
    run = ("run_python", {"code": "print(6*7)"}, {"exit_code": 0, "stdout": "42\n", "stderr": "", "duration_ms": 1.0, "truncated": False})
    assert check(registry, tmp_path, [trace([run])])[0].ok
    wrong = ("run_python", {"code": "print(6*7)"}, {"exit_code": 0, "stdout": "41\n", "stderr": "", "truncated": False})
    assert not check(registry, tmp_path, [trace([wrong])])[0].ok


def test_a_different_solver_model_passes_only_when_it_is_valid(registry, tmp_path):
    args = {"formulas": ["p | q", "r -> p"]}
    fresh = registry.call("logic_satisfiable", args)["model"]
    other = next(m for m in ({"p": a, "q": b, "r": c} for a in (True, False) for b in (True, False) for c in (True, False))
                 if m != fresh and (m["p"] or m["q"]) and (not m["r"] or m["p"]))
    invalid = {"p": False, "q": False, "r": False}
    report, _ = check(registry, tmp_path, [trace([("logic_satisfiable", args, {"satisfiable": True, "model": other})])])
    assert report.ok and report.solver_choices == 1
    report, _ = check(registry, tmp_path, [trace([("logic_satisfiable", args, {"satisfiable": True, "model": invalid})])])
    assert not report.ok
    sched = {"tasks": {"a": 2, "b": 3, "c": 1}, "before": [["a", "b"]], "parallel": True}
    ok = {"feasible": True, "start": {"a": 0, "b": 2, "c": 4}, "makespan": 5}
    late = {"feasible": True, "start": {"a": 0, "b": 1, "c": 0}, "makespan": 5}  # b starts before a ends
    assert check(registry, tmp_path, [trace([("logic_schedule", sched, ok)])])[0].ok
    assert not check(registry, tmp_path, [trace([("logic_schedule", sched, late)])])[0].ok
    implies = {"premises": ["p -> q"], "conclusion": "q -> p"}
    assert check(registry, tmp_path, [trace([("logic_implies", implies, {"valid": False, "counterexample": {"p": False, "q": True}})])])[0].ok
    assert not check(registry, tmp_path, [trace([("logic_implies", implies, {"valid": False, "counterexample": {"p": True, "q": True}})])])[0].ok


def test_unanswered_calls_and_bad_lines_are_reported(registry, tmp_path):
    record = trace([("calculator", {"expression": "1+1"}, {"expression": "1+1", "result": "2"})])
    del record["messages"][2]
    report, path = check(registry, tmp_path, [record])
    assert "no tool message answers this call" in report.problems[0]
    path.write_text(json.dumps(trace([])) + "\n{not json\n")
    with pytest.raises(RecordError, match=rf"{path}:2: invalid JSON"):
        verify([path], registry, progress=False)


def test_cli_exit_codes(tmp_path, capsys):
    good = trace([("calculator", {"expression": "2**10"}, {"expression": "2**10", "result": "1024"})])
    write(tmp_path / "a.jsonl", [good])
    assert main([str(tmp_path), "--quiet", "--isolation", "none"]) == 0
    assert "all match" in capsys.readouterr().out
    write(tmp_path / "b.jsonl", [trace([("calculator", {"expression": "2**10"}, {"expression": "2**10", "result": "1000"})])])
    assert main([str(tmp_path), "--quiet", "--isolation", "none"]) == 1
    captured = capsys.readouterr()
    assert f"{tmp_path / 'b.jsonl'}:1:" in captured.err and "1 MISMATCH" in captured.out
    assert main([str(tmp_path / "missing.jsonl"), "--quiet"]) == 2
