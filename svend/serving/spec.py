"""The HTTP side of the server: LitServe's ``OpenAISpec`` with Svend's request checks and responses.

This runs in the API-server process; the model runs in LitServe's inference worker
(``svend.serving.api``). A request travels: JSON body → ``protocol.parse_chat_request`` (a bad one
is answered 400 here and never reaches the model) → LitServe's request queue → the worker's event
stream (``protocol.*_event``) → a ``chat.completion`` body, or SSE chunks as ``text/event-stream``.

What this changes from ``OpenAISpec`` (LitServe 0.2.19), and why:

- the body is read raw and validated by ``protocol``: OpenAI-style 400 errors naming the field,
  ``seed`` kept, tools without descriptions accepted;
- ``finish_reason`` comes from the model side (``tool_calls``, ``length``, ``content_filter``) —
  LitServe hard-codes ``"stop"``;
- every response carries the top-level ``svend`` object (safety decision, built-in tool calls);
- a worker-side error arriving before the first streamed byte is still a real HTTP status;
- ``GET /v1/models`` (and ``/v1/models/{id}``) list the one served model;
- the per-request response buffer is released when the response ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from typing import AsyncIterator

from fastapi import BackgroundTasks, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from litserve.callbacks.base import EventTypes
from litserve.specs.openai import OpenAISpec
from litserve.utils import LitAPIStatus, ResponseBufferItem

from svend.serving import protocol
from svend.serving.protocol import RequestError

log = logging.getLogger("svend.serving")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _error_response(error: RequestError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _worker_error(data) -> RequestError:
    """An error the inference worker raised, as a ``RequestError`` (details stay in the server log)."""
    if isinstance(data, HTTPException):
        return RequestError(str(data.detail), status=data.status_code,
                            type="invalid_request_error" if data.status_code < 500 else "server_error")
    return RequestError("the model failed on this request; the server log has the traceback", status=500,
                        type="server_error", code="internal_error")


def _from_event(event: dict) -> RequestError:
    e = event["error"]
    return RequestError(e["message"], e.get("param"), event["status"], e.get("type", "invalid_request_error"),
                        e.get("code"))


class SvendOpenAISpec(OpenAISpec):
    """``/v1/chat/completions`` and ``/v1/models`` for one served model called ``model_name``."""

    def __init__(self, model_name: str = "svend", max_tokens_limit: int | None = None):
        super().__init__()
        self.model_name = model_name
        self.max_tokens_limit = max_tokens_limit
        self.created = int(time.time())

    def pre_setup(self, lit_api) -> None:
        super().pre_setup(lit_api)  # POST/OPTIONS /v1/chat/completions; checks predict is a generator
        self.add_endpoint("/v1/models", self.list_models, ["GET"])
        self.add_endpoint("/v1/models/{model_id}", self.get_model, ["GET"])

    # --- worker side: the request is already validated; the LitAPI speaks protocol events itself
    def populate_context(self, context, request) -> None:
        context["request_id"] = id(request)

    def decode_request(self, request, context_kwargs=None):
        return request

    def encode_response(self, output, context_kwargs=None):
        yield from output

    # --- HTTP side
    async def list_models(self) -> JSONResponse:
        return JSONResponse(protocol.models_body(self.model_name, self.created))

    async def get_model(self, model_id: str) -> JSONResponse:
        if model_id != self.model_name:
            return _error_response(RequestError(f"model {model_id!r} is not served here; this server serves "
                                                f"{self.model_name!r}", "model", 404, code="model_not_found"))
        return JSONResponse(protocol.model_card(self.model_name, self.created))

    async def chat_completion(self, request: Request, background_tasks: BackgroundTasks):
        try:
            chat = protocol.parse_chat_request(protocol.parse_json(await request.body()), self.max_tokens_limit)
            if chat.model and chat.model not in (self.model_name, "svend"):
                raise RequestError(f"model: {chat.model!r} is not served here; this server serves {self.model_name!r} "
                                   "(alias 'svend')", "model", 404, code="model_not_found")
        except RequestError as error:
            return _error_response(error)

        self._server._callback_runner.trigger_event(
            EventTypes.ON_REQUEST.value, active_requests=self._server.active_requests, litserver=self._server)
        uid = uuid.uuid4()
        queue: deque = deque()
        event = asyncio.Event()
        self.response_buffer[uid] = ResponseBufferItem(response_queue=queue, event=event)
        self.request_queue.put((self.response_queue_id, uid, time.monotonic(), chat))
        events = self._events(uid, queue, event)

        if not chat.stream:
            try:
                async for item in events:
                    if item["type"] == "error":
                        return _error_response(_from_event(item))
                    if item["type"] == "final":
                        return JSONResponse(protocol.completion_body(item, self.model_name))
            except RequestError as error:
                return _error_response(error)
            return _error_response(RequestError("the model returned no answer", status=500, type="server_error"))

        # Wait for the first event so an early failure is still a real HTTP status, not a 200 stream.
        try:
            first = await events.__anext__()
        except RequestError as error:
            return _error_response(error)
        except StopAsyncIteration:
            return _error_response(RequestError("the model returned no answer", status=500, type="server_error"))
        if first["type"] == "error":
            return _error_response(_from_event(first))
        return StreamingResponse(self._sse(chat, first, events), media_type="text/event-stream",
                                 headers=SSE_HEADERS, background=background_tasks)

    async def _events(self, uid, queue: deque, event: asyncio.Event) -> AsyncIterator[dict]:
        """The worker's protocol events for one request; a worker exception raises ``RequestError``."""
        try:
            async for data, status in self.data_streamer(queue, event, send_status=True):
                if status == LitAPIStatus.ERROR:
                    log.error("inference worker failed on request %s: %r", uid, data)
                    raise _worker_error(data)
                item = protocol_json(data)
                if item:
                    yield item
        finally:
            self.response_buffer.pop(uid, None)

    async def _sse(self, chat, first: dict, events: AsyncIterator[dict]) -> AsyncIterator[str]:
        cid, created, model = protocol.completion_id(), protocol.now(), self.model_name
        yield protocol.sse(protocol.chunk_body(cid, created, model, {"role": "assistant", "content": ""}))

        async def all_events():
            yield first
            async for item in events:
                yield item

        try:
            async for item in all_events():
                kind = item["type"]
                if kind == "delta" and item["content"]:
                    yield protocol.sse(protocol.chunk_body(cid, created, model, {"content": item["content"]}))
                elif kind == "tool_call":
                    for delta in protocol.tool_call_deltas(item["index"], item["call"]):
                        yield protocol.sse(protocol.chunk_body(cid, created, model, delta))
                elif kind == "final":
                    yield protocol.sse(protocol.chunk_body(cid, created, model, {}, item["finish_reason"],
                                                           svend=item["svend"]))
                    if chat.include_usage:
                        yield protocol.sse(protocol.chunk_body(cid, created, model, None, usage=item["usage"]))
                elif kind == "error":
                    yield protocol.sse(_from_event(item).body())
                    return
        except RequestError as error:  # the worker failed mid-stream: OpenAI's in-stream error event
            yield protocol.sse(error.body())
            return
        yield protocol.sse("[DONE]")


def protocol_json(data) -> dict | None:
    """One worker message (a JSON line) as a dict; empty for the filler of a finished batch member."""
    if not data:
        return None
    item = json.loads(data)
    return item or None
