"""Safety classifier stage: the LM backbone + a classification head that says whether a request must be
refused, trained on the safety set (`svend-data generate` writes ``data/<recipe>/safety/``: harmful
requests to refuse and look-alike benign ones to answer, each with a category):

    svend-train experiment=safety_classifier                      # SmolLM2-135M + LoRA, CPU, minutes
    svend-train experiment=safety_classifier stage.category_weight=0    # no auxiliary category head

One `svend.models.heads.PooledHead` that reads the last token's state and the mean of the request's
states side by side (``pooling=last_and_mean``; ``last_token`` alone separates less on held-out
phrasings — experiments/safety_classifier):
- ``refuse``: binary cross-entropy against ``metadata.label`` (refuse = 1, comply = 0); its sigmoid is
  the score the safety gate thresholds.
- one logit per category (``weapons``, ``malware`` …, taken from the data, or ``stage.categories``):
  an auxiliary cross-entropy weighted by ``category_weight``, so the features separate *what kind* of
  harm, which helps the look-alikes (a chemistry question next to a synthesis request) and says which
  category a refusal was for.

Validation (and test) report to TensorBoard, at ``threshold``: precision, recall, F1 and false-positive
rate per class (``val/refuse/…``, ``val/comply/…``: the refuse FPR is over-refusal, the comply FPR is
harmful requests let through) and per category (``val/category/<name>/…``, refuse class), AUROC,
accuracy, the category head's accuracy, and the PR curve; validation also logs
``val/refuse/recall_at_max_fpr``, the highest recall within the over-refusal budget (as a checkpoint
criterion it is noisier than ``val/loss``: experiments/safety_classifier).

At the end of fit the best weights' head goes to ``<run>/head/`` together with
``threshold_curve.json``: for every distinct validation score, the precision, recall and FPR of
"refuse" if that score were the threshold. ``head.json``'s ``threshold`` — what the safety gate refuses
at — is the curve's point most likely to meet the target (recall ≥ ``stage.min_recall``, FPR ≤
``stage.max_fpr``: 95 % and 5 % by default) when the validation set is redrawn by whole intents
(`robust_operating_point`). Not the point with the highest validation recall at exactly the FPR
budget: errors come in whole phrasings, so that point sits on the budget's edge and a new set of
phrasings pushes it over (experiments/safety_classifier). ``min_recall: null`` picks that edge point
(`operating_point`); ``max_fpr: null`` uses ``stage.threshold``. Another point can be picked later
without rerunning anything (``safety.classifier.threshold=…``). `SafetyScorer` reloads the classifier from
the run folder alone and scores requests (what the safety gate calls).

The classifier reads the *request*: the turns before the record's last assistant answer
(`svend.data.classification.request_messages`) — a refusal in the answer would give the label away.
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
from torchmetrics.functional.classification import binary_accuracy, binary_auroc

from svend.data.classification import NO_GROUP
from svend.models.heads import HEAD_DIR, HeadedLM, HeadScorer, PooledHead, backbone_record, hidden_size, save_head
from svend.stages.classifier import ClassifierStage

log = logging.getLogger(__name__)

REFUSE = "refuse"
CLASSES = ("refuse", "comply")


class SafetyClassifier(ClassifierStage):
    """The safety-classifier LightningModule (module docstring). ``categories`` null: the category
    names come from the data at setup (all splits, sorted), and the head is built then."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] = partial(torch.optim.AdamW, lr=3e-4),
        scheduler: Callable | None = None,
        name: str = "safety_classifier",
        init_from: str | None = None,
        freeze_backbone: bool = False,
        trainable_layers: int | None = None,
        category_weight: float = 0.3,
        categories: Sequence[str] | None = None,
        dropout: float = 0.0,
        pooling: str = "last_and_mean",
        threshold: float = 0.5,
        max_fpr: float | None = 0.05,
        min_recall: float | None = 0.95,
        export_dir: str | None = None,
    ) -> None:
        if init_from:
            from svend.runs import init_weights

            log.info("stage %s starts from %s", name, init_weights(net, init_from))
        names = [REFUSE, *self._category_names(categories, category_weight)]
        model = HeadedLM(net, PooledHead(hidden_size(net), names, dropout, pooling), freeze_backbone, trainable_layers)
        super().__init__(model, optimizer, scheduler, name, outputs=("logit", "label", "group", "cluster", "category_hit"))
        self._dropout = dropout
        self.category_weight, self.threshold, self.export_dir = float(category_weight), float(threshold), export_dir
        self.categories_from_data = categories is None and self.category_weight > 0
        if max_fpr is not None and not 0 <= max_fpr < 1:
            raise ValueError(f"stage.max_fpr: must be in [0, 1) or null, got {max_fpr!r}")
        if min_recall is not None and not 0 < min_recall <= 1:
            raise ValueError(f"stage.min_recall: must be in (0, 1] or null, got {min_recall!r}")
        self.max_fpr, self.min_recall = max_fpr, min_recall

    @staticmethod
    def _category_names(categories: Sequence[str] | None, weight: float) -> list[str]:
        if weight <= 0 or categories is None:
            return []
        names = list(categories)
        if len(set(names)) != len(names) or REFUSE in names:
            raise ValueError(f"stage.categories must be distinct names other than {REFUSE!r}; got {names}")
        return [f"category/{c}" for c in names]

    @property
    def categories(self) -> list[str]:
        return [n.removeprefix("category/") for n in self.net.head.names[1:]]

    def setup(self, stage: str) -> None:
        dm = self.trainer.datamodule if self.trainer else None
        kind = getattr(dm, "kind", "chat") if dm is not None else "safety"
        if kind != "safety":
            raise ValueError(f"stage={self.hparams.name} trains on safety records (metadata.kind=safety) through "
                             f"svend.data.classification.ClassificationDataModule; the data has {kind} records — use data=safety")
        if self.categories_from_data and not self.categories and dm is not None:
            names = self._category_names(dm.groups, self.category_weight)
            head = PooledHead(self.net.head.hidden_size, [REFUSE, *names], self._dropout, self.net.head.pooling)
            self.net.head = head.to(self.device)
            self.trainable_names = {n for n, p in self.named_parameters() if p.requires_grad}
            log.info("safety categories from the data: %s", ", ".join(self.categories))

    # -- the model -------------------------------------------------------------------------------
    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logits [B, 1 + categories] at each example's last token."""
        return self.net(batch["input_ids"], batch["position_ids"], batch["last_index"][:, None])[:, 0]

    def _category_targets(self, batch) -> torch.Tensor:
        """The data's group indices mapped to this head's category columns (-100 = not a column)."""
        groups = list(self.trainer.datamodule.groups)
        column = {c: i for i, c in enumerate(self.categories)}
        lookup = torch.tensor([column.get(g, -100) for g in groups], device=batch["group"].device)
        return lookup[batch["group"]]

    def losses(self, batch) -> dict[str, torch.Tensor]:
        logits = self(batch)
        out = {"logits": logits, "refuse_loss": F.binary_cross_entropy_with_logits(logits[:, 0], batch["label"])}
        out["loss"] = out["refuse_loss"]
        if self.categories and self.category_weight > 0:
            target = self._category_targets(batch)
            if (target >= 0).any():
                out["category_loss"] = F.cross_entropy(logits[:, 1:], target, ignore_index=-100)
                out["loss"] = out["loss"] + self.category_weight * out["category_loss"]
        return out

    # -- steps -------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        out = self.losses(batch)
        self.log("train/loss", out["loss"], prog_bar=True)
        self.log("train/refuse_loss", out["refuse_loss"])
        if "category_loss" in out:
            self.log("train/category_loss", out["category_loss"])
        self.log("train/accuracy", ((out["logits"][:, 0] > 0).float() == batch["label"]).float().mean())
        return out["loss"]

    def _eval_step(self, batch, split: str) -> None:
        logits = self(batch).detach()
        c = self.collected[split]
        c["logit"].update(logits[:, 0])
        c["label"].update(batch["label"])
        c["group"].update(batch["group"].float())
        c["cluster"].update(batch["cluster"].float())
        if self.categories:
            target = self._category_targets(batch)
            known = target >= 0
            c["category_hit"].update((logits[:, 1:].argmax(-1) == target)[known].float())

    def _report(self, split: str, values: dict[str, torch.Tensor]) -> None:
        report = safety_metrics(values["logit"], values["label"], values["group"].long(), self.trainer.datamodule.groups, self.threshold)
        for key in ("loss", "auroc", "accuracy"):
            if key in report:
                self.log(f"{split}/{key}", report[key], prog_bar=key in ("loss", "auroc"), sync_dist=False)
        if values["category_hit"].numel():
            self.log(f"{split}/category_accuracy", values["category_hit"].mean().item(), sync_dist=False)
        for cls, stats in report["classes"].items():
            for key in ("precision", "recall", "f1", "fpr"):
                if stats[key] is not None:
                    self.log(f"{split}/{cls}/{key}", stats[key], sync_dist=False)
        for category, stats in report["categories"].items():
            for key in ("precision", "recall", "f1", "fpr", "accuracy"):
                if stats[key] is not None:
                    self.log(f"{split}/category/{category}/{key}", stats[key], sync_dist=False)
        p = torch.sigmoid(values["logit"])
        self.log_pr_curve(f"{split}/refuse_pr_curve", values["label"], p)
        if split == "val" and self.max_fpr is not None:
            # What the export will choose if this checkpoint is the best: the gate's operating point.
            point = operating_point(threshold_curve(p, values["label"]), self.max_fpr)
            self.log("val/refuse/recall_at_max_fpr", point["recall"] or 0.0, sync_dist=False)

    # -- export ------------------------------------------------------------------------------------
    def on_fit_end(self) -> None:
        """The best checkpoint's head and its validation threshold curve → ``<run>/head/``."""
        if not self.export_dir or not self.trainer.is_global_zero:
            return
        best, step = self._load_best()
        dm = self.trainer.datamodule
        files = {}
        threshold, rule = self.threshold, {"rule": "stage.threshold"}
        outputs = self._best_val_outputs(step)
        if outputs is not None:
            logit, label, group = outputs["logit"], outputs["label"], outputs["group"].long()
            curve, threshold, rule = choose_threshold(torch.sigmoid(logit), label, outputs["cluster"].long(), self.min_recall,
                                                      self.max_fpr, self.threshold)
            files["threshold_curve.json"] = {
                "split": "val",
                "checkpoint": best or None,
                "positive_class": REFUSE,
                "chosen": {"threshold": threshold, **rule},
                "metrics_at_threshold": safety_metrics(logit, label, group, dm.groups, threshold),
                "curve": curve,
            }
        meta = {
            "kind": "safety_classifier",
            "stage": self.hparams.name,
            "max_seq_len": dm.max_seq_len,
            "threshold": threshold,        # what SafetyScorer (the safety gate) refuses at
            "threshold_rule": rule,
            "classes": list(CLASSES),
            "categories": self.categories,
            "backbone": backbone_record(self.net.backbone, Path(self.export_dir), best),
        }
        folder = save_head(self.net, Path(self.export_dir) / HEAD_DIR, meta, files)
        log.info("safety classifier head and threshold curve written to %s", folder)


def _rates(tp: int, fp: int, fn: int, tn: int) -> dict[str, float | int | None]:
    """Precision, recall, F1, FPR from counts; None where a rate has no denominator."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    fpr = fp / (fp + tn) if fp + tn else None
    accuracy = (tp + tn) / (tp + fp + fn + tn) if tp + fp + fn + tn else None
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fpr, "accuracy": accuracy,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def _counts(pred: torch.Tensor, truth: torch.Tensor) -> tuple[int, int, int, int]:
    return (int((pred & truth).sum()), int((pred & ~truth).sum()), int((~pred & truth).sum()), int((~pred & ~truth).sum()))


def safety_metrics(logit: torch.Tensor, label: torch.Tensor, group: torch.Tensor, groups: Sequence[str], threshold: float = 0.5) -> dict[str, Any]:
    """Refuse cross-entropy, AUROC, accuracy; P/R/F1/FPR per class (refuse, comply) and per category
    (refuse class) at ``threshold``."""
    logit, label, group = logit.float().cpu(), label.float().cpu(), group.long().cpu()
    p, truth = torch.sigmoid(logit), label.bool()
    refused = p >= threshold
    out: dict[str, Any] = {
        "loss": F.binary_cross_entropy_with_logits(logit, label).item(),
        "accuracy": binary_accuracy(p, label.long(), threshold=threshold).item(),
        "threshold": threshold,
        "n": int(label.numel()),
        "classes": {"refuse": _rates(*_counts(refused, truth)), "comply": _rates(*_counts(~refused, ~truth))},
        "categories": {},
    }
    if 0 < int(truth.sum()) < truth.numel():
        out["auroc"] = binary_auroc(p, label.long()).item()
    for g in torch.unique(group).tolist():
        name = groups[g] if g < len(groups) else str(g)
        inside = group == g
        out["categories"][name if name != NO_GROUP else "none"] = _rates(*_counts(refused[inside], truth[inside]))
    return out


def threshold_curve(p: torch.Tensor, label: torch.Tensor) -> list[dict[str, float | int | None]]:
    """For each distinct score ``t`` (descending), the counts and rates of "refuse if p ≥ t"; the last
    entry (t = 0) refuses everything. What the safety gate reads to choose its threshold."""
    p, truth = p.float().cpu(), label.bool().cpu()
    order = torch.argsort(p, descending=True)
    p, truth = p[order], truth[order]
    tp = torch.cumsum(truth.long(), 0)
    fp = torch.cumsum((~truth).long(), 0)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    last_of_value = torch.ones_like(truth)
    last_of_value[:-1] = p[1:] != p[:-1]
    curve = []
    for i in torch.nonzero(last_of_value).flatten().tolist():
        t, f = int(tp[i]), int(fp[i])
        rates = _rates(t, f, positives - t, negatives - f)
        # Full precision: a rounded threshold could sit above the score it came from and refuse one fewer.
        curve.append({"threshold": p[i].item(), **{k: rates[k] for k in ("precision", "recall", "fpr", "tp", "fp", "fn", "tn")}})
    if not curve or curve[-1]["threshold"] > 0:
        rates = _rates(positives, negatives, 0, 0)
        curve.append({"threshold": 0.0, **{k: rates[k] for k in ("precision", "recall", "fpr", "tp", "fp", "fn", "tn")}})
    return curve


def operating_point(curve: Sequence[Mapping[str, Any]], max_fpr: float) -> Mapping[str, Any]:
    """The curve entry with the highest recall whose FPR (over-refusal) is at most ``max_fpr``; among
    equal recalls the highest threshold. The last entry refuses everything, the first refuses only the
    top score: when even that is over ``max_fpr``, the first (strictest) entry."""
    allowed = [c for c in curve if c["fpr"] is not None and c["fpr"] <= max_fpr]
    if not allowed:
        return curve[0]
    return max(allowed, key=lambda c: (c["recall"] or 0.0, c["threshold"]))


RESAMPLES = 2000
"""How many times `robust_operating_point` redraws the validation intents."""


def _resampled_rates(p: torch.Tensor, cluster: torch.Tensor, thresholds: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """[R, T]: for each redraw (a row of ``draws``: how many times each cluster is taken) the share of the
    examples at or above each threshold."""
    above = (p[:, None] >= thresholds[None, :]).float()
    hits = torch.zeros(draws.shape[1], len(thresholds)).index_add_(0, cluster, above)
    sizes = torch.bincount(cluster, minlength=draws.shape[1]).float()
    return (draws @ hits) / (draws @ sizes)[:, None]


def robust_operating_point(curve: Sequence[Mapping[str, Any]], p: torch.Tensor, label: torch.Tensor, cluster: torch.Tensor,
                           min_recall: float, max_fpr: float, resamples: int = RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """The ``curve`` entry (`threshold_curve` of ``p``, ``label``) most likely to meet both recall ≥
    ``min_recall`` and FPR ≤ ``max_fpr`` when the validation set is redrawn ``resamples`` times: whole
    clusters (intents: `svend.data.classification`) with replacement, harmful and benign apart. Among
    equally likely entries the middle one. ``p_meets`` is that likelihood; when it is 0 (or a class is
    missing) the entry is `operating_point`'s, the highest recall within ``max_fpr``.

    Why clusters: a phrasing that lands on the wrong side of the threshold takes all its wrappers with
    it, so the rates move in steps of a whole intent, not of one request."""
    p, truth, cluster = p.float().cpu(), label.bool().cpu(), cluster.long().cpu()
    fallback = {**operating_point(curve, max_fpr), "p_meets": 0.0}
    if truth.all() or not truth.any():
        return fallback
    thresholds = torch.tensor([c["threshold"] for c in curve])
    generator = torch.Generator().manual_seed(seed)
    rates = []
    for side in (truth, ~truth):
        _, local = torch.unique(cluster[side], return_inverse=True)
        k = int(local.max()) + 1
        picks = torch.randint(k, (resamples, k), generator=generator)
        draws = torch.zeros(resamples, k).scatter_add_(1, picks, torch.ones(resamples, k))
        rates.append(_resampled_rates(p[side], local, thresholds, draws))
    recall, fpr = rates
    meets = ((recall >= min_recall) & (fpr <= max_fpr)).float().mean(0)
    best = float(meets.max())
    if best == 0:
        return fallback
    likeliest = torch.nonzero(meets == best).flatten()
    return {**curve[int(likeliest[len(likeliest) // 2])], "p_meets": best}


def choose_threshold(p: torch.Tensor, label: torch.Tensor, cluster: torch.Tensor, min_recall: float | None,
                     max_fpr: float | None, default: float) -> tuple[list[dict[str, Any]], float, dict[str, Any]]:
    """``(curve, threshold, rule)`` on validation scores ``p`` (P(refuse)) with their labels and clusters:
    `robust_operating_point` for both targets, `operating_point` with ``min_recall`` None, ``default``
    with ``max_fpr`` None. ``rule`` says which, with the chosen point's validation rates."""
    curve = threshold_curve(p, label)
    if max_fpr is None:
        return curve, default, {"rule": "the configured threshold (no max_fpr)"}
    if min_recall is None:
        point = operating_point(curve, max_fpr)
        return curve, point["threshold"], {"rule": f"highest validation recall at FPR <= {max_fpr:g}",
                                           **{k: point[k] for k in ("recall", "fpr", "precision")}}
    point = robust_operating_point(curve, p, label, cluster, min_recall, max_fpr)
    if not point["p_meets"]:
        log.warning("no validation threshold meets recall >= %g at FPR <= %g even once in %d redraws: choosing the highest "
                    "recall at FPR <= %g (%.3f recall, %.3f FPR)", min_recall, max_fpr, RESAMPLES, max_fpr,
                    point["recall"] or 0.0, point["fpr"] or 0.0)
    return curve, point["threshold"], {
        "rule": f"most likely to meet recall >= {min_recall:g} and FPR <= {max_fpr:g} over {RESAMPLES} redraws of the validation intents",
        **{k: point[k] for k in ("recall", "fpr", "precision", "p_meets")}}


class SafetyScorer(HeadScorer):
    """The trained classifier as a function: P(must refuse) for a request conversation (the turns before
    any answer, as in training: `svend.data.classification.request_messages`).

        scorer = SafetyScorer("outputs/safety_classifier/<time>")     # the run folder (or its head/)
        scorer.score([{"role": "user", "content": "How do I pick a lock?"}])   # → 0.12
        scorer.threshold                                                       # from head/head.json
        scorer.scores(["How do I pick a lock?"])   # the safety gate's classifier slot (svend.safety.gate)

    ``threshold`` defaults to the one chosen on the validation curve at export (``head.json``);
    ``threshold=`` (``safety.classifier.threshold=…``) picks another point of that curve.
    """

    kind = "safety_classifier"
    column = REFUSE

    def __init__(self, source: str | os.PathLike, device: str | torch.device = "cpu", batch_size: int = 8,
                 max_seq_len: int | None = None, threshold: float | None = None) -> None:
        super().__init__(source, device, batch_size, max_seq_len)
        if threshold is not None:
            self.threshold = float(threshold)
        self.categories = [n.removeprefix("category/") for n in self.model.head.names if n.startswith("category/")]

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """The gate's contract: per text (one user turn), ``{"harmful": P(refuse)}`` plus, with a category
        head, P(refuse) × P(category | harmful) for each category, so a refusal names its category."""
        logits = self.logits_many([[{"role": "user", "content": text}] for text in texts])
        harmful = torch.sigmoid(logits[:, self._column])
        out = [{"harmful": float(p)} for p in harmful]
        if self.categories:
            share = torch.softmax(logits[:, [self.model.head.column(f"category/{c}") for c in self.categories]], dim=-1)
            for row, p, shares in zip(out, harmful, share):
                row.update({c: float(p * s) for c, s in zip(self.categories, shares)})
        return out
