"""Pretrained bases through the real training entry point: LoRA on a tiny HF model (adapter-only
checkpoints, the adapter folder, exact resume), SmolLM2 from its GGUF, and DDP on CPU."""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from svend.export import main as export_main
from svend.train import train
from tests.conftest import FAST, compose_train, run_cli
from tests.test_train import assert_resume_matches_straight_run, scalars


@pytest.mark.slow
def test_lora_run_saves_only_the_adapter_and_resumes_exactly(tiny_bases, tmp_path):
    lora = ["model=hf", f"model.path={tiny_bases['llama']}", "adapter=lora", "optim.lr=3e-3"]
    run = assert_resume_matches_straight_run(lora, tmp_path)
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    keys = list(state["state_dict"])
    assert keys and all("lora_" in k or "trainable_tokens" in k for k in keys), keys[:5]
    assert state["optimizer_states"][0]["state"]  # AdamW moments travel with the checkpoint

    straight = tmp_path / "straight"
    losses = scalars(straight, "train/loss")
    assert losses[11] < losses[0]  # it learns
    meta = json.loads((straight / "adapter" / "svend_adapter.json").read_text())
    assert meta["extra"]["stage"] == "base_reasoning" and meta["extra"]["checkpoint"].endswith(".ckpt")

    # Tool integration starts from this run (its adapter folder): the LoRA tensors are the trained ones.
    from hydra.utils import instantiate
    from safetensors.torch import load_file

    from svend.models.build import build_model

    cfg = compose_train([*lora, "stage=tool_integration", f"stage.init_from={straight}"], tmp_path / "next")
    net, _ = build_model(cfg.model, cfg.adapter)
    instantiate(cfg.stage, net=net)
    saved = load_file(straight / "adapter" / "adapter_model.safetensors")
    params = dict(net.named_parameters())
    lora_keys = [k for k in saved if "lora_A" in k]
    assert lora_keys
    for key in lora_keys:
        name = key.replace(".weight", ".default.weight")
        assert torch.equal(params[name].detach(), saved[key]), key

    # The adapter folder merges without the original command.
    out = tmp_path / "merged"
    assert export_main([str(straight / "adapter"), str(out)]) == 0
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not isinstance(merged, PeftModel) and (out / "tokenizer.json").is_file()


@pytest.mark.slow
def test_smollm2_lora_five_steps_from_the_gguf(tmp_path):
    result = run_cli(["svend-train", "model=smollm2_135m", "adapter=lora", "experiment=smoke", "trainer.max_steps=5",
                      "trainer.val_check_interval=5", "trainer.limit_test_batches=1", "trainer.limit_val_batches=1",
                      f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "smoke").iterdir()
    ckpt = run / "checkpoints" / "last.ckpt"
    assert ckpt.stat().st_size < 100e6  # adapter-only: ~60 MB with optimizer state, not 600 MB
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert f"adapter:         {run / 'adapter'}" in result.stdout
    assert all(0 < v < 10 for v in scalars(run, "val/loss").values())


@pytest.mark.slow
def test_ddp_on_cpu_writes_one_run_folder(tmp_path):
    result = run_cli(["svend-train", "experiment=smoke", "trainer.strategy=ddp", "trainer.devices=2",
                      "trainer.accelerator=cpu", "trainer.max_steps=4", "trainer.val_check_interval=4",
                      f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "outputs" / "smoke").iterdir())
    assert len(runs) == 1, runs
    assert list((runs[0] / "checkpoints").glob("best-step4.ckpt")) and scalars(runs[0], "val/loss")
    assert "world_size=2" in result.stderr or "distributed_backend=gloo" in result.stderr
