"""The LightningDataModule for the classification stages (verifier, safety classifier): one example
per chat record, a label from its metadata, length-bucketed right-padded batches.

    dm = ClassificationDataModule(tokenizer, train_files=["data/default/verifier/train.jsonl"], ...)
    dm.setup("fit"); batch = next(iter(dm.train_dataloader()))
    # input_ids, position_ids [B, T] (right-padded), last_index [B], label [B] (1 = correct / refuse),
    # group [B] (index into dm.groups: the corruption or the safety category), cluster [B] (index into
    # dm.clusters: the record's metadata.intent, else the record itself), step_index and
    # step_label [B, S] (-1 = none): the end of each assistant turn and its label (verifier records)

What the records carry (``metadata``; `svend-data generate` writes them):

    verifier  {"kind": "verifier", "label": 0|1, "step_labels": [0|1 per assistant turn] (optional),
               "corruption": null | "arithmetic" | "tool_copy" | "final_answer" | "unjustified_leap" | …}
    safety    {"kind": "safety", "label": "refuse"|"comply", "category": "weapons" | … (optional),
               "intent": "drugs.sell" | … (optional: the phrasings of one request share it)}

Records that share ``metadata.intent`` form one *cluster*: their errors come together (one request
under many wrappers), so the safety export resamples whole clusters when it judges how sure a threshold
is (`svend.stages.safety_classifier.robust_operating_point`); a record without an intent is its own.

The verifier reads the whole chain; the safety classifier reads the request only (`request_messages`:
the turns before the last assistant answer). The kind is read from the records (all of one kind, or a
clear error), so one module serves both stages with the ``data`` schema's keys; the stage checks it
got the kind it trains on.

Encoding (`encode_conversations`, shared with `svend.stages.verifier.VerifierScorer` so scoring sees
exactly what training saw): the ChatML rendering of the messages without the trailing newline, so the
last token is the closing ``<|im_end|>`` of the last turn; tool specs are left out (hundreds of tokens
per record that say nothing about whether this chain is right or this request harmful). An over-long
conversation keeps its *last* ``max_seq_len`` tokens: the end is what is being judged.

Why no packing: the head reads one position per example; packed rows would need a variable number of
examples per batch for a ~30 % padding saving that length bucketing already mostly recovers. Batches
come from `ResumableBatchSampler`, so order is a pure function of the seed and a resumed run skips the
batches its checkpoint consumed, as for the chat data (`ChatDataModule` supplies loaders and resume).
Mixtures work as for chat data too: a ``*_files`` entry may be ``{path, weight}``, its records taken
``weight`` times.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch.utils.data import DataLoader

from svend.data.datamodule import ChatDataModule, weighted
from svend.data.packing import IGNORE_INDEX, ResumableBatchSampler, Row, collate
from svend.data.schema import read_jsonl
from svend.chat_format import format_for

log = logging.getLogger(__name__)

KINDS = ("verifier", "safety")
NO_GROUP = "none"
"""The group of a correct verifier chain (no corruption) or of a safety record without a category."""
SAFETY_LABELS = {"comply": 0, "refuse": 1}


@dataclass
class LabelledExample:
    """One tokenized record: label 1 = correct chain (verifier) / must refuse (safety)."""

    input_ids: list[int]
    label: float
    group: str
    cluster: str = ""
    step_index: list[int] = field(default_factory=list)
    step_label: list[int] = field(default_factory=list)


def encode_conversations(tokenizer, conversations: Sequence[Sequence[Mapping[str, Any]]], max_seq_len: int) -> list[tuple[list[int], list[int]]]:
    """``(token ids, end position of each assistant turn)`` per conversation (module docstring). All
    segments go through the tokenizer in one call, like `svend.data.packing.encode_records`."""
    rendered = []
    fmt = format_for(tokenizer)
    for messages in conversations:
        segments = fmt.segments(messages)
        if segments and not segments[-1].trainable and not segments[-1].text.strip():
            segments = segments[:-1]  # the newline after the last turn
        rendered.append(segments)
    flat = [s.text for segments in rendered for s in segments]
    pieces = iter(tokenizer(flat, add_special_tokens=False)["input_ids"]) if flat else iter(())
    out = []
    for segments in rendered:
        ids: list[int] = []
        ends: list[int] = []
        for segment in segments:
            ids.extend(next(pieces))
            if segment.trainable:  # an assistant body and its end-of-turn token
                ends.append(len(ids) - 1)
        cut = max(0, len(ids) - max_seq_len)
        out.append((ids[cut:], [e - cut for e in ends if e >= cut]))
    return out


def request_messages(messages: Sequence[Mapping[str, Any]], where: str = "messages") -> list[Mapping[str, Any]]:
    """What the safety classifier reads: the conversation before its last assistant turn — the request,
    not the answer (a refusal in the answer would give the label away, and the gate must decide
    before anything is generated)."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    if last == 0 or not any(m["role"] == "user" for m in messages[:last]):
        raise ValueError(f"{where}: a safety record needs a user turn before its assistant answer")
    return list(messages[:last])


def record_label(record: Mapping[str, Any], where: str) -> tuple[str, float, str, list[int] | None]:
    """``(kind, label, group, step labels or None)`` of a record; errors name ``where`` and the field."""
    meta = record.get("metadata")
    if not isinstance(meta, Mapping) or meta.get("kind") not in KINDS:
        got = meta.get("kind") if isinstance(meta, Mapping) else meta
        raise ValueError(f"{where}: metadata.kind must be one of {', '.join(KINDS)} for a classification stage; got {got!r}")
    kind, label = meta["kind"], meta.get("label")
    if kind == "verifier":
        if label not in (0, 1):
            raise ValueError(f"{where}: metadata.label of a verifier record must be 0 or 1; got {label!r}")
        steps = meta.get("step_labels")
        n_turns = sum(m["role"] == "assistant" for m in record["messages"])
        if steps is not None:
            if not isinstance(steps, list) or any(s not in (0, 1) for s in steps):
                raise ValueError(f"{where}: metadata.step_labels must be a list of 0/1; got {steps!r}")
            if len(steps) != n_turns:
                raise ValueError(f"{where}: metadata.step_labels has {len(steps)} labels for {n_turns} assistant turns (one per assistant turn)")
        corruption = meta.get("corruption")
        if corruption is not None and not isinstance(corruption, str):
            raise ValueError(f"{where}: metadata.corruption must be null or a string; got {corruption!r}")
        return kind, float(label), corruption or NO_GROUP, [int(s) for s in steps] if steps is not None else None
    if label not in SAFETY_LABELS:
        raise ValueError(f"{where}: metadata.label of a safety record must be one of {', '.join(SAFETY_LABELS)}; got {label!r}")
    category = meta.get("category")
    if category is not None and not isinstance(category, str):
        raise ValueError(f"{where}: metadata.category must be null or a string; got {category!r}")
    return kind, float(SAFETY_LABELS[label]), category or NO_GROUP, None


def record_cluster(record: Mapping[str, Any], where: str) -> str:
    """The cluster a record's errors come with (module docstring): its ``metadata.intent``, else ``where``
    (the record alone)."""
    intent = record["metadata"].get("intent")
    return intent if isinstance(intent, str) and intent else where


def collate_examples(examples: Sequence[LabelledExample], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch (`svend.data.packing.collate` lays out the ids) plus the labels."""
    rows = [Row(e.input_ids, [IGNORE_INDEX] * len(e.input_ids), list(range(len(e.input_ids)))) for e in examples]
    batch = collate(rows, pad_token_id)
    del batch["labels"]  # no token-level targets here
    # One sequence per row, padding after it: plain causal attention already keeps real tokens from
    # seeing the padding, so positions run on through it — position ids that restart at the padding
    # would read as a packed row and cost the models their fast causal path (measured ~10-20 % slower).
    batch["position_ids"] = torch.arange(batch["input_ids"].shape[1]).expand_as(batch["input_ids"]).contiguous()
    steps = max((len(e.step_index) for e in examples), default=0)
    step_index = torch.full((len(examples), steps), -1, dtype=torch.long)
    step_label = torch.full((len(examples), steps), -1.0)
    for b, e in enumerate(examples):
        step_index[b, : len(e.step_index)] = torch.tensor(e.step_index, dtype=torch.long)
        step_label[b, : len(e.step_label)] = torch.tensor(e.step_label, dtype=torch.float)
    batch["last_index"] = torch.tensor([len(e.input_ids) - 1 for e in examples])
    batch["label"] = torch.tensor([e.label for e in examples])
    batch["step_index"], batch["step_label"] = step_index, step_label
    return batch


class ClassificationDataModule(ChatDataModule):
    """Verifier or safety records → `LabelledExample` rows → length-bucketed batches (module docstring).

    After ``setup``: ``kind`` ("verifier" or "safety"), ``groups`` (sorted group names over all
    splits; ``batch["group"]`` indexes it) and ``clusters`` (likewise, for ``batch["cluster"]``)."""

    def __init__(
        self,
        tokenizer,
        train_files: Sequence[str],
        val_files: Sequence[str] = (),
        test_files: Sequence[str] = (),
        micro_batch_size: int = 8,
        max_seq_len: int = 512,
        packing: bool = False,
        num_workers: int = 0,
        seed: int = 0,
        extra_train_files: Sequence[str] = (),
    ) -> None:
        if packing:
            raise ValueError("data.packing=true: classification examples are one per row (the head reads each "
                             "example's last token); set data.packing=false")
        super().__init__(tokenizer, train_files, val_files, test_files, micro_batch_size, max_seq_len, False, num_workers, seed,
                         extra_train_files)
        self.kind: str | None = None
        self.groups: list[str] = []
        self.clusters: list[str] = []
        self._raw: dict[str, list[tuple[list[int], list[int], float, str, list[int] | None, str]]] = {}

    def _read_split(self, split: str) -> None:
        items, records = [], []
        for path, weight in self.sources[split]:  # a mixture: each file's records taken `weight` times
            # line numbers for the errors: read_jsonl skips blank lines and splits on "\n" only
            text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else ""
            lines = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
            numbered = list(zip(read_jsonl(path), lines))
            for record, lineno in weighted(numbered, weight, random.Random(f"{self.seed}/{split}/{path}")):
                kind, label, group, steps = record_label(record, f"{path}:{lineno}")
                if self.kind is None:
                    self.kind = kind
                elif kind != self.kind:
                    raise ValueError(f"{path}:{lineno}: a {kind} record among {self.kind} records; one data module holds one kind")
                messages = record["messages"] if kind == "verifier" else request_messages(record["messages"], f"{path}:{lineno}")
                records.append(messages)
                items.append((label, group, steps, record_cluster(record, f"{path}:{lineno}")))
        encoded = []
        for start in range(0, len(records), 1024):  # bounded tokenizer calls
            encoded.extend(encode_conversations(self.tokenizer, records[start : start + 1024], self.max_seq_len))
        self._raw[split] = [(ids, ends, *item) for (ids, ends), item in zip(encoded, items)]
        truncated = sum(1 for (ids, ends), (_, _, steps, _) in zip(encoded, items) if steps is not None and len(ends) < len(steps))
        if truncated:
            log.warning("%s: %d chain(s) lost their first turns to max_seq_len=%d (the end is kept)", split, truncated, self.max_seq_len)

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", "val", "test"):
            if self.files[split] and split not in self._raw:
                self._read_split(split)
        self.groups = sorted({item[3] for raw in self._raw.values() for item in raw})
        self.clusters = sorted({item[5] for raw in self._raw.values() for item in raw})
        for split, raw in self._raw.items():
            if split in self.rows:
                continue
            rows = []
            for ids, ends, label, group, steps, cluster in raw:
                steps = steps[len(steps) - len(ends) :] if steps is not None else None
                rows.append(LabelledExample(ids, label, group, cluster, ends if steps is not None else [], steps or []))
            self.rows[split] = rows
            positives = sum(r.label for r in rows)
            log.info("%s: %d %s examples (%d positive), %d tokens, longest %d", split, len(rows), self.kind,
                     positives, sum(len(r.input_ids) for r in rows), max(len(r.input_ids) for r in rows))

    def _loader(self, split: str, sampler) -> DataLoader:
        pad, groups = self.tokenizer.pad_token_id, {g: i for i, g in enumerate(self.groups)}
        clusters = {c: i for i, c in enumerate(self.clusters)}

        def collate_fn(examples):
            batch = collate_examples(examples, pad)
            batch["group"] = torch.tensor([groups[e.group] for e in examples])
            batch["cluster"] = torch.tensor([clusters[e.cluster] for e in examples])
            return batch

        return DataLoader(self.rows[split], batch_sampler=sampler, collate_fn=collate_fn, num_workers=self.num_workers)

    def predict_loader(self, split: str) -> DataLoader:
        """Every example of ``split`` in a fixed length-bucketed order, on this process alone (not
        sharded by rank): what a stage's end-of-fit report reads."""
        rows = self.rows[split]
        lengths = [len(r.input_ids) for r in rows]
        return self._loader(split, ResumableBatchSampler(len(rows), self.micro_batch_size, self.seed, False, lengths))
