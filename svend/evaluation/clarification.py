"""Clarification: does the model ask when required information is missing, and answer when it is not?

    svend-eval eval.tasks=[clarification] task.clarification.path=data/default/clarification/test.jsonl

Problems are the ``clarification`` test records of ``svend-data generate``. Each record's reference
assistant turn either asks one targeted question — it contains the ``<clarify>`` token — or answers
directly; that is how the two kinds are told apart (``should_ask``). The prompt is the record's
messages before its first assistant turn, with the record's ``tools``.

The model *asked* when its final assistant turn contains ``<clarify>`` (the meta-cognitive token of
``svend.tokens``; a question without it is an answer as far as this task is concerned, since the
server and the gates key on the token).

Metrics:
- ``asked_when_needed``: share of the must-ask problems where the model asked (recall of asking);
- ``answered_when_clear``: share of the answerable problems where it did not ask (1 − over-asking);
- ``balanced``: the mean of the two (a model that always asks, or never does, scores 0.5);
- ``correct``: share of all problems where it asked exactly when it should;
- ``answer_correct``: on answerable problems with a reference answer, it answered and
  ``extract_answer(final)`` matches ``metadata.answer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from svend.evaluation.task import (Task, answers_match, completion_parts, load_data_file, prompt_of,
                                   reference_turn, subsample)
from svend.inference.answers import extract_answer
from svend.tokens import META_TOKENS

CLARIFY = "<clarify>"
assert CLARIFY in META_TOKENS


class ClarificationTask(Task):
    metrics = ("asked_when_needed", "answered_when_clear", "correct", "answer_correct")
    headline = "correct"

    def __init__(self, path: str | Path, name: str = "clarification"):
        self.path, self.name = Path(path), name

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        problems = []
        for index, record in enumerate(load_data_file(self.path, self.name)):
            where = f"{self.path}: record {index + 1}"
            should_ask = CLARIFY in (reference_turn(record).get("content") or "")
            answer = (record.get("metadata") or {}).get("answer")
            problems.append({"id": f"{self.name}/{index}", "messages": prompt_of(record, where),
                             "tools": record.get("tools"), "should_ask": should_ask,
                             "reference_answer": None if answer is None or should_ask else str(answer)})
        if not problems:
            raise ValueError(f"{self.path}: no records")
        return subsample(problems, limit, seed)

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, _ = completion_parts(completion)
        asked = CLARIFY in final
        should_ask = bool(problem["should_ask"])
        answer = None if asked else extract_answer(final)
        reference = problem.get("reference_answer")
        return {
            "asked": asked, "should_ask": should_ask,
            "asked_when_needed": asked if should_ask else None,
            "answered_when_clear": (not asked) if not should_ask else None,
            "correct": asked == should_ask,
            "answer_correct": None if should_ask or reference is None else answers_match(answer, reference),
            "answer": answer, "reference": reference,
        }

    def aggregate(self, results: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        metrics = super().aggregate(results)
        if "asked_when_needed" in metrics and "answered_when_clear" in metrics:
            metrics["balanced"] = (metrics["asked_when_needed"] + metrics["answered_when_clear"]) / 2
        return metrics
