"""The real offline base: SmolLM2-135M-Instruct, loaded from its model config, answers through the
tool loop with the calculator available; the transcript renders. Slow: loads the GGUF (~20 s once)."""

from __future__ import annotations

import pytest

from svend.inference.engine import FINISH_REASONS, Engine
from svend.inference.loading import load_for_inference
from svend.tokens import render_prompt
from svend.tools.registry import FAMILIES, build_registry

pytestmark = pytest.mark.slow


def test_smollm2_answers_through_the_tool_loop(tmp_path):
    from tests.conftest import compose_train

    cfg = compose_train(["model=smollm2_135m", "adapter=lora"], tmp_path)
    model, tokenizer, info = load_for_inference(model_cfg=cfg.model)
    assert info["kind"] == "config" and info["base"].startswith("gguf:")
    registry = build_registry(families={f: f == "calculator" for f in FAMILIES}, isolation="none")
    engine = Engine(model, tokenizer, registry, max_new_tokens=40, max_rounds=2, progress=False)
    conversation = [{"role": "user", "content": "What is 17 * 23? Use the calculator."}]
    gen = engine.chat(conversation)
    assert gen.finish_reason in FINISH_REASONS and 0 < gen.new_tokens <= 40 and 1 <= gen.rounds <= 2
    assert gen.messages and gen.messages[0]["role"] == "assistant"
    transcript = render_prompt(conversation + gen.messages, registry.tools_for(conversation[0]["content"]),
                               add_generation_prompt=False)
    assert transcript.count("<|im_start|>assistant\n") == gen.rounds and '"name": "calculator"' in transcript
    for record in gen.tool_calls:  # whatever it called was really run
        assert record.result and (record.ok or "error" in record.result)
    both = engine.generate([conversation, [{"role": "user", "content": "Name a color."}]], tools=[[], []])
    assert [g.finish_reason in FINISH_REASONS for g in both] == [True, True]
    registry.close()
