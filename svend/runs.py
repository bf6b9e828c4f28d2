"""Run folders: what a run leaves behind, and how to pick up where one stopped.

A run folder (``outputs/<task>/<time>/``, or ``multirun/<task>/<time>/<n>/``) holds::

    config.yaml       the resolved config — every value this run used
    .hydra/           Hydra's composed config and the command-line overrides
    tokenizer/        the tokenizer the model was trained with (Svend's special tokens included)
    checkpoints/      best-step<N>.ckpt (lowest val/loss), last.ckpt (every N steps), on_exception.ckpt;
                      adapter runs save only the trainable weights
    adapter/          adapter runs: the best weights as a self-describing adapter folder (PEFT files,
                      tokenizer, svend_adapter.json) — `svend-export <run>/adapter OUT` merges it
    tensorboard/      event files: losses, perplexity, lr, tokens/s, and the HPARAMS table
    train.log         the log
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """The checkpoint to resume from: ``ckpt_path=…`` as given, or with ``resume=last`` the newest
    checkpoint in this run folder (select the folder with ``hydra.run.dir=…``)."""
    if cfg.ckpt_path:
        if not Path(cfg.ckpt_path).is_file():
            raise FileNotFoundError(f"ckpt_path={cfg.ckpt_path}: no such checkpoint file")
        return str(cfg.ckpt_path)
    if cfg.resume is None:
        return None
    if cfg.resume != "last":
        raise ValueError(f"resume={cfg.resume!r}: the only value is 'last' (or give ckpt_path=FILE)")
    folder = Path(cfg.paths.run_dir) / "checkpoints"
    found = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(
            f"resume=last: no checkpoint in {folder}; point hydra.run.dir=<run folder> at the run to resume"
        )
    log.info("resuming from %s", found[-1])
    return str(found[-1])


def load_weights(module, checkpoint: str) -> None:
    """Put a checkpoint's weights into ``module`` (adapter checkpoints hold only the trainable ones)."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    module.load_state_dict(state, strict=module.strict_loading)


def init_weights(net, source: str | Path) -> str:
    """Start ``net`` from an earlier stage's weights (``stage.init_from=…``: base reasoning → tool
    integration). ``source`` is a run folder (its ``adapter/`` if it has one, else its best
    checkpoint), an adapter folder (``svend_adapter.json``) or a Lightning ``.ckpt``. The shapes must
    match the model this run builds (same base, same adapter kind and rank). Returns what was loaded."""
    import torch

    source = Path(source).expanduser()
    if (source / "adapter").is_dir():
        source = source / "adapter"
    elif (source / "checkpoints").is_dir():
        folder = source / "checkpoints"
        # The newest best-step checkpoint, else last.ckpt; on_exception.ckpt only when nothing else exists.
        candidates = (sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime)
                      or [p for p in [folder / "last.ckpt", folder / "on_exception.ckpt"] if p.is_file()])
        if not candidates:
            raise FileNotFoundError(f"init_from={source}: the run folder has no checkpoint in checkpoints/")
        source = candidates[-1] if candidates[0].name.startswith("best-") else candidates[0]
    if source.is_file() and source.suffix == ".ckpt":
        state = torch.load(source, map_location="cpu", weights_only=False)["state_dict"]
        state = {k.removeprefix("net."): v for k, v in state.items()}
        known = set(net.state_dict())  # parameters, buffers and tied weights under every name
        missing = [k for k in state if k not in known]
        if missing:
            raise ValueError(f"init_from={source}: {len(missing)} tensors do not exist in this model "
                             f"(e.g. {missing[0]}); was it trained with another model or adapter?")
        net.load_state_dict(state, strict=False)
        return str(source)
    if (source / "svend_adapter.json").is_file():
        from peft import PeftModel, set_peft_model_state_dict
        from safetensors.torch import load_file

        if not isinstance(net, PeftModel):
            raise ValueError(f"init_from={source} is an adapter folder, but this run's model has no adapter "
                             "(use adapter=lora, or merge it first with svend-export and set model.path)")
        result = set_peft_model_state_dict(net, load_file(source / "adapter_model.safetensors"))
        if getattr(result, "unexpected_keys", None):
            raise ValueError(f"init_from={source}: adapter tensors not in this model: {result.unexpected_keys[:3]}")
        return str(source)
    raise FileNotFoundError(f"init_from={source}: not a run folder, an adapter folder (svend_adapter.json) or a .ckpt file")


def save_adapter_folder(net, tokenizer, run_dir: Path, extra: dict[str, Any]) -> Path | None:
    """Write ``<run>/adapter`` for peft-wrapped models; full fine-tunes keep their Lightning checkpoint."""
    from peft import PeftModel

    from svend.models.adapters import save_adapter

    if not isinstance(net, PeftModel):
        return None
    return save_adapter(net, tokenizer, run_dir / "adapter", extra=extra)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Every ``_target_`` node of a group such as ``callbacks`` or ``logger``, in config order."""
    return [instantiate(node) for node in (group or {}).values() if node is not None]


def save_run_files(cfg: DictConfig, tokenizer, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    tokenizer.save_pretrained(str(run_dir / "tokenizer"))


def flat_hparams(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config flattened to ``a.b.c: scalar`` pairs (TensorBoard's HPARAMS columns)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif isinstance(node, (int, float, str, bool)):
            out[prefix[:-1]] = node
        elif node is None:
            out[prefix[:-1]] = "null"
        else:  # lists: one readable cell
            out[prefix[:-1]] = str(node)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def log_hparams(loggers: list, cfg: DictConfig, metrics: dict[str, float]) -> None:
    """Write the hyperparameters once, with the run's final metrics under ``hparams/…`` tags, so the
    HPARAMS tab compares runs on real numbers (no ``hp_metric = -1`` placeholder)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    params = flat_hparams(cfg)
    scores = {f"hparams/{k.replace('/', '_')}": float(v) for k, v in metrics.items()}
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, scores)
        else:
            logger.log_hyperparams(params)
            logger.log_metrics(scores)
        logger.save()
