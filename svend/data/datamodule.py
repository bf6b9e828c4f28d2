"""The LightningDataModule for chat records: JSONL files → validated records → `datasets` → token ids
with assistant-only labels → packed (or length-bucketed) rows → batches.

    dm = ChatDataModule(tokenizer, train_files=["train.jsonl"], val_files=["val.jsonl"])
    dm.setup("fit"); batch = next(iter(dm.train_dataloader()))
    # batch: input_ids, labels (-100 = no loss), position_ids (restart per example), num_tokens

Mixtures. Each ``*_files`` entry is a path, or ``{path: ..., weight: w}``: the file's records are
taken ``w`` times — ``2`` doubles a source, ``0.5`` keeps a seeded half of it, ``0`` leaves it out —
so a config can combine generated kinds, ingested data and the shipped sample in chosen proportions
(``conf/data/tool_arith.yaml``, ``conf/data/phase1.yaml``). The fractional part is a sample drawn
with ``seed``, so a mixture is the same on every run with the same seed. Every record is validated as
it is read; an error names ``file:line``.
"""

from __future__ import annotations

import json
import logging
import os
import random
from typing import Any, Mapping, Sequence

import lightning as L
from datasets import Dataset
from torch.utils.data import DataLoader

from svend.data.packing import ResumableBatchSampler, Row, collate, encode_records, pack, single_rows
from svend.data.schema import read_jsonl

log = logging.getLogger(__name__)


def parse_sources(entries: Sequence[Any], where: str) -> list[tuple[str, float]]:
    """``(path, weight)`` for each entry of a ``*_files`` list: a path, or ``{path, weight}``."""
    if isinstance(entries, (str, os.PathLike)):
        raise ValueError(f"{where} must be a list of files, got the single string {str(entries)!r}")
    sources = []
    for i, entry in enumerate(entries):
        if isinstance(entry, (str, os.PathLike)):
            sources.append((str(entry), 1.0))
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}[{i}] must be a path or {{path, weight}}, got {type(entry).__name__}")
        unknown = set(entry) - {"path", "weight"}
        if unknown or not isinstance(entry.get("path"), (str, os.PathLike)):
            raise ValueError(f"{where}[{i}] must be {{path: <file>, weight: <number>}}; got keys {sorted(entry)}")
        try:
            weight = float(entry.get("weight", 1.0))
        except (TypeError, ValueError):
            raise ValueError(f"{where}[{i}].weight must be a number, got {entry.get('weight')!r}") from None
        if not weight >= 0:
            raise ValueError(f"{where}[{i}].weight must be >= 0, got {weight}")
        sources.append((str(entry["path"]), weight))
    return sources


def weighted(records: list[dict], weight: float, rng: random.Random) -> list[dict]:
    """``records`` taken ``weight`` times: whole copies, then a sample for the fractional part."""
    whole = int(weight)
    extra = round((weight - whole) * len(records))
    return records * whole + (rng.sample(records, extra) if extra else [])


class ChatDataModule(L.LightningDataModule):
    def __init__(
        self,
        tokenizer,
        train_files: Sequence[str],
        val_files: Sequence[str] = (),
        test_files: Sequence[str] = (),
        micro_batch_size: int = 8,
        max_seq_len: int = 512,
        packing: bool = True,
        num_workers: int = 0,
        seed: int = 0,
        extra_train_files: Sequence[str] = (),
    ) -> None:
        super().__init__()
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; svend's tokenizer loaders always set one")
        self.tokenizer = tokenizer
        # (path, weight) per split; `files` keeps the plain paths for code that reads the files itself.
        # extra_train_files joins a config's own mixture without restating it: the generational loop
        # adds its collected corrections with +data.extra_train_files=[FILE].
        self.sources = {split: parse_sources(entries, f"{split}_files")
                        for split, entries in (("train", [*train_files, *extra_train_files]), ("val", val_files),
                                               ("test", test_files))}
        self.files = {split: [path for path, _ in sources] for split, sources in self.sources.items()}
        self.micro_batch_size, self.max_seq_len = micro_batch_size, max_seq_len
        self.packing, self.num_workers, self.seed = packing, num_workers, seed
        self.rows: dict[str, list[Row]] = {}
        self._resume_batches = 0

    # -- building rows -----------------------------------------------------------------------------
    def _records(self, split: str) -> list[dict]:
        """The split's records, each source read, validated and taken ``weight`` times."""
        records: list[dict] = []
        sources = self.sources[split]
        for path, weight in sources:
            if weight == 0:
                continue
            taken = weighted(read_jsonl(path), weight, random.Random(f"{self.seed}/{split}/{path}"))
            if len(sources) > 1 or weight != 1:
                log.info("%s: %s ×%g → %d records", split, path, weight, len(taken))
            records += taken
        if not records:
            raise ValueError(f"{split}_files: every source has weight 0; nothing to load")
        return records

    def _encode_split(self, split: str) -> list[Row]:
        records = self._records(split)
        dataset = Dataset.from_dict({"record": [json.dumps(r, ensure_ascii=False) for r in records]})
        tokenizer, max_len = self.tokenizer, self.max_seq_len

        def encode(batch):
            encoded = encode_records(tokenizer, [json.loads(text) for text in batch["record"]], max_len)
            return {"input_ids": [e[0] if e else [] for e in encoded], "labels": [e[1] if e else [] for e in encoded]}

        # JSON strings, not nested columns: Arrow would unify the tool-call argument dicts of different
        # tools into one struct and add null keys to every call.
        encoded = dataset.map(encode, batched=True, remove_columns=["record"], desc=f"tokenizing {split}")
        examples = [(ids, labels) for ids, labels in zip(encoded["input_ids"], encoded["labels"]) if ids]
        if dropped := len(records) - len(examples):
            log.warning("%s: %d record(s) had no assistant token left within max_seq_len=%d and were dropped", split, dropped, max_len)
        rows = pack(examples, max_len) if self.packing else single_rows(examples)
        n_tokens = sum(len(ids) for ids, _ in examples)
        log.info(
            "%s: %d records → %d rows, %d tokens (%.0f %% of row capacity used)",
            split, len(records), len(rows), n_tokens, 100 * n_tokens / max(1, len(rows) * max_len),
        )
        return rows

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", "val", "test"):
            if self.files[split] and split not in self.rows:
                self.rows[split] = self._encode_split(split)

    # -- loaders -----------------------------------------------------------------------------------
    def _loader(self, split: str, sampler: ResumableBatchSampler) -> DataLoader:
        pad = self.tokenizer.pad_token_id
        return DataLoader(
            self.rows[split],
            batch_sampler=sampler,
            collate_fn=lambda rows: collate(rows, pad),
            num_workers=self.num_workers,
        )

    def _sampler(self, split: str, shuffle: bool) -> ResumableBatchSampler:
        rows = self.rows[split]
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        # Bucketing by row length helps packed rows too: a row holding one long example beside rows holding
        # two would otherwise pad the whole batch (measured on the sample at 512 tokens: 77 % → 99 % fill).
        lengths = [len(r.input_ids) for r in rows]
        return ResumableBatchSampler(len(rows), self.micro_batch_size, self.seed, shuffle, lengths, world, rank)

    def train_dataloader(self) -> DataLoader:
        sampler = self._sampler("train", shuffle=True)
        if self._resume_batches:
            sampler.skip(self._resume_batches % len(sampler))
            self._resume_batches = 0
        return self._loader("train", sampler)

    # No files for a split: an empty list, which Lightning takes as "skip validation / testing".
    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", self._sampler("val", shuffle=False)) if "val" in self.rows else []

    def test_dataloader(self) -> DataLoader | list:
        return self._loader("test", self._sampler("test", shuffle=False)) if "test" in self.rows else []

    # -- resuming ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Saved in every checkpoint: how many training batches this run has consumed. Derived from the
        optimizer step count, which checkpoints hold exactly (a count taken at the loader would be off
        by Lightning's one-batch prefetch)."""
        trainer = self.trainer
        return {"batches_consumed": trainer.global_step * trainer.accumulate_grad_batches} if trainer else {}

    def load_state_dict(self, state: dict) -> None:
        self._resume_batches = state.get("batches_consumed", 0)
