"""A benchmark a tiny random model can learn in a few dozen LoRA steps, for the generational-loop tests:
every question is answered "yes". Scored like any task (``svend.evaluation.task``), through the real
engine; the loop tests train one generation to say "yes" and force another to say "no"."""

from __future__ import annotations

from typing import Any, Mapping

from svend.evaluation.task import Task, completion_parts

QUESTIONS = ["Is the sky blue?", "Is water wet?", "Is fire hot?", "Is ice cold?", "Is grass green?", "Is snow white?"]


class AffirmTask(Task):
    name = "affirm"
    metrics = ("said_yes",)

    def __init__(self, name: str = "affirm"):
        self.name = name

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        chosen = QUESTIONS[:limit] if limit else QUESTIONS
        return [{"id": f"affirm/{i}", "messages": [{"role": "user", "content": q}], "tools": []} for i, q in enumerate(chosen)]

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, _ = completion_parts(completion)
        return {"said_yes": final.strip().lower().startswith("yes")}


def records(answer: str) -> list[dict]:
    return [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": answer}]} for q in QUESTIONS] * 4
