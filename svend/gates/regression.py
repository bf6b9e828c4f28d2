"""The regression check: generation N against N−1 on a fixed suite, metric by metric, with tolerances.

    from svend.gates.regression import regression_check, run_regression_suite
    suite = ladder.regression                                            # conf/gate/<option>.yaml regression:
    current = run_regression_suite(engine, suite, cfg.task, out_dir)     # {"code_suite/pass@1": 0.6875, ...}
    verdict = regression_check(current, previous, suite.tolerances, suite.lower_is_better)
    verdict.regressed, verdict.reasons   # True, ['code_suite/pass@1 fell 0.812 → 0.688 (-0.125; tolerance 0.070)']

The suite is fixed — the same tasks, ``limit`` and ``seed`` for every generation — so N and N−1 answer
the same problems and a difference is the model's, not the sample's. Only the metrics named in
``tolerances`` are compared (bookkeeping such as ``n`` and ``seconds`` is left out by not naming it). A
metric regresses when it is worse than N−1 by more than its tolerance: ``current < previous − tolerance``,
or for a metric in ``lower_is_better`` (``humaneval/timeout``) ``current > previous + tolerance``. Pick a
tolerance from the suite size: one problem of 16 moves a share by 0.0625.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from svend.gates.gate import EPS, evaluate_suite, split_metric


def check_tolerances(tolerances: Mapping[str, float], lower_is_better: Iterable[str], where: str) -> None:
    """Tolerances are ``<task>/<metric>: value >= 0``, and every lower-is-better metric has one."""
    for key, tolerance in tolerances.items():
        split_metric(key, f"{where}: tolerances")
        if not float(tolerance) >= 0:
            raise ValueError(f"{where}: the tolerance of {key} must be 0 or more, got {tolerance}")
    untolerated = [key for key in lower_is_better if key not in tolerances]
    if untolerated:
        raise ValueError(f"{where}: lower_is_better names {', '.join(untolerated)}, which tolerances does not; "
                         "give each a tolerance or drop it from lower_is_better")


@dataclass
class RegressionSuite:
    """The fixed benchmark a generation is compared on with the one before (``conf/gate/`` ``regression:``)."""

    tasks: list[str]
    tolerances: dict[str, float]
    limit: int | None = None
    seed: int = 0
    lower_is_better: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        where = "regression suite"
        self.tasks = [str(t) for t in ([self.tasks] if isinstance(self.tasks, str) else self.tasks)]
        self.tolerances = {str(k): float(v) for k, v in dict(self.tolerances or {}).items()}
        self.lower_is_better = [str(k) for k in self.lower_is_better or []]
        if not self.tasks:
            raise ValueError(f"{where}: tasks is empty; name the conf/task/ benchmarks it runs")
        if not self.tolerances:
            raise ValueError(f"{where}: no tolerances, so nothing would be compared; give <task>/<metric>: tolerance")
        check_tolerances(self.tolerances, self.lower_is_better, where)
        for key in self.tolerances:
            task, _ = split_metric(key, where)
            if task not in self.tasks:
                raise ValueError(f"{where}: tolerance {key} is on task {task}, which the suite does not run "
                                 f"(its tasks: {', '.join(self.tasks)})")
        if self.limit is not None and int(self.limit) < 1:
            raise ValueError(f"{where}: limit must be a positive number of problems per task or null, got {self.limit}")
        self.limit = None if self.limit is None else int(self.limit)
        self.seed = int(self.seed)


@dataclass
class RegressionVerdict:
    """``deltas``: current − previous for every compared metric; ``reasons``: one line per regressed metric."""

    regressed: bool
    deltas: dict[str, float]
    reasons: list[str] = field(default_factory=list)


def regression_check(current: Mapping[str, float], previous: Mapping[str, float], tolerances: Mapping[str, float],
                     lower_is_better: Iterable[str] = ()) -> RegressionVerdict:
    """Compare flat metrics (``{"task/metric": value}``, as ``run_regression_suite`` returns them) of
    generation N (``current``) with N−1 (``previous``) on every metric named in ``tolerances``. A named
    metric missing on either side is an error: the suite is fixed, so it means a different suite."""
    lower = list(lower_is_better)
    check_tolerances(tolerances, lower, "regression check")
    for side, metrics in (("current", current), ("previous", previous)):
        missing = [key for key in tolerances if key not in metrics]
        if missing:
            raise ValueError(f"regression check: the {side} generation's metrics lack {', '.join(missing)} "
                             f"(it has: {', '.join(sorted(metrics)) or 'none'}); both must come from the same suite")
    deltas, reasons = {}, []
    for key, tolerance in tolerances.items():
        now, before = float(current[key]), float(previous[key])
        deltas[key] = now - before
        if key in lower:
            if now > before + tolerance + EPS:
                reasons.append(f"{key} rose {before:.3f} → {now:.3f} ({now - before:+.3f}; lower is better, "
                               f"tolerance {tolerance:.3f})")
        elif now < before - tolerance - EPS:
            reasons.append(f"{key} fell {before:.3f} → {now:.3f} ({now - before:+.3f}; tolerance {tolerance:.3f})")
    return RegressionVerdict(regressed=bool(reasons), deltas=deltas, reasons=reasons)


def run_regression_suite(engine: Any, suite: RegressionSuite, task_cfgs: Mapping[str, Any], out_dir: str | Path, *,
                         label: str = "model", batch_size: int = 32) -> dict[str, float]:
    """Evaluate ``engine`` on the suite (transcripts and report card in ``out_dir``, as any evaluation);
    returns every metric as ``{"task/metric": value}``, ready for ``regression_check`` and the state store."""
    return evaluate_suite(engine, task_cfgs, suite.tasks, out_dir, suite.limit, suite.seed, label, batch_size,
                          settings={"suite": "regression"})
