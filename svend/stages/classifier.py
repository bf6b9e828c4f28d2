"""What the verifier and the safety classifier share: a classification head's outputs collected over a
validation or test epoch and reported once at its end (the subclass says what to log), the best
validation step's outputs kept for the end-of-fit export, and the best checkpoint reloaded for it."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from torchmetrics.aggregation import CatMetric

from svend.stages.causal_lm import CausalLM


class ClassifierStage(CausalLM):
    """A `CausalLM` whose ``_eval_step(batch, split)`` fills ``self.collected[split][<output>]`` and whose
    ``_report(split, values)`` logs an epoch's concatenated outputs (``values["logit"]`` always)."""

    def __init__(self, net: nn.Module, optimizer: Callable, scheduler: Callable | None, name: str,
                 outputs: Sequence[str]) -> None:
        super().__init__(net, optimizer, scheduler, name=name)
        self.collected = nn.ModuleDict({split: nn.ModuleDict({k: CatMetric(nan_strategy="disable") for k in outputs})
                                        for split in ("val", "test")})
        self._val_outputs: dict[int, dict[str, torch.Tensor]] = {}

    def _eval_step(self, batch, split: str) -> None:
        raise NotImplementedError

    def _report(self, split: str, values: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self):
        self._finish_epoch("val")

    def on_test_epoch_end(self):
        self._finish_epoch("test")

    def _collected_values(self, split: str) -> dict[str, torch.Tensor]:
        """The outputs ``_eval_step`` collected for ``split``, concatenated; the collectors are reset."""
        c = self.collected[split]
        values = {k: _gathered(m) for k, m in c.items()}
        for m in c.values():
            m.reset()
        return values

    def _finish_epoch(self, split: str) -> None:
        values = self._collected_values(split)
        if not values["logit"].numel():
            return
        if split == "val":  # the end-of-fit export reuses the best step's outputs instead of a new pass
            self._val_outputs[self.global_step] = {k: v.cpu() for k, v in values.items()}
        self._report(split, values)

    @torch.no_grad()
    def _best_val_outputs(self, step: int) -> dict[str, torch.Tensor] | None:
        """Validation outputs at ``step`` (the best checkpoint's, already loaded) for the export: kept from
        that validation, or — when it ran in another process (a resumed run) — collected again by running
        ``_eval_step`` over the validation split. None without validation data."""
        dm = self.trainer.datamodule
        if "val" not in getattr(dm, "rows", {}):
            return None
        if step in self._val_outputs:
            return self._val_outputs[step]
        was_training = self.training
        self.eval()
        for batch in dm.predict_loader("val"):
            self._eval_step({k: v.to(self.device) for k, v in batch.items()}, "val")
        self.train(was_training)
        return {k: v.cpu() for k, v in self._collected_values("val").items()}

    def _load_best(self) -> tuple[str, int]:
        """Reload the best checkpoint's weights, if there is one: (its path or "", its global step)."""
        best = self.trainer.checkpoint_callback.best_model_path if self.trainer.checkpoint_callback else ""
        if not best:
            return "", self.global_step
        from svend.runs import load_weights

        load_weights(self, best)
        return best, torch.load(best, map_location="cpu", weights_only=False)["global_step"]

    def log_pr_curve(self, tag: str, label: torch.Tensor, p: torch.Tensor) -> None:
        """The precision-recall curve into TensorBoard's PR CURVES tab (TensorBoard loggers only)."""
        from lightning.pytorch.loggers import TensorBoardLogger

        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_pr_curve(tag, label.long().cpu(), p.float().cpu(), global_step=self.global_step)


def _gathered(metric: CatMetric) -> torch.Tensor:
    """A collector's values, concatenated; an empty tensor when nothing was collected, or only empty
    batches (no step labels in a whole split): CatMetric then computes ``[]``, not a tensor."""
    value = metric.compute() if metric.update_called else None
    return value if isinstance(value, torch.Tensor) else torch.empty(0)
