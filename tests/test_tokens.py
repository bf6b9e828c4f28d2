"""The chat format and the from-scratch tokenizer."""

from __future__ import annotations

import json

from svend.tokens import (
    IM_END,
    META_TOKENS,
    SPECIAL_TOKENS,
    render_prompt,
    render_segments,
    train_bpe_tokenizer,
)
from svend.config import PACKAGE_DIR

SAMPLE = PACKAGE_DIR / "data" / "sample" / "train.jsonl"
CALC = {"type": "function", "function": {"name": "calculator", "description": "exact arithmetic",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}}}


def conversation():
    return [
        {"role": "user", "content": "What is 17 * 23?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"type": "function", "function": {"name": "calculator", "arguments": {"expression": "17*23"}}}]},
        {"role": "tool", "content": json.dumps({"result": "391"})},
        {"role": "assistant", "content": "17 × 23 = 391."},
    ]


def test_render_matches_the_documented_format():
    text = render_prompt(conversation(), add_generation_prompt=False)
    assert text == (
        "<|im_start|>user\nWhat is 17 * 23?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n"
        '{"name": "calculator", "arguments": {"expression": "17*23"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>tool\n<tool_response>\n"
        '{"result": "391"}\n</tool_response><|im_end|>\n'
        "<|im_start|>assistant\n17 × 23 = 391.<|im_end|>\n"
    )


def test_only_assistant_bodies_are_trainable():
    segments = render_segments(conversation())
    trained = "".join(s.text for s in segments if s.trainable)
    assert "<tool_call>" in trained and "17 × 23 = 391." in trained and trained.count(IM_END) == 2
    ignored = "".join(s.text for s in segments if not s.trainable)
    assert "What is 17 * 23?" in ignored and '"result": "391"' in ignored and "<|im_start|>assistant" in ignored


def test_tools_go_into_the_system_turn():
    text = render_prompt(conversation(), tools=[CALC])
    system = text.split(IM_END)[0]
    assert system.startswith("<|im_start|>system\n") and '"name": "calculator"' in system and "<tools>" in system
    assert text.endswith("<|im_start|>assistant\n")


def test_openai_string_arguments_render_like_dicts():
    as_dict = render_prompt(conversation())
    convo = conversation()
    convo[1]["tool_calls"][0]["function"]["arguments"] = json.dumps({"expression": "17*23"})
    assert render_prompt(convo) == as_dict


def test_every_meta_token_is_documented():
    assert all(len(meaning.split()) >= 3 for meaning in META_TOKENS.values())
    assert set(META_TOKENS) <= set(SPECIAL_TOKENS)


def test_bpe_keeps_special_tokens_whole_and_round_trips(tmp_path):
    tok = train_bpe_tokenizer([str(SAMPLE)], vocab_size=1024, cache_dir=str(tmp_path))
    for special in SPECIAL_TOKENS:
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1, special
    text = render_prompt(conversation(), tools=[CALC])
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.pad_token == "<|pad|>" and tok.eos_token == IM_END and len(tok) <= 1024
    # cached: the second call loads the saved tokenizer, identical ids
    again = train_bpe_tokenizer([str(SAMPLE)], vocab_size=1024, cache_dir=str(tmp_path))
    assert again(text, add_special_tokens=False)["input_ids"] == ids
    assert len(list((tmp_path / "tokenizers").iterdir())) == 1
