"""The ladder: the stages a model climbs by passing capability gates, as ``conf/gate/`` orders them.

    ladder = hydra.utils.instantiate(cfg.gate)      # conf/gate/default.yaml (cpu.yaml: small limits)
    ladder.stages                                   # ['Hatchling', 'Fledgling', 'Journeyman', 'Expert', 'Apex']
    gate = ladder.gate_for("Fledgling")             # Gate(name='execution', number=1, ...)
    result = run_gate(gate, engine, cfg.task, out_dir)           # svend.gates.gate
    if result.passed:
        stage = ladder.stage_after(gate.number)     # 'Journeyman'
    ladder.gate_for("Apex")                         # None: every gate passed
    ladder.regression                               # the fixed suite of the N vs N−1 check (svend.gates.regression)

A model at stage k has passed gates 0 … k−1; it is tested on gate k, and passing it promotes it to
stage k+1. So there is one stage name more than there are gates: the first names a model before gate 0,
the last one that has passed them all. Gates are numbered by their order in the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from svend.gates.gate import Gate
from svend.gates.regression import RegressionSuite

GATE_KEYS = ("tasks", "limit", "thresholds")


@dataclass
class GateLadder:
    """Stage names in order, the gates between them, and the regression suite (module docstring)."""

    stages: list[str]
    gates: list[Gate]
    regression: RegressionSuite

    def __post_init__(self) -> None:
        self.stages = [str(s) for s in self.stages]
        self.gates = list(self.gates)
        if len(self.stages) != len(self.gates) + 1:
            raise ValueError(f"gate ladder: {len(self.gates)} gate(s) need {len(self.gates) + 1} stage names (one "
                             f"before each gate and one after the last), got {len(self.stages)}: "
                             f"{', '.join(self.stages) or 'none'}")
        if not self.gates:
            raise ValueError("gate ladder: no gates")
        if len(set(self.stages)) != len(self.stages) or not all(s.strip() for s in self.stages):
            raise ValueError(f"gate ladder: stage names must be unique and non-empty, got {self.stages}")
        names = [g.name for g in self.gates]
        if len(set(names)) != len(names):
            raise ValueError(f"gate ladder: gate names must be unique, got {names}")
        misnumbered = [f"{g.name} is {g.number}" for i, g in enumerate(self.gates) if g.number != i]
        if misnumbered:
            raise ValueError(f"gate ladder: gates are numbered by position from 0, but {', '.join(misnumbered)}")

    @classmethod
    def from_config(cls, stages: Sequence[str], gates: Mapping[str, Mapping[str, Any]],
                    regression: Mapping[str, Any]) -> GateLadder:
        """Build from the ``conf/gate/`` node: ``gates`` maps each gate's name to its ``tasks``, ``limit``
        and ``thresholds`` (in ladder order); ``regression`` holds ``RegressionSuite``'s fields."""
        built = []
        for number, (name, spec) in enumerate(gates.items()):
            try:
                built.append(Gate(name=str(name), number=number, **{str(k): v for k, v in spec.items()}))
            except TypeError as exc:  # an unknown or missing key
                raise ValueError(f"gate {name}: {exc}; a gate takes {', '.join(GATE_KEYS)}") from None
        try:
            suite = RegressionSuite(**{str(k): v for k, v in regression.items()})
        except TypeError as exc:  # an unknown or missing field
            raise ValueError(f"gate ladder: bad regression suite {dict(regression)}: {exc}") from None
        return cls(stages=list(stages), gates=built, regression=suite)

    def stage_after(self, number: int) -> str:
        """The stage a model reaches by passing gate ``number``."""
        if not 0 <= number < len(self.gates):
            raise ValueError(f"gate ladder: no gate {number}; the gates are 0 … {len(self.gates) - 1}")
        return self.stages[number + 1]

    def gate_for(self, stage: str) -> Gate | None:
        """The gate a model at ``stage`` is tested on; None at the last stage (every gate passed)."""
        if stage not in self.stages:
            raise ValueError(f"gate ladder: unknown stage {stage!r}; the stages are {', '.join(self.stages)}")
        index = self.stages.index(stage)
        return self.gates[index] if index < len(self.gates) else None
