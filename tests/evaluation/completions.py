"""Hand-made completions: real engine ``Generation`` and ``ToolCallRecord`` objects built directly, so each
task's ``evaluate`` is tested on right and wrong answers without a model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from svend.inference.engine import Generation, ToolCallRecord

DATA = Path(__file__).resolve().parent / "data"
KINDS = ("tool_traces", "clarification", "safety")  # the hand-made JSONL fixtures in data/


def call(name: str | None, arguments: dict | None = None, ok: bool = True, result: dict | None = None,
         round: int = 0) -> ToolCallRecord:
    """One tool call as the engine records it; ``ok=False`` with an error result is a failed call."""
    if result is None:
        result = {"result": "done"} if ok else {"error": {"type": "invalid_arguments", "message": "bad"}}
    return ToolCallRecord(name=name, arguments=arguments, result=result, ok=ok, round=round, id=f"call_{round}")


def generation(final: str, calls: list[ToolCallRecord] = (), finish_reason: str = "stop") -> Generation:
    """A finished generation whose last assistant turn is ``final``."""
    calls = list(calls)
    text = "".join(f'<tool_call>\n{{"name": "{c.name}"}}\n</tool_call>' for c in calls) + final
    return Generation(messages=[{"role": "assistant", "content": final}], text=text, final=final, tool_calls=calls,
                      finish_reason=finish_reason, rounds=1 + len({c.round for c in calls}),
                      new_tokens=len(text.split()), score=None, candidates=[])


class ScriptedEngine:
    """The engine's interface (``generate(conversations, tools) -> [Generation]``) answering from a
    script: user text → Generation, a default for anything else. Records each batch it was given."""

    def __init__(self, script: dict, default: str = "I don't know."):
        self.script, self.default, self.batches = script, default, []

    def generate(self, conversations, tools=None):
        self.batches.append((len(conversations), tools))
        return [self.script.get(c[-1]["content"], generation(self.default)) for c in conversations]


def best_of(finals: list[str], scores: list[float], pick: int):
    """A best-of-N generation as the engine returns it: candidate ``pick`` with every candidate attached."""
    candidates = [replace(generation(final), score=score) for final, score in zip(finals, scores)]
    return replace(candidates[pick], candidates=candidates)
