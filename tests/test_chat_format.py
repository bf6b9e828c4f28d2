"""svend.chat_format: Svend's ChatML or the base tokenizer's own chat template, chosen per tokenizer,
saved with it, and used the same way by training (loss on assistant turns only) and by the engine's
tool-call continuations."""

from __future__ import annotations

import logging

import pytest

from svend import chat_format
from svend.data.packing import IGNORE_INDEX, encode_records
from svend.data.schema import write_jsonl
from svend.tokens import IM_END, render_segments, train_bpe_tokenizer

# Zephyr-like: <|role|> headers, turns closed by the EOS token, a tool role of its own.
HEADERS = ("{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}")
# The same without a tool role: tool turns must go in as user turns.
NO_TOOL_ROLE = ("{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tool role') }}{% endif %}"
                "{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{% endfor %}"
                "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}")
# Qwen2.5 / SmolLM2 style ChatML.
CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
# Like Mistral v0.3: the system prompt goes into the *last* user turn, so earlier turns change.
MOVES_SYSTEM = ("{% set sys = messages[0]['content'] if messages[0]['role'] == 'system' else '' %}"
                "{% set ns = namespace(last=0) %}{% for m in messages %}{% if m['role'] == 'user' %}"
                "{% set ns.last = loop.index0 %}{% endif %}{% endfor %}"
                "{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' }}"
                "{% if loop.index0 == ns.last and sys %}{{ sys + '\n\n' }}{% endif %}{{ m['content'] + ' [/INST]' }}"
                "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}")

CALL = {"role": "assistant", "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "calculator", "arguments": {"expression": "17*23"}}}]}
CONVERSATION = [{"role": "user", "content": "What is 17 * 23?"}, CALL, {"role": "tool", "content": '{"result": "391"}'},
                {"role": "assistant", "content": "Answer: 391"}]
TOOLS = [{"type": "function", "function": {"name": "calculator", "description": "Arithmetic.", "parameters": {}}}]


@pytest.fixture(scope="module")
def base_tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chat_format")
    write_jsonl(folder / "train.jsonl", [{"messages": CONVERSATION}])
    tokenizer = train_bpe_tokenizer([str(folder / "train.jsonl")], vocab_size=400)
    tokenizer.add_special_tokens({"eos_token": "<|end|>"})
    return tokenizer


def with_template(tokenizer, template: str | None):
    tokenizer = tokenizer.__class__(tokenizer_object=tokenizer.backend_tokenizer, eos_token=tokenizer.eos_token,
                                    pad_token=tokenizer.pad_token)
    tokenizer.chat_template = template
    return tokenizer


def test_auto_keeps_chatml_for_chatml_templates_and_no_template(base_tokenizer):
    for template in (CHATML, None):
        tokenizer = with_template(base_tokenizer, template)
        assert chat_format.choose(tokenizer) == "chatml"
        assert isinstance(chat_format.format_for(tokenizer), chat_format.ChatML)


def test_a_different_template_lays_out_the_turns_and_only_assistant_text_trains(base_tokenizer):
    tokenizer = with_template(base_tokenizer, HEADERS)
    assert chat_format.choose(tokenizer) == "template"
    fmt = chat_format.format_for(tokenizer)
    assert (fmt.end_of_turn, fmt.tool_role) == ("<|end|>", "tool")
    segments = fmt.segments(CONVERSATION, TOOLS)
    text = "".join(s.text for s in segments)
    # exactly the template's own rendering of Svend's turn contents (tools block in the system turn)
    assert text == tokenizer.apply_chat_template(fmt.plain(CONVERSATION, TOOLS), tokenize=False)
    assert text.startswith("<|system|>\nYou are Svend") and '"name": "calculator"' in text
    trained = [s.text for s in segments if s.trainable]
    assert trained == ['<tool_call>\n{"name": "calculator", "arguments": {"expression": "17*23"}}\n</tool_call><|end|>',
                       "Answer: 391<|end|>"]
    assert IM_END not in text

    ids, labels = encode_records(tokenizer, [{"messages": CONVERSATION}], max_seq_len=512)[0]
    learned = tokenizer.decode([t for t in labels if t != IGNORE_INDEX])
    assert learned == "".join(trained)


def test_continuation_is_what_training_renders_after_the_call(base_tokenizer):
    for template in (HEADERS, CHATML):
        tokenizer = with_template(base_tokenizer, template)
        chat_format.choose(tokenizer, "base" if template == HEADERS else "svend")
        fmt = chat_format.format_for(tokenizer)
        prompt = "".join(s.text for s in fmt.segments(CONVERSATION[:1], add_generation_prompt=True))
        full = "".join(s.text for s in fmt.segments(CONVERSATION[:3], add_generation_prompt=True))
        raw = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "17*23"}}\n</tool_call>'
        close, rest = fmt.continuation(CONVERSATION[:1], raw, CONVERSATION[2:3])
        assert prompt + raw + close + rest == full
        assert close == fmt.end_of_turn


def test_tool_turns_become_user_turns_without_a_tool_role(base_tokenizer):
    tokenizer = with_template(base_tokenizer, NO_TOOL_ROLE)
    chat_format.choose(tokenizer, "base")
    fmt = chat_format.format_for(tokenizer)
    assert fmt.tool_role == "user"
    text = "".join(s.text for s in fmt.segments(CONVERSATION))
    assert '<|user|>\n<tool_response>\n{"result": "391"}\n</tool_response><|end|>' in text


def test_a_template_that_rewrites_earlier_turns_is_refused_or_replaced(base_tokenizer, caplog):
    tokenizer = with_template(base_tokenizer, MOVES_SYSTEM)
    with pytest.raises(chat_format.ChatFormatError, match="rewrites earlier turns"):
        chat_format.choose(tokenizer, "base")
    with caplog.at_level(logging.WARNING, logger="svend.chat_format"):
        assert chat_format.choose(tokenizer, "auto") == "chatml"
    assert "Svend's ChatML instead" in caplog.text
    with pytest.raises(ValueError, match="chat_format='mine'"):
        chat_format.choose(tokenizer, "mine")


def test_the_choice_is_saved_with_the_tokenizer(base_tokenizer, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = with_template(base_tokenizer, HEADERS)
    chat_format.choose(tokenizer, "svend")  # the base template is usable, but the run chose ChatML
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(chat_format.format_for(again), chat_format.ChatML)
    assert [s.text for s in chat_format.format_for(again).segments(CONVERSATION)] == \
        [s.text for s in render_segments(CONVERSATION)]
