"""What leaves the server: the answer a client sees, cut at its stop sequences and passed by the
safety gate — for a whole answer and for a stream.

The visible answer is the text of the assistant turns with every ``<tool_call>`` block removed (the
calls travel as ``svend.tool_calls`` or ``message.tool_calls``), turns joined by a blank line; the
same function makes it from a finished ``Generation`` and from a stream, so streamed and
non-streamed answers are the same text.

The gate (``svend.safety.gate``) checks the input before generation and the output before it is
returned. A stream cannot take back what it sent, so ``StreamGuard`` checks everything written so
far every ``check_chars`` new characters and releases the checked text except its last
``holdback_chars``: a redactable span (an e-mail address, a card number, a key) or a stop sequence
that is only half written at the end is never sent before the check sees it whole. If the gate refuses mid-stream, the
refusal follows what was sent and the stream ends with ``finish_reason: "content_filter"``; if a
redaction would change text already sent, the stream ends the same way without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from svend.tokens import TOOL_CALL_END, TOOL_CALL_START

_BLOCK = re.compile(re.escape(TOOL_CALL_START) + r".*?(?:" + re.escape(TOOL_CALL_END) + r"|\Z)", re.DOTALL)


def visible(raw: str | None, partial: bool = False) -> str:
    """One assistant turn as the user sees it: no tool-call blocks, no surrounding whitespace. With
    ``partial`` (a turn still being written) a trailing piece that may open a block is held back."""
    text = _BLOCK.sub("", raw or "")
    if partial:
        for k in range(min(len(TOOL_CALL_START) - 1, len(text)), 0, -1):
            if TOOL_CALL_START.startswith(text[-k:]):
                text = text[:-k]
                break
        return text.strip()
    return text.strip()


def join_turns(turns: Sequence[str]) -> str:
    return "\n\n".join(t for t in turns if t)


def answer_text(messages: Sequence[dict]) -> str:
    """The visible answer of a ``Generation``'s new turns."""
    return join_turns([visible(m.get("content")) for m in messages if m["role"] == "assistant"])


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop sequence (not included), and whether one was found."""
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)


def input_text(messages: Sequence[dict]) -> str:
    """What the input check reads: the system turns (a client's instructions) and the last user turn."""
    system = [m["content"] for m in messages if m["role"] == "system" and m.get("content")]
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return "\n".join([*system, last_user])


def safety_report(decision: Any, stage: str | None) -> dict:
    """The ``svend.safety`` object: the decision, where it was taken, and why (never the text)."""
    if decision is None:
        return {"decision": "allow", "stage": None, "category": None, "score": None, "reasons": []}
    info = {k: v for k, v in decision.to_dict().items() if k not in ("text", "refusal", "action")}
    return {"decision": decision.action, "stage": stage if decision.action != "allow" else None, **info}


@dataclass
class Checked:
    """An answer after the output check: the text to send, the finish reason it forces (or None)."""

    text: str
    decision: Any
    finish_reason: str | None = None


def check_answer(gate: Any, text: str) -> Checked:
    """The output check on a whole answer: refuse → the refusal; redact → the redacted text."""
    if gate is None:
        return Checked(text, None)
    decision = gate.check_output(text)
    if decision.action == "refuse":
        return Checked(decision.refusal, decision, "content_filter")
    if decision.action == "redact":
        return Checked(decision.text, decision)
    return Checked(text, decision)


class StreamGuard:
    """Turns the engine's raw text deltas into released text (module docstring)."""

    def __init__(self, gate: Any, stops: Sequence[str] = (), check_chars: int = 48, holdback_chars: int = 64):
        self.gate = gate
        self.stops = list(stops)
        self.check_chars = max(1, int(check_chars))
        self.holdback = max(int(holdback_chars), max((len(s) - 1 for s in self.stops), default=0))
        self.rounds: dict[int, str] = {}
        self.sent = ""
        self.decision: Any = None  # the latest output decision
        self.finish_reason: str | None = None  # set once the stream must end: "stop" or "content_filter"

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def shown(self, final: bool = False) -> tuple[str, bool]:
        """The visible text so far (the last turn partial unless ``final``), cut at a stop sequence."""
        last = max(self.rounds, default=0)
        turns = [visible(text, partial=not final and r == last) for r, text in sorted(self.rounds.items())]
        return cut_at_stop(join_turns(turns), self.stops)

    def feed(self, round: int, text: str) -> str:
        """Take a raw delta of turn ``round``; returns the text to send now (often empty)."""
        if self.done:
            return ""
        self.rounds[round] = self.rounds.get(round, "") + text
        shown, stopped = self.shown()
        if stopped:  # everything before the stop sequence is final
            delta = self._release(shown, final=True)
            if not self.done:
                self.finish_reason = "stop"
            return delta
        if len(shown) - self.holdback - len(self.sent) < self.check_chars:
            return ""
        return self._release(shown, final=False)

    def finish(self, answer: str | None = None) -> str:
        """The end of generation: check and release the rest (``answer``: the authoritative text,
        e.g. from the ``Generation``; by default what the stream showed)."""
        if self.done:
            return ""
        text = answer if answer is not None else self.shown(final=True)[0]
        text, _ = cut_at_stop(text, self.stops)
        return self._release(text, final=True)

    def _release(self, text: str, final: bool) -> str:
        """Check all of ``text`` (the held-back tail too: a span may cross the boundary), then send
        the checked text up to ``holdback`` characters from its end (all of it when ``final``)."""
        checked = check_answer(self.gate, text)
        self.decision = checked.decision
        if checked.finish_reason == "content_filter":
            self.finish_reason = "content_filter"
            return f"\n\n{checked.text}" if self.sent else checked.text
        out = checked.text if final else checked.text[:max(0, len(checked.text) - self.holdback)]
        if not out.startswith(self.sent):  # a redaction reaches into text already sent
            self.finish_reason = "content_filter"
            return ""
        delta, self.sent = out[len(self.sent):], out
        return delta
