"""Tool-call correctness on held-out traces: does the model call the right tool, well-formed, without
error, and land on the right answer? The launch target is "tool calls correct > 90 %" (``all_correct``).

    svend-data generate recipe=default          # writes data/default/tool_traces/test.jsonl
    svend-eval eval.tasks=[tool_calls] task.tool_calls.path=data/default/tool_traces/test.jsonl

Each problem is a ``tool_traces`` test record of ``svend-data generate``: the prompt is the record's
messages up to (not including) its first assistant turn, offered the record's own ``tools``; the
reference is the record's first tool call and ``metadata.answer``.

Per problem (the model's calls are the engine's ``ToolCallRecord``s):
- ``called``: the model made at least one tool call;
- ``well_formed``: it called, and every call parsed (a name and a JSON-object of arguments);
- ``executed``: it called, and every call ran without error (``ToolCallRecord.ok``: parsed, valid
  arguments, no tool error);
- ``right_tool``: its first call names the reference's first tool;
- ``answer_correct``: ``extract_answer(final)`` equals ``metadata.answer`` (numbers within 0.1 %);
  not scored where the record has no answer;
- ``all_correct``: all of the above that apply.

A problem where the model answered without any call scores False on the call metrics, not "not
applicable": a missing call is a wrong call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from svend.evaluation.task import Task, answers_match, completion_parts, load_data_file, prompt_of, subsample
from svend.inference.answers import extract_answer


def first_tool_name(record: Mapping[str, Any]) -> str | None:
    """The name of the first tool call in a record's assistant turns, if any."""
    for message in record["messages"]:
        for call in message.get("tool_calls") or []:
            return call.get("function", call).get("name")
    return None


class ToolCallTask(Task):
    metrics = ("called", "well_formed", "executed", "right_tool", "answer_correct", "all_correct")
    headline = "all_correct"

    def __init__(self, path: str | Path, name: str = "tool_calls"):
        self.path, self.name = Path(path), name

    def problems(self, limit: int | None = None, seed: int = 0) -> list[dict]:
        records = load_data_file(self.path, self.name)
        problems = []
        for index, record in enumerate(records):
            where = f"{self.path}: record {index + 1}"
            reference_tool = first_tool_name(record)
            if reference_tool is None:
                raise ValueError(f"{where} has no tool call, so it cannot test tool calling "
                                 f"(is {self.path} a tool_traces file?)")
            answer = (record.get("metadata") or {}).get("answer")
            problems.append({"id": f"{self.name}/{index}", "messages": prompt_of(record, where),
                             "tools": record.get("tools"), "reference_tool": reference_tool,
                             "reference_answer": None if answer is None else str(answer)})
        return subsample(problems, limit, seed)

    def evaluate(self, problem: Mapping[str, Any], completion: Any) -> dict[str, Any]:
        final, _, calls = completion_parts(completion)
        called = bool(calls)
        well_formed = called and all(c.name is not None and c.arguments is not None for c in calls)
        executed = called and all(c.ok for c in calls)
        right_tool = called and calls[0].name == problem["reference_tool"]
        answer = extract_answer(final)
        reference = problem.get("reference_answer")
        answer_correct = None if reference is None else answers_match(answer, reference)
        return {"called": called, "well_formed": well_formed, "executed": executed, "right_tool": right_tool,
                "answer_correct": answer_correct,
                "all_correct": well_formed and executed and right_tool and answer_correct is not False,
                "answer": answer, "reference": reference, "tools_called": [c.name for c in calls]}
