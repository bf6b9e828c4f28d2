"""Verifier stage: the LM backbone (LoRA, full or frozen) + a value head that says whether a reasoning
chain is correct. Trained on correct chains and corrupted copies of them (`svend-data generate` writes
``data/<recipe>/verifier/``; a corrupted chain has a wrong step, a wrongly copied number, a wrong final
answer or an unjustified leap):

    svend-train experiment=verifier                                    # SmolLM2-135M + LoRA, CPU, minutes
    svend-train experiment=verifier stage.process_weight=0             # outcome loss only
    svend-train experiment=verifier stage.freeze_backbone=true adapter=full   # a linear probe

Two read-outs of one `svend.models.heads.PooledHead`:
- ``outcome`` at the last token (the closing ``<|im_end|>``): is the whole chain correct? Binary
  cross-entropy against ``metadata.label``. Its sigmoid is the verifier's score.
- ``step`` at every assistant turn's ``<|im_end|>``: is the chain still correct after this turn?
  Against ``metadata.step_labels`` where the records have them, weighted by ``process_weight`` — a
  process-style loss (Lightman et al. 2023) that tells the model *where* a chain went wrong, a denser
  signal than one label per chain. Separate columns, because "this step is fine" and "the chain is
  right" disagree on a chain whose last step is right but whose earlier one is not.

Validation reports, on held-out chains, to TensorBoard: ``val/loss`` (outcome cross-entropy: the
checkpoint criterion, comparable across ``process_weight``), ``val/auroc`` (correct vs corrupted),
``val/accuracy`` (at ``threshold``), ``val/ece`` (expected calibration error, 15 bins), ``val/brier``,
``val/step_auroc``, and ``val/flagged/<corruption>``: the share of each kind of chain scored below the
threshold (for ``none``, the correct chains, that share is the false-alarm rate).

At the end of fit the best weights' head goes to ``<run>/head/`` with ``calibration.json`` (those
metrics and the reliability bins on the validation split); `VerifierScorer` reloads the whole verifier
from the run folder and is what best-of-N sampling and the gates call.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.classification import binary_accuracy, binary_auroc, binary_calibration_error

from svend.inference.scorers import weighted_vote
from svend.models.heads import HEAD_DIR, HeadedLM, HeadScorer, PooledHead, backbone_record, hidden_size, save_head
from svend.stages.classifier import ClassifierStage
from svend.state.runs import newest_run

log = logging.getLogger(__name__)

OUTPUTS = ("outcome", "step")
ECE_BINS = 15


class Verifier(ClassifierStage):
    """The verifier LightningModule (module docstring). ``net`` is the backbone from ``build_model``."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] = partial(torch.optim.AdamW, lr=3e-4),
        scheduler: Callable | None = None,
        name: str = "verifier",
        init_from: str | None = None,
        freeze_backbone: bool = False,
        trainable_layers: int | None = None,
        process_weight: float = 0.5,
        dropout: float = 0.0,
        pooling: str = "last_token",
        threshold: float = 0.5,
        export_dir: str | None = None,
    ) -> None:
        if init_from:  # e.g. the tool-integration run whose chains this verifier will judge
            from svend.runs import init_weights

            log.info("stage %s starts from %s", name, init_weights(net, init_from))
        model = HeadedLM(net, PooledHead(hidden_size(net), OUTPUTS, dropout, pooling), freeze_backbone, trainable_layers)
        super().__init__(model, optimizer, scheduler, name, outputs=("logit", "label", "group", "step_logit", "step_label"))
        self.process_weight, self.threshold, self.export_dir = float(process_weight), float(threshold), export_dir

    # -- the model -------------------------------------------------------------------------------
    def forward(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Outcome logits [B] and step logits [B, S] (garbage where ``step_index`` is -1)."""
        index = torch.cat([batch["last_index"][:, None], batch["step_index"]], dim=1)
        logits = self.net(batch["input_ids"], batch["position_ids"], index)
        return logits[:, 0, 0], logits[:, 1:, 1]

    def losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        outcome, step = self(batch)
        out = {"outcome_loss": F.binary_cross_entropy_with_logits(outcome, batch["label"]), "outcome": outcome, "step": step}
        mask = batch["step_label"] >= 0
        if mask.any():
            out["step_loss"] = F.binary_cross_entropy_with_logits(step[mask], batch["step_label"][mask])
        out["loss"] = out["outcome_loss"] + self.process_weight * out.get("step_loss", 0.0)
        return out

    # -- steps -------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        kind = getattr(self.trainer.datamodule, "kind", "chat") if self.trainer else "verifier"
        if kind != "verifier":
            raise ValueError(f"stage={self.hparams.name} trains on verifier records (metadata.kind=verifier) through "
                             f"svend.data.classification.ClassificationDataModule; the data has {kind} records — use data=verifier")

    def training_step(self, batch, batch_idx):
        out = self.losses(batch)
        self.log("train/loss", out["loss"], prog_bar=True)
        self.log("train/outcome_loss", out["outcome_loss"])
        if "step_loss" in out:
            self.log("train/step_loss", out["step_loss"])
        self.log("train/accuracy", ((out["outcome"] > 0).float() == batch["label"]).float().mean())
        return out["loss"]

    def _eval_step(self, batch, split: str) -> None:
        outcome, step = self(batch)
        c = self.collected[split]
        c["logit"].update(outcome.detach())
        c["label"].update(batch["label"])
        c["group"].update(batch["group"].float())
        mask = batch["step_label"] >= 0
        c["step_logit"].update(step.detach()[mask])
        c["step_label"].update(batch["step_label"][mask])

    def _report(self, split: str, values: dict[str, torch.Tensor]) -> None:
        groups = list(getattr(self.trainer.datamodule, "groups", []))
        metrics = verifier_metrics(values["logit"], values["label"], values["group"].long(), groups, self.threshold,
                                   values["step_logit"], values["step_label"])
        for key, value in metrics.items():
            if isinstance(value, float):
                self.log(f"{split}/{key}", value, prog_bar=key in ("loss", "auroc"), sync_dist=False)
        for group, share in metrics["flagged"].items():
            self.log(f"{split}/flagged/{group}", share, sync_dist=False)
        self.log_pr_curve(f"{split}/pr_curve", values["label"], torch.sigmoid(values["logit"]))

    # -- export ------------------------------------------------------------------------------------
    def on_fit_end(self) -> None:
        """The best checkpoint's head (and its calibration on the validation split) → ``<run>/head/``."""
        if not self.export_dir or not self.trainer.is_global_zero:
            return
        best, step = self._load_best()
        dm = self.trainer.datamodule
        files = {}
        outputs = self._best_val_outputs(step)
        if outputs is not None:
            logit, label, group, step_logit, step_label = (outputs[k] for k in ("logit", "label", "group", "step_logit", "step_label"))
            group = group.long()
            report = verifier_metrics(logit, label, group, dm.groups, self.threshold, step_logit, step_label)
            report["bins"] = reliability_bins(torch.sigmoid(logit), label)
            files["calibration.json"] = {"split": "val", "checkpoint": best or None, **report}
        meta = {
            "kind": "verifier",
            "stage": self.hparams.name,
            "max_seq_len": dm.max_seq_len,
            "threshold": self.threshold,
            "groups": list(dm.groups),
            "backbone": backbone_record(self.net.backbone, Path(self.export_dir), best),
        }
        folder = save_head(self.net, Path(self.export_dir) / HEAD_DIR, meta, files)
        log.info("verifier head and calibration written to %s", folder)


def verifier_metrics(
    logit: torch.Tensor,
    label: torch.Tensor,
    group: torch.Tensor,
    groups: Sequence[str],
    threshold: float = 0.5,
    step_logit: torch.Tensor | None = None,
    step_label: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Outcome cross-entropy, AUROC, accuracy, ECE, Brier; the flagged share per group; step AUROC.
    AUROC needs both classes: with one, it is left out (and logged as such)."""
    logit, label = logit.float().cpu(), label.float().cpu()
    p, target = torch.sigmoid(logit), label.long()
    out: dict[str, Any] = {
        "loss": F.binary_cross_entropy_with_logits(logit, label).item(),
        "accuracy": binary_accuracy(p, target, threshold=threshold).item(),
        "ece": binary_calibration_error(p, target, n_bins=ECE_BINS).item(),
        "brier": ((p - label) ** 2).mean().item(),
        "n": int(label.numel()),
    }
    if 0 < int(target.sum()) < target.numel():
        out["auroc"] = binary_auroc(p, target).item()
    else:
        log.warning("AUROC needs correct and corrupted chains; this split has only label %d", int(target[0]))
    flagged = {}
    for g in torch.unique(group.cpu()).tolist():
        name = groups[g] if g < len(groups) else str(g)
        flagged[name] = (p[group.cpu() == g] < threshold).float().mean().item()
    out["flagged"] = flagged
    if step_logit is not None and step_label is not None and step_label.numel():
        s = step_label.long().cpu()
        if 0 < int(s.sum()) < s.numel():
            out["step_auroc"] = binary_auroc(torch.sigmoid(step_logit.float().cpu()), s).item()
    return out


def reliability_bins(p: torch.Tensor, label: torch.Tensor, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Per equal-width score bin: how many chains, their mean score, and how many were correct — the
    reliability diagram behind ``ece``."""
    p, label = p.float().cpu(), label.float().cpu()
    edges = torch.linspace(0, 1, bins + 1)
    out = []
    for i in range(bins):
        inside = (p > edges[i]) & (p <= edges[i + 1]) if i else (p >= edges[0]) & (p <= edges[1])
        n = int(inside.sum())
        out.append({"lo": round(edges[i].item(), 4), "hi": round(edges[i + 1].item(), 4), "count": n,
                    "mean_score": p[inside].mean().item() if n else None,
                    "fraction_correct": label[inside].mean().item() if n else None})
    return out


# ---------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------


def _turns(candidate: Any) -> list[dict]:
    """The new turns of a candidate: ``Generation.messages``, a ``{"messages": …}`` dict or a list."""
    messages = getattr(candidate, "messages", None)
    if messages is None and isinstance(candidate, Mapping):
        messages = candidate.get("messages")
    if messages is None and isinstance(candidate, (list, tuple)):
        messages = candidate
    if messages is None:
        raise TypeError(f"a candidate must carry .messages (a list of OpenAI-shaped turns); got {type(candidate).__name__}")
    return list(messages)


class VerifierScorer(HeadScorer):
    """The trained verifier as a scorer: P(chain correct) for a transcript.

        scorer = VerifierScorer("outputs/verifier/<time>")       # the run folder (or its head/)
        scorer.score([{"role": "user", …}, {"role": "assistant", …}])          # → 0.93
        scorer(conversation, candidates)     # best-of-N: one score per candidate's new turns

    Rendering, batching and the sigmoid of the ``outcome`` logit: `svend.models.heads.HeadScorer`."""

    kind = "verifier"
    column = "outcome"  # score(transcript) → P(correct): the whole conversation, its last turn the answer

    def __init__(self, source: str | os.PathLike | None = None, **kwargs: Any) -> None:
        """``source`` None: the newest finished verifier run in ``./svend.db`` (`engine.scorer=verifier`)."""
        super().__init__(newest_run("verifier", needs="head") if source is None else source, **kwargs)

    def __call__(self, conversation: Sequence[Mapping[str, Any]], candidates: Sequence[Any]) -> list[float]:
        """One score per candidate: the conversation followed by the candidate's new turns."""
        return self.score_many([[*conversation, *_turns(c)] for c in candidates])


class VerifierVote(VerifierScorer):
    """Weighted voting: each candidate scores the verifier's P(correct) summed over the candidates that
    give its final answer (`svend.inference.scorers.weighted_vote`), so an answer many candidates reach
    wins unless the verifier doubts them, and the verifier alone decides between answers reached once.

        engine.scorer=verifier_vote:outputs/verifier/<time>"""

    def __call__(self, conversation: Sequence[Mapping[str, Any]], candidates: Sequence[Any]) -> list[float]:
        return weighted_vote(candidates, super().__call__(conversation, candidates))
