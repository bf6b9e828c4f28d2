"""Tiny models really trained (a few dozen steps, seconds) to use tools in fixed ways, through Svend's
own data path: conversations rendered and tokenized by ``encode_records``, loss on assistant turns only,
a byte-level BPE from ``train_bpe_tokenizer`` (every Svend special token a single token).

What each model learned, keyed on the user message:

- "What is 17 * 23?"  → calls calculator(17*23), then after the tool turn answers "Answer: 391";
- "Keep calling."     → calls calculator(1+1), and again after each tool turn (three calls, no answer);
- "Broken call."      → writes a malformed call, then after the error tool turn answers "Answer: error";
- "Weather in Oslo?"  → calls get_weather(city=Oslo), a client tool shown in the prompt.

Two model families, because the engine drives their KV caches differently: a Hugging Face
``LlamaForCausalLM`` (DynamicCache) and the from-scratch ``SvendDecoder`` (tuple cache).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

from svend.data.packing import IGNORE_INDEX, encode_records
from svend.data.schema import write_jsonl
from svend.tokens import train_bpe_tokenizer
from svend.tools.orchestrator import run_tool_calls
from svend.tools.registry import FAMILIES, build_registry
from tests.conftest import one_thread

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather now.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
MALFORMED = '<tool_call>\n{"name": "calculator", "arguments": {"expression": \n</tool_call>'


def call(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}


def tool_message(registry, text: str) -> dict:
    """The tool turn exactly as the engine will build it (the orchestrator's own message)."""
    message = run_tool_calls(registry, text).messages[0]
    return {"role": "tool", "content": message["content"]}


def records(registry) -> list[dict]:
    def calc(expression: str) -> dict:
        return tool_message(registry, '<tool_call>\n{"name": "calculator", "arguments": {"expression": "%s"}}\n</tool_call>'
                            % expression)

    loop = [{"role": "user", "content": "Keep calling."}]
    for _ in range(2):
        loop += [call("calculator", {"expression": "1+1"}), calc("1+1")]
    loop.append(call("calculator", {"expression": "1+1"}))
    return [
        {"messages": [{"role": "user", "content": "What is 17 * 23?"}, call("calculator", {"expression": "17*23"}),
                      calc("17*23"), {"role": "assistant", "content": "17 * 23 = 391.\nAnswer: 391"}], "tools": []},
        {"messages": loop, "tools": []},
        {"messages": [{"role": "user", "content": "Broken call."}, {"role": "assistant", "content": MALFORMED},
                      tool_message(registry, MALFORMED), {"role": "assistant", "content": "Answer: error"}], "tools": []},
        {"messages": [{"role": "user", "content": "Weather in Oslo?"}, call("get_weather", {"city": "Oslo"})],
         "tools": [WEATHER]},
    ]


@dataclass
class Trained:
    model: torch.nn.Module
    tokenizer: object
    registry: object
    records: list[dict]


def train(model, tokenizer, examples, steps: int, lr: float) -> float:
    encoded = [e for e in encode_records(tokenizer, examples, max_seq_len=1024) if e is not None]
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    labels = torch.full((len(encoded), width), IGNORE_INDEX)
    for i, (x, y) in enumerate(encoded):  # right padding: positions of real tokens start at 0
        ids[i, :len(x)] = torch.tensor(x)
        labels[i, :len(y)] = torch.tensor(y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):  # one full batch per step: the 4 conversations are memorized
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return float(loss.detach())


@pytest.fixture(scope="session")
def calc_registry():
    registry = build_registry(families={f: f == "calculator" for f in FAMILIES}, isolation="none")
    yield registry
    registry.close()


@pytest.fixture(scope="session")
def tool_tokenizer(tmp_path_factory, calc_registry):
    folder = tmp_path_factory.mktemp("tool_data")
    examples = records(calc_registry)
    write_jsonl(folder / "train.jsonl", examples)
    return train_bpe_tokenizer([str(folder / "train.jsonl")], vocab_size=600), examples


def _build(kind: str, vocab: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024))
    from svend.models.transformer import SvendConfig, SvendDecoder

    return SvendDecoder(SvendConfig(vocab_size=vocab, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=128,
                                    max_seq_len=1024))


@pytest.fixture(scope="session")
def trained_models(tool_tokenizer, calc_registry) -> dict[str, Trained]:
    tokenizer, examples = tool_tokenizer
    out = {}
    for kind in ("llama", "svend"):
        model = _build(kind, len(tokenizer))
        with one_thread():
            loss = train(model, tokenizer, examples, steps=70, lr=6e-3)
        assert loss < 0.05, f"{kind}: the tiny model did not learn its tool calls (loss {loss:.3f})"
        out[kind] = Trained(model, tokenizer, calc_registry, examples)
    return out


@pytest.fixture(params=["llama", "svend"])
def trained(request, trained_models) -> Trained:
    with one_thread():
        yield trained_models[request.param]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def dumps(x) -> str:
    return json.dumps(x, sort_keys=True)
