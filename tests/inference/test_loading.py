"""load_for_inference on what training and export leave behind: an adapter folder and a run folder
holding one (LoRA merged, logits unchanged), a merged export, a full fine-tune run (config.yaml +
tokenizer/ + checkpoints/), a model config; and clear errors for anything else."""

from __future__ import annotations

import json

import pytest
import torch
from omegaconf import OmegaConf

from svend import export
from svend.inference.engine import Engine
from svend.inference.loading import load_for_inference
from svend.models import adapters
from svend.models.pretrained import load_causal_lm
from svend.models.transformer import SvendConfig, SvendDecoder
from tests.conftest import one_thread

from .conftest import train, user


def logits(model, tokenizer) -> torch.Tensor:
    ids = torch.tensor([tokenizer("<|im_start|>user\nWhat is 17 * 23?<|im_end|>\n", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        return model(ids).logits


@pytest.fixture(scope="module")
def adapter_run(trained_models, tool_tokenizer, tmp_path_factory):
    """A LoRA adapter trained on the tool conversations over the tiny llama as base, in a run folder."""
    root = tmp_path_factory.mktemp("lora_run")
    tiny = trained_models["llama"]
    tiny.model.save_pretrained(root / "base")
    tiny.tokenizer.save_pretrained(root / "base")
    base = load_causal_lm(None, path=root / "base")
    model = adapters.lora(base, tiny.tokenizer, r=4, alpha=8, dropout=0.0)
    with one_thread():
        train(model, tiny.tokenizer, tool_tokenizer[1], steps=3, lr=1e-2)
    model.eval()
    folder = adapters.save_adapter(model, tiny.tokenizer, root / "run" / "adapter")
    expect = logits(model, tiny.tokenizer)
    with model.disable_adapter():
        assert not torch.allclose(expect, logits(model, tiny.tokenizer), atol=1e-4)  # the adapter matters
    return root / "run", folder, expect, tiny


def test_adapter_folder_is_merged_and_unchanged(adapter_run):
    run, folder, expect, tiny = adapter_run
    model, tokenizer, info = load_for_inference(folder)
    assert (info["kind"], info["adapter"], info["merged"]) == ("adapter", "lora", True)
    assert not any("lora" in n for n, _ in model.named_parameters()) and not model.training
    assert torch.allclose(logits(model, tokenizer), expect, atol=1e-5)
    unmerged, _, info = load_for_inference(folder, merge=False)
    assert info["merged"] is False and type(unmerged).__name__.startswith("Peft")
    assert torch.allclose(logits(unmerged, tokenizer), expect, atol=1e-5)
    same, _, info = load_for_inference(run)  # the run folder: its adapter/
    assert (info["kind"], info["path"]) == ("run", str(run))
    with one_thread():
        gen = Engine(model, tokenizer, tiny.registry, max_new_tokens=40, progress=False).chat(user("What is 17 * 23?"), [])
    assert gen.finish_reason in ("stop", "length", "max_rounds")


def test_merged_export_loads(adapter_run, tmp_path):
    _, folder, expect, _ = adapter_run
    out = export.export_merged(folder, tmp_path / "export")
    model, tokenizer, info = load_for_inference(out)
    assert (info["kind"], info["adapter"]) == ("merged", None) and model.config.use_cache
    assert torch.allclose(logits(model, tokenizer), expect, atol=1e-5)
    bf16, _, info = load_for_inference(out, dtype="bfloat16")
    assert info["dtype"] == "bfloat16" and next(bf16.parameters()).dtype == torch.bfloat16


def test_full_run_folder_rebuilds_from_config_and_checkpoint(tool_tokenizer, tmp_path):
    """What `svend-train model=svend_tiny` leaves: config.yaml, tokenizer/, checkpoints/best-step*.ckpt
    (a Lightning checkpoint of the CausalLM stage: state_dict keys start with ``net.``)."""
    tokenizer = tool_tokenizer[0]
    config = {"d_model": 32, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1, "d_ff": 64, "vocab_size": len(tokenizer),
              "max_seq_len": 256, "tie_embeddings": True}
    torch.manual_seed(3)
    net = SvendDecoder(SvendConfig(**config))
    cfg = {"model": {"name": "svend_tiny", "net": {"_target_": "svend.models.transformer.SvendDecoder",
                                                  "config": {"_target_": "svend.models.transformer.SvendConfig", **config}}},
           "adapter": {"_target_": "svend.models.adapters.full", "_partial_": True, "quantization": None}}
    (tmp_path / "checkpoints").mkdir()
    OmegaConf.save(OmegaConf.create(cfg), tmp_path / "config.yaml")
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "checkpoints" / "best-step7.ckpt")
    model, tok, info = load_for_inference(tmp_path)
    assert info["kind"] == "run" and info["checkpoint"].endswith("best-step7.ckpt") and isinstance(model, SvendDecoder)
    assert torch.equal(logits(model, tok), logits(net.eval(), tokenizer))


def test_model_config_without_checkpoint(tmp_path):
    from tests.conftest import compose_train

    cfg = compose_train(["model=svend_tiny"], tmp_path)
    model, tokenizer, info = load_for_inference(model_cfg=cfg.model)
    assert info["kind"] == "config" and isinstance(model, SvendDecoder)
    assert model.get_input_embeddings().weight.shape[0] >= len(tokenizer)
    assert tokenizer.convert_tokens_to_ids("<tool_call>") != tokenizer.unk_token_id


def test_anything_else_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_for_inference(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path} is none of: a run folder"):
        load_for_inference(tmp_path)
    (tmp_path / "svend_adapter.json").write_text("{not json")
    with pytest.raises(ValueError, match="svend_adapter.json is not valid JSON"):
        load_for_inference(tmp_path)
    with pytest.raises(ValueError, match="give a checkpoint"):
        load_for_inference()
    (tmp_path / "svend_adapter.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(FileNotFoundError, match="no loadable tokenizer"):
        load_for_inference(tmp_path)
