"""A capability gate: evaluation-harness tasks plus a pass rule, and running one on a model.

    from svend.gates.gate import run_gate
    result = run_gate(ladder.gates[1], engine, cfg.task, out_dir / "gate1", seed=0)
    result.passed, result.failures        # False, ['humaneval/pass@1 = 0.120 < 0.300']
    dataclasses.asdict(result)            # plain JSON for the state store

A gate names tasks of the ``task`` config group (``conf/task/``), how many problems each gets
(``limit``, the same subsample for every generation at a given ``seed``) and thresholds on their metrics,
written ``<task>/<metric>`` like the evaluation's TensorBoard tags. The gate passes when every metric is
at least its threshold. Running it is an ordinary evaluation (``svend.evaluation.runner``): transcripts
in ``<out_dir>/<label>/<task>.jsonl``, ``metrics.json`` and the ``report.md`` report card in ``out_dir``.

The ladder of gates and its stage names are in ``svend.gates.ladder`` and ``conf/gate/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from svend.evaluation.report import write_report
from svend.evaluation.runner import build_tasks, evaluate, select_problems

# Scores are means of 0/1 values: a threshold of 0.3 must hold for 3 of 10, and a drop of exactly the
# tolerance must not count as a regression, whatever the float rounding.
EPS = 1e-9


def split_metric(key: str, where: str) -> tuple[str, str]:
    """``"humaneval/pass@1"`` → ``("humaneval", "pass@1")``; anything else is an error naming ``where``."""
    task, sep, metric = str(key).partition("/")
    if not (sep and task and metric):
        raise ValueError(f"{where}: {key!r} is not a metric name of the form <task>/<metric>, e.g. humaneval/pass@1")
    return task, metric


def flatten_metrics(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The runner's ``{task: {metric: value}}`` as ``{"task/metric": value}``."""
    return {f"{task}/{metric}": float(value) for task, values in metrics.items() for metric, value in values.items()}


@dataclass
class Gate:
    """One rung of the ladder: ``number`` (its position, from 0), the tasks it runs with at most
    ``limit`` problems each (null: all), and ``thresholds`` (``<task>/<metric>``: the least passing
    value; all must hold)."""

    name: str
    number: int
    tasks: list[str]
    thresholds: dict[str, float]
    limit: int | None = None

    def __post_init__(self) -> None:
        where = f"gate {self.name}"
        self.tasks = [str(t) for t in ([self.tasks] if isinstance(self.tasks, str) else self.tasks)]
        self.thresholds = {str(k): float(v) for k, v in dict(self.thresholds or {}).items()}
        if not self.tasks:
            raise ValueError(f"{where}: tasks is empty; name the conf/task/ benchmarks it runs")
        if not self.thresholds:
            raise ValueError(f"{where}: no thresholds, so it could not fail; give at least one <task>/<metric>: value")
        for key in self.thresholds:
            task, _ = split_metric(key, f"{where}: thresholds")
            if task not in self.tasks:
                raise ValueError(f"{where}: threshold {key} is on task {task}, which the gate does not run "
                                 f"(its tasks: {', '.join(self.tasks)})")
        if self.limit is not None and int(self.limit) < 1:
            raise ValueError(f"{where}: limit must be a positive number of problems per task or null, got {self.limit}")
        self.limit = None if self.limit is None else int(self.limit)


@dataclass
class GateResult:
    """What a gate run found: ``scores`` holds every metric of its tasks (``<task>/<metric>``), not only
    the thresholded ones; ``failures`` says which thresholds did not hold (empty when ``passed``)."""

    name: str
    number: int
    passed: bool
    scores: dict[str, float]
    thresholds: dict[str, float]
    failures: list[str] = field(default_factory=list)
    out_dir: str = ""


def check_thresholds(scores: Mapping[str, float], thresholds: Mapping[str, float], where: str = "gate") -> list[str]:
    """The thresholds ``scores`` falls short of, one line each (``[]``: all hold). A thresholded metric
    the scores lack is an error naming it and what its task did report."""
    failures = []
    for key, least in thresholds.items():
        if key not in scores:
            task, _ = split_metric(key, where)
            reported = sorted(k.partition("/")[2] for k in scores if k.partition("/")[0] == task)
            raise ValueError(f"{where}: threshold on {key}, but the evaluation reported no such metric; "
                           f"task {task} reported: {', '.join(reported) or 'nothing (did it run?)'}")
        if scores[key] + EPS < least:
            failures.append(f"{key} = {scores[key]:.3f} < {least:.3f}")
    return failures


def evaluate_suite(engine: Any, task_cfgs: Mapping[str, Any], tasks: Sequence[str], out_dir: str | Path,
                   limit: int | None, seed: int, label: str, batch_size: int,
                   settings: Mapping[str, Any]) -> dict[str, float]:
    """Evaluate ``engine`` on the named tasks as ``svend-eval`` does (transcripts, ``metrics.json``,
    ``report.md`` in ``out_dir``); returns the flat ``{"task/metric": value}``."""
    built = build_tasks(task_cfgs, list(tasks))
    problems = select_problems(built, limit, seed)
    metrics = evaluate(engine, built, out_dir, label=label, batch_size=batch_size, problems=problems)
    write_report(out_dir, {label: metrics},
                 settings={**settings, "limit": limit, "seed": seed, "tasks": ",".join(built)})
    return flatten_metrics(metrics)


def run_gate(gate: Gate, engine: Any, task_cfgs: Mapping[str, Any], out_dir: str | Path, seed: int = 0, *,
             label: str = "model", batch_size: int = 32) -> GateResult:
    """Run ``gate``'s tasks through ``engine`` (anything with the inference engine's ``generate``) and
    apply its pass rule. ``task_cfgs``: the composed ``task`` config group (``cfg.task``)."""
    scores = evaluate_suite(engine, task_cfgs, gate.tasks, out_dir, gate.limit, seed, label, batch_size,
                            settings={"gate": f"{gate.number} {gate.name}"})
    failures = check_thresholds(scores, gate.thresholds, where=f"gate {gate.number} ({gate.name})")
    return GateResult(name=gate.name, number=gate.number, passed=not failures, scores=scores,
                      thresholds=dict(gate.thresholds), failures=failures, out_dir=str(out_dir))
