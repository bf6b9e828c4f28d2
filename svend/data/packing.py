"""From chat records to training rows: tokenize with loss masks, pack, batch, resume mid-epoch.

Packing. Examples are packed best-fit-decreasing into rows of ``max_seq_len`` tokens. Each row carries
``position_ids`` that restart at 0 at every example; the models turn that into a block-diagonal causal
mask (Svend's decoder builds it from the position ids, transformers detects packed sequences the
same way), so no token attends across examples: packing changes throughput, not what is learned.
Labels are shifted inside each example before concatenation, so the last token of one example never
predicts the first token of the next.

Why packing by default: on the shipped sample, unpacked batches are ~30 % padding (BASELINE.md
measured 31 % for 62–249-token chats); a packed row has padding only at its tail. ``packing=false``
gives one example per row. Either way batches are length-bucketed (rows of similar length together), so
padding stays small (the README has the measured comparison).

Resuming. ``ResumableBatchSampler`` draws epoch ``e``'s order from ``seed + e`` and can skip the
batches a checkpoint already consumed, so a resumed run sees exactly the batches an uninterrupted run
would have seen.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from svend.chat_format import format_for

IGNORE_INDEX = -100


def encode_records(tokenizer, records: Sequence[dict], max_seq_len: int) -> list[tuple[list[int], list[int]] | None]:
    """Token ids and next-token labels (``-100`` where the loss does not look) for each record.

    ``labels[t]`` is the target for position ``t`` — the token at ``t + 1`` when that token belongs to
    an assistant turn. Over-long records are truncated; a record left with nothing to learn is
    ``None``. All segments of all records go through the tokenizer in one call (the fast tokenizer
    parallelizes a batch; one call per segment would dominate data preparation).
    """
    fmt = format_for(tokenizer)  # Svend's ChatML or the base's chat template (svend.chat_format)
    rendered = [fmt.segments(r["messages"], r.get("tools")) for r in records]
    flat = [s.text for segments in rendered for s in segments]
    pieces = iter(tokenizer(flat, add_special_tokens=False)["input_ids"]) if flat else iter(())
    out: list[tuple[list[int], list[int]] | None] = []
    for segments in rendered:
        ids: list[int] = []
        trainable: list[bool] = []
        for segment in segments:
            piece = next(pieces)
            ids.extend(piece)
            trainable.extend([segment.trainable] * len(piece))
        ids, trainable = ids[:max_seq_len], trainable[:max_seq_len]
        labels = [ids[t + 1] if trainable[t + 1] else IGNORE_INDEX for t in range(len(ids) - 1)]
        labels.append(IGNORE_INDEX)
        out.append(None if all(label == IGNORE_INDEX for label in labels) else (ids, labels))
    return out


@dataclass
class Row:
    """One training row: one or more whole examples, each with positions from 0."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]


def pack(examples: Sequence[tuple[list[int], list[int]]], max_seq_len: int) -> list[Row]:
    """Best-fit-decreasing packing: each example goes into the fullest row it still fits in."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i][0]))
    rows: list[list[int]] = []  # example indices per row
    free: list[tuple[int, int]] = []  # (free tokens, row index), sorted
    for i in order:
        n = len(examples[i][0])
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            space, r = free.pop(k)
        else:
            space, r = max_seq_len, len(rows)
            rows.append([])
        rows[r].append(i)
        if space - n > 0:
            bisect.insort(free, (space - n, r))
    return [_concat([examples[i] for i in members]) for members in rows]


def single_rows(examples: Sequence[tuple[list[int], list[int]]]) -> list[Row]:
    """One example per row (no packing)."""
    return [_concat([example]) for example in examples]


def _concat(examples: Sequence[tuple[list[int], list[int]]]) -> Row:
    row = Row([], [], [])
    for ids, labels in examples:
        row.input_ids.extend(ids)
        row.labels.extend(labels)
        row.position_ids.extend(range(len(ids)))
    return row


def collate(rows: Sequence[Row], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch to its longest row. The padding is its own "example" (positions from 0), so it
    never shares attention with real tokens, and its labels are ignored."""
    width = max(len(r.input_ids) for r in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row.input_ids)
        input_ids[b, :n] = torch.tensor(row.input_ids)
        labels[b, :n] = torch.tensor(row.labels)
        position_ids[b, :n] = torch.tensor(row.position_ids)
        position_ids[b, n:] = torch.arange(width - n)
    num_tokens = torch.tensor(sum(len(r.input_ids) for r in rows))
    return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids, "num_tokens": num_tokens}


class ResumableBatchSampler(Sampler[list[int]]):
    """Batches of row indices; a fresh seeded order every epoch; rank-sharded; can skip ahead.

    ``lengths`` turns on length bucketing: rows are sorted by length inside chunks of 50 batches
    before batching, so a batch holds rows of similar length (little padding), and the batches are
    then shuffled.
    """

    def __init__(
        self,
        num_rows: int,
        batch_size: int,
        seed: int,
        shuffle: bool = True,
        lengths: Sequence[int] | None = None,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.num_rows, self.batch_size, self.seed, self.shuffle = num_rows, batch_size, seed, shuffle
        self.lengths, self.num_replicas, self.rank = lengths, num_replicas, rank
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls this at every epoch start
        self.epoch = epoch

    def skip(self, batches: int) -> None:
        """Skip the first ``batches`` batches of the next iteration (a resumed, half-done epoch)."""
        self._skip = batches

    def _batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        order = list(range(self.num_rows))
        if self.shuffle:
            rng.shuffle(order)
        if self.lengths is not None:
            chunk = self.batch_size * 50
            order = [i for s in range(0, len(order), chunk) for i in sorted(order[s : s + chunk], key=self.lengths.__getitem__)]
        batches = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        if self.lengths is not None and self.shuffle:
            rng.shuffle(batches)
        # Every rank gets the same number of batches (DDP steps in lockstep): drop the remainder.
        usable = len(batches) - len(batches) % self.num_replicas if len(batches) >= self.num_replicas else len(batches)
        return batches[self.rank : usable : self.num_replicas] if self.num_replicas > 1 else batches

    def __iter__(self) -> Iterator[list[int]]:
        batches, skip = self._batches(), self._skip
        self._skip = 0
        yield from batches[skip:]

    def __len__(self) -> int:
        return len(self._batches())
