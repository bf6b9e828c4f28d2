"""Generation with the tool loop: the model writes a tool call, the registry runs it, the tool turn is
appended, and the model goes on — for a whole batch of conversations at once.

    engine = Engine(model, tokenizer, registry, max_rounds=4, max_new_tokens=256)
    gen = engine.chat([{"role": "user", "content": "What is 17 * 23?"}])
    gen.final, gen.tool_calls[0].result, gen.finish_reason        # '17 * 23 = 391. Answer: 391', {...}, 'stop'
    engine.generate(conversations, tools=None)                   # batched; list[Generation]
    for event in engine.stream(messages): ...                    # text deltas, tool calls/results, done

Config: ``conf/engine/default.yaml`` (``instantiate(cfg.engine)(model=…, tokenizer=…, registry=…)``).

One round is one assistant turn. A row's round ends at the end-of-turn token (``<|im_end|>`` in
Svend's ChatML, the base template's own with ``svend.chat_format``'s ``template``), at
``</tool_call>`` (the special token, or the tag written as plain text pieces — base models do that),
at EOS or at the token budget. If the turn holds tool calls they are parsed and run by
``svend.tools.orchestrator.run_tool_calls`` (a malformed call becomes an error result the model sees,
as in training), the tool turns are rendered exactly as training renders them (the tokenizer's
`svend.chat_format`), and the row continues from its own KV cache with only those tokens to encode.
Finish reasons:

- ``stop``: the model ended a turn without calling a tool;
- ``length``: ``max_new_tokens`` (counted over all rounds) ran out; calls in a cut turn are not run;
- ``max_rounds``: the ``max_rounds``-th turn called tools; they were run and their tool turns are in
  ``messages``, so ``generate(conversation + messages)`` picks up where this stopped;
- ``tool_calls``: the turn called a tool the caller defined (shown to the model, not in the registry).
  None of that turn's calls is run: they go back to the caller (the OpenAI server flow).

Tools shown: ``tools[i]`` as given (``[]``: none), or when it is None
``registry.tools_for(last user message, max_tools)`` — the rule the training data is built with.

Batching. Prompts are rendered and tokenized segment by segment, exactly like the training data
(``svend.data.packing.encode_records``). Rows decode together (``svend.inference.kv``): a finished row
leaves the batch at once, a waiting one joins it (continuous batching, ordered by shared prefix then
length), a row that called a tool leaves with its cache and rejoins after the tool ran. Prefixes that
several rows share — the system turn with its tools block, the whole prompt of the N best-of-N
candidates — are encoded once. Greedy decoding gives the same text batched or one at a time
(tested). With ``greedy_candidate`` the first of the N candidates decodes greedily and the others
sample, so the scorer can keep the greedy answer (ties go to it) or replace it with a sample it
rates higher: best-of-N is then an edit of greedy decoding rather than a vote among samples only.

Measured against ``model.generate`` on the same prompts in one run (``python -m svend.benchmarks.engine
--threads 1 --repeats 2``, SmolLM2-135M, greedy, 64 new tokens, a 2-core CPU shared with other jobs;
tokens/s ratio engine / generate, same text from both): one conversation at a time 1.42; 16
conversations in batches of 8 1.09; the same with the registry's tools shown (~700-token prompts)
2.48 — most of a tool prompt is a system turn other rows share, and rows are encoded in groups of
similar length instead of all padded to the longest.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping, Sequence

import torch

from svend.data.schema import validate_record
from svend.inference.kv import KVBatch, RowCache, Runner, pick
from svend.inference.scorers import best_index, resolve_scorer
from svend.chat_format import format_for
from svend.tokens import IM_START, TOOL_CALL_END, with_tools
# _BLOCK: the orchestrator's own tool-call block pattern, so "a block" means the same thing in both places
from svend.tools.orchestrator import _BLOCK, ParsedCall, ParseError, parse_tool_calls, run_tool_calls
from svend.tools.registry import Registry

FINISH_REASONS = ("stop", "length", "max_rounds", "tool_calls")
_TAIL = 16  # tokens decoded to spot a "</tool_call>" written as plain text pieces


@dataclass
class ToolCallRecord:
    """One tool call the model made: what it asked, what came back, in which round."""

    name: str | None
    arguments: dict | None
    result: dict
    ok: bool
    round: int
    id: str


@dataclass
class Generation:
    """What the model made of one conversation (module docstring for the finish reasons)."""

    messages: list[dict]
    """The new turns only, OpenAI shape: assistant ``{"role", "content", "tool_calls"?}`` and tool
    ``{"role": "tool", "tool_call_id", "name", "content"}``."""
    text: str
    """Everything the model generated, raw (``<tool_call>`` blocks included), rounds joined by the
    rendered tool turns — the prompt plus this text is what the model saw."""
    final: str
    """The last assistant turn without its tool-call blocks: what a user sees."""
    tool_calls: list[ToolCallRecord]
    finish_reason: str
    rounds: int
    new_tokens: int
    score: float | None = None
    candidates: list["Generation"] = field(default_factory=list)
    """Best-of-N: all N candidates (the chosen one included), each with its score."""


@dataclass
class StreamEvent:
    """One event of `Engine.stream`. ``type``: ``text`` (``text`` holds the new characters of the
    model's raw output), ``tool_call`` (a parsed call, before it runs; ``call.result`` is empty),
    ``tool_result`` (the same call with its result), ``done`` (``generation`` holds the whole result)."""

    type: str
    text: str = ""
    round: int = 0
    call: ToolCallRecord | None = None
    generation: Generation | None = None


@dataclass(eq=False)
class _Row:
    """One candidate of one conversation while it is being generated."""

    conv: int
    prompt: list[int]
    shown: frozenset[str]
    next_call: int
    chain: list[tuple[int, ...]] = field(default_factory=list)
    cache: RowCache | None = None
    pending: list[int] = field(default_factory=list)
    round: int = 1
    tokens: list[int] = field(default_factory=list)
    emitted: int = 0
    text: list[str] = field(default_factory=list)
    last_raw: str = ""
    messages: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # the conversation, tools shown, before this row's turns
    records: list[ToolCallRecord] = field(default_factory=list)
    new_tokens: int = 0
    finish: str | None = None
    greedy: bool = False  # best-of-N with greedy_candidate: this row decodes greedily among sampled ones


def _tool_name(spec: Any, where: str) -> str:
    function = spec.get("function", spec) if isinstance(spec, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: a tool spec needs function.name (a string), got {spec!r:.120}")
    return name


def _openai_call(call: ParsedCall) -> dict:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}


def _record(call: ParsedCall | ParseError, result: dict, round_: int) -> ToolCallRecord:
    parsed = isinstance(call, ParsedCall)
    return ToolCallRecord(call.name, call.arguments if parsed else None, result, "error" not in result, round_, call.id)


class Engine:
    """Tool-loop generation for one model (module docstring). Every knob is in conf/engine/default.yaml."""

    def __init__(self, model, tokenizer, registry=None, *, max_rounds: int = 4, max_new_tokens: int = 256,
                 temperature: float = 0.0, top_p: float = 1.0, best_of: int = 1, scorer: Any = "majority",
                 greedy_candidate: bool = False, batch_size: int = 16, max_tools: int = 4, seed: int = 0,
                 progress: bool = True):
        values = {"max_rounds": max_rounds, "max_new_tokens": max_new_tokens, "temperature": temperature,
                  "top_p": top_p, "best_of": best_of, "batch_size": batch_size, "max_tools": max_tools}
        checks = {"max_rounds": max_rounds >= 1, "max_new_tokens": max_new_tokens >= 1, "temperature": temperature >= 0,
                  "top_p": 0 < top_p <= 1, "best_of": best_of >= 1, "batch_size": batch_size >= 1,
                  "max_tools": max_tools >= 0}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError("engine: " + ", ".join(f"{n}={values[n]!r}" for n in bad) +
                             " out of range (max_rounds, max_new_tokens, best_of, batch_size >= 1; temperature >= 0; "
                             "0 < top_p <= 1; max_tools >= 0)")
        if best_of > 1 and temperature == 0:
            raise ValueError(f"engine: best_of={best_of} with temperature=0 gives {best_of} identical candidates; "
                             "set temperature > 0 (e.g. 0.7) or best_of=1")
        self.model, self.tokenizer = model, tokenizer
        self.registry = registry
        self.max_rounds, self.max_new_tokens = int(max_rounds), int(max_new_tokens)
        self.temperature, self.top_p = float(temperature), float(top_p)
        self.best_of, self.batch_size, self.max_tools = int(best_of), int(batch_size), int(max_tools)
        self.greedy_candidate = bool(greedy_candidate) and self.best_of > 1
        self.seed, self.progress = int(seed), bool(progress)
        self.scorer = resolve_scorer(scorer)
        self._runner = Runner(model)
        self._tools = registry if registry is not None else Registry([], isolation="none")
        self._setup_tokens()

    # ------------------------------------------------------------------------------------------------
    # Public interface
    # ------------------------------------------------------------------------------------------------

    def generate(self, conversations: Sequence[Sequence[dict]],
                 tools: Sequence[list[dict] | None] | None = None) -> list[Generation]:
        """One `Generation` per conversation, in order; best-of-N picks by ``scorer``."""
        conversations = self._check(conversations, tools)
        if not conversations:
            return []
        rows = self._rows(conversations, tools, self.best_of)
        done: list[_Row] = []
        for _ in self._run(rows, emit=False, done=done):
            pass
        by_conv: list[list[Generation]] = [[] for _ in conversations]
        for row in rows:  # candidates in the order they were created
            by_conv[row.conv].append(self._generation(row))
        return [self._choose(conv, gens) for conv, gens in zip(conversations, by_conv)]

    def chat(self, messages: Sequence[dict], tools: list[dict] | None = None) -> Generation:
        """`generate` for one conversation."""
        return self.generate([messages], None if tools is None else [tools])[0]

    def stream(self, messages: Sequence[dict], tools: list[dict] | None = None) -> Iterator[StreamEvent]:
        """One conversation, one candidate (best-of-N does not stream): `StreamEvent` s as they happen,
        the last one ``done`` with the `Generation`."""
        conversations = self._check([messages], None if tools is None else [tools])
        rows = self._rows(conversations, None if tools is None else [tools], 1)
        done: list[_Row] = []
        yield from self._run(rows, emit=True, done=done)
        yield StreamEvent("done", round=done[0].round, generation=self._generation(done[0]))

    # ------------------------------------------------------------------------------------------------
    # Setup and input
    # ------------------------------------------------------------------------------------------------

    def _setup_tokens(self) -> None:
        tok = self.tokenizer
        self._format = format_for(tok)  # Svend's ChatML or the base's chat template (svend.chat_format)
        ids = {}
        for name in (self._format.end_of_turn, IM_START, TOOL_CALL_END):
            piece = tok.convert_tokens_to_ids(name)
            if piece is None or piece == tok.unk_token_id:
                raise ValueError(f"engine: the tokenizer has no single token {name!r}; load it with "
                                 "svend.models.pretrained.load_tokenizer (it adds Svend's special tokens)")
            ids[name] = piece
        self._end, self._call_end = ids[self._format.end_of_turn], ids[TOOL_CALL_END]
        eos = {ids[IM_START]}
        for source in (tok.eos_token_id, getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)):
            if isinstance(source, int):
                eos.add(source)
            elif isinstance(source, (list, tuple)):
                eos.update(int(i) for i in source)
        eos.discard(self._end)
        self._eos = frozenset(eos)
        self._pad = tok.pad_token_id if tok.pad_token_id is not None else self._end
        pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
        self._gt = frozenset(i for i, p in enumerate(pieces) if p and ">" in p)

    def _check(self, conversations, tools) -> list[list[dict]]:
        if isinstance(conversations, (str, Mapping)) or not isinstance(conversations, Sequence):
            raise ValueError("generate: conversations must be a list of conversations (each a list of messages)")
        out = []
        for i, conv in enumerate(conversations):
            if isinstance(conv, (str, Mapping)) or not isinstance(conv, Sequence) or not conv:
                raise ValueError(f"conversations[{i}] must be a non-empty list of messages")
            try:  # the training-data schema; the probe turn only satisfies its "has an assistant turn" rule
                validate_record({"messages": [*conv, {"role": "assistant", "content": "probe"}]})
            except ValueError as exc:
                raise ValueError(f"conversations[{i}]: {exc}") from None
            if conv[-1]["role"] == "assistant":
                raise ValueError(f"conversations[{i}] ends with an assistant turn; there is nothing to answer")
            out.append([dict(m) for m in conv])
        if tools is not None:
            if isinstance(tools, Mapping) or not isinstance(tools, Sequence) or len(tools) != len(out):
                raise ValueError(f"tools must be a list with one entry (a tool list or None) per conversation; "
                                 f"got {type(tools).__name__} for {len(out)} conversations")
            for i, specs in enumerate(tools):
                if specs is None:
                    continue
                if isinstance(specs, Mapping) or not isinstance(specs, Sequence):
                    raise ValueError(f"tools[{i}] must be a list of OpenAI tool specs or None")
                for j, spec in enumerate(specs):
                    _tool_name(spec, f"tools[{i}][{j}]")
        return out

    def _shown(self, conv: list[dict], specs: list[dict] | None) -> list[dict]:
        if specs is not None:
            return list(specs)
        if self.registry is None or self.max_tools == 0:
            return []
        question = next((m.get("content") or "" for m in reversed(conv) if m["role"] == "user"), "")
        return self.registry.tools_for(question, max_tools=self.max_tools)

    def _rows(self, conversations: list[list[dict]], tools, copies: int) -> list[_Row]:
        """Tokenized prompts (segment by segment, like training) and the prefixes rows share."""
        shown = [self._shown(conv, None if tools is None else tools[i]) for i, conv in enumerate(conversations)]
        rendered = [self._format.segments(conv, specs, add_generation_prompt=True) for conv, specs in zip(conversations, shown)]
        flat = [s.text for segments in rendered for s in segments]
        pieces = iter(self.tokenizer(flat, add_special_tokens=False)["input_ids"])
        rows = []
        for conv_index, (conv, segments, specs) in enumerate(zip(conversations, rendered, shown)):
            prompt = [t for _ in segments for t in next(pieces)]
            calls_so_far = sum(len(m.get("tool_calls") or []) for m in conv) + sum(m["role"] == "tool" for m in conv)
            names = frozenset(_tool_name(s, "tools") for s in specs)
            history = with_tools(conv, specs)
            rows.extend(_Row(conv_index, prompt, names, calls_so_far, pending=list(prompt), history=history,
                             greedy=self.greedy_candidate and k == 0) for k in range(copies))
        _share_prefixes(rows)
        return rows

    # ------------------------------------------------------------------------------------------------
    # The loop
    # ------------------------------------------------------------------------------------------------

    def _run(self, rows: list[_Row], emit: bool, done: list[_Row]) -> Iterator[StreamEvent]:
        """Decode all rows to the end (module docstring); finished rows are appended to ``done``."""
        from tqdm.auto import tqdm

        was_training = self.model.training
        self.model.eval()
        prefixes = _SharedPrefixes(self._runner, self._pad, [r.chain for r in rows])
        queue = deque(sorted(rows, key=lambda r: r.prompt))  # rows sharing a prefix join together
        generator = torch.Generator(device=self._runner.device).manual_seed(self.seed)
        admit_at = max(1, self.batch_size // 4)
        batch: KVBatch | None = None
        active: list[_Row] = []
        bar = tqdm(total=len(rows), desc="generate", unit="gen", disable=not self.progress or len(rows) < 2,
                   dynamic_ncols=True)
        start, produced = time.perf_counter(), 0
        try:
            while queue or active:
                free = self.batch_size - len(active)
                if queue and free > 0 and (not active or free >= min(len(queue), admit_at)):
                    joining = [queue.popleft() for _ in range(min(free, len(queue)))]
                    with torch.inference_mode():
                        for row in joining:
                            if row.chain and row.round == 1 and row.cache is None:
                                row.cache = prefixes.take(row.chain)
                                row.pending = row.prompt[len(row.chain[-1]):]
                        fresh, order = KVBatch.prefill(self._runner, [(r.cache, r.pending) for r in joining], self._pad)
                        joining = [joining[k] for k in order]
                        if batch is None:
                            batch = fresh
                        else:
                            batch.merge(fresh)
                    for row in joining:
                        row.cache, row.pending = None, []
                    active.extend(joining)
                with torch.inference_mode():
                    tokens = pick(batch.logits, self.temperature, self.top_p, generator)
                    if self.greedy_candidate:
                        greedy = torch.tensor([r.greedy for r in active], device=tokens.device)
                        tokens = torch.where(greedy, batch.logits.argmax(-1), tokens)
                keep, leaving = [], []
                for i, (row, tok) in enumerate(zip(active, tokens.tolist())):
                    stop = self._observe(row, tok)
                    produced += 1
                    if emit:
                        delta = self._delta(row)
                        if delta:
                            yield StreamEvent("text", text=delta, round=row.round)
                    (leaving if stop else keep).append((i, stop, tok))
                for i, stop, tok in leaving:
                    row = active[i]
                    events = []
                    if self._close_round(row, stop, tok, events):
                        with torch.inference_mode():
                            row.cache = batch.take(i)
                        queue.appendleft(row)
                    else:
                        done.append(row)
                        bar.update(1)
                    if emit:
                        yield from events
                if leaving:
                    bar.set_postfix_str(f"{produced / (time.perf_counter() - start):.1f} tok/s", refresh=False)
                    with torch.inference_mode():
                        if keep:
                            batch.select([i for i, _, _ in keep])
                        else:
                            batch = None
                    active = [active[i] for i, _, _ in keep]
                if keep:
                    with torch.inference_mode():
                        batch.step(tokens[[i for i, _, _ in keep]] if leaving else tokens)
        finally:
            bar.close()
            self.model.train(was_training)

    def _observe(self, row: _Row, tok: int) -> str | None:
        """Record one sampled token; the reason the round ends, or None."""
        row.new_tokens += 1
        if tok == self._end:
            return "end"
        if tok in self._eos:
            return "eos"
        row.tokens.append(tok)
        if tok == self._call_end:
            return "call"
        if tok in self._gt and self._decode(row.tokens[-_TAIL:]).rstrip().endswith(TOOL_CALL_END):
            return "call"  # the tag written as plain text pieces
        if row.new_tokens >= self.max_new_tokens:
            return "length"
        return None

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _delta(self, row: _Row) -> str:
        text = self._decode(row.tokens)
        if text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
            return ""
        delta, row.emitted = text[row.emitted:], len(text)
        return delta

    def _close_round(self, row: _Row, stop: str, tok: int, events: list[StreamEvent]) -> bool:
        """End the row's current turn: record it, run its tool calls; True if the row goes on."""
        raw = self._decode(row.tokens)
        if row.emitted < len(raw):
            events.append(StreamEvent("text", text=raw[row.emitted:], round=row.round))
        row.tokens, row.emitted, row.last_raw = [], 0, raw
        row.text.append(raw)
        calls = parse_tool_calls(raw) if stop != "length" else []
        if not calls:
            row.messages.append({"role": "assistant", "content": raw.strip()})
            row.finish = "length" if stop == "length" else "stop"
            return False
        for call in calls:
            call.id, row.next_call = f"call_{row.next_call}", row.next_call + 1
        # Parsed calls move to tool_calls; a malformed block stays in the content, as the model wrote it.
        spans = [m.span() for m, call in zip(_BLOCK.finditer(raw), calls) if isinstance(call, ParsedCall)]
        content = raw
        for begin, end in reversed(spans):
            content = content[:begin] + content[end:]
        message: dict[str, Any] = {"role": "assistant", "content": content.strip() or None}
        parsed = [c for c in calls if isinstance(c, ParsedCall)]
        if parsed:
            message["tool_calls"] = [_openai_call(c) for c in parsed]
        row.messages.append(message)
        for call in calls:
            result = call.result if isinstance(call, ParseError) else {}
            events.append(StreamEvent("tool_call", round=row.round, call=_record(call, result, row.round)))
        if any(c.name not in self._tools and c.name in row.shown for c in parsed):
            row.records.extend(_record(c, c.result if isinstance(c, ParseError) else {}, row.round) for c in calls)
            row.finish = "tool_calls"
            return False
        turn = run_tool_calls(self._tools, calls)
        for result in turn.results:
            record = _record(result.call, result.result, row.round)
            row.records.append(record)
            events.append(StreamEvent("tool_result", round=row.round, call=record))
        history = [*row.history, *row.messages[:-1]]  # before this round's assistant turn
        row.messages.extend(turn.messages)
        # end of this turn, the tool turns, the next assistant header: as training renders them
        last = row.round >= self.max_rounds
        close, rest = self._format.continuation(history, raw, turn.messages, next_turn=not last)
        row.text.append(close + rest)
        if last:
            row.finish = "max_rounds"
            return False
        segments = ([] if stop == "end" else [close]) + [rest]
        encoded = self.tokenizer(segments, add_special_tokens=False)["input_ids"]
        row.pending = ([tok] if stop in ("end", "call") else []) + [t for piece in encoded for t in piece]
        row.round += 1
        return True

    # ------------------------------------------------------------------------------------------------
    # Results
    # ------------------------------------------------------------------------------------------------

    def _generation(self, row: _Row) -> Generation:
        final = _BLOCK.sub("", row.last_raw).strip()
        return Generation(messages=row.messages, text="".join(row.text), final=final, tool_calls=row.records,
                          finish_reason=row.finish or "stop", rounds=row.round, new_tokens=row.new_tokens)

    def _choose(self, conversation: list[dict], candidates: list[Generation]) -> Generation:
        if len(candidates) == 1:
            return candidates[0]
        scores = [float(s) for s in self.scorer(conversation, candidates)]
        if len(scores) != len(candidates):
            raise ValueError(f"the scorer returned {len(scores)} scores for {len(candidates)} candidates")
        for candidate, score in zip(candidates, scores):
            candidate.score = score
        return replace(candidates[best_index(scores)], candidates=list(candidates))


def _share_prefixes(rows: list[_Row], shortest: int = 32) -> None:
    """Set each row's ``chain``: the prefixes (shortest first) it shares with other rows. With the rows
    sorted by prompt, the longest prefix a row shares with any other is the longer of its common
    prefixes with its two neighbours; identical prompts (best-of-N) share all but their last token,
    which each row encodes itself to score its first token. Prefixes under ``shortest`` tokens are
    not worth a forward pass of their own."""
    def common(a: list[int], b: list[int]) -> int:
        n = min(len(a), len(b))
        k = next((i for i in range(n) if a[i] != b[i]), n)
        return min(k, len(a) - 1, len(b) - 1)

    order = sorted(range(len(rows)), key=lambda i: rows[i].prompt)
    lcp = [common(rows[a].prompt, rows[b].prompt) for a, b in zip(order, order[1:])]
    bounds = {i: set() for i in range(len(rows))}
    for k, (a, b) in enumerate(zip(order, order[1:])):
        if lcp[k] >= shortest:
            bounds[a].add(lcp[k])
            bounds[b].add(lcp[k])
    for i, row in enumerate(rows):
        row.chain = [tuple(row.prompt[:b]) for b in sorted(bounds[i])]


class _SharedPrefixes:
    """Prefixes several rows start with, encoded once each (a longer one on top of a shorter one) and
    dropped when the last row that needs them has joined the batch."""

    def __init__(self, runner: Runner, pad: int, chains: list[list[tuple[int, ...]]]):
        self.runner, self.pad = runner, pad
        self.users = Counter(k for chain in chains for k in chain)
        self.caches: dict[tuple[int, ...], RowCache] = {}

    def take(self, chain: list[tuple[int, ...]]) -> RowCache:
        """The cache of the chain's longest prefix (encoding what is missing); call once per row."""
        parent: tuple[int, ...] = ()
        for key in chain:
            if key not in self.caches:
                base = self.caches[parent] if parent else None
                batch, _ = KVBatch.prefill(self.runner, [(base, key[len(parent):])], self.pad)
                self.caches[key] = batch.take(0)
            parent = key
        cache = self.caches[chain[-1]]
        for key in chain:
            self.users[key] -= 1
            if self.users[key] == 0:
                del self.caches[key]
        return cache
