"""A trained model ready to generate, from whatever training or export left behind.

    model, tokenizer, info = load_for_inference("outputs/train/2026-11-23_10-00-00")   # a run folder
    load_for_inference("outputs/train/<run>/adapter")     # an adapter folder (svend_adapter.json)
    load_for_inference("exports/svend-smollm2")           # a merged export (svend-export) or any HF folder
    load_for_inference(model_cfg=cfg.model)               # no checkpoint: the base a model config describes

What a run folder holds is in ``svend.runs``: adapter runs have ``adapter/``; full fine-tunes have
``config.yaml`` + ``tokenizer/`` + ``checkpoints/*.ckpt``, so the network is rebuilt from the config
and its best checkpoint loaded (``best-*.ckpt``, else ``last.ckpt``, else the newest).

LoRA is merged into the base for inference (``merge_and_unload``): unmerged, the adapter's extra
matmuls run for every token — merged generates 2.2x faster (SmolLM2-135M, r=16 on every linear layer,
batches of 8: ``python -m svend.benchmarks.engine --scenarios lora``). A QLoRA adapter stays
unmerged on its 4-bit base — merging into 4-bit weights would round the update away (``svend-export``
merges it into the full-precision base instead).

``info`` says what was loaded: ``kind`` (run, adapter, merged, config), ``path``, ``model`` (class),
``parameters``, ``adapter`` (kind or None), ``merged`` (LoRA folded in), ``dtype``, ``load_s``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from svend.models import adapters
from svend.models.adapters import ADAPTER_FILE


def load_for_inference(checkpoint: str | os.PathLike | None = None, model_cfg: Any = None,
                       dtype: str | torch.dtype | None = None, merge: bool = True) -> tuple[torch.nn.Module, Any, dict]:
    """``(model, tokenizer, info)`` in eval mode with the KV cache on (module docstring).
    ``merge=False`` keeps a LoRA adapter unmerged (to measure what merging buys)."""
    start = time.perf_counter()
    if checkpoint is None and model_cfg is None:
        raise ValueError("load_for_inference: give a checkpoint (a run folder, an adapter folder, a merged export) "
                         "or model_cfg (a model config group node)")
    if checkpoint is None:
        model, tokenizer, info = _from_config(model_cfg, dtype)
    else:
        path = Path(checkpoint).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"checkpoint {path}: no such folder")
        if (path / ADAPTER_FILE).is_file():
            model, tokenizer, info = _from_adapter(path, dtype, merge)
        elif (path / "adapter" / ADAPTER_FILE).is_file():
            model, tokenizer, info = _from_adapter(path / "adapter", dtype, merge)
            info["kind"], info["path"] = "run", str(path)
        elif (path / "config.json").is_file():
            model, tokenizer, info = _from_export(path, dtype)
        elif (path / "config.yaml").is_file() and (path / "checkpoints").is_dir():
            model, tokenizer, info = _from_run(path, dtype, merge)
        else:
            raise FileNotFoundError(
                f"checkpoint {path} is none of: a run folder (adapter/{ADAPTER_FILE}, or config.yaml + checkpoints/), "
                f"an adapter folder ({ADAPTER_FILE}), a merged export (config.json + weights + tokenizer)")
    model.eval()
    if getattr(model, "config", None) is not None and hasattr(model.config, "use_cache"):
        model.config.use_cache = True
    first = next(model.parameters())
    info.update(model=type(model).__name__, parameters=sum(p.numel() for p in model.parameters()),
                dtype=str(first.dtype).removeprefix("torch."), load_s=round(time.perf_counter() - start, 2))
    return model, tokenizer, info


def _merge(model, merge: bool) -> tuple[torch.nn.Module, bool]:
    from peft import PeftModel

    if merge and isinstance(model, PeftModel) and not adapters._is_4bit(model):
        return model.merge_and_unload(), True
    return model, False


def _from_adapter(folder: Path, dtype, merge: bool):
    meta = adapters.read_adapter_meta(folder)
    model, tokenizer = adapters.load_adapter(folder, dtype=dtype)
    model, merged = _merge(model, merge)
    return model, tokenizer, {"kind": "adapter", "path": str(folder), "adapter": meta["adapter"]["kind"],
                              "merged": merged, "base": meta["model"].get("source") or meta["model"].get("path")}


def _from_export(folder: Path, dtype):
    from transformers import AutoTokenizer

    from svend.models.pretrained import load_causal_lm

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"checkpoint {folder} has config.json but no loadable tokenizer: {exc}") from None
    model = load_causal_lm(None, path=folder, dtype=dtype)
    return model, tokenizer, {"kind": "merged", "path": str(folder), "adapter": None, "merged": False, "base": str(folder)}


def _from_run(run: Path, dtype, merge: bool):
    """A run without an adapter folder: rebuild model and adapter from config.yaml, load the best checkpoint."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer

    from svend.models.build import fit_vocab
    from svend.runs import load_weights

    cfg = OmegaConf.load(run / "config.yaml")
    if "model" not in cfg or "net" not in cfg.model or "adapter" not in cfg:
        raise ValueError(f"{run / 'config.yaml'} has no model.net or adapter: not a Svend training run's config")
    if not (run / "tokenizer").is_dir():
        raise FileNotFoundError(f"run {run} has no tokenizer/ folder (training saves the tokenizer it used there)")
    found = sorted((run / "checkpoints").glob("*.ckpt"), key=lambda p: (p.name.startswith("best-"), p.name == "last.ckpt",
                                                                         p.stat().st_mtime))
    if not found:
        raise FileNotFoundError(f"run {run} has no checkpoint in checkpoints/")
    tokenizer = AutoTokenizer.from_pretrained(run / "tokenizer", local_files_only=True)
    net = instantiate(cfg.adapter)(fit_vocab(_build_net(cfg.model.net, dtype), tokenizer), tokenizer)
    # The checkpoint is the CausalLM stage's: keys "net.…"; adapter runs hold only the trainable tensors.
    stage = torch.nn.Module()
    stage.net, stage.strict_loading = net, all(p.requires_grad for p in net.parameters())
    load_weights(stage, str(found[-1]))
    model, merged = _merge(net, merge)
    return model, tokenizer, {"kind": "run", "path": str(run), "checkpoint": str(found[-1]),
                              "adapter": (getattr(net, "svend_adapter", None) or {}).get("kind"), "merged": merged,
                              "base": cfg.model.get("source") or cfg.model.get("name")}


def _build_net(net_cfg, dtype):
    from hydra.utils import instantiate

    from svend.models.pretrained import _torch_dtype

    overrides = {"gradient_checkpointing": False} if "gradient_checkpointing" in net_cfg else {}
    if dtype is not None and "dtype" in _target_params(net_cfg):
        return instantiate(net_cfg, dtype=dtype, **overrides)
    net = instantiate(net_cfg, **overrides)
    return net.to(_torch_dtype(dtype)) if dtype is not None else net


def _target_params(net_cfg) -> set[str]:
    import inspect

    from hydra.utils import get_method

    return set(inspect.signature(get_method(net_cfg._target_)).parameters)


def _from_config(model_cfg, dtype):
    from hydra.utils import instantiate

    from svend.models.build import fit_vocab

    if "tokenizer" not in model_cfg or "net" not in model_cfg:
        raise ValueError(f"model_cfg needs `tokenizer` and `net` nodes (a conf/model/*.yaml group), got keys "
                         f"{sorted(model_cfg)}")
    tokenizer = instantiate(model_cfg.tokenizer)
    net = fit_vocab(_build_net(model_cfg.net, dtype), tokenizer)
    return net, tokenizer, {"kind": "config", "path": None, "adapter": None, "merged": False,
                            "base": model_cfg.get("source") or model_cfg.get("name")}
