"""Distillation stage: causal-LM fine-tuning with the teacher's soft targets added to the hard ones
(Hinton et al. 2015). On assistant tokens only, like `svend.stages.causal_lm`::

    loss = (1 - alpha) · CE(student, next token) + alpha · T² · KL(softmax(teacher / T) ‖ softmax(student / T))

T > 1 flattens both distributions so the teacher's ranking of the wrong tokens ("dark knowledge")
carries gradient; T² keeps that term's gradient on the scale of the CE term as T changes.

    svend-train experiment=distill stage.teacher=outputs/train/<teacher run>        # live teacher
    python -m svend.data.teacher_cache --teacher outputs/train/<teacher run> --files … --out DIR
    svend-train experiment=distill stage.teacher=null stage.teacher_cache=DIR       # cached logits

The teacher (``stage.teacher``) is an earlier generation's run or adapter folder, a merged folder, a
model source string, or a model built from a config node (`svend.data.teacher_cache.load_teacher`);
it must share the student's tokenizer. With ``stage.teacher_cache`` the teacher's top-k logits come
from disk: the run never holds both models. When the folder does not exist yet and ``stage.teacher``
is set, the stage builds it first (teacher loaded, run over the training files, freed). Both paths
distill against the teacher's top-k tokens (``top_k``; null = the whole vocabulary, live teacher
only): the KL is taken over the teacher's top-k distribution, renormalized.

Validation and test report the plain next-token ``val/loss`` (and ``val/ppl``) exactly as
`CausalLM` does, so a distilled student and one trained without a teacher compare on the same number.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from svend.data.packing import IGNORE_INDEX
from svend.data.teacher_cache import (
    TeacherCache,
    build_teacher_cache,
    cache_mismatch,
    load_teacher,
    read_cache_meta,
    teacher_topk,
    tokenizer_fingerprint,
)
from svend.stages.causal_lm import CausalLM

log = logging.getLogger(__name__)


def assistant_logits(net: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Student logits (fp32) and targets at the labelled positions only (as `causal_lm.lm_loss`)."""
    hidden = net.get_decoder()(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).last_hidden_state
    mask = batch["labels"] != IGNORE_INDEX
    return net.get_output_embeddings()(hidden[mask]).float(), batch["labels"][mask]


def kd_loss(student_logits: torch.Tensor, teacher_ids: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(p_teacher ‖ p_student) at temperature T, averaged over positions. The teacher's
    distribution is the softmax of its (top-k) logits; the student's is its full-vocabulary softmax,
    read at the teacher's token ids. With k = vocabulary size this is the exact KL."""
    if not student_logits.shape[0]:
        return student_logits.sum() * 0.0
    t = float(temperature)
    log_p = F.log_softmax(teacher_logits.float() / t, dim=-1)
    log_q = F.log_softmax(student_logits.float() / t, dim=-1).gather(-1, teacher_ids)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean() * t * t


class Distill(CausalLM):
    """The distillation LightningModule (module docstring). ``net`` is the student."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] = partial(torch.optim.AdamW, lr=3e-4),
        scheduler: Callable | None = None,
        name: str = "distill",
        init_from: str | None = None,
        teacher: str | nn.Module | None = None,
        teacher_cache: str | None = None,
        temperature: float = 2.0,
        alpha: float = 0.5,
        top_k: int | None = 64,
    ) -> None:
        if teacher is None and not teacher_cache:
            raise ValueError("stage=distill needs stage.teacher (a model or run folder) or stage.teacher_cache (a cache folder)")
        if not 0 <= alpha <= 1 or temperature <= 0:
            raise ValueError(f"stage.alpha must be in [0, 1] and stage.temperature > 0; got alpha={alpha}, temperature={temperature}")
        super().__init__(net, optimizer, scheduler, name=name, init_from=init_from)
        self.temperature, self.alpha, self.top_k = float(temperature), float(alpha), top_k
        self.teacher_spec = teacher if not isinstance(teacher, nn.Module) else None
        self.teacher_cache_dir = teacher_cache
        # Not a submodule: the teacher never trains and never goes into a checkpoint.
        object.__setattr__(self, "_teacher", teacher if isinstance(teacher, nn.Module) else None)
        self._cache: TeacherCache | None = None

    # -- the teacher -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        if stage != "fit" or self._cache is not None or self._teacher is not None:
            return
        dm = self.trainer.datamodule
        tokenizer, files = dm.tokenizer, dm.files["train"]
        if self.teacher_cache_dir:
            meta = read_cache_meta(self.teacher_cache_dir)
            if meta is None:
                if self.teacher_spec is None:
                    raise FileNotFoundError(f"stage.teacher_cache={self.teacher_cache_dir}: no cache there, and no stage.teacher to build it from")
                teacher = self._load_teacher(tokenizer)
                build_teacher_cache(teacher, tokenizer, files, self.teacher_cache_dir, dm.max_seq_len, self.top_k or 64,
                                    dm.micro_batch_size, str(self.teacher_spec))
                del teacher  # the student trains alone
                meta = read_cache_meta(self.teacher_cache_dir)
            problems = cache_mismatch(meta, tokenizer, files, dm.max_seq_len,
                                      str(self.teacher_spec) if self.teacher_spec is not None else None)
            if problems:
                raise ValueError(f"stage.teacher_cache={self.teacher_cache_dir} does not fit this run: {'; '.join(problems)}. "
                                 "Point it at a new folder (built on first use) or rebuild it with python -m svend.data.teacher_cache")
            self._cache = TeacherCache(self.teacher_cache_dir)
            log.info("teacher logits from %s (%d examples, top-%d)", self.teacher_cache_dir, len(self._cache), self._cache.top_k)
        else:
            object.__setattr__(self, "_teacher", self._load_teacher(tokenizer))

    def _load_teacher(self, tokenizer) -> nn.Module:
        student_rows = self.net.get_output_embeddings().weight.shape[0]
        teacher, teacher_tokenizer = load_teacher(self.teacher_spec, vocab_size=student_rows)
        if tokenizer_fingerprint(teacher_tokenizer) != tokenizer_fingerprint(tokenizer):
            raise ValueError(f"stage.teacher={self.teacher_spec}: its tokenizer differs from the student's; distillation "
                             "compares distributions over the same token ids, so both must share one tokenizer")
        return teacher

    def _teacher_targets(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache is not None:
            return self._cache.lookup(batch)
        teacher = self._teacher
        if teacher is None:
            raise RuntimeError("the distill stage has no teacher: it is set up by trainer.fit")
        rows = teacher.get_output_embeddings().weight.shape[0]
        if rows > self.net.get_output_embeddings().weight.shape[0]:
            raise ValueError(f"the teacher predicts over {rows} tokens, the student over fewer: they must share the tokenizer")
        if next(teacher.parameters()).device != self.device:
            teacher.to(self.device)
        teacher.eval()
        return teacher_topk(teacher, batch, self.top_k)

    # -- training ----------------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits, targets = assistant_logits(self.net, batch)
        ce = F.cross_entropy(logits, targets)
        teacher_ids, teacher_logits = self._teacher_targets(batch)
        kd = kd_loss(logits, teacher_ids, teacher_logits, self.temperature)
        loss = (1 - self.alpha) * ce + self.alpha * kd
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/ce", ce)
        self.log("train/kd", kd)
        self.log("train/ppl", torch.exp(ce.detach().clamp(max=20)))
        return loss
