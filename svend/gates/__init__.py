"""Capability gates and the regression check of the generational loop.

    ladder = hydra.utils.instantiate(cfg.gate)                      # conf/gate/: stages, gates, regression suite
    result = run_gate(ladder.gate_for(stage), engine, cfg.task, out_dir)
    verdict = regression_check(current, previous, ladder.regression.tolerances, ladder.regression.lower_is_better)

- ``gate``: a gate (tasks of the evaluation harness plus thresholds), its pass rule, ``run_gate``;
- ``ladder``: the stages (Hatchling … Apex) and the gates between them, from ``conf/gate/``;
- ``regression``: the fixed suite, ``run_regression_suite`` and ``regression_check`` (N against N−1).

Every result is a dataclass of plain values: ``dataclasses.asdict`` gives what the state store keeps.
"""

from __future__ import annotations

from svend.gates.gate import Gate, GateResult, check_thresholds, run_gate
from svend.gates.ladder import GateLadder
from svend.gates.regression import RegressionSuite, RegressionVerdict, regression_check, run_regression_suite

__all__ = ["Gate", "GateLadder", "GateResult", "RegressionSuite", "RegressionVerdict", "check_thresholds",
           "regression_check", "run_gate", "run_regression_suite"]
