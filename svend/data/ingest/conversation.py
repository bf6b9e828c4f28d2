"""One conversation model for every chat export, and how a conversation becomes training records.

Claude, Gemini and Cursor each store chats their own way; their readers (``claude.py``,
``gemini.py``, ``cursor.py``) only translate into :class:`Conversation` — ordered user/assistant
turns with the ids the export gave them. Everything after that is shared:

- every user turn answered by the next turn becomes an *instruction pair*, a Svend chat record
  ``{"messages": [user, assistant], "metadata": {"source", "conversation_id", "lineage_id", ...}}``;
- a user turn that corrects the answer before it (``refinements.py``) turns the exchange it corrects
  and the correcting exchange into one *refinement* record instead — question, first answer,
  correction, revised answer, in that order — and neither becomes an instruction pair: the first
  answer is wrong by the user's own account, and a correction read without its context is noise.

``lineage_id`` is ``<source>:<conversation id>:<message id>`` of the answer a record teaches, so any
sample can be traced back to the message in the user's export; a refinement's ``parent_lineage_id``
names the answer it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from svend.data.ingest.refinements import CorrectionDetector, find_refinements


class ExportFormatError(ValueError):
    """A whole export file has the wrong structure; the reader cannot go on with it."""


def json_type(value: Any) -> str:
    """How an error message names a JSON value's type: "an object", "a list", "null" …"""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), f"a number ({value!r})" if isinstance(value, (int, float)) else type(value).__name__)


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str
    ref: str  # the export's id for the message, or "#<index>" in its message list
    created_at: str | None = None


@dataclass
class Conversation:
    source: str  # "claude", "gemini" or "cursor"
    conversation_id: str
    title: str | None
    item: str  # how reports name it: "conversation 3 (uuid)"
    turns: list[Turn] = field(default_factory=list)
    empty_turns: int = 0  # messages with no text (tool-only, cancelled): not turns, but counted


def _lineage(conv: Conversation, turn: Turn) -> str:
    return f"{conv.source}:{conv.conversation_id}:{turn.ref}"


def _message(turn: Turn) -> dict:
    return {"role": turn.role, "content": turn.text}


def conversation_records(conv: Conversation, detector: CorrectionDetector) -> tuple[list[dict], list[dict], dict]:
    """(instruction pair records, refinement records, counts) of one conversation, in turn order."""
    exchanges, refinements, consumed = find_refinements(conv.turns, detector)
    base = {"source": conv.source, "conversation_id": conv.conversation_id}
    if conv.title:
        base["title"] = conv.title
    pairs = []
    for k, (u, a) in enumerate(exchanges):
        if k in consumed:
            continue
        user, answer = conv.turns[u], conv.turns[a]
        metadata = {**base, "lineage_id": _lineage(conv, answer)}
        if answer.created_at:
            metadata["created_at"] = answer.created_at
        pairs.append({"messages": [_message(user), _message(answer)], "metadata": metadata})
    chains = []
    for r in refinements:
        metadata = {
            **base, "lineage_id": _lineage(conv, r.revised_answer), "parent_lineage_id": _lineage(conv, r.first_answer),
            "correction_cue": r.cue,
        }
        if r.revised_answer.created_at:
            metadata["created_at"] = r.revised_answer.created_at
        turns = (r.question, r.first_answer, r.correction, r.revised_answer)
        chains.append({"messages": [_message(t) for t in turns], "metadata": metadata})
    counts = {
        "exchanges": len(exchanges), "exchanges_in_refinements": len(consumed),
        "unpaired_turns": len(conv.turns) - 2 * len(exchanges), "empty_turns": conv.empty_turns,
    }
    return pairs, chains, counts
