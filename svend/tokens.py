"""The chat format, the tool-call syntax and Svend's special tokens — the one format shared by data
generation, training, inference and serving.

Turns are ChatML::

    <|im_start|>system
    You are Svend ...<|im_end|>
    <|im_start|>user
    What is 17 * 23?<|im_end|>
    <|im_start|>assistant
    <tool_call>
    {"name": "calculator", "arguments": {"expression": "17*23"}}
    </tool_call><|im_end|>
    <|im_start|>tool
    <tool_response>
    {"result": "391"}
    </tool_response><|im_end|>
    <|im_start|>assistant
    17 × 23 = 391.<|im_end|>

Tool calls are Hermes/Qwen style JSON inside ``<tool_call>`` tags; their results come back inside
``<tool_response>`` tags in a ``tool`` turn. Tool specs are the JSON-schema objects of the OpenAI
``tools`` parameter and are shown to the model in the system turn (``render_tools``). Base models
whose own chat template ignores ``tools`` (SmolLM2) get tools through this format too.

Only assistant turns are trained on (``render_segments`` marks them); system, user and tool turns are
context. ``render_prompt`` is what inference feeds the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
TOOL_CALL_START = "<tool_call>"
TOOL_CALL_END = "</tool_call>"
TOOL_RESPONSE_START = "<tool_response>"
TOOL_RESPONSE_END = "</tool_response>"
PAD = "<|pad|>"

# Meta-cognitive tokens: each one line of meaning, trained like any other assistant token.
META_TOKENS: dict[str, str] = {
    "<think>": "opens private step-by-step reasoning before an answer or a tool call",
    "</think>": "closes the reasoning span",
    "<verify>": "opens a check of a result (re-derivation, a second tool call, a unit check)",
    "</verify>": "closes the check",
    "<uncertain>": "marks a claim the model cannot support with a tool result or a derivation",
    "<clarify>": "marks a targeted question back to the user because required information is missing",
}

CHAT_TOKENS = [IM_START, IM_END]
TOOL_TOKENS = [TOOL_CALL_START, TOOL_CALL_END, TOOL_RESPONSE_START, TOOL_RESPONSE_END]
SPECIAL_TOKENS: list[str] = CHAT_TOKENS + TOOL_TOKENS + list(META_TOKENS)
"""Every token Svend adds to a tokenizer (the pad token is separate: bases often have their own)."""

ROLES = ("system", "user", "assistant", "tool")

DEFAULT_SYSTEM = "You are Svend, a careful assistant. Use the tools when they help; say so when you cannot answer."

TOOLS_PREAMBLE = (
    "You can call tools. Their JSON-schema specs are listed between <tools></tools>:\n"
    "<tools>\n{specs}\n</tools>\n"
    "To call a tool, write one JSON object per call inside <tool_call></tool_call> tags:\n"
    '<tool_call>\n{{"name": <tool-name>, "arguments": <args-json-object>}}\n</tool_call>\n'
    "Each result comes back inside <tool_response></tool_response> tags."
)


@dataclass(frozen=True)
class Segment:
    """A piece of rendered chat text and whether the loss covers it."""

    text: str
    trainable: bool


def tool_spec_json(tool: Mapping[str, Any]) -> str:
    """One OpenAI ``tools`` entry (``{"type": "function", "function": {...}}`` or the bare function) as
    one JSON line, keys in a stable order."""
    function = tool.get("function", tool)
    return json.dumps({"type": "function", "function": dict(function)}, ensure_ascii=False)


def render_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The block a system turn shows the model so it knows which tools exist."""
    return TOOLS_PREAMBLE.format(specs="\n".join(tool_spec_json(t) for t in tools))


def format_tool_call(name: str, arguments: Mapping[str, Any] | str) -> str:
    """``<tool_call>{"name": …, "arguments": {…}}</tool_call>`` — the one call syntax."""
    if isinstance(arguments, str):
        arguments = json.loads(arguments) if arguments.strip() else {}
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"{TOOL_CALL_START}\n{body}\n{TOOL_CALL_END}"


def format_tool_response(content: Any) -> str:
    """A tool result (a string, or any JSON value) wrapped as a ``<tool_response>`` block."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return f"{TOOL_RESPONSE_START}\n{text}\n{TOOL_RESPONSE_END}"


def _assistant_body(message: Mapping[str, Any]) -> str:
    parts = [message["content"]] if message.get("content") else []
    for call in message.get("tool_calls") or []:
        function = call.get("function", call)
        parts.append(format_tool_call(function["name"], function.get("arguments", {})))
    return "\n".join(parts)


def turn_body(message: Mapping[str, Any]) -> str:
    """A turn's text in Svend's format (tool calls and tool results in their tags), without its header."""
    role = message["role"]
    if role == "assistant":
        return _assistant_body(message)
    if role == "tool":
        return format_tool_response(message.get("content", ""))
    return message.get("content") or ""


def with_tools(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    """The conversation with ``tools`` (OpenAI spec list) shown in its system turn, which is created
    (`DEFAULT_SYSTEM`) if missing."""
    messages = list(messages)
    if not tools:
        return messages
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{messages[0]['content']}\n\n{render_tools(tools)}"}, *messages[1:]]
    return [{"role": "system", "content": f"{DEFAULT_SYSTEM}\n\n{render_tools(tools)}"}, *messages]


def render_segments(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    add_generation_prompt: bool = False,
) -> list[Segment]:
    """Render a conversation as ChatML segments; assistant bodies and their ``<|im_end|>`` are
    trainable, everything else (headers, system, user, tool turns) is not.

    ``tools`` (OpenAI spec list) is rendered into the system turn, which is created if missing.
    """
    segments: list[Segment] = []
    for message in with_tools(messages, tools):
        role = message["role"]
        trainable = role == "assistant"
        segments.append(Segment(f"{IM_START}{role}\n", False))
        segments.append(Segment(f"{turn_body(message)}{IM_END}", trainable))
        segments.append(Segment("\n", False))
    if add_generation_prompt:
        segments.append(Segment(f"{IM_START}assistant\n", False))
    return segments


def render_prompt(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    add_generation_prompt: bool = True,
) -> str:
    """The whole conversation as one string, ready for generation."""
    return "".join(s.text for s in render_segments(messages, tools, add_generation_prompt))


def corpus_text(records: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """Rendered text of chat records, for training a tokenizer on exactly what the model will see."""
    for record in records:
        yield render_prompt(record["messages"], record.get("tools"), add_generation_prompt=False)


def train_bpe_tokenizer(files: Sequence[str], vocab_size: int, cache_dir: str | None = None):
    """A byte-level BPE trained on the rendered training conversations, for from-scratch models.

    Every Svend special token is a single token, the pad token is ``<|pad|>`` and EOS is ``<|im_end|>``.
    With ``cache_dir`` the result is cached under a hash of the files' contents and the vocabulary
    size, so reruns and sweeps don't retrain it. Returns a ``PreTrainedTokenizerFast``.
    """
    import hashlib
    from pathlib import Path

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from svend.data.schema import read_jsonl

    digest = hashlib.sha256(json.dumps([vocab_size, SPECIAL_TOKENS, PAD]).encode())
    for path in files:
        digest.update(Path(path).read_bytes())
    cached = Path(cache_dir) / "tokenizers" / digest.hexdigest()[:16] if cache_dir else None
    if cached is not None and (cached / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(cached))

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, *SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    records = [r for path in files for r in read_jsonl(path)]
    bpe.train_from_iterator(corpus_text(records), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token=PAD,
        eos_token=IM_END,
        additional_special_tokens=list(SPECIAL_TOKENS),
    )
    if cached is not None:  # a killed process never leaves half a tokenizer
        from svend.atomic import write_folder

        write_folder(cached, lambda tmp: tokenizer.save_pretrained(str(tmp)), replace=False)
    return tokenizer
