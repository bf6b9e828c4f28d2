"""What every generator shares: the example it returns, the way it gives up on a problem, and the
trace builder that makes tool results impossible to hand-write.

A generator is a plain function ``(ctx, rng, index) -> Example | list[Example]``. It draws a problem
from ``rng`` (seeded per generator and index by ``svend.data.build``, so output is a pure function of
the seed), then builds the conversation with :class:`Trace`: ``trace.call(name, args)`` EXECUTES the
tool through the registry and appends both the assistant's call and the tool's real answer. There is
no way to put a tool message into a trace without running the tool, which is what lets
``svend-data verify`` re-execute every call and demand the same bytes.

A generator that cannot use what it drew (a scorer that does not give full marks, a tool that answered
with an error where none was expected, a tool the router would not show) raises :class:`Drop` with a
short reason; the build counts drops per reason in ``metadata.json`` instead of hiding them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from svend.tools.registry import Registry, is_error

ANSWER_PREFIX = "Answer: "
# Fields of a tool result that measure the run rather than describe it (wall-clock time): dropped from
# the recorded tool message, and ignored by `svend-data verify`, so that the same seed gives the same
# bytes. Everything else a tool returns is recorded exactly as the tool returned it.
VOLATILE_FIELDS: dict[str, tuple[str, ...]] = {"run_python": ("duration_ms",)}

RG_SEED_LIMIT = 1_000_000
"""Evaluation draws reasoning-gym problems with seeds at or above this; training never reaches it."""


class Drop(Exception):
    """This draw cannot become an example; ``reason`` is counted in metadata (e.g. ``"scorer"``)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Example:
    """One conversation before the build stamps metadata on it.

    ``problem`` is what the split and the lineage id hash: the user's question, or for pairs built
    from one template instance (a clarification and its fully specified look-alike, a correct chain
    and its corrupted copy) a string they share, so both land in the same split. ``extra`` holds the
    kind's own metadata (``label``, ``step_labels``, ``category`` ...)."""

    messages: list[dict]
    problem: str
    answer: str | None = None
    extra: dict = field(default_factory=dict)
    tools_question: str | None = None  # what `registry.tools_for` sees; default: the first user turn
    split_group: tuple[str, ...] | None = None  # every problem of its stratum: split together (`build.split_of`)

    @property
    def question(self) -> str:
        return self.tools_question or next(m["content"] for m in self.messages if m["role"] == "user")


Generator = Callable[["Context", random.Random, int], "Example | list[Example]"]


@dataclass
class Context:
    """What generators may use besides their rng: the registry (the only way to get a tool result),
    the build's seed, and lazily created reasoning-gym datasets."""

    registry: Registry
    seed: int = 0
    rg_size: int = 100_000
    _rg: dict = field(default_factory=dict, repr=False)

    def rg_dataset(self, name: str):
        """The reasoning-gym dataset ``name`` for this seed. Its items use ``Random(base + index)``;
        ``base`` is derived from the seed and the name, and ``base + rg_size`` stays below
        ``RG_SEED_LIMIT``, so no training item can be an evaluation item drawn from the same rng."""
        if name not in self._rg:
            import reasoning_gym

            room = RG_SEED_LIMIT - self.rg_size
            base = int(hashlib.sha256(f"rg/{self.seed}/{name}".encode()).hexdigest(), 16) % room
            self._rg[name] = reasoning_gym.create_dataset(name, seed=base, size=self.rg_size)
        return self._rg[name]


def strip_volatile(name: str, result: Any) -> Any:
    """``result`` without the fields of ``VOLATILE_FIELDS[name]`` (errors are kept whole)."""
    volatile = VOLATILE_FIELDS.get(name, ())
    if volatile and isinstance(result, Mapping) and not is_error(result):
        return {k: v for k, v in result.items() if k not in volatile}
    return result


def tool_content(name: str, result: Mapping[str, Any]) -> str:
    """The ``tool`` message content for a result: the result as JSON, volatile fields removed."""
    return json.dumps(strip_volatile(name, result), ensure_ascii=False)


class Trace:
    """A conversation under construction; tool messages come only from executing the call."""

    def __init__(self, ctx: Context, question: str):
        self.ctx = ctx
        self.messages: list[dict] = [{"role": "user", "content": question}]

    def calls(self, calls: Sequence[tuple[str, Mapping[str, Any]]], text: str = "") -> list[dict]:
        """One assistant turn with several tool calls (independent of each other), then one tool
        message per call, in order. Returns the results."""
        self.messages.append({
            "role": "assistant",
            "content": text,
            "tool_calls": [{"type": "function", "function": {"name": n, "arguments": dict(a)}} for n, a in calls],
        })
        results = []
        for name, arguments in calls:
            result = self.ctx.registry.call(name, dict(arguments))
            results.append(result)
            self.messages.append({"role": "tool", "name": name, "content": tool_content(name, result)})
        return results

    def call(self, name: str, arguments: Mapping[str, Any], text: str = "", expect_ok: bool = True) -> dict:
        """One call in its own assistant turn. With ``expect_ok`` an error result drops the example
        (a template whose call fails is a bug or an edge case, never something to train on silently)."""
        (result,) = self.calls([(name, arguments)], text)
        if expect_ok and is_error(result):
            raise Drop("unexpected_tool_error", f"{name}: {result['error']['type']}")
        return result

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def finish(self, text: str, answer: Any = None) -> None:
        """The final assistant turn; with an ``answer`` it ends with the ``Answer: …`` line."""
        body = text.strip()
        if answer is not None:
            body = f"{body}\n{ANSWER_PREFIX}{answer}" if body else f"{ANSWER_PREFIX}{answer}"
        self.messages.append({"role": "assistant", "content": body})


# -- small helpers the templates share ---------------------------------------------------------------

def pick(rng: random.Random, options: Sequence[Any]) -> Any:
    return options[rng.randrange(len(options))]


def num(value: Any) -> str:
    """A number as a person writes it: ``12`` not ``12.0``; floats keep at most 6 significant
    decimals after rounding away binary noise (``0.30000000000000004`` -> ``0.3``)."""
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def rounded(value: Any, places: int = 2) -> str:
    """``value`` rounded to ``places`` decimals, without trailing zeros (``2.50`` -> ``2.5``)."""
    text = f"{float(value):.{places}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def money(value: Any) -> str:
    """Money: always two decimals."""
    return f"{float(value):.2f}"


_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, one space between words: the form problems are hashed in."""
    return _SPACES.sub(" ", text.strip().lower())


def digest(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]
