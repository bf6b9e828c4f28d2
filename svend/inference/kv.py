"""The tensor side of generation: rows that decode together over one KV cache, and leave or join it
between steps without recomputing anything they have already seen.

Why not ``model.generate``: a tool loop stops each row at a different point (``<|im_end|>``, a
``</tool_call>``, the token budget), appends a tool turn to some rows only and goes on. With
``generate`` every round would re-encode every prompt, finished rows would keep decoding padding, and
nothing could be shared between the N candidates of best-of-N. Here:

- A ``KVBatch`` holds one cache for B rows, ``[B, heads, T, head_dim]`` per layer, with a ``[B, T]``
  mask (1 = real token). Rows are right-aligned: padding is on the left, and wherever rows joined with
  different histories, in holes in the middle. Positions count real tokens only
  (``cumsum(mask) - 1``), so a token's RoPE position does not depend on the padding around it, and a
  hole is as invisible to the model as left padding.
- ``take(i)`` copies row i's keys and values without its padding (a ``RowCache``); a row that called a
  tool waits as a ``RowCache`` while its tool runs, and rejoins through ``prefill`` with only the tool
  turn's tokens to encode. Prefixes shared by several rows (the system turn with the tools block, the
  whole prompt of best-of-N candidates) are encoded once and handed to each row as the same
  ``RowCache``.
- ``select`` drops finished rows, ``merge`` appends a freshly prefilled group (continuous batching:
  the batch refills while others decode).

Both model families Svend runs are supported: Hugging Face causal LMs (a ``DynamicCache``; also peft
wrappers and 4-bit bases) and the from-scratch ``SvendDecoder`` (a tuple of ``(k, v)`` per layer).
Only the last position's logits are computed (``logits_to_keep=1``, or the body then the head) — full
logits over a 49k vocabulary for an 800-token prompt would be the biggest tensor of the run.

The cache grows by concatenation (transformers' ``DynamicLayer``), as ``generate``'s does. A buffer
preallocated and written in place measured slower on CPU (48 vs 60 tok/s, SmolLM2, batch 8, 800-token
context): attention over a slice of a bigger buffer is not contiguous.

``python -m svend.benchmarks.engine`` compares this path with ``model.generate``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Sequence

import torch

Layers = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class RowCache:
    """One row's keys and values, no padding: per layer ``(k, v)`` of shape ``[1, heads, length, dim]``."""

    layers: Layers
    length: int


class Runner:
    """Calls one model the same way whatever it is (HF causal LM, peft wrapper, SvendDecoder)."""

    def __init__(self, model: torch.nn.Module):
        from svend.models.transformer import SvendDecoder

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.model = model
        self.svend = isinstance(base, SvendDecoder)
        self.keep_logits = not self.svend and "logits_to_keep" in inspect.signature(base.forward).parameters
        first = next(model.parameters())
        self.device = first.device

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
        """Feed ``ids`` [B, L] after ``cache`` (native form, or None); ``mask`` [B, past + L] covers both.
        Returns the last position's logits [B, vocab] in float32 and the grown native cache."""
        if self.svend:
            body = self.model.get_decoder()(ids, attention_mask=mask, past_key_values=cache, use_cache=True)
            logits = self.model.get_output_embeddings()(body.last_hidden_state[:, -1])
            return logits.float(), body.past_key_values
        from transformers import DynamicCache

        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1]:]
        kwargs = {"logits_to_keep": 1} if self.keep_logits else {}
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                         past_key_values=cache if cache is not None else DynamicCache(), use_cache=True, **kwargs)
        return out.logits[:, -1].float(), out.past_key_values

    def layers(self, cache: Any) -> Layers:
        """The native cache as a list of ``(k, v)`` per layer."""
        if cache is None:
            return []
        if self.svend:
            return list(cache)
        return [(layer.keys, layer.values) for layer in cache.layers]

    def native(self, layers: Layers) -> Any:
        """A list of ``(k, v)`` per layer as the cache object the model takes (no copy)."""
        if not layers:
            return None
        if self.svend:
            return tuple(layers)
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        cache = DynamicCache()
        for k, v in layers:
            layer = DynamicLayer()
            layer.lazy_initialization(k, v)
            layer.keys, layer.values = k, v
            cache.layers.append(layer)
        return cache


class KVBatch:
    """B rows over one cache; ``logits[i]`` scores row i's next token. See the module docstring."""

    def __init__(self, runner: Runner, cache: Any, mask: torch.Tensor, logits: torch.Tensor):
        self.runner = runner
        self.cache = cache
        self.mask = mask
        self.logits = logits

    def __len__(self) -> int:
        return self.mask.shape[0]

    @classmethod
    def prefill(cls, runner: Runner, rows: Sequence[tuple[RowCache | None, Sequence[int]]],
                pad_id: int) -> tuple[KVBatch, list[int]]:
        """Encode each row's pending tokens after its cache (None: nothing seen yet). Returns the batch
        and the order of its rows (indices into ``rows``).

        Rows are encoded in groups of similar pending length, so that a row with 30 tokens to encode
        never pays for another's 700 (padding costs full price in every matmul), and a group of rows
        with no cache and equal lengths needs no mask at all (the fused causal attention kernel)."""
        if not rows:
            raise ValueError("prefill needs at least one row")
        if any(len(pending) == 0 for _, pending in rows):
            raise ValueError("every row needs at least one pending token to score its next one")
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][1]))
        groups: list[list[int]] = []
        for i in order:
            if groups and len(rows[i][1]) <= len(rows[groups[-1][0]][1]) * 1.125 + 8:
                groups[-1].append(i)
            else:
                groups.append([i])
        batch = None
        for group in groups:
            part = cls._prefill([rows[i] for i in group], runner, pad_id)
            if batch is None:
                batch = part
            else:
                batch.merge(part)
        return batch, [i for group in groups for i in group]

    @classmethod
    def _prefill(cls, rows: Sequence[tuple[RowCache | None, Sequence[int]]], runner: Runner, pad_id: int) -> KVBatch:
        """One forward for ``rows``: caches right-aligned to the longest, pending tokens left-padded."""
        device = runner.device
        past = max((c.length for c, _ in rows if c is not None), default=0)
        new = max(len(p) for _, p in rows)
        b = len(rows)
        mask = torch.zeros(b, past + new, dtype=torch.long, device=device)
        ids = torch.full((b, new), pad_id, dtype=torch.long, device=device)
        for i, (row_cache, pending) in enumerate(rows):
            if row_cache is not None and row_cache.length:
                mask[i, past - row_cache.length:past] = 1
            ids[i, new - len(pending):] = torch.tensor(list(pending), dtype=torch.long, device=device)
            mask[i, past + new - len(pending):] = 1
        layers: Layers = []
        if past:
            template = next(c for c, _ in rows if c is not None and c.length).layers
            for n, (k0, v0) in enumerate(template):
                k = k0.new_zeros(b, k0.shape[1], past, k0.shape[3])
                v = v0.new_zeros(b, v0.shape[1], past, v0.shape[3])
                for i, (row_cache, _) in enumerate(rows):
                    if row_cache is not None and row_cache.length:
                        rk, rv = row_cache.layers[n]
                        k[i, :, past - row_cache.length:] = rk[0]
                        v[i, :, past - row_cache.length:] = rv[0]
                layers.append((k, v))
        logits, cache = runner.forward(ids, mask, runner.native(layers))
        return cls(runner, cache, mask, logits)

    def step(self, tokens: torch.Tensor) -> None:
        """Feed one token per row ([B]) and score the next."""
        self.mask = torch.cat((self.mask, self.mask.new_ones(len(self), 1)), dim=1)
        self.logits, self.cache = self.runner.forward(tokens.view(-1, 1), self.mask, self.cache)

    def take(self, i: int) -> RowCache:
        """A copy of row i's keys and values without padding or holes."""
        real = self.mask[i].nonzero().view(-1)
        layers = [(k[i:i + 1].index_select(2, real), v[i:i + 1].index_select(2, real))
                  for k, v in self.runner.layers(self.cache)]
        return RowCache(layers, int(real.numel()))

    def select(self, keep: Sequence[int]) -> None:
        """Keep only rows ``keep`` (in that order); trims columns that became padding for every row."""
        index = torch.tensor(list(keep), dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        used = mask.any(0).nonzero()
        start = int(used[0]) if used.numel() else mask.shape[1]
        layers = [(k.index_select(0, index)[:, :, start:], v.index_select(0, index)[:, :, start:])
                  for k, v in self.runner.layers(self.cache)]
        self.mask = mask[:, start:]
        self.cache = self.runner.native(layers)
        self.logits = self.logits.index_select(0, index)

    def merge(self, other: KVBatch) -> None:
        """Append ``other``'s rows after this batch's, right-aligning both caches."""
        t = max(self.mask.shape[1], other.mask.shape[1])

        def pad(x: torch.Tensor, dim: int) -> torch.Tensor:
            missing = t - x.shape[dim]
            if not missing:
                return x
            shape = list(x.shape)
            shape[dim] = missing
            return torch.cat((x.new_zeros(shape), x), dim=dim)

        layers = [(torch.cat((pad(k1, 2), pad(k2, 2))), torch.cat((pad(v1, 2), pad(v2, 2))))
                  for (k1, v1), (k2, v2) in zip(self.runner.layers(self.cache), other.runner.layers(other.cache))]
        self.mask = torch.cat((pad(self.mask, 1), pad(other.mask, 1)))
        self.cache = self.runner.native(layers)
        self.logits = torch.cat((self.logits, other.logits))


def pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Next token per row from [B, vocab] logits: argmax when ``temperature == 0``, else nucleus
    sampling with transformers' own temperature and top-p warpers."""
    if temperature <= 0.0:
        return logits.argmax(-1)
    from transformers import TemperatureLogitsWarper, TopPLogitsWarper

    scores = TemperatureLogitsWarper(temperature)(None, logits)
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(None, scores)
    return torch.multinomial(scores.softmax(-1), 1, generator=generator).view(-1)
