"""The model side of the server: a LitServe ``LitAPI`` that answers validated chat requests with the
engine's tool loop, behind the safety gate.

It runs in LitServe's inference worker, a process of its own: ``setup`` rebuilds the model, the tool
registry, the engine and the gate from the resolved config (``svend.serving.server``); ``predict``
turns requests into the protocol events ``svend.serving.spec`` makes responses of
(``svend.serving.protocol``). For each request:

1. tools the model sees: the client's ``tools`` (unless ``tool_choice: "none"``) and, with
   ``serve.builtin_tools``, ``registry.tools_for(question)``. A client tool may not reuse a built-in
   name (the engine would run the built-in, not return the call) — that is a 400.
2. input check: a refused request is answered with the gate's short refusal (HTTP 200, ``svend.safety``
   says why), and the model never sees it.
3. generation: built-in calls run inside the engine's loop (code for the sandbox passes
   ``gate.check_code`` first: ``Registry.screen_with``); a call of a client tool ends it with
   ``finish_reason: "tool_calls"`` and the calls go back to the client.
4. output check (``svend.serving.guard``): a refusal replaces the answer, PII is redacted; streamed
   text is released only after it passed.

Batching: with ``max_batch_size > 1`` LitServe hands ``predict`` a list of requests. Requests that share
sampling settings (max_tokens, temperature, top_p) go through one ``engine.generate`` call — padded,
with rows leaving and joining the batch (``svend.inference.kv``); greedy decoding gives the same text
as one at a time. A seeded sampled request runs on its own so that its seed reproduces it. A streamed
request in a batch of several gets its answer when the batch is done (in one delta); alone, it streams
token by token. Per-request sampling settings are applied to a shallow copy of the engine (they are
plain attributes of ``Engine``), so requests never change each other's settings.
"""

from __future__ import annotations

import copy
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Iterator

import litserve as ls

from svend.serving import protocol
from svend.serving.guard import StreamGuard, answer_text, input_text, safety_report
from svend.serving.protocol import ChatRequest, RequestError
from svend.chat_format import format_for

log = logging.getLogger("svend.serving")
FINISH = {"stop": "stop", "length": "length", "max_rounds": "length", "tool_calls": "tool_calls"}


@dataclass
class Job:
    """One accepted request on its way through the engine."""

    chat: ChatRequest
    messages: list[dict]
    tools: list[dict]
    client_tools: set[str]
    prompt_tokens: int
    input_decision: Any = None
    events: list[dict] = field(default_factory=list)


class SvendAPI(ls.LitAPI):
    def __init__(self, config: dict, dtype: str = "float32", builtin_tools: bool = True, stream_check_chars: int = 48,
                 stream_holdback_chars: int = 64, **litapi: Any):
        super().__init__(**litapi)
        self.config = config
        self.dtype = dtype
        self.builtin_tools = builtin_tools
        self.stream_check_chars = stream_check_chars
        self.stream_holdback_chars = stream_holdback_chars

    # ------------------------------------------------------------------------------------------------
    # setup (in the inference worker)
    # ------------------------------------------------------------------------------------------------

    def setup(self, device: str) -> None:
        from hydra.utils import instantiate
        from omegaconf import OmegaConf

        import svend.config  # noqa: F401  (the resolvers the groups may use)
        from svend.inference.loading import load_for_inference

        cfg = OmegaConf.create(self.config)
        model, tokenizer, self.description = load_for_inference(
            checkpoint=cfg.get("checkpoint"), model_cfg=cfg.get("model"), dtype=self.dtype)
        if str(device) != "cpu":
            model.to(device)
        model.eval()
        self.tokenizer = tokenizer
        # Positions the model was trained for; a longer prompt is refused (400) before any decoding.
        self.context = getattr(getattr(model, "config", None), "max_position_embeddings", None)
        self.registry = instantiate(cfg.tools) if self.builtin_tools and cfg.get("tools") is not None else None
        self.engine = instantiate(cfg.engine)(model=model, tokenizer=tokenizer, registry=self.registry)
        self.engine.progress = False  # no progress bars in a server log
        self.gate = instantiate(cfg.safety) if cfg.get("safety") is not None else None
        if self.registry is not None:
            self.registry.screen_with(self.gate)  # code the model sends to the sandbox passes the gate first
        log.info("model ready on %s (%s): %s", device, self.dtype, self.description)

    # ------------------------------------------------------------------------------------------------
    # LitServe hooks
    # ------------------------------------------------------------------------------------------------

    def decode_request(self, request: ChatRequest, **kwargs) -> ChatRequest:
        return request

    def predict(self, x, **kwargs) -> Iterator:
        if isinstance(x, list):
            yield from self._predict_batch(x)
        else:
            yield from self._predict_one(x)

    def encode_response(self, output, **kwargs) -> Iterator:
        yield from output

    # ------------------------------------------------------------------------------------------------
    # one request, streamed (also non-streamed requests that arrive alone: stop sequences end them early)
    # ------------------------------------------------------------------------------------------------

    def _predict_one(self, chat: ChatRequest) -> Iterator[dict]:
        job = self._prepare(chat)
        yield from (job if isinstance(job, list) else self._run(job))

    def _run(self, job: Job) -> Iterator[dict]:
        try:
            yield from self._generate_one(job)
        except ValueError as exc:  # the engine's own checks of a conversation
            yield protocol.error_event(RequestError(str(exc), "messages"))

    def _generate_one(self, job: Job) -> Iterator[dict]:
        chat = job.chat
        check = self.stream_check_chars if chat.stream else 10**9  # not streamed: one check at the end
        guard = StreamGuard(self.gate, chat.stop, check, self.stream_holdback_chars)
        engine = self._engine(chat)
        events = engine.stream(job.messages, job.tools)
        generation, parts = None, []
        try:
            for event in events:
                if event.type == "text":
                    delta = guard.feed(event.round, event.text)
                    if delta:
                        parts.append(delta)
                        if chat.stream:
                            yield protocol.delta_event(delta)
                    if guard.done:
                        break
                elif event.type == "done":
                    generation = event.generation
        finally:
            events.close()  # a stop sequence or a refusal ends generation here
        if generation is not None:
            tail = guard.finish(answer_text(generation.messages))
            reason, new_tokens = generation.finish_reason, generation.new_tokens
        else:
            tail = ""
            reason = "stop"
            raw = "".join(guard.rounds.values())
            new_tokens = len(self.tokenizer(raw, add_special_tokens=False)["input_ids"])
        if tail:
            parts.append(tail)
            if chat.stream:
                yield protocol.delta_event(tail)
        calls = self._client_calls(job, generation) if guard.finish_reason is None else []
        if chat.stream:
            for i, call in enumerate(calls):
                yield protocol.tool_call_event(i, call)
        content = "".join(parts)
        yield self._final(job, content if content or not calls else None, calls,
                          guard.finish_reason or reason, new_tokens, generation, guard.decision, batch=1)

    # ------------------------------------------------------------------------------------------------
    # a batch of requests
    # ------------------------------------------------------------------------------------------------

    def _predict_batch(self, chats: list[ChatRequest]) -> Iterator[list[dict]]:
        n = len(chats)
        jobs = [self._prepare(chat) for chat in chats]
        ready = [job for job in jobs if isinstance(job, list)]
        for step in range(max(map(len, ready), default=0)):  # errors and input refusals answer at once
            yield [job[step] if isinstance(job, list) and step < len(job) else {} for job in jobs]
        live = [i for i, job in enumerate(jobs) if isinstance(job, Job)]
        if len(live) == 1:  # alone after all: stream it token by token
            (i,) = live
            for event in self._run(jobs[i]):
                yield [event if k == i else {} for k in range(n)]
            return
        groups: dict[tuple, list[int]] = {}
        for i in live:
            groups.setdefault(self._group_key(jobs[i].chat, i), []).append(i)
        for members in groups.values():
            try:
                self._generate_group([jobs[i] for i in members])
            except ValueError as exc:
                for i in members:
                    jobs[i].events = [protocol.error_event(RequestError(str(exc), "messages"))]
            except Exception:
                log.exception("generation failed for a batch of %d requests", len(members))
                for i in members:
                    jobs[i].events = [protocol.error_event(RequestError(
                        "the model failed on this request; the server log has the traceback", status=500,
                        type="server_error", code="internal_error"))]
            steps = max(len(jobs[i].events) for i in members)
            for step in range(steps):
                yield [jobs[k].events[step] if k in members and step < len(jobs[k].events) else {} for k in range(n)]

    def _group_key(self, chat: ChatRequest, index: int) -> tuple:
        temperature = self.engine.temperature if chat.temperature is None else chat.temperature
        seeded = temperature > 0 and chat.seed is not None
        return (chat.max_tokens, temperature, chat.top_p, index if seeded else None)

    def _generate_group(self, jobs: list[Job]) -> None:
        engine = self._engine(jobs[0].chat)
        generations = engine.generate([j.messages for j in jobs], [j.tools for j in jobs])
        for job, generation in zip(jobs, generations):
            guard = StreamGuard(self.gate, job.chat.stop, 10**9, 0)
            content = guard.finish(answer_text(generation.messages))
            calls = self._client_calls(job, generation) if guard.finish_reason is None else []
            events = []
            if job.chat.stream:
                events += [protocol.delta_event(content)] if content else []
                events += [protocol.tool_call_event(i, call) for i, call in enumerate(calls)]
            events.append(self._final(job, content if content or not calls else None, calls,
                                      guard.finish_reason or generation.finish_reason, generation.new_tokens,
                                      generation, guard.decision, batch=len(jobs)))
            job.events = events

    # ------------------------------------------------------------------------------------------------
    # shared steps
    # ------------------------------------------------------------------------------------------------

    def _prepare(self, chat: ChatRequest) -> Job | list[dict]:
        """Tools, the input check and the prompt size; or the events of an error or a refusal."""
        client = list(chat.tools or []) if chat.tool_choice != "none" else []
        names = {t["function"]["name"] for t in client}
        if self.registry is not None:
            clash = sorted(n for n in names if n in self.registry)
            if clash:
                index = next(i for i, t in enumerate(chat.tools) if t["function"]["name"] == clash[0])
                return [protocol.error_event(RequestError(
                    f"tools[{index}].function.name: {clash[0]!r} is a built-in tool of this server; rename the "
                    f"client tool (or start the server with serve.builtin_tools=false)", f"tools[{index}].function.name"))]
        shown = list(client)
        if self.registry is not None and chat.tool_choice != "none" and self.engine.max_tools > 0:
            question = next((m["content"] for m in reversed(chat.messages) if m["role"] == "user"), "")
            shown += [t for t in self.registry.tools_for(question, max_tools=self.engine.max_tools)
                      if t["function"]["name"] not in names]
        segments = format_for(self.tokenizer).segments(chat.messages, shown, add_generation_prompt=True)
        prompt_tokens = sum(len(ids) for ids in self.tokenizer([s.text for s in segments],
                                                               add_special_tokens=False)["input_ids"])
        if self.context and prompt_tokens >= self.context:
            return [protocol.error_event(RequestError(
                f"messages: the prompt is {prompt_tokens} tokens (tool specs included) and this model's context is "
                f"{self.context}; shorten the conversation", "messages", code="context_length_exceeded"))]
        job = Job(chat, chat.messages, shown, names, prompt_tokens)
        if self.gate is not None:
            decision = self.gate.check_input(input_text(chat.messages))
            job.input_decision = decision
            if decision.action == "refuse":
                svend = protocol.svend_object(safety_report(decision, "input"))
                final = protocol.final_event(decision.refusal, None, "stop", protocol.usage(prompt_tokens, 0), svend)
                return [protocol.delta_event(decision.refusal), final] if chat.stream else [final]
        return job

    def _engine(self, chat: ChatRequest):
        """The engine with this request's sampling settings (a shallow copy: the model is shared)."""
        engine = copy.copy(self.engine)
        if chat.max_tokens is not None:
            engine.max_new_tokens = chat.max_tokens
        if chat.temperature is not None:
            engine.temperature = chat.temperature
        if chat.top_p is not None:
            engine.top_p = chat.top_p
        if engine.temperature == 0:
            engine.best_of = 1
        else:
            engine.seed = chat.seed if chat.seed is not None else random.getrandbits(31)
        return engine

    def _client_calls(self, job: Job, generation) -> list[dict]:
        """The client-tool calls of a generation that stopped for them, as OpenAI ``tool_calls``."""
        if generation is None or generation.finish_reason != "tool_calls":
            return []
        last = next((m for m in reversed(generation.messages) if m["role"] == "assistant"), {})
        return [protocol.openai_tool_call(c["id"], c["function"]["name"], c["function"]["arguments"])
                for c in last.get("tool_calls") or [] if c["function"]["name"] in job.client_tools]

    def _final(self, job: Job, content: str | None, calls: list[dict], reason: str, new_tokens: int,
               generation, output_decision, batch: int) -> dict:
        """The ``final`` event; ``svend`` also says how many requests were generated together (``batch``)
        and the engine's own finish reason (``max_rounds`` is ``length`` for OpenAI clients)."""
        ran = []
        if generation is not None:
            unrun = generation.rounds if generation.finish_reason == "tool_calls" else None
            ran = [{"id": r.id, "name": r.name, "arguments": r.arguments, "result": r.result, "ok": r.ok,
                    "round": r.round} for r in generation.tool_calls if r.round != unrun]
        # The output's verdict when it changed something, else the input's (allow, with its scores).
        blocked = output_decision is not None and output_decision.action != "allow"
        decision, stage = (output_decision, "output") if blocked else (job.input_decision or output_decision, "input")
        engine_reason = generation.finish_reason if generation is not None else reason
        svend = protocol.svend_object(safety_report(decision, stage), ran, finish_reason=engine_reason, batch=batch)
        return protocol.final_event(content, calls, FINISH.get(reason, reason),
                                    protocol.usage(job.prompt_tokens, new_tokens), svend)

