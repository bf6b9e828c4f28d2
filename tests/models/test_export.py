"""svend-export: the merged model's logits equal adapter + base; --peft reloads with
PeftModel.from_pretrained; bad input gets a clear error and writes nothing."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from svend import export
from svend.models import adapters

from .test_adapters import batch, build, train


@pytest.fixture
def trained_adapter(tiny_base, tmp_path):
    model, tokenizer = build(tiny_base, "lora")
    train(model, tokenizer, steps=3, lr=3e-2)
    folder = adapters.save_adapter(model, tokenizer, tmp_path / "run" / "adapter")
    ids, pos = batch(tokenizer)
    with torch.no_grad():
        logits = model(input_ids=ids, position_ids=pos).logits
        with model.disable_adapter():
            base_logits = model(input_ids=ids, position_ids=pos).logits
    assert not torch.allclose(logits, base_logits, atol=1e-3)  # the adapter matters
    return folder, ids, pos, logits


def test_merged_logits_equal_adapter_plus_base(trained_adapter, tmp_path):
    folder, ids, pos, expect = trained_adapter
    assert export.main([str(folder), str(tmp_path / "merged")]) == 0
    out = tmp_path / "merged"
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    meta = json.loads((out / export.EXPORT_FILE).read_text())
    assert meta["format"] == "merged" and meta["adapter"]["kind"] == "lora"
    merged = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)  # plain transformers, no peft
    assert not any("lora" in n for n, _ in merged.named_parameters())
    assert merged.get_input_embeddings().weight.shape[0] == len(AutoTokenizer.from_pretrained(out))
    assert merged.config.use_cache  # a standard folder for generation; packed rows need use_cache=False:
    with torch.no_grad():
        got = merged(input_ids=ids, position_ids=pos, use_cache=False).logits
    assert torch.allclose(got, expect, atol=1e-4), (got - expect).abs().max()


def test_peft_export_reloads_with_peft(trained_adapter, tmp_path):
    from peft import PeftModel

    folder, ids, pos, expect = trained_adapter
    assert export.main([str(folder), str(tmp_path / "peft"), "--peft"]) == 0
    out = tmp_path / "peft"
    config = json.loads((out / "adapter_config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"], local_files_only=True)
    base.resize_token_embeddings(len(tokenizer))  # plain HF resize: new rows come from the adapter
    model = PeftModel.from_pretrained(base, out)
    with torch.no_grad():
        got = model(input_ids=ids, position_ids=pos, use_cache=False).logits
    assert torch.allclose(got, expect, atol=1e-5), (got - expect).abs().max()


@pytest.mark.parametrize("tiny_base", ["qwen2"], indirect=True)
def test_bad_input_clear_error_nothing_written(tmp_path, capsys, trained_adapter):
    assert export.main([str(tmp_path), str(tmp_path / "x")]) == 2
    assert "not a Svend adapter folder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    folder = trained_adapter[0]
    (tmp_path / "taken").mkdir()
    assert export.main([str(folder), str(tmp_path / "taken"), "--peft"]) == 2
    assert "--force" in capsys.readouterr().err
    assert export.main([str(folder), str(tmp_path / "taken"), "--peft", "--force"]) == 0
    assert (tmp_path / "taken" / "adapter_config.json").is_file()


def test_qlora_adapter_merges_into_full_precision_base(tiny_bases, tmp_path):
    model, tokenizer = build(tiny_bases["qwen2"], "qlora")
    train(model, tokenizer, steps=2, lr=3e-2)
    folder = adapters.save_adapter(model, tokenizer, tmp_path / "adapter")
    ids, pos = batch(tokenizer)
    reference, _ = adapters.load_adapter(folder, quantization=None)  # LoRA on the float base
    assert not any("4bit" in type(m).__name__ for m in reference.modules())
    with torch.no_grad():
        expect = reference(input_ids=ids, position_ids=pos).logits
    out = export.export_merged(folder, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert "quantization_config" not in merged.config.to_dict()
    with torch.no_grad():
        got = merged(input_ids=ids, position_ids=pos, use_cache=False).logits
    assert torch.allclose(got, expect, atol=1e-4), (got - expect).abs().max()
