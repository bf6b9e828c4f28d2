"""Lightning callbacks of Svend's own (checkpointing, lr and the progress bar come from Lightning)."""

from __future__ import annotations

import logging
import sys
import time

import lightning as L

log = logging.getLogger("svend.progress")


class TokenThroughput(L.Callback):
    """Logs ``train/tokens_per_s``: real (non-pad) input tokens per second of wall time, data loading
    included, averaged over ``window`` batches — the number the benchmarks compare."""

    def __init__(self, window: int = 10) -> None:
        self.window = window
        self._tokens = 0
        self._batches = 0
        self._start: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._tokens += int(batch["num_tokens"])
        self._batches += 1
        if self._batches >= self.window:
            elapsed = time.perf_counter() - self._start
            pl_module.log("train/tokens_per_s", self._tokens / elapsed, prog_bar=True)
            self._tokens, self._batches, self._start = 0, 0, time.perf_counter()


class ProgressLog(L.Callback):
    """A log line at the first optimizer step, then every ``interval_s`` seconds, and at the end:
    step, the latest ``train/loss``, seconds per step and the time left. For runs whose progress bar
    nobody watches (nohup, sweeps, CI, a job scheduler): the bar draws into a file only when its buffer
    flushes, so a log file shows nothing for minutes. Under a terminal with the bar on it stays silent
    (``always=true`` logs there too). The lines go to the console log and the run's ``train.log``."""

    def __init__(self, interval_s: float = 60.0, always: bool = False) -> None:
        self.interval_s, self.always = float(interval_s), always
        self._active = False
        self._t0 = self._last = 0.0
        self._step0 = 0

    def on_train_start(self, trainer, pl_module) -> None:
        bar_visible = trainer.progress_bar_callback is not None and sys.stdout.isatty()
        self._active = trainer.is_global_zero and (self.always or not bar_visible)
        self._t0, self._step0, self._last = time.perf_counter(), trainer.global_step, float("-inf")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._active and trainer.global_step > self._step0 and time.perf_counter() - self._last >= self.interval_s:
            self._emit(trainer, "")

    def on_train_end(self, trainer, pl_module) -> None:
        if self._active and trainer.global_step > self._step0:
            self._emit(trainer, "done: ")

    def _emit(self, trainer, prefix: str) -> None:
        now = time.perf_counter()
        self._last = now
        step, total = trainer.global_step, trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
        per_step = (now - self._t0) / (step - self._step0)
        loss = trainer.callback_metrics.get("train/loss")
        parts = [f"{prefix}step {step}/{total:g}" if total != float("inf") else f"{prefix}step {step}"]
        if loss is not None:
            parts.append(f"train/loss {float(loss):.4f}")
        parts.append(f"{per_step:.2f} s/step")
        if not prefix and total != float("inf") and step < total:
            parts.append(f"~{_duration((total - step) * per_step)} left")
        if prefix:
            parts.append(f"{_duration(now - self._t0)} in all")
        log.info(" · ".join(parts))


def _duration(seconds: float) -> str:
    """42 s, 3.5 min, 1.2 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
