"""Syntax: does the code the model writes parse? Capability gate 0, on the code tasks' own prompts.

    svend-eval eval.tasks=[syntax] eval.limit=50

The problems are those of the HumanEval-format tasks named in ``sources`` (``conf/task/syntax.yaml``:
``task.humaneval`` and ``task.code_suite``), asked with the same prompt. Nothing runs: the code is taken
from the final answer exactly as ``svend.evaluation.humaneval`` takes it (``extract_code``), placed where
the execution task would place it (``program``: after the problem's prompt, so a bare function body
parses as the body it is), and handed to ``ast.parse``.

``parses`` also asks that the code gives the requested function a body: the problem's prompt alone is
already a valid function (signature and docstring), so without that an empty answer, or a lone word
that lands at module level (``ast.parse`` takes ``result`` or ``return x`` outside a function), would
count as parsing code.

Metrics: ``parses`` (the headline), ``has_code`` (the answer had a fenced block).
"""

from __future__ import annotations

import ast
from typing import Any, Mapping, Sequence

from svend.evaluation.humaneval import HumanEvalTask, extract_code, program
from svend.evaluation.task import Task, completion_parts, subsample


def has_body(tree: ast.Module, entry: str) -> bool:
    """Whether the module's last definition of ``entry`` holds a statement besides its docstring."""
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == entry]
    body = defs[-1].body if defs else []
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
               for s in body)


class SyntaxTask(Task):
    metrics = ("parses", "has_code")
    headline = "parses"

    def __init__(self, sources: Sequence[HumanEvalTask], name: str = "syntax"):
        """``sources``: the HumanEval-format tasks whose prompts are asked (built from their config nodes)."""
        self.name = name
        self.sources = list(sources)
        if not self.sources:
            raise ValueError(f"task {name}: sources is empty; name at least one HumanEval-format task, "
                             "e.g. sources: ['${{task.humaneval}}']")
        wrong = [type(s).__name__ for s in self.sources if not isinstance(s, HumanEvalTask)]
        if wrong:
            raise TypeError(f"task {name}: sources must be HumanEval-format tasks "
                            f"(svend.evaluation.humaneval.HumanEvalTask), got {', '.join(wrong)}")

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        # Subsample the union, not each source: the limit is the task's, whatever the sources' sizes.
        return subsample([p for source in self.sources for p in source.problems()], limit, seed)

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, _ = completion_parts(completion)
        code, fenced = extract_code(final)
        try:
            tree = ast.parse(program(problem, code))
        except (SyntaxError, ValueError) as exc:  # IndentationError included; ValueError: a null byte (Python 3.10)
            return {"parses": False, "has_code": fenced, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if not has_body(tree, problem["entry_point"]):
            return {"parses": False, "has_code": fenced,
                    "error": f"no code in the body of {problem['entry_point']} (none, or outside the function)"}
        return {"parses": True, "has_code": fenced, "error": None}
