"""Causal-LM stage: next-token loss on assistant tokens only (system, user and tool-response tokens are
context, never targets). Base reasoning and tool integration are this module on different data
mixtures (``conf/stage/``); a later stage starts from an earlier one with ``stage.init_from``:

    svend-train stage=base_reasoning model=smollm2_135m adapter=lora
    svend-train stage=tool_integration model=smollm2_135m adapter=lora data=tool_arith \
        stage.init_from=outputs/train/<time>       # its adapter (or best checkpoint) is the start

The loss computes logits only where a label exists: the hidden states of those positions go through
the LM head, the rest never become ``[tokens × vocab]`` fp32 logits — most of the memory and a good
share of the time of a small-model step (BASELINE.md). Any model with ``get_decoder()`` and
``get_output_embeddings()`` trains here: the Svend decoder, and transformers / peft models.
"""

from __future__ import annotations

import logging
import math
from functools import partial
from typing import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from svend.data.packing import IGNORE_INDEX

log = logging.getLogger(__name__)


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 10, min_lr_ratio: float = 0.1):
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_lr_ratio`` × lr at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _summed_ce(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(hidden).float(), targets, reduction="sum")


def lm_loss(net: nn.Module, batch: dict[str, torch.Tensor], chunk_tokens: int | None = None) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over the positions that carry a label, and how many there were.

    ``chunk_tokens``: push at most this many labelled positions through the LM head at a time, each
    chunk recomputed in the backward pass (activation checkpointing), so the ``[tokens × vocab]`` fp32
    logits never exist in full — with a 152k vocabulary they are the largest activation of a 7B QLoRA
    step (``hardware.loss_chunk_tokens``; the memory planner's "logits + loss" row). Same loss and
    gradients; one extra LM-head matmul per chunk."""
    hidden = net.get_decoder()(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).last_hidden_state
    mask = batch["labels"] != IGNORE_INDEX
    hidden, targets = hidden[mask], batch["labels"][mask]
    head, n = net.get_output_embeddings(), int(targets.numel())
    if not chunk_tokens or n <= chunk_tokens:
        return _summed_ce(head, hidden, targets) / n, n
    total = sum(checkpoint(_summed_ce, head, h, t, use_reentrant=False)
                for h, t in zip(hidden.split(chunk_tokens), targets.split(chunk_tokens)))
    return total / n, n


class CausalLM(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] = partial(torch.optim.AdamW, lr=3e-4),
        scheduler: Callable | None = None,
        name: str = "causal_lm",
        init_from: str | None = None,
        loss_chunk_tokens: int | None = None,
    ) -> None:
        super().__init__()
        self.loss_chunk_tokens = loss_chunk_tokens  # hardware.loss_chunk_tokens (see lm_loss)
        if init_from:  # an earlier stage's run, adapter or checkpoint (svend.runs.init_weights)
            from svend.runs import init_weights

            log.info("stage %s starts from %s", name, init_weights(net, init_from))
        # Hyperparameters go to TensorBoard from the resolved Hydra config (train.py), not from here.
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        # Adapter runs (LoRA, QLoRA) checkpoint only what trains; the frozen base reloads from its source.
        self.trainable_names = {n for n, p in self.named_parameters() if p.requires_grad}
        self.strict_loading = len(self.trainable_names) == sum(1 for _ in self.parameters())
        self._eval_sums = {"loss": 0.0, "tokens": 0}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, _ = lm_loss(self.net, batch, self.loss_chunk_tokens)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/ppl", torch.exp(loss.detach().clamp(max=20)))
        return loss

    # Validation and test loss are token-weighted over the whole split, not a mean of batch means.
    def _eval_step(self, batch: dict[str, torch.Tensor]) -> None:
        loss, n = lm_loss(self.net, batch, self.loss_chunk_tokens)
        self._eval_sums["loss"] += loss.item() * n
        self._eval_sums["tokens"] += n

    def _eval_epoch_end(self, prefix: str) -> None:
        total = torch.tensor([self._eval_sums["loss"], float(self._eval_sums["tokens"])], device=self.device)
        total = self.trainer.strategy.reduce(total, reduce_op="sum")
        loss = (total[0] / total[1].clamp(min=1)).item()
        self.log(f"{prefix}/loss", loss, prog_bar=True, sync_dist=False)
        self.log(f"{prefix}/ppl", math.exp(min(loss, 20.0)), sync_dist=False)
        self._eval_sums = {"loss": 0.0, "tokens": 0}

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch)

    def on_validation_epoch_end(self):
        self._eval_epoch_end("val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch)

    def on_test_epoch_end(self):
        self._eval_epoch_end("test")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if not self.strict_loading:  # 20 MB instead of 600 MB for SmolLM2 + LoRA
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in self.trainable_names}

    def configure_optimizers(self):
        params = [p for p in self.net.parameters() if p.requires_grad]
        if not params:
            raise ValueError("no trainable parameters: check the adapter config")
        optimizer = self.optimizer_factory(params)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
