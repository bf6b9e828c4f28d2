"""Tool calls in model text: parse ``<tool_call>{…}</tool_call>`` blocks, run them through a registry,
and render the answers as ``<tool_response>`` blocks (or OpenAI ``tool`` messages).

    calls = parse_tool_calls(assistant_text)        # [ParsedCall | ParseError, ...], never raises
    turn = run_tool_calls(registry, assistant_text)  # ToolTurn
    turn.text                                        # '<tool_response>\\n{...}\\n</tool_response>\\n...'
    turn.messages                                    # [{"role": "tool", "tool_call_id": ..., "content": ...}]
    run_openai_tool_calls(registry, message["tool_calls"])   # the same for an OpenAI-style message

Use ``turn.messages`` in chat records: ``svend.tokens.render_prompt`` renders each ``tool`` message
as its own ``tool`` turn holding one ``<tool_response>`` block. ``turn.text`` is the same blocks
joined, for code that appends raw text; never put it inside a ``tool`` message (it would be
wrapped twice).

Models write sloppy calls: a missing closing tag at the end of a generation, a code fence around
the JSON, ``arguments`` as a JSON string (OpenAI style) or under ``parameters``. Those are accepted;
anything else becomes a ``ParseError`` whose ``result`` is a structured error the model sees as the
tool's answer — so it can learn to fix its syntax — and generation goes on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterable

from svend.tokens import TOOL_CALL_END, TOOL_CALL_START, format_tool_response
from svend.tools.registry import Registry, error

MAX_CALLS = 8
MAX_CALL_CHARS = 200_000
_BLOCK = re.compile(re.escape(TOOL_CALL_START) + r"(.*?)(?:" + re.escape(TOOL_CALL_END) + r"|\Z)", re.DOTALL)
_FENCE = re.compile(r"\A```(?:json)?\s*(.*?)\s*```\Z", re.DOTALL)


@dataclass
class ParsedCall:
    name: str
    arguments: dict
    id: str
    raw: str = field(repr=False, default="")


@dataclass
class ParseError:
    message: str
    id: str
    raw: str = field(repr=False, default="")
    name: str | None = None

    @property
    def result(self) -> dict:
        return error("invalid_tool_call", self.message)


@dataclass
class ToolResult:
    call: ParsedCall | ParseError
    result: dict

    @property
    def name(self) -> str | None:
        return self.call.name

    @property
    def ok(self) -> bool:
        return "error" not in self.result


@dataclass
class ToolTurn:
    results: list[ToolResult]

    @property
    def text(self) -> str:
        """The ``<tool_response>`` blocks, one per call in order, for the ``tool`` turn."""
        return "\n".join(format_tool_response(r.result) for r in self.results)

    @property
    def messages(self) -> list[dict]:
        """OpenAI-style ``tool`` messages (one per call)."""
        return [{"role": "tool", "tool_call_id": r.call.id, "name": r.name or "",
                 "content": json.dumps(r.result, ensure_ascii=False)} for r in self.results]


def _parse_one(body: str, index: int) -> ParsedCall | ParseError:
    call_id = f"call_{index}"
    text = body.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    if len(text) > MAX_CALL_CHARS:
        return ParseError(f"the tool call is longer than {MAX_CALL_CHARS} characters", call_id, body[:200])
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return ParseError(f'the tool call is not valid JSON ({exc}); write {{"name": ..., "arguments": {{...}}}}',
                          call_id, body)
    if isinstance(payload, dict) and isinstance(payload.get("function"), dict):
        payload = payload["function"]  # an OpenAI tool_calls entry pasted whole
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return ParseError('a tool call is a JSON object with a string "name" and an object "arguments"', call_id, body)
    arguments = payload.get("arguments", payload.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return ParseError(f"the arguments string is not valid JSON ({exc})", call_id, body, payload["name"])
    if not isinstance(arguments, dict):
        return ParseError('"arguments" must be a JSON object', call_id, body, payload["name"])
    return ParsedCall(payload["name"], arguments, call_id, body)


def parse_tool_calls(text: str) -> list[ParsedCall | ParseError]:
    """Every ``<tool_call>`` block in ``text``, in order; an unclosed last block runs to the end."""
    if not isinstance(text, str):
        return []
    return [_parse_one(m.group(1), i) for i, m in enumerate(_BLOCK.finditer(text))]


def run_tool_calls(registry: Registry, calls: str | Iterable[ParsedCall | ParseError], max_calls: int = MAX_CALLS) -> ToolTurn:
    """Run the calls in an assistant message (its text, or already parsed calls) one after another,
    each under its tool's time limit. Calls beyond ``max_calls`` are answered with an error."""
    parsed = parse_tool_calls(calls) if isinstance(calls, str) else list(calls)
    results = []
    for index, call in enumerate(parsed):
        if isinstance(call, ParseError):
            results.append(ToolResult(call, call.result))
        elif index >= max_calls:
            results.append(ToolResult(call, error("too_many_calls", f"at most {max_calls} tool calls per turn")))
        else:
            results.append(ToolResult(call, registry.call(call.name, call.arguments)))
    return ToolTurn(results)


def run_openai_tool_calls(registry: Registry, tool_calls: Iterable[dict], max_calls: int = MAX_CALLS) -> ToolTurn:
    """The same for an OpenAI ``message.tool_calls`` list (``{"id", "function": {"name", "arguments"}}``)."""
    parsed: list[ParsedCall | ParseError] = []
    for index, entry in enumerate(tool_calls):
        if not isinstance(entry, dict):
            parsed.append(ParseError("a tool_calls entry must be an object", f"call_{index}", repr(entry)[:200]))
            continue
        try:
            call = _parse_one(json.dumps(entry.get("function", entry)), index)
        except (TypeError, ValueError) as exc:
            call = ParseError(f"the tool call cannot be read: {exc}", f"call_{index}")
        call.id = str(entry.get("id") or call.id)
        parsed.append(call)
    return run_tool_calls(registry, parsed, max_calls)
