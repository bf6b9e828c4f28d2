"""Mixtures in the ChatDataModule: `{path, weight}` entries take a file's records `weight` times
(fractions as a seeded sample), bad entries are named, and the shipped mixture configs load the
generated data."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from svend.config import PACKAGE_DIR
from svend.data.datamodule import ChatDataModule
from svend.data.schema import read_jsonl, write_jsonl
from svend.tokens import train_bpe_tokenizer
from tests.conftest import compose_train
from tests.data.helpers import build_dataset

SAMPLE = PACKAGE_DIR / "data" / "sample"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return train_bpe_tokenizer([str(SAMPLE / "train.jsonl")], vocab_size=2048, cache_dir=str(tmp_path_factory.mktemp("tok")))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mix")
    records = read_jsonl(SAMPLE / "train.jsonl")
    a, b = tmp / "a.jsonl", tmp / "b.jsonl"
    write_jsonl(a, [{**r, "metadata": {"source": "a"}} for r in records[:10]])
    write_jsonl(b, [{**r, "metadata": {"source": "b", "lineage_id": str(i)}} for i, r in enumerate(records[10:30])])
    return a, b


def test_weights_multiply_and_sample_by_seed(tokenizer, sources):
    a, b = sources

    def taken(seed, wa=2, wb=0.5):
        dm = ChatDataModule(tokenizer, [{"path": str(a), "weight": wa}, {"path": str(b), "weight": wb}], seed=seed)
        return dm._records("train")

    records = taken(1)
    assert Counter(r["metadata"]["source"] for r in records) == {"a": 20, "b": 10}
    picked = lambda rs: sorted(r["metadata"]["lineage_id"] for r in rs if r["metadata"]["source"] == "b")  # noqa: E731
    assert picked(records) == picked(taken(1))  # the same seed, the same sample
    assert picked(records) != picked(taken(2))
    assert len(set(picked(records))) == 10  # a sample without repeats
    assert Counter(r["metadata"]["source"] for r in taken(1, wa=1, wb=0)) == {"a": 10}


def test_plain_paths_still_work_and_rows_are_built(tokenizer, sources):
    a, b = sources
    dm = ChatDataModule(tokenizer, [str(a), {"path": str(b), "weight": 1.5}], val_files=[str(a)], max_seq_len=512)
    dm.setup("fit")
    assert dm.files == {"train": [str(a), str(b)], "val": [str(a)], "test": []}
    assert len(dm.rows["train"]) > 0 and sum(len(r.input_ids) for r in dm.rows["train"]) > sum(len(r.input_ids) for r in dm.rows["val"])


@pytest.mark.parametrize("entry,message", [
    ({"path": "x.jsonl", "weight": -1}, r"train_files\[1\].weight must be >= 0"),
    ({"path": "x.jsonl", "weight": "lots"}, r"train_files\[1\].weight must be a number"),
    ({"file": "x.jsonl"}, r"train_files\[1\] must be \{path: <file>, weight: <number>\}"),
    (3, r"train_files\[1\] must be a path or \{path, weight\}"),
])
def test_bad_entries_are_named(tokenizer, sources, entry, message):
    with pytest.raises(ValueError, match=message):
        ChatDataModule(tokenizer, [str(sources[0]), entry])


def test_all_zero_weights_and_bad_lines_are_clear_errors(tokenizer, sources, tmp_path):
    with pytest.raises(ValueError, match="every source has weight 0"):
        ChatDataModule(tokenizer, [{"path": str(sources[0]), "weight": 0}])._records("train")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(sources[0].read_text().splitlines()[0] + "\n" + json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    with pytest.raises(ValueError, match=rf"{bad}:2: a record needs at least one assistant message"):
        ChatDataModule(tokenizer, [{"path": str(bad), "weight": 2}])._records("train")


def test_tool_arith_config_loads_the_generated_data(tokenizer, tmp_path):
    out, gen = build_dataset(["recipe=tool_arith", "data.num_examples=1000"], tmp_path)  # every split non-empty
    cfg = compose_train(["data=tool_arith", f"paths.root_dir={tmp_path}", "hardware.max_seq_len=2048", "data.train_files.1.weight=2"], tmp_path)
    dm = instantiate(cfg.data, tokenizer=tokenizer)
    assert dm.sources["train"] == [(str(out / "tool_traces" / "train.jsonl"), 1.0), (str(out / "failures" / "train.jsonl"), 2.0)]
    records = dm._records("train")
    kinds = Counter(r["metadata"]["kind"] for r in records)
    assert kinds == {"tool_traces": len(gen.records["tool_traces"]["train"]), "failures": 2 * len(gen.records["failures"]["train"])}
    assert all(dm._records(split) for split in ("val", "test"))  # every listed file exists and validates


def test_phase1_mixes_the_chat_trainable_kinds_only(tmp_path):
    cfg = compose_train(["data=phase1", f"paths.root_dir={tmp_path}"], tmp_path)
    files = OmegaConf.to_container(cfg.data, resolve=True)
    kinds = {e["path"].split("/")[-2] for e in files["train_files"]}
    assert kinds == {"tool_traces", "failures", "clarification"}
    assert all(p.startswith(str(tmp_path / "data" / "default")) for p in files["val_files"] + files["test_files"])
