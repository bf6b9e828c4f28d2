"""Chat records and their JSONL files.

A record is one conversation::

    {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": str,
                   "tool_calls": [{"type": "function", "function": {"name": str, "arguments": {...}}}]},
                  ...],
     "tools": [<OpenAI tool spec>, ...],          # optional: rendered into the system turn
     "metadata": {...}}                          # optional: source, generator, seed, split, lineage id

Metadata keys are free, but the ones Svend's tools read are type-checked when present (``METADATA``):
``source, generator, kind, lineage_id`` strings, ``seed`` an integer, ``split`` one of train/val/test,
``answer`` a string or null, ``tools_used`` a list of tool names, and the classification labels
(``label`` 0/1 or a string such as "refuse"; ``step_labels`` a list of 0/1; ``corruption`` and
``category`` strings or null) — a generator or an export that writes ``"seed": "7"`` fails at once,
not in a training stage an hour later.

Every line is validated on read; an error names ``file:line`` and what was wrong, so a bad line in a
12 000-line file costs seconds to find. Files are written atomically (temp file + rename): an
interrupted writer leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from svend.atomic import write_file
from svend.tokens import ROLES


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str_or_none(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _is_names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_label(v: Any) -> bool:
    return (_is_int(v) and v in (0, 1)) or isinstance(v, str)


def _is_step_labels(v: Any) -> bool:
    return isinstance(v, list) and all(_is_int(x) and x in (0, 1) for x in v)


SPLITS = ("train", "val", "test")
METADATA: dict[str, tuple] = {
    "source": (_is_str, "a string"),
    "generator": (_is_str, "a string"),
    "kind": (_is_str, "a string"),
    "lineage_id": (_is_str, "a string"),
    "seed": (_is_int, "an integer"),
    "split": (lambda v: v in SPLITS, f"one of {', '.join(SPLITS)}"),
    "answer": (_is_str_or_none, "a string or null"),
    "tools_used": (_is_names, "a list of tool names"),
    "label": (_is_label, "0, 1 or a string label"),
    "step_labels": (_is_step_labels, "a list of 0/1"),
    "corruption": (_is_str_or_none, "a string or null"),
    "category": (_is_str_or_none, "a string or null"),
}
"""Metadata keys with a known meaning: (check, what it must be)."""


class RecordError(ValueError):
    """A chat record that does not match the schema; the message starts with ``file:line:``."""


def validate_record(record: Any) -> None:
    """Raise ``ValueError`` naming the first thing wrong with ``record``."""
    if not isinstance(record, Mapping):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError('a record needs a non-empty "messages" list')
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise ValueError(f"{where} must be an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise ValueError(f"{where}.role must be one of {', '.join(ROLES)}; got {role!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise ValueError(f"{where}.content must be a string, got {type(content).__name__}")
        calls = message.get("tool_calls")
        if calls is not None:
            if role != "assistant":
                raise ValueError(f"{where}: only assistant messages carry tool_calls")
            if not isinstance(calls, list):
                raise ValueError(f"{where}.tool_calls must be a list")
            for j, call in enumerate(calls):
                function = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                    raise ValueError(f"{where}.tool_calls[{j}] needs function.name (a string)")
        if not content and not calls:
            raise ValueError(f"{where} ({role}) has neither content nor tool_calls")
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError("a record needs at least one assistant message (nothing to learn otherwise)")
    tools = record.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise ValueError('"tools" must be a list of OpenAI tool specs')
    metadata = record.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ValueError(f'"metadata" must be an object, got {type(metadata).__name__}')
        for key, (check, what) in METADATA.items():
            if key in metadata and not check(metadata[key]):
                raise ValueError(f"metadata.{key} must be {what}; got {metadata[key]!r}"[:300])


def iter_jsonl(path: str | os.PathLike, validate: Callable[[Any], None] | None = None, error: type[ValueError] | None = None,
               what: str = "data file") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSONL file, each checked by ``validate``
    (default: a chat record); errors are ``error`` (default `RecordError`) naming ``file:line``."""
    validate, error = validate or validate_record, error or RecordError
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise error(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
            try:
                validate(obj)
            except ValueError as e:
                raise error(f"{path}:{lineno}: {e}") from None
            yield lineno, obj


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read and validate a JSONL file of chat records; blank lines are skipped."""
    records = [record for _, record in iter_jsonl(path)]
    if not records:
        raise RecordError(f"{path}: no records")
    return records


def write_jsonl(path: str | os.PathLike, records: Iterable[Mapping[str, Any]],
                validate: Callable[[Any], None] | None = None, error: type[ValueError] | None = None) -> int:
    """Validate (default: chat records) and write objects atomically; returns the number written."""
    validate, error = validate or validate_record, error or RecordError
    path = Path(path)
    count = 0

    def write(f) -> None:
        nonlocal count
        for count, record in enumerate(records, start=1):
            try:
                validate(record)
            except ValueError as e:
                raise error(f"{path}: record {count}: {e}") from None
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    write_file(path, write)
    return count
