"""Tiny random bases for the model tests: Llama (untied embeddings) and Qwen2 (tied, like SmolLM2),
each saved with ``save_pretrained`` next to a small byte-level BPE tokenizer that has no pad token (so
Svend adds ``<|pad|>``, and its tokens are all new rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TEXT = [
    "The quick brown fox jumps over the lazy dog. 17 * 23 = 391.",
    "def add(a, b):\n    return a + b\n",
    "Svend calls a calculator tool and checks the result before it answers.",
    "What is the boiling point of water in kelvin? About 373 K at sea level.",
] * 4


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tk.train_from_iterator(TEXT, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def _write_base(folder: Path, arch: str) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,  # >= the 4-bit blocksize: bitsandbytes CPU inference repacks per 64 inputs
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    if arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common, tie_word_embeddings=False))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bases(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_bases")
    return {arch: _write_base(root / arch, arch) for arch in ("llama", "qwen2")}


@pytest.fixture(params=["llama", "qwen2"])
def tiny_base(request, tiny_bases) -> Path:
    return tiny_bases[request.param]
