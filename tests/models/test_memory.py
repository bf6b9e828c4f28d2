"""The memory planner against published measurements: pure arithmetic, no GPU.

Sources (all NVIDIA A100-SXM4-40GB, bf16-true, `torch.cuda.max_memory_allocated() / 1e9`):
  LITGPT_LORA  Lightning-AI/litgpt tutorials/resource-tables.md, "Finetuning with LoRA on 1 GPU"
               (commit 8641822, 10/20/2023): finetune/lora.py defaults — LoRA r=8, alpha=16, dropout 0.05
               on query+value only, AdamW (bnb PagedAdamW when quantized), no activation checkpointing,
               Alpaca at its longest sample (phi-1.5 1044, StableLM-Alpha 1034, Llama 2 1304 tokens),
               chunked LM head + chunked cross-entropy.
  LITGPT_INFER the same file, "Single-GPU Inference" (generate/base.py: a short prompt + 50 new tokens).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from svend.models.memory import (
    GiB, LEVERS, MemoryPlanError, ModelShape, check_fits, optimizer_kind, plan, plan_from_config,
)

ROOT = Path(__file__).resolve().parents[2]
LITGPT_LORA = "Lightning-AI/litgpt tutorials/resource-tables.md: Finetuning with LoRA on 1 GPU"
LITGPT_INFER = "Lightning-AI/litgpt tutorials/resource-tables.md: Single-GPU Inference"
TOLERANCE = 0.15

# Shapes from litgpt's lit_gpt/config.py (padded vocabularies as litgpt allocates them).
SHAPES = {
    "phi-1.5": (ModelShape(51200, 2048, 24, 32, 32, 8192, gated_mlp=False), 1044),
    "stablelm-3b": (ModelShape(50688, 4096, 16, 32, 32, 16384, gated_mlp=False), 1034),
    "llama2-7b": (ModelShape(32000, 4096, 32, 32, 32, 11008), 1304),
    "llama2-13b": (ModelShape(32000, 5120, 40, 40, 40, 13824), 1304),
    "codellama-34b": (ModelShape(32000, 8192, 48, 64, 8, 22016), 1304),
    "falcon-40b": (ModelShape(65024, 8192, 60, 128, 8, 32768, gated_mlp=False), 1079),
    "llama2-70b": (ModelShape(32000, 8192, 80, 64, 8, 28672), 1304),
}
NF4 = {"bits": 4, "quant_type": "nf4", "double_quant": False, "compute_dtype": "bfloat16"}
QUANT = {"none": None, "nf4": NF4, "nf4-dq": {**NF4, "double_quant": True}}
A100_40 = {"accelerator": "gpu", "precision": "bf16-true", "memory_gb": 40, "gradient_checkpointing": False}


def litgpt_lora(quant: str) -> dict:
    kind = "qlora" if QUANT[quant] else "lora"
    return {"_target_": f"svend.models.adapters.{kind}", "r": 8, "alpha": 16, "dropout": 0.05,
            "target_modules": ["q", "v"], "quantization": QUANT[quant]}


def litgpt_plan(model: str, quant: str, micro_batch: int, mode: str = "train"):
    shape, seq = SHAPES[model]
    return plan(shape, adapter=litgpt_lora(quant), hardware=A100_40, optimizer="torch.optim.AdamW",
                micro_batch_size=micro_batch, seq_len=seq if mode == "train" else 256, mode=mode,
                loss="chunked")


# (model, quantization, micro-batch, published GB, trainable parameters in the table)
LORA_ROWS = [
    ("phi-1.5", "none", 1, 4.82, 1_572_864), ("phi-1.5", "nf4", 1, 3.78, 1_572_864),
    ("phi-1.5", "nf4-dq", 1, 3.72, 1_572_864), ("phi-1.5", "none", 2, 6.76, 1_572_864),
    ("phi-1.5", "none", 4, 10.68, 1_572_864),
    ("stablelm-3b", "none", 1, 9.69, 2_097_152), ("stablelm-3b", "nf4", 1, 6.35, 2_097_152),
    ("stablelm-3b", "nf4-dq", 1, 6.19, 2_097_152), ("stablelm-3b", "none", 2, 12.10, 2_097_152),
    ("stablelm-3b", "none", 4, 16.92, 2_097_152),
    ("llama2-7b", "none", 1, 21.30, 4_194_304), ("llama2-7b", "nf4", 1, 14.14, 4_194_304),
    ("llama2-7b", "nf4-dq", 1, 13.84, 4_194_304), ("llama2-7b", "none", 2, 29.07, 4_194_304),
    ("llama2-13b", "none", 1, 38.12, 6_553_600), ("llama2-13b", "nf4", 1, 23.14, 6_553_600),
    ("llama2-13b", "nf4-dq", 1, 22.55, 6_553_600),
]


@pytest.mark.parametrize("model,quant,micro_batch,published_gb,trainable", LORA_ROWS)
def test_litgpt_lora_finetuning_rows(model, quant, micro_batch, published_gb, trainable):
    """Source: LITGPT_LORA. Peak allocated memory within ±15 %, and the same trainable-parameter count."""
    p = litgpt_plan(model, quant, micro_batch)
    assert p.row("LoRA weights").bytes == trainable * 4  # peft keeps LoRA factors in fp32
    predicted_gb = p.allocated_bytes / 1e9
    assert abs(predicted_gb / published_gb - 1) <= TOLERANCE, (LITGPT_LORA, model, quant, predicted_gb)


# The same table's OOM rows on the 40 GB card must not fit.
@pytest.mark.parametrize("model,quant,micro_batch", [
    ("llama2-7b", "none", 4), ("llama2-13b", "none", 2), ("llama2-13b", "none", 4),
    ("falcon-40b", "none", 1), ("falcon-40b", "nf4", 1), ("falcon-40b", "nf4-dq", 1),
])
def test_litgpt_lora_oom_rows_do_not_fit(model, quant, micro_batch):
    """Source: LITGPT_LORA ("OOM" on the A100-40GB)."""
    p = litgpt_plan(model, quant, micro_batch)
    assert not p.fits
    with pytest.raises(MemoryPlanError):
        check_fits(p)


def test_litgpt_lora_rows_that_ran_fit_the_card():
    """Source: LITGPT_LORA: every measured row ran on the 40 GB card, so the planner must say it fits."""
    for model, quant, micro_batch, _, _ in LORA_ROWS:
        assert litgpt_plan(model, quant, micro_batch).fits, (model, quant, micro_batch)


INFER_ROWS = [
    ("phi-1.5", "none", 2.86), ("phi-1.5", "nf4", 1.39), ("phi-1.5", "nf4-dq", 1.33),
    ("stablelm-3b", "none", 7.30), ("stablelm-3b", "nf4", 3.20), ("stablelm-3b", "nf4-dq", 3.04),
    ("llama2-7b", "none", 13.52), ("llama2-7b", "nf4", 4.57), ("llama2-7b", "nf4-dq", 4.26),
    ("llama2-13b", "none", 26.21), ("llama2-13b", "nf4", 8.32), ("llama2-13b", "nf4-dq", 7.72),
    ("codellama-34b", "nf4", 20.52), ("codellama-34b", "nf4-dq", 18.95),
    ("falcon-40b", "nf4", 26.55), ("falcon-40b", "nf4-dq", 24.63), ("llama2-70b", "nf4-dq", 37.21),
]


@pytest.mark.parametrize("model,quant,published_gb", INFER_ROWS)
def test_litgpt_inference_rows(model, quant, published_gb):
    """Source: LITGPT_INFER. Weights (bf16, NF4, NF4-DQ) + KV cache within ±15 % (in fact within 6 %)."""
    predicted_gb = litgpt_plan(model, quant, 1, mode="generate").allocated_bytes / 1e9
    assert abs(predicted_gb / published_gb - 1) <= TOLERANCE, (LITGPT_INFER, model, quant, predicted_gb)


def test_nf4_and_double_quant_bytes_are_exact():
    """QLoRA paper (Dettmers et al. 2023, §3): constants cost 0.5 bit/param, 0.127 with double quant."""
    shape = SHAPES["llama2-7b"][0]
    assert shape.num_params() == 6_738_415_616  # Llama-2-7B's exact count (biases: none)
    rows = {q: litgpt_plan("llama2-7b", q, 1).row("weights: quantized linears").bytes for q in ("nf4", "nf4-dq")}
    n = shape.linear_params()
    assert rows["nf4"] == n * (0.5 + 4 / 64)
    assert rows["nf4-dq"] == n * (0.5 + 1 / 64 + 4 / (64 * 256))
    assert (rows["nf4"] - rows["nf4-dq"]) * 8 / n == pytest.approx(0.5 - 0.127, abs=0.002)


def _conf(path: str) -> dict:
    node = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / path))
    node.pop("defaults", None)
    return node


# Shipped 7B bases (conf/model/*.yaml shape blocks, from each model's config.json).
SEVEN_B = {
    "llama2_7b": ModelShape(32000, 4096, 32, 32, 32, 11008),
    "mistral_7b": ModelShape(32000, 4096, 32, 32, 8, 14336),
    "codeqwen1_5_7b": ModelShape(92416, 4096, 32, 32, 4, 13440),
    "qwen2_5_7b": ModelShape(152064, 3584, 28, 28, 4, 18944),
}


@pytest.mark.parametrize("model", sorted(SEVEN_B))
def test_rtx4070_profile_fits_a_7b_qlora(model):
    """The 12 GB profile (QLoRA, paged 8-bit AdamW, checkpointing) fits every shipped 7B at its seq len."""
    hw, adapter, optim = _conf("hardware/rtx4070_12gb.yaml"), _conf("adapter/qlora.yaml"), _conf("optim/paged_adamw_8bit.yaml")
    assert hw["memory_gb"] == 12 and adapter["quantization"] and hw["gradient_checkpointing"]
    p = plan(SEVEN_B[model], adapter=adapter, hardware=hw, optimizer=optim,
             micro_batch_size=hw["micro_batch_size"], seq_len=hw["max_seq_len"])
    check_fits(p)
    assert p.settings["optimizer"] == "paged_adamw8bit"
    assert p.max_seq_len >= hw["max_seq_len"]
    if model == "llama2_7b":  # litgpt needs 14.14 GB (NF4, 1304 tokens, no checkpointing): we plan far less
        assert p.total_bytes / 1e9 < 14.14 * 0.6 and p.max_seq_len >= 4096


def test_longest_seq_len_is_the_edge():
    hw, adapter = _conf("hardware/rtx4070_12gb.yaml"), _conf("adapter/qlora.yaml")
    kw = dict(adapter=adapter, hardware=hw, optimizer="bitsandbytes.optim.PagedAdamW8bit", micro_batch_size=1)
    shape = SEVEN_B["llama2_7b"]
    edge = plan(shape, seq_len=128, **kw).max_seq_len
    assert plan(shape, seq_len=edge, **kw).fits and not plan(shape, seq_len=edge + 64, **kw).fits


def test_checkpointing_and_quantization_are_levers():
    shape, hw = SEVEN_B["llama2_7b"], {**A100_40, "precision": "bf16-mixed"}
    base = dict(hardware=hw, optimizer="torch.optim.AdamW", micro_batch_size=2, seq_len=2048)
    lora = {**litgpt_lora("none"), "target_modules": "all-linear"}
    no_ckpt = plan(shape, adapter=lora, **base).total_bytes
    ckpt = plan(shape, adapter=lora, **{**base, "hardware": {**hw, "gradient_checkpointing": True}}).total_bytes
    qlora = plan(shape, adapter={**lora, "quantization": QUANT["nf4-dq"]}, **base).total_bytes
    eager = plan(shape, adapter=lora, **{**base, "hardware": {**hw, "attn_implementation": "eager"}}).total_bytes
    assert ckpt < no_ckpt / 2 and qlora < no_ckpt - 8 * GiB and eager > no_ckpt + 5 * GiB


def test_full_finetune_states_and_fsdp_sharding():
    """Mixed-precision AdamW: fp32 weights + grads + 2 states = 16 B/param; FSDP divides them."""
    shape = SEVEN_B["llama2_7b"]
    full = {"_target_": "svend.models.adapters.full", "quantization": None}
    hw = {"accelerator": "gpu", "precision": "bf16-mixed", "memory_gb": 80, "gradient_checkpointing": True,
          "devices": 8, "num_nodes": 1}
    ddp = plan(shape, adapter=full, hardware={**hw, "strategy": "ddp"}, optimizer="torch.optim.AdamW",
               micro_batch_size=1, seq_len=2048)
    fsdp = plan(shape, adapter=full, hardware={**hw, "strategy": "fsdp"}, optimizer="torch.optim.AdamW",
                micro_batch_size=1, seq_len=2048)
    n = shape.num_params()
    assert ddp.row("weights").bytes + ddp.row("gradients").bytes + ddp.row("optimizer states").bytes == 16 * n
    assert fsdp.row("optimizer states").bytes == 8 * n / 8
    assert not ddp.fits and fsdp.fits


def test_refusal_names_the_levers():
    p = litgpt_plan("llama2-13b", "none", 2)
    with pytest.raises(MemoryPlanError) as err:
        check_fits(p)
    message = str(err.value)
    for lever in ("micro_batch_size", "max_seq_len", "qlora", "gradient_checkpointing"):
        assert lever in message
    assert len(LEVERS) == 4 and "DOES NOT FIT" in message


def test_cpu_profile_has_no_budget_and_the_table_reads():
    hw = {**_conf("hardware/cpu.yaml"), "precision": "32-true"}
    p = plan(SHAPES["phi-1.5"][0], adapter=_conf("adapter/full.yaml"), hardware=hw,
             optimizer="torch.optim.AdamW", micro_batch_size=8, seq_len=512)
    assert p.fits and p.budget_bytes is None and p.max_seq_len_that_fits() is None
    assert "CUDA context" not in [r.name for r in p.rows]
    table = p.table()
    assert "weights" in table and "total" in table and "no accelerator memory" in table


def test_plan_from_composed_config_and_optimizer_kinds():
    cfg = OmegaConf.create({
        "model": {"shape": {"vocab_size": 32000, "hidden_size": 4096, "num_layers": 32, "num_heads": 32,
                            "num_kv_heads": 32, "intermediate_size": 11008, "tie_embeddings": False}},
        "adapter": _conf("adapter/qlora.yaml"), "hardware": _conf("hardware/rtx4070_12gb.yaml"),
        "optim": _conf("optim/paged_adamw_8bit.yaml"),
    })
    p = plan_from_config(cfg)
    assert p.fits and p.seq_len == cfg.hardware.max_seq_len and p.settings["trainable"] == "qlora"
    assert optimizer_kind("torch.optim.AdamW") == "adamw"
    assert optimizer_kind("bitsandbytes.optim.AdamW8bit") == "adamw8bit"
    assert optimizer_kind({"_target_": "bitsandbytes.optim.PagedAdamW"}) == "paged_adamw"
    assert optimizer_kind("torch.optim.SGD") == "sgd"
