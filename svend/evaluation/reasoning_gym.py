"""reasoning-gym benchmarks, scored by reasoning-gym's own scorer — external homework, not ours.

    svend-eval eval.tasks=[basic_arithmetic,chain_sum,gsm_symbolic,simple_equations,propositional_logic]

Each dataset is procedural: ``create_dataset(name, size, seed)`` makes item ``i`` from ``Random(seed + i)``,
so the same seed gives the same problems and ``eval.limit`` takes a prefix. ``svend-data`` keeps every
training item's rng seed below ``RG_SEED_LIMIT`` (1 000 000); evaluation starts at
``RG_SEED_LIMIT * (1 + eval.seed)``, so no evaluation problem was seen in training, and two values of
``eval.seed`` give disjoint problem sets (not the same items shifted by one).

The prompt is the dataset's ``question`` as the only user turn (the engine adds the system turn and the
tools the router picks). The answer is ``extract_answer(final)`` (an ``Answer:`` line, ``<answer>`` tags,
``\\boxed{}``, else the last number) and ``dataset.score_answer`` judges it: 1.0 right, partial credit
where the dataset gives some (propositional_logic: 0.25 for a trivial tautology, 0.05 for a
well-formed wrong conclusion), 0.0 wrong or missing.

Metrics: ``score`` (mean scorer value), ``accuracy`` (share scored 1.0), ``answered`` (share with an
extractable answer), ``tool_use`` (share that called at least one tool).
"""

from __future__ import annotations

from typing import Any, Mapping

import reasoning_gym

from svend.data.generators.base import RG_SEED_LIMIT
from svend.evaluation.task import Task, completion_parts
from svend.inference.answers import extract_answer


def eval_seed(seed: int) -> int:
    """The reasoning-gym dataset seed of ``eval.seed``: at or above ``RG_SEED_LIMIT``, one limit apart."""
    if seed < 0:
        raise ValueError(f"eval.seed must be 0 or more, got {seed}")
    return RG_SEED_LIMIT * (1 + seed)


class ReasoningGymTask(Task):
    metrics = ("score", "accuracy", "answered", "tool_use")
    headline = "accuracy"

    def __init__(self, dataset: str, size: int = 200, config: Mapping[str, Any] | None = None,
                 name: str | None = None):
        """``dataset``: a reasoning-gym dataset name; ``size``: problems when ``eval.limit`` is null;
        ``config``: extra dataset settings (its config dataclass's fields, e.g. ``min_terms``)."""
        if dataset not in reasoning_gym.factory.DATASETS:
            known = ", ".join(sorted(reasoning_gym.factory.DATASETS))
            raise ValueError(f"task {name or dataset}: reasoning-gym has no dataset {dataset!r}; known: {known}")
        if not 1 <= size <= RG_SEED_LIMIT:
            raise ValueError(f"task {name or dataset}: size must be between 1 and {RG_SEED_LIMIT}, got {size}")
        self.dataset, self.size, self.name = dataset, int(size), name or dataset
        self.config = dict(config or {})
        if {"size", "seed"} & set(self.config):
            raise ValueError(f"task {self.name}: config may not set size or seed; use task.{self.name}.size, "
                             "eval.limit and eval.seed")
        self._scorer = self._build(1, eval_seed(0))  # score_answer depends on the entry and the config only

    def _build(self, size: int, seed: int):
        try:
            return reasoning_gym.create_dataset(self.dataset, size=size, seed=seed, **self.config)
        except TypeError as exc:  # an unknown config field
            raise ValueError(f"task {self.name}: bad reasoning-gym config {self.config}: {exc}") from None

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        base = eval_seed(seed)
        count = self.size if limit is None else min(int(limit), self.size)
        data = self._build(max(count, 1), base)
        return [
            {"id": f"{self.name}/{base}/{i}",
             "messages": [{"role": "user", "content": entry["question"]}],
             "tools": None,
             "entry": entry}
            for i, entry in ((i, data[i]) for i in range(count))
        ]

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, calls = completion_parts(completion)
        answer = extract_answer(final)
        score = float(self._scorer.score_answer(answer=answer, entry=problem["entry"]))
        return {"score": score, "accuracy": score >= 1.0, "answered": answer is not None, "tool_use": bool(calls),
                "answer": answer, "reference": problem["entry"].get("answer")}
