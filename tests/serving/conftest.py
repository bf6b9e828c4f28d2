"""A tiny model trained (seconds) to use tools the way the server shows them, saved as an export
folder, and one real ``svend-serve`` process serving it on 127.0.0.1 for the whole module.

The training conversations are rendered with the tools the server will show — built from the same
composed ``serve`` config (``registry.tools_for(question)`` plus the client's tools) — so the model
meets at serving time exactly the prompts it learned:

- "What is 17 * 23?" / "What is 12 * 11?" / "What is 99 + 1?" → calls the calculator, then answers
  "<a> <op> <b> = <result>.\\nAnswer: <result>" after the tool turn (a different answer per question:
  batched requests that swap rows would show it);
- "Say hello." → "Hello! I am Svend, a tiny test model." (no tool);
- "Weather in Oslo?" with the client tool ``get_weather`` → calls it (a client tool: the server
  returns the call); after the client's tool message it reads the temperature back from it
  ("It is 3 degrees in Oslo." or "It is 20 degrees in Oslo.", depending on what the tool said).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

import svend.config
from svend.data.schema import write_jsonl
from svend.serving.process import ServerProcess
from svend.tokens import train_bpe_tokenizer
from tests.inference.conftest import call, tool_message, train

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
SUMS = {"What is 17 * 23?": ("17*23", "17 * 23 = 391.\nAnswer: 391"),
        "What is 12 * 11?": ("12*11", "12 * 11 = 132.\nAnswer: 132"),
        "What is 99 + 1?": ("99+1", "99 + 1 = 100.\nAnswer: 100")}
HELLO = "Hello! I am Svend, a tiny test model."
# The server under test: the calculator as its only built-in tool, run in-process; batching on.
SERVE = ["tools=none", "tools.families.calculator=true", "engine.max_tools=0", "serve.max_batch_size=4",
         "serve.batch_timeout=0.2", "serve.stream_check_chars=8", "serve.stream_holdback_chars=16"]


def compose_serve(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        return compose(config_name="serve", overrides=overrides)


def records(registry, max_tools: int) -> list[dict]:
    def shown(question: str, client: list[dict] = ()) -> list[dict]:
        return [*client, *registry.tools_for(question, max_tools=max_tools)]

    def calc(expression: str) -> dict:
        block = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "%s"}}\n</tool_call>' % expression
        return tool_message(registry, block)

    out = [{"messages": [{"role": "user", "content": q}, call("calculator", {"expression": e}), calc(e),
                         {"role": "assistant", "content": answer}], "tools": shown(q)}
           for q, (e, answer) in SUMS.items()]
    out.append({"messages": [{"role": "user", "content": "Say hello."}, {"role": "assistant", "content": HELLO}],
                "tools": shown("Say hello.")})
    weather = [{"role": "user", "content": "Weather in Oslo?"}, call("get_weather", {"city": "Oslo"})]
    out.append({"messages": weather, "tools": shown("Weather in Oslo?", [WEATHER])})
    for temp in (3, 20):
        out.append({"messages": [*weather, {"role": "tool", "content": json.dumps({"temp_c": temp})},
                                 {"role": "assistant", "content": f"It is {temp} degrees in Oslo."}],
                    "tools": shown("Weather in Oslo?", [WEATHER])})
    return out


@pytest.fixture(scope="session")
def tool_model(tmp_path_factory) -> Path:
    """The trained tiny model as an export folder (config.json, weights, tokenizer)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = compose_serve(SERVE)
    registry = instantiate(cfg.tools)
    examples = records(registry, cfg.engine.max_tools)
    folder = tmp_path_factory.mktemp("served_model")
    write_jsonl(folder / "train.jsonl", examples)
    tokenizer = train_bpe_tokenizer([str(folder / "train.jsonl")], vocab_size=600)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=1024, eos_token_id=tokenizer.eos_token_id,
                                         pad_token_id=tokenizer.pad_token_id))
    loss = train(model, tokenizer, examples, steps=160, lr=1e-2)
    # Every lesson learned, checked greedily with the engine itself (a wrong digit is a wrong answer).
    engine = instantiate(cfg.engine, progress=False)(model=model, tokenizer=tokenizer, registry=registry)
    got = [g.final for g in engine.generate([[{"role": "user", "content": q}] for q in [*SUMS, "Say hello."]])]
    want = [answer for _, answer in SUMS.values()] + [HELLO]
    assert got == want, f"the tiny model did not learn its conversations (loss {loss:.4f}): {got}"
    export = folder / "export"
    model.save_pretrained(export)
    tokenizer.save_pretrained(export)
    return export


@pytest.fixture(scope="session")
def server(tool_model, tmp_path_factory):
    """One svend-serve process for the fast tests: the tiny model, safety on, batching on."""
    with ServerProcess([f"checkpoint={tool_model}", *SERVE], cwd=tmp_path_factory.mktemp("serve"),
                       startup_s=180) as process:
        yield process
