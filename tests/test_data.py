"""Tokenizing with loss masks, packing without cross-example leakage, resumable batching."""

from __future__ import annotations

import random

import pytest

from svend.config import PACKAGE_DIR
from svend.data.datamodule import ChatDataModule
from svend.data.packing import IGNORE_INDEX, ResumableBatchSampler, collate, encode_records, pack
from svend.data.schema import RecordError, read_jsonl, write_jsonl
from svend.tokens import render_segments, train_bpe_tokenizer

SAMPLE = PACKAGE_DIR / "data" / "sample"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return train_bpe_tokenizer([str(SAMPLE / "train.jsonl")], vocab_size=2048, cache_dir=str(tmp_path_factory.mktemp("tok")))


def test_labels_are_exactly_the_next_assistant_tokens(tokenizer):
    record = read_jsonl(SAMPLE / "train.jsonl")[2]
    ((ids, labels),) = encode_records(tokenizer, [record], max_seq_len=4096)
    assert len(ids) == len(labels)
    targets = [ids[t + 1] for t in range(len(ids) - 1) if labels[t] != IGNORE_INDEX]
    assert targets == [label for label in labels if label != IGNORE_INDEX]
    trained_text = tokenizer.decode(targets)
    expected = "".join(s.text for s in render_segments(record["messages"], record.get("tools")) if s.trainable)
    assert trained_text == expected  # the loss covers assistant turns, nothing else


def test_packing_fits_rows_and_restarts_positions():
    rng = random.Random(0)
    examples = [([rng.randrange(100) for _ in range(n)], [1] * n) for n in [rng.randint(5, 60) for _ in range(200)]]
    rows = pack(examples, max_seq_len=64)
    assert sum(len(r.input_ids) for r in rows) == sum(len(e[0]) for e in examples)
    assert all(len(r.input_ids) <= 64 for r in rows)
    lower_bound = -(-sum(len(e[0]) for e in examples) // 64)
    assert len(rows) <= lower_bound * 1.15  # best-fit-decreasing wastes little
    for row in rows:  # every example starts at position 0 and counts up
        starts = [i for i, p in enumerate(row.position_ids) if p == 0]
        for a, b in zip(starts, starts[1:] + [len(row.position_ids)]):
            assert row.position_ids[a:b] == list(range(b - a))


def test_collate_pads_as_a_separate_example():
    rows = pack([([5, 6, 7], [6, 7, IGNORE_INDEX]), ([8, 9], [9, IGNORE_INDEX])], max_seq_len=3)
    batch = collate(rows, pad_token_id=0)
    assert batch["input_ids"].shape == (2, 3) and int(batch["num_tokens"]) == 5
    short = [b for b in range(2) if batch["input_ids"][b, 2] == 0][0]
    assert batch["position_ids"][short].tolist() == [0, 1, 0] and batch["labels"][short, 2] == IGNORE_INDEX


def test_sampler_skip_resumes_the_same_order():
    sampler = ResumableBatchSampler(50, 4, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    resumed = ResumableBatchSampler(50, 4, seed=3)
    resumed.set_epoch(2)
    resumed.skip(5)
    assert list(resumed) == full[5:]
    assert list(resumed) == full  # the skip applies once
    other_epoch = ResumableBatchSampler(50, 4, seed=3)
    assert list(other_epoch) != full


def test_sampler_shards_ranks_disjointly():
    shards = [list(ResumableBatchSampler(40, 4, seed=1, num_replicas=2, rank=r)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 5
    flat = [i for shard in shards for batch in shard for i in batch]
    assert sorted(flat) == list(range(40))


def test_batches_have_little_padding(tokenizer):
    packed = ChatDataModule(tokenizer, [str(SAMPLE / "train.jsonl")], micro_batch_size=8, max_seq_len=512)
    bucketed = ChatDataModule(tokenizer, [str(SAMPLE / "train.jsonl")], micro_batch_size=8, max_seq_len=512, packing=False)
    for dm in (packed, bucketed):
        dm.setup("fit")

    def fill(dm):
        batches = list(dm.train_dataloader())
        return sum(int(b["num_tokens"]) for b in batches) / sum(b["input_ids"].numel() for b in batches)

    assert fill(bucketed) > 0.9 and fill(packed) > 0.9
    assert len(list(packed.train_dataloader())) < len(list(bucketed.train_dataloader()))


def test_write_is_atomic_and_validates(tmp_path):
    path = tmp_path / "out.jsonl"
    records = read_jsonl(SAMPLE / "val.jsonl")
    assert write_jsonl(path, records) == len(records)
    (tmp_path / "plain.txt").write_text("x")  # the mode a plain open() gives under this umask
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777
    (tmp_path / "plain.txt").unlink()
    before = path.read_bytes()
    with pytest.raises(RecordError, match="record 3"):
        write_jsonl(path, [*records[:2], {"messages": []}])
    assert path.read_bytes() == before  # the old file survives a failed write, no temp file left
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


@pytest.mark.parametrize("line,message", [
    ('{"messages": [{"role": "user", "content": "hi"}]}', "at least one assistant message"),
    ('{"messages": [{"role": "assistant", "content": 3}]}', "messages[0].content must be a string"),
    ('{"messages": "hi"}', 'non-empty "messages" list'),
    ('[1, 2]', "must be a JSON object"),
    ('{"messages": [{"role": "user", "content": "x", "tool_calls": []}, {"role": "assistant", "content": "y"}]}',
     "only assistant messages carry tool_calls"),
])
def test_bad_records_name_the_line_and_field(tmp_path, line, message):
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n\n' + line + "\n")
    with pytest.raises(RecordError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}:3: ") and message in str(e.value)
