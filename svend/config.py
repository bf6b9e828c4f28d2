"""Typed config schemas and the custom resolvers the YAML files use.

Importing this module registers ``train_schema`` in Hydra's ConfigStore; ``conf/train.yaml`` puts it
first in its defaults list, so the groups it types (hardware, optim, scheduler, data, trainer and the
top-level keys) reject a misspelt key or a wrongly typed value before any work starts, with Hydra's
message naming the key, e.g. ``Key 'micro_batch_sise' not in 'HardwareConf'``.

Groups whose options build different objects (model, adapter, stage, logger, callbacks) are typed
``Any``: their ``_target_`` decides what they accept, and ``instantiate`` reports unknown arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parent
# The config tree sits beside the package in the repository (an editable install, as `make setup` does).
CONF_DIR = PACKAGE_DIR.parent / "conf"


def cpu_precision() -> str:
    """bf16 autocast only where the CPU has AMX tiles; fp32 everywhere else.

    Measured on a 2-core avx512_bf16 CPU without AMX (the CI machines): oneDNN's bf16 matmul runs at
    about half MKL's fp32 speed, so Svend's training step is faster in fp32 — SmolLM2 + LoRA 270 vs 158
    real tok/s, the tiny decoder 458 vs 834 ms/step (`python -m svend.benchmarks.lora`). BASELINE's
    +48 % for bf16 came from full-vocabulary logits, which Svend does not compute. AMX (Sapphire Rapids
    and later) does bf16 matmuls in hardware.
    """
    import torch

    try:
        amx = torch.cpu._is_amx_tile_supported()
    except AttributeError:  # older torch: no probe, stay safe
        amx = False
    return "bf16-mixed" if amx else "32-true"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("svend_cpu_precision"):
        OmegaConf.register_new_resolver("svend_cpu_precision", cpu_precision)
    if not OmegaConf.has_resolver("svend_pkg"):
        # A file shipped inside the package, wherever it is installed and whatever the cwd.
        OmegaConf.register_new_resolver("svend_pkg", lambda rel: str(PACKAGE_DIR / rel))


@dataclass
class HardwareConf:
    name: str = MISSING
    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    strategy: Any = "auto"
    precision: str = "32-true"
    memory_gb: Optional[float] = None
    micro_batch_size: int = 8
    accumulate_grad_batches: int = 1
    max_seq_len: int = 512
    gradient_checkpointing: bool = False
    loss_chunk_tokens: Optional[int] = None
    deterministic: bool = False


@dataclass
class OptimConf:
    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    lr: float = 3e-4
    weight_decay: float = 0.0
    betas: List[float] = field(default_factory=lambda: [0.9, 0.95])


@dataclass
class SchedulerConf:
    _target_: str = "svend.stages.causal_lm.warmup_cosine"
    _partial_: bool = True
    warmup_steps: int = 10
    min_lr_ratio: float = 0.1


@dataclass
class DataConf:
    _target_: str = "svend.data.datamodule.ChatDataModule"
    train_files: List[str] = MISSING
    val_files: List[str] = field(default_factory=list)
    test_files: List[str] = field(default_factory=list)
    micro_batch_size: int = 8
    max_seq_len: int = 512
    packing: bool = True
    num_workers: int = 0
    seed: int = 0
    extra_train_files: List[Any] = field(default_factory=list)  # added to train_files (the loop's corrections)


@dataclass
class TrainerConf:
    """The Lightning Trainer arguments Svend's configs use; add one here before using it."""

    _target_: str = "lightning.pytorch.Trainer"
    default_root_dir: Optional[str] = None
    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    strategy: Any = "auto"
    precision: Any = "32-true"
    accumulate_grad_batches: int = 1
    deterministic: Any = False
    max_steps: int = -1
    max_epochs: Optional[int] = None
    min_steps: Optional[int] = None
    val_check_interval: Any = None
    check_val_every_n_epoch: Optional[int] = 1
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    overfit_batches: Any = 0.0
    fast_dev_run: Any = False
    log_every_n_steps: int = 50
    gradient_clip_val: Optional[float] = None
    num_sanity_val_steps: int = 2
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    profiler: Any = None
    benchmark: Optional[bool] = None


@dataclass
class TrainConf:
    task_name: str = "train"
    seed: int = 42
    ckpt_path: Optional[str] = None
    resume: Optional[str] = None
    test: bool = True
    optimized_metric: str = "val/loss"
    hardware: HardwareConf = field(default_factory=HardwareConf)
    optim: OptimConf = field(default_factory=OptimConf)
    scheduler: SchedulerConf = field(default_factory=SchedulerConf)
    data: DataConf = field(default_factory=DataConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    paths: Any = MISSING
    model: Any = MISSING
    adapter: Any = MISSING
    stage: Any = MISSING
    tools: Any = None
    # After fit: base vs tuned on held-out problems through one engine (experiment=tool_arith sets these).
    eval: Any = None
    engine: Any = None
    task: Any = None
    logger: Any = field(default_factory=dict)
    callbacks: Any = field(default_factory=dict)


def register_schemas() -> None:
    ConfigStore.instance().store(name="train_schema", node=TrainConf)


register_resolvers()
register_schemas()
