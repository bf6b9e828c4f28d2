"""What every benchmark is: a ``Task`` that lists its problems and judges one completion at a time.

Borrowed from nanochat's ``Task``: a benchmark is a small class with ``evaluate(problem, completion)``,
so scoring can be unit-tested on hand-written right and wrong completions without a model. The runner
(``svend.evaluation.runner``) does the generating; a task never touches a model.

A **problem** is a plain JSON-able dict::

    {"id": "chain_sum/17",                     # stable across runs: the same id is the same problem
     "messages": [{"role": "user", ...}],      # the conversation to answer (OpenAI shape)
     "tools": [<OpenAI tool spec>] | None,     # None: the registry's router picks (registry.tools_for)
     ...}                                      # whatever the task needs to judge (reference, entry, ...)

A **completion** is the engine's ``Generation`` (``final``, ``text``, ``tool_calls``), or a plain string,
taken as the final answer of a generation that called no tools (handy for scoring outputs from
elsewhere). ``evaluate`` returns one row of per-problem scores — numbers, booleans, or ``None`` where a
score does not apply to that problem — and ``aggregate`` turns the rows into the task's metrics.

Subsampling (``eval.limit``) is deterministic: the same ``limit`` and ``seed`` give the same problems,
so two models compared on a limit see the same questions.
"""

from __future__ import annotations

import math
import random
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from svend.data.schema import read_jsonl
from svend.inference.answers import normalize_answer


class Task(ABC):
    """One benchmark. Subclasses set ``metrics`` (the per-problem keys ``aggregate`` averages)."""

    name: str = "task"
    metrics: tuple[str, ...] = ()
    headline: str = ""  # the metric the task is judged by at a glance; default: the first of ``metrics``

    @abstractmethod
    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        """The problems to ask, at most ``limit`` of them, chosen by ``seed``."""

    @abstractmethod
    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        """Score one completion of ``problem``."""

    def aggregate(self, results: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Each metric's mean over the problems where it applies, and ``n``, the problem count."""
        return {"n": float(len(results)), **mean_of(results, self.metrics)}


# -- completions -----------------------------------------------------------------------------------

def completion_parts(completion: Any) -> tuple[str, str, list]:
    """``(final, text, tool_calls)`` of an engine ``Generation`` or of a plain string."""
    if isinstance(completion, str):
        return completion, completion, []
    try:
        return completion.final or "", completion.text or "", list(completion.tool_calls or [])
    except AttributeError:
        raise TypeError(
            f"a completion must be a svend.inference.engine.Generation or a string, got {type(completion).__name__}"
        ) from None


# -- aggregation -----------------------------------------------------------------------------------

def mean_of(results: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, float]:
    """Per key, the mean of its non-``None`` values (booleans count as 0/1); keys no row scored are left
    out rather than reported as 0."""
    rows = list(results)
    out = {}
    for key in keys:
        values = [float(row[key]) for row in rows if row.get(key) is not None]
        if values:
            out[key] = sum(values) / len(values)
    return out


# -- answers ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_FRACTION = re.compile(r"^([-+]?\d+)\s*/\s*(\d+)$")


def as_number(text: str | None) -> float | None:
    """A number written plainly (``-1,150``, ``$3.50``, ``12%``, ``3/4``, ``1e-3``), else ``None``."""
    if text is None:
        return None
    cleaned = text.strip().rstrip(".").replace(",", "").replace("$", "").replace("€", "").replace("£", "")
    cleaned = cleaned.rstrip("%").strip()
    if _NUMBER.match(cleaned):
        value = float(cleaned)
        return value if math.isfinite(value) else None
    fraction = _FRACTION.match(cleaned)
    if fraction and int(fraction.group(2)) != 0:
        return int(fraction.group(1)) / int(fraction.group(2))
    return None


def answers_match(predicted: str | None, reference: str | None, rel_tol: float = 1e-3) -> bool:
    """Whether an extracted answer equals the reference: the same after ``normalize_answer`` (the rule
    the majority-vote scorer uses: case, spaces, ``$``, thousands separators, a final period), or both
    numbers within ``rel_tol`` (0.1 %, so a model rounding 1/3 to 0.333 or 26.8224 to 26.82 is right)."""
    if predicted is None or reference is None:
        return False
    if normalize_answer(predicted) == normalize_answer(reference):
        return True
    a, b = as_number(predicted), as_number(reference)
    return a is not None and b is not None and math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


# -- problems from generated data ------------------------------------------------------------------

def load_data_file(path: str | Path, task: str) -> list[dict]:
    """The chat records of a ``svend-data generate`` split (``<data_dir>/<recipe>/<kind>/test.jsonl``);
    a missing file says which command creates it."""
    path = Path(path)
    if not path.is_file():
        recipe = path.parent.parent.name or "<recipe>"
        raise FileNotFoundError(
            f"{task}: no data file {path}. Create it with `svend-data generate recipe={recipe}` "
            f"(it writes <paths.data_dir>/<recipe>/<kind>/{{train,val,test}}.jsonl), point the task elsewhere "
            f"with task.{task}.path=FILE, or leave the task out: eval.tasks=[...]"
        )
    return read_jsonl(path)


def subsample(items: Sequence[Any], limit: int | None, seed: int) -> list[Any]:
    """At most ``limit`` items, picked at random by ``seed`` but kept in file order."""
    if limit is not None and limit < 0:
        raise ValueError(f"eval.limit must be a positive number of problems or null, got {limit}")
    if limit is None or limit >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def prompt_of(record: Mapping[str, Any], where: str) -> list[dict]:
    """The record's messages before its first assistant turn (the question the model must answer)."""
    messages = record["messages"]
    first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), None)
    prompt = messages[:first]
    if not any(m["role"] == "user" for m in prompt):
        raise ValueError(f"{where}: no user turn before the first assistant turn")
    return [dict(m) for m in prompt]


def reference_turn(record: Mapping[str, Any]) -> dict:
    """The record's first assistant turn (records always have one: the schema checks)."""
    return next(m for m in record["messages"] if m["role"] == "assistant")
