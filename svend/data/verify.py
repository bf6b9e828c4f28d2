"""``svend-data verify``: re-execute every tool call of every trace and demand the recorded result.

    svend-data verify data/default                       # every *.jsonl under the folder
    svend-data verify data/default/tool_traces/train.jsonl other.jsonl
    svend-data verify data/default --isolation none      # in-process tools: faster, no time limits

Why: generated traces are only worth training on if their tool results are what the tools really
return. Each assistant message's ``tool_calls`` are matched, in order, with the ``tool`` messages that
follow it; each call is run again through a fresh registry (``conf/tools/default.yaml``) and the
result compared with the recorded JSON — exactly, with three exceptions:

  * fields that measure the run (``base.VOLATILE_FIELDS``, e.g. a sandbox's wall time) are ignored;
  * a recorded ``timeout`` error is checked by type only (a limit hit is a property of the call, its
    message of the moment);
  * solver choices. z3 returns *a* model, *a* counterexample, *an* assignment or schedule, and which
    one depends on the solver's state, i.e. on the calls made before in the same worker — generation
    and verification make different calls first. When the fresh result differs, the recorded one is
    checked on its merits instead: the verdict (satisfiable, valid, feasible, unique, optimum) must be
    the same, and the recorded model must really satisfy the formulas (asked of the solver again,
    with the model's values added as constraints), the counterexample really refute, the schedule
    really respect every precedence and reach the makespan.

Exit status 0 when everything matches; 1 with ``file:line: what`` for each mismatch (the first 20
printed, all counted); 2 for a file that cannot be read (bad JSON or schema, naming the line).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tqdm import tqdm

from svend.data.generators.base import strip_volatile
from svend.data.schema import RecordError, iter_jsonl
from svend.tools.registry import Registry, is_error

MAX_SHOWN = 20


@dataclass
class Report:
    files: int = 0
    records: int = 0
    calls: int = 0
    timeouts: int = 0
    solver_choices: int = 0  # z3 answers that differ from a fresh run but were checked valid
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def jsonl_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, with folders expanded to the ``*.jsonl`` files under them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.jsonl"))
            if not found:
                raise FileNotFoundError(f"{p}: no .jsonl files under this folder")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def _literals(model: dict) -> list[str]:
    """A model as formulas the logic tools read: ``p``/``!p`` for booleans, ``x == v`` for numbers."""
    return [(name if value else f"!{name}") if isinstance(value, bool) else f"{name} == {value}" for name, value in model.items()]


def _sat(registry: Registry, formulas: list[str], variables: dict | None) -> bool | None:
    args = {"formulas": formulas, **({"variables": variables} if variables else {})}
    result = registry.call("logic_satisfiable", args)
    return None if is_error(result) else bool(result["satisfiable"])


def _schedule_ok(args: dict, recorded: dict) -> bool:
    tasks, start = args["tasks"], recorded.get("start", {})
    if set(start) != set(tasks) or any(v < 0 for v in start.values()):
        return False
    if any(start[a] + tasks[a] > start[b] for a, b in args.get("before") or []):
        return False
    if not args.get("parallel", False):
        spans = sorted((start[t], start[t] + d) for t, d in tasks.items())
        if any(e > s2 for (_, e), (s2, _) in zip(spans, spans[1:])):
            return False
    return max(start[t] + d for t, d in tasks.items()) == recorded.get("makespan")


def solver_choice_holds(registry: Registry, name: str, args: dict, recorded: dict, fresh: dict) -> bool:
    """For a z3 tool whose fresh result differs from the recorded one: is the recorded result a valid
    answer to the same call? (See the module docstring.)"""
    if is_error(recorded) or is_error(fresh):
        return False
    variables = args.get("variables")
    if name == "logic_satisfiable":
        return recorded["satisfiable"] == fresh["satisfiable"] and (
            not recorded["satisfiable"] or _sat(registry, [*args["formulas"], *_literals(recorded["model"])], variables) is True)
    if name == "logic_solve":
        if recorded["satisfiable"] != fresh["satisfiable"] or recorded.get("objective") != fresh.get("objective"):
            return False
        if not recorded["satisfiable"]:
            return True
        goal = args.get("maximize") or args.get("minimize")
        extra = [f"{goal} == {recorded['objective']}"] if goal else []
        return _sat(registry, [*args["constraints"], *_literals(recorded["model"]), *extra], variables) is True
    if name == "logic_implies":
        return recorded["valid"] == fresh["valid"] and (recorded["valid"] or _sat(
            registry, [*args["premises"], f"!({args['conclusion']})", *_literals(recorded["counterexample"])], variables) is True)
    if name == "logic_equivalent":
        return recorded["equivalent"] == fresh["equivalent"] and (recorded["equivalent"] or _sat(
            registry, [f"!(({args['a']}) <-> ({args['b']}))", *_literals(recorded["counterexample"])], variables) is True)
    if name == "logic_assign":
        if recorded["feasible"] != fresh["feasible"] or recorded.get("unique") != fresh.get("unique"):
            return False
        if not recorded["feasible"]:
            return True
        pinned = [f"{item} == {option}" for item, option in recorded["assignment"].items()]
        check = registry.call("logic_assign", {**args, "constraints": [*(args.get("constraints") or []), *pinned]})
        return not is_error(check) and check["feasible"] and set(recorded["assignment"]) == set(args["items"])
    if name == "logic_schedule":
        return (recorded["feasible"] == fresh["feasible"] and recorded.get("makespan") == fresh.get("makespan")
                and (not recorded["feasible"] or _schedule_ok(args, recorded)))
    return False


SOLVER_TOOLS = ("logic_satisfiable", "logic_solve", "logic_implies", "logic_equivalent", "logic_assign", "logic_schedule")


def check_record(registry: Registry, record: dict, report: Report, where: str) -> None:
    """Re-run the calls of one record; append a problem per mismatch."""
    messages = record["messages"]
    i = 0
    while i < len(messages):
        at, calls = i, messages[i].get("tool_calls") or []
        i += 1
        for j, call in enumerate(calls):
            function = call["function"]
            name, arguments = function["name"], function.get("arguments", {})
            label = f"{where}: messages[{at}].tool_calls[{j}] ({name})"
            if i >= len(messages) or messages[i]["role"] != "tool":
                report.problems.append(f"{label}: no tool message answers this call")
                break
            try:
                recorded = json.loads(messages[i]["content"])
            except (TypeError, json.JSONDecodeError):
                report.problems.append(f"{label}: the tool message is not JSON")
                i += 1
                continue
            i += 1
            report.calls += 1
            fresh = registry.call(name, arguments)
            if is_error(recorded) and recorded["error"].get("type") == "timeout":
                report.timeouts += 1
                if not (is_error(fresh) and fresh["error"]["type"] == "timeout"):
                    report.problems.append(f"{label}: recorded a timeout, re-execution gave {json.dumps(fresh, ensure_ascii=False)[:200]}")
                continue
            if strip_volatile(name, fresh) != strip_volatile(name, recorded):
                if name in SOLVER_TOOLS and isinstance(arguments, dict) and solver_choice_holds(registry, name, arguments, recorded, fresh):
                    report.solver_choices += 1
                    continue
                report.problems.append(f"{label}: recorded {json.dumps(recorded, ensure_ascii=False)[:200]}, "
                                       f"re-execution gives {json.dumps(fresh, ensure_ascii=False)[:200]}")


def verify(paths: Iterable[str | Path], registry: Registry, progress: bool = True) -> Report:
    files = jsonl_files(paths)
    report = Report(files=len(files))
    total = sum(1 for f in files for line in f.open(encoding="utf-8") if line.strip())
    with tqdm(total=total, desc="verifying", unit="rec", disable=not progress, dynamic_ncols=True) as bar:
        for path in files:
            for lineno, record in iter_jsonl(path):
                report.records += 1
                check_record(registry, record, report, f"{path}:{lineno}")
                bar.update(1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svend-data verify", description=__doc__.split("\n\n")[1])
    parser.add_argument("paths", nargs="+", help="JSONL files, or folders searched for *.jsonl")
    parser.add_argument("--tools-config", type=Path, default=None, help="a tools config (default: conf/tools/default.yaml)")
    parser.add_argument("--isolation", choices=["process", "none"], default="process",
                        help="run isolated tools in a worker process with time limits (default) or in this process")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from svend.tools.cli import load_registry

    registry = load_registry(args.tools_config, isolation=args.isolation)
    try:
        report = verify(args.paths, registry, progress=not args.quiet)
    except (RecordError, FileNotFoundError) as e:
        print(f"svend-data verify: {e}", file=sys.stderr)
        return 2
    finally:
        registry.close()
    for problem in report.problems[:MAX_SHOWN]:
        print(problem, file=sys.stderr)
    if len(report.problems) > MAX_SHOWN:
        print(f"... and {len(report.problems) - MAX_SHOWN} more", file=sys.stderr)
    verdict = "all match" if report.ok else f"{len(report.problems)} MISMATCH(ES)"
    print(f"verified {report.calls} tool calls in {report.records} records from {report.files} file(s): {verdict} "
          f"({report.timeouts} timeouts checked by type, {report.solver_choices} differing solver choices checked valid)")
    return 0 if report.ok else 1
