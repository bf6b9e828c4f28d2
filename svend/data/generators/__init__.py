"""Data generators, one module per kind of data; ``KINDS`` maps each kind to its generators by name.

    tool_traces     tool_traces.py (templates per tool family) + reasoning_gym.py (external problems
                    and scorers) — multi-step tool use ending in ``Answer: …``
    failures        failures.py — real tool errors, then a repair, a plain "no answer", or a question
    clarification   clarification.py — underspecified request → ``<clarify>`` question, beside its
                    fully specified look-alike answered directly
    verifier        verifier.py — correct and corrupted solution chains, labelled per chain and step
    safety          safety.py — harmful requests (refuse) and keyword look-alikes (comply)

A generator is ``(ctx, rng, index) -> Example | list[Example]`` (``base.py``); ``svend.data.build``
runs them, dedupes, splits and writes. The first three kinds are chat-trainable; verifier and safety
are classification data for their own stages.
"""

from __future__ import annotations

from svend.data.generators import clarification, failures, reasoning_gym, safety, tool_traces, verifier
from svend.data.generators.base import Context, Drop, Example, Generator, Trace

KINDS: dict[str, dict[str, Generator]] = {
    "tool_traces": {**tool_traces.GENERATORS, **reasoning_gym.GENERATORS},
    "failures": failures.GENERATORS,
    "clarification": clarification.GENERATORS,
    "verifier": verifier.GENERATORS,
    "safety": safety.GENERATORS,
}

__all__ = ["KINDS", "Context", "Drop", "Example", "Generator", "Trace"]
