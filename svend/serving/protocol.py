"""The OpenAI chat-completions wire format: validate a request, build responses, chunks and errors.

Pure data, no server and no model: the HTTP side (``svend.serving.spec``) and the model side
(``svend.serving.api``) both speak through these functions, and the unit tests check them alone.

Why not LitServe's own request model: it drops ``seed``, rejects tools without a ``description`` and
``tool_choice="required"`` with FastAPI's 422 list, answers non-JSON with ``{"detail": …}``, and its
response model cannot say ``finish_reason: "tool_calls"`` nor carry Svend's ``svend`` object. Here a
bad request becomes OpenAI's error shape — HTTP 400, ``{"error": {"message", "type", "param",
"code"}}`` — whose message starts with the field at fault (``messages[2].tool_call_id: …``).

What a request may hold, and what happens to it:

- ``model``: the served name (``serve.model_name``, what ``/v1/models`` lists) or the alias ``svend``;
  another name is a 404 ``model_not_found`` (checked by the HTTP side). Empty is accepted.
- ``messages``: roles system/developer (read as system)/user/assistant/tool; content a string or text
  parts, never empty. Tool messages must answer a call of the assistant message before them, every
  call must be answered before the conversation goes on (OpenAI's rule), and the last message is the
  user's or a tool's (there must be something to answer).
- ``max_tokens`` / ``max_completion_tokens`` (> 0, at most the server's limit), ``temperature``
  (0–2; 0 is greedy), ``top_p`` (0–1], ``stop`` (up to 4 strings), ``seed``, ``stream`` and
  ``stream_options.include_usage`` are honoured; ``n`` must be 1.
- ``tools`` (functions) and ``tool_choice`` ``"auto"`` / ``"none"``; forcing a call (``"required"``
  or a named function) is refused, since generation cannot promise it.
- ``presence_penalty`` / ``frequency_penalty`` are range-checked and ignored; ``logprobs`` and
  non-text ``response_format`` are refused; other fields (``user``, ``metadata``, …) are ignored.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOP = 4
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RequestError(Exception):
    """A request the server cannot take: becomes an OpenAI error body with this HTTP status."""

    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 type: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.type = type
        self.code = code

    def body(self) -> dict:
        return error_body(self.message, self.param, self.type, self.code)


def error_body(message: str, param: str | None = None, type: str = "invalid_request_error",
               code: str | None = None) -> dict:
    """OpenAI's error shape; the ``openai`` client raises it as ``BadRequestError`` & co."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _fail(param: str, message: str) -> RequestError:
    return RequestError(f"{param}: {message}", param)


# ----------------------------------------------------------------------------- request models
# Strict where a wrong value would silently change the answer; ``extra="ignore"`` because clients add
# vendor fields. Unions (content, stop, tool_choice) are checked by hand: pydantic's union errors name
# every branch and hide the real mistake.


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _FunctionCall(_Model):
    name: str
    arguments: Any = "{}"


class _ToolCall(_Model):
    id: str
    type: Literal["function"] = "function"
    function: _FunctionCall


class _Message(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Any = None
    name: Optional[str] = None
    tool_calls: Optional[list[_ToolCall]] = None
    tool_call_id: Optional[str] = None


class _Function(_Model):
    name: str
    description: str = ""
    parameters: dict = Field(default_factory=lambda: {"type": "object", "properties": {}})


class _Tool(_Model):
    type: Literal["function"]
    function: _Function


class _StreamOptions(_Model):
    include_usage: bool = False


class _Body(_Model):
    model: str = ""
    messages: list[_Message]
    max_tokens: Optional[int] = Field(None, gt=0)
    max_completion_tokens: Optional[int] = Field(None, gt=0)
    temperature: Optional[float] = Field(None, ge=0, le=2)
    top_p: Optional[float] = Field(None, gt=0, le=1)
    n: Optional[int] = 1
    stop: Any = None
    seed: Optional[int] = None
    stream: Optional[bool] = False
    stream_options: Optional[_StreamOptions] = None
    tools: Optional[list[_Tool]] = None
    tool_choice: Any = None
    presence_penalty: Optional[float] = Field(None, ge=-2, le=2)
    frequency_penalty: Optional[float] = Field(None, ge=-2, le=2)
    logprobs: Optional[bool] = None
    response_format: Optional[dict] = None


def _loc(loc: tuple) -> str:
    """``("messages", 0, "role")`` → ``messages[0].role``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_message(exc: ValidationError) -> RequestError:
    err = exc.errors(include_url=False)[0]
    param = _loc(err["loc"]) or "body"
    message = err["msg"]
    if err["type"] not in ("missing",) and "input" in err and not isinstance(err["input"], (dict, list)):
        message += f" (got {json.dumps(err['input'], default=str)})"
    return _fail(param, message)


# ----------------------------------------------------------------------------- the parsed request


@dataclass
class ChatRequest:
    """A validated request: what the model side needs, nothing else (picklable, sent to workers)."""

    messages: list[dict]
    tools: list[dict] | None = None  # the client's functions, OpenAI ``tools`` entries; None = none
    tool_choice: str = "auto"  # "auto" | "none"
    max_tokens: int | None = None  # None: the engine's default
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False
    model: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _text(content: Any, param: str, required: bool) -> str | None:
    """Message content as one string: a string, or a list of ``{"type": "text"}`` parts."""
    if content is None:
        if required:
            raise _fail(param, "content is required for this role")
        return None
    if isinstance(content, str):
        if not content.strip() and required:
            raise _fail(param, "must not be empty")
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise _fail(f"{param}[{j}]", f"only text parts ({{'type': 'text', 'text': ...}}) are supported, "
                                             f"got {kind!r}")
            texts.append(part["text"])
        text = "\n".join(texts)
        if not text.strip() and required:
            raise _fail(param, "must not be empty")
        return text
    raise _fail(param, f"content must be a string or a list of text parts, got {type(content).__name__}")


def _arguments(arguments: Any, param: str) -> str:
    """Tool-call arguments as the JSON-object string OpenAI sends (a dict is accepted too)."""
    if isinstance(arguments, dict):
        return json.dumps(arguments, ensure_ascii=False)
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise _fail(param, f"is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise _fail(param, "must be a JSON object")
        return json.dumps(value, ensure_ascii=False)
    raise _fail(param, f"must be a JSON string, got {type(arguments).__name__}")


def _messages(raw: list[_Message]) -> list[dict]:
    if not raw:
        raise _fail("messages", "must hold at least one message")
    out: list[dict] = []
    pending: dict[str, str] = {}  # tool_call_id → name of calls still waiting for their tool message
    for i, m in enumerate(raw):
        param = f"messages[{i}]"
        if pending and m.role != "tool":
            raise _fail(param, f"the assistant message before it called tools ({', '.join(sorted(pending))}); "
                               f"answer each call with a role 'tool' message first")
        if m.role in ("system", "developer", "user"):
            out.append({"role": "system" if m.role == "developer" else m.role,
                        "content": _text(m.content, f"{param}.content", required=True)})
        elif m.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": _text(m.content, f"{param}.content",
                                                                             required=not m.tool_calls)}
            if m.tool_calls:
                calls = []
                for j, call in enumerate(m.tool_calls):
                    if call.id in pending:
                        raise _fail(f"{param}.tool_calls[{j}].id", f"{call.id!r} is used twice")
                    calls.append({"id": call.id, "type": "function", "function": {
                        "name": call.function.name,
                        "arguments": _arguments(call.function.arguments, f"{param}.tool_calls[{j}].function.arguments"),
                    }})
                    pending[call.id] = call.function.name
                message["tool_calls"] = calls
            out.append(message)
        else:  # tool
            if not m.tool_call_id:
                raise _fail(f"{param}.tool_call_id", "is required for a role 'tool' message")
            if m.tool_call_id not in pending:
                raise _fail(f"{param}.tool_call_id", f"{m.tool_call_id!r} answers no tool call of the assistant "
                                                     f"message before it; a tool message must follow a call")
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "name": pending.pop(m.tool_call_id),
                        "content": _text(m.content, f"{param}.content", required=True)})
    if pending:
        raise _fail(f"messages[{len(raw)}]", f"tool calls {', '.join(sorted(pending))} have no role 'tool' answer")
    if out[-1]["role"] in ("assistant", "system"):
        raise _fail(f"messages[{len(raw) - 1}]", f"the conversation ends with a {out[-1]['role']} message; "
                                                 f"the last message must be from the user (or a tool)")
    return out


def _stop(stop: Any) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _fail("stop", "must be a string or a list of strings")
    if len(stops) > MAX_STOP:
        raise _fail("stop", f"at most {MAX_STOP} sequences, got {len(stops)}")
    if any(not s for s in stops):
        raise _fail("stop", "a stop sequence cannot be empty")
    return list(stops)


def _tool_choice(choice: Any) -> str:
    if choice is None or choice == "auto":
        return "auto"
    if choice == "none":
        return "none"
    if choice == "required" or isinstance(choice, dict):
        raise _fail("tool_choice", "only 'auto' and 'none' are supported: Svend cannot force a tool call")
    raise _fail("tool_choice", f"must be 'auto' or 'none', got {json.dumps(choice, default=str)}")


def _tools(tools: list[_Tool] | None) -> list[dict] | None:
    if not tools:
        return None
    out, seen = [], set()
    for i, tool in enumerate(tools):
        name = tool.function.name
        if not _TOOL_NAME.match(name):
            raise _fail(f"tools[{i}].function.name", f"{name!r} must be 1-64 letters, digits, '_' or '-'")
        if name in seen:
            raise _fail(f"tools[{i}].function.name", f"{name!r} is defined twice")
        seen.add(name)
        out.append({"type": "function", "function": {"name": name, "description": tool.function.description,
                                                      "parameters": tool.function.parameters}})
    return out


def parse_chat_request(body: Any, max_tokens_limit: int | None = None) -> ChatRequest:
    """Validate a decoded JSON body; raises ``RequestError`` naming the first field at fault."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(body).__name__}", None)
    if "messages" not in body:
        raise _fail("messages", "is required")
    try:
        req = _Body.model_validate(body)
    except ValidationError as exc:
        raise _validation_message(exc) from None
    if req.n not in (None, 1):
        raise _fail("n", f"only n=1 is supported, got {req.n}")
    if req.logprobs:
        raise _fail("logprobs", "log-probabilities are not returned by this server")
    if req.response_format and req.response_format.get("type", "text") != "text":
        raise _fail("response_format", f"only type 'text' is supported, got {req.response_format.get('type')!r}")
    max_tokens = req.max_completion_tokens or req.max_tokens
    param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
    if max_tokens is not None and max_tokens_limit and max_tokens > max_tokens_limit:
        raise _fail(param, f"{max_tokens} is above this server's limit of {max_tokens_limit}")
    tool_choice = _tool_choice(req.tool_choice)
    return ChatRequest(
        messages=_messages(req.messages),
        tools=_tools(req.tools),
        tool_choice=tool_choice,
        max_tokens=max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        stop=_stop(req.stop),
        seed=req.seed,
        stream=bool(req.stream),
        include_usage=bool(req.stream_options and req.stream_options.include_usage),
        model=req.model,
    )


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or a ``RequestError`` that says where it broke."""
    if not raw.strip():
        raise RequestError("the request body is empty; send a JSON object with 'messages'", None)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"the request body is not valid JSON ({exc})", None) from None


# ----------------------------------------------------------------------------- model-side events
# The model side (LitAPI) sends one stream of small dicts per request; the HTTP side turns them into a
# completion or into SSE chunks. Visible text goes out as ``delta`` events only when streaming; the
# ``final`` event carries the whole answer, the finish reason, the usage and the ``svend`` object.


def delta_event(content: str) -> dict:
    return {"type": "delta", "content": content}


def tool_call_event(index: int, call: dict) -> dict:
    """A client-defined tool call (OpenAI ``tool_calls`` entry), streamed as it is decided."""
    return {"type": "tool_call", "index": index, "call": call}


def final_event(content: str | None, tool_calls: list[dict] | None, finish_reason: str, usage: dict,
                svend: dict) -> dict:
    return {"type": "final", "content": content, "tool_calls": tool_calls or None, "finish_reason": finish_reason,
            "usage": usage, "svend": svend}


def error_event(error: RequestError) -> dict:
    return {"type": "error", "status": error.status, "error": error.body()["error"]}


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def svend_object(safety: dict, tool_calls: list[dict] | None = None, **extra: Any) -> dict:
    """What Svend adds to every response: the safety decision and the built-in tool calls it ran."""
    return {"safety": safety, "tool_calls": tool_calls or [], **extra}


def openai_tool_call(call_id: str, name: str, arguments: Any) -> dict:
    """One ``message.tool_calls`` entry; ``arguments`` is a JSON string, as OpenAI sends it."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# ----------------------------------------------------------------------------- responses


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def completion_body(final: dict, model: str, id: str | None = None, created: int | None = None) -> dict:
    """A ``chat.completion`` object from the ``final`` event."""
    message: dict[str, Any] = {"role": "assistant", "content": final["content"]}
    if final.get("tool_calls"):
        message["tool_calls"] = final["tool_calls"]
    return {
        "id": id or completion_id(),
        "object": "chat.completion",
        "created": created or now(),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": final["finish_reason"]}],
        "usage": final["usage"],
        "svend": final["svend"],
    }


def chunk_body(id: str, created: int, model: str, delta: dict | None, finish_reason: str | None = None,
               usage: dict | None = None, svend: dict | None = None) -> dict:
    """A ``chat.completion.chunk``; ``delta=None`` makes the usage-only chunk (empty ``choices``)."""
    chunk: dict[str, Any] = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                             "system_fingerprint": None}
    chunk["choices"] = [] if delta is None else [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    if usage is not None:
        chunk["usage"] = usage
    if svend is not None:
        chunk["svend"] = svend
    return chunk


def sse(data: dict | str) -> str:
    """One server-sent event line pair (``data: …`` + blank line)."""
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def tool_call_deltas(index: int, call: dict) -> list[dict]:
    """A tool call as the two deltas OpenAI streams: id + name first, then the arguments."""
    function = call["function"]
    return [
        {"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                         "function": {"name": function["name"], "arguments": ""}}]},
        {"tool_calls": [{"index": index, "function": {"arguments": function["arguments"]}}]},
    ]


def models_body(model_name: str, created: int) -> dict:
    return {"object": "list", "data": [model_card(model_name, created)]}


def model_card(model_name: str, created: int) -> dict:
    return {"id": model_name, "object": "model", "created": created, "owned_by": "svend"}
