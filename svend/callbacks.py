"""Lightning callbacks of Svend's own (checkpointing, lr and progress come from Lightning)."""

from __future__ import annotations

import time

import lightning as L


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
