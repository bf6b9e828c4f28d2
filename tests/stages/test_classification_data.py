"""The classification DataModule: what each example is (tokens, pooled position, labels), length-bucketed
deterministic batches, exact mid-epoch resume, and errors that name the file, line and field."""

from __future__ import annotations

import json

import pytest

from svend.data.classification import ClassificationDataModule, encode_conversations, request_messages
from svend.tokens import IM_END, train_bpe_tokenizer
from tests.stages.conftest import safety_records, verifier_records, write_splits


@pytest.fixture(scope="module")
def tokenizer(verifier_files, safety_files, tmp_path_factory):
    files = [str(verifier_files["train"]), str(safety_files["train"])]
    return train_bpe_tokenizer(files, 1024, cache_dir=str(tmp_path_factory.mktemp("tok")))


def module(tokenizer, files, **kw) -> ClassificationDataModule:
    dm = ClassificationDataModule(tokenizer, [str(files["train"])], [str(files["val"])], [str(files["test"])], **kw)
    dm.setup("fit")
    return dm


def test_encoding_ends_on_im_end_and_marks_every_assistant_turn(tokenizer):
    record = verifier_records(1, 3)[0]
    ((ids, ends),) = encode_conversations(tokenizer, [record["messages"]], 512)
    im_end = tokenizer.convert_tokens_to_ids(IM_END)
    assert ids[-1] == im_end and ends[-1] == len(ids) - 1
    assert len(ends) == 3 and all(ids[e] == im_end for e in ends)
    assert tokenizer.decode(ids[: ends[0] + 1]).endswith(record["messages"][1]["content"] + IM_END)
    # Too long: the end is kept (what is judged), and the turns cut away lose their boundaries.
    ((short, short_ends),) = encode_conversations(tokenizer, [record["messages"]], len(ids) - ends[0] - 1)
    assert short == ids[ends[0] + 1 :] and short_ends == [e - ends[0] - 1 for e in ends[1:]]


def test_verifier_examples_carry_outcome_step_labels_and_corruption(tokenizer, verifier_files):
    dm = module(tokenizer, verifier_files, micro_batch_size=4)
    assert dm.kind == "verifier" and dm.groups == ["copied_wrong", "none", "wrong_final", "wrong_step"]
    records = [json.loads(line) for line in verifier_files["train"].read_text().splitlines()]
    assert len(dm.rows["train"]) == len(records)
    for record, row in zip(records, dm.rows["train"]):
        assert row.label == record["metadata"]["label"] and row.step_label == record["metadata"]["step_labels"]
        assert row.group == (record["metadata"]["corruption"] or "none")
    batch = next(iter(dm.train_dataloader()))
    n = batch["input_ids"].shape[0]
    assert set(batch) == {"input_ids", "position_ids", "num_tokens", "last_index", "label", "step_index", "step_label", "group", "cluster"}
    im_end = tokenizer.convert_tokens_to_ids(IM_END)
    for b in range(n):  # right-padded: the pooled token is the example's last, its closing <|im_end|>
        last = int(batch["last_index"][b])
        assert batch["input_ids"][b, last] == im_end
        assert (batch["input_ids"][b, last + 1 :] == tokenizer.pad_token_id).all()
        assert batch["step_index"][b, -1] == last and (batch["step_label"][b] >= 0).all()
    assert int(batch["num_tokens"]) == int((batch["last_index"] + 1).sum())


def test_mixture_weights_repeat_or_drop_a_files_records(tokenizer, verifier_files):
    """``{path, weight}`` entries mix classification files as they mix chat data: whole copies, then a
    sample for the fraction; weight 0 leaves a file out."""
    n = len(verifier_files["train"].read_text().splitlines())
    dm = ClassificationDataModule(tokenizer, [{"path": str(verifier_files["train"]), "weight": 2.5},
                                              {"path": str(verifier_files["val"]), "weight": 0}], [str(verifier_files["val"])])
    dm.setup("fit")
    assert len(dm.rows["train"]) == 2 * n + round(0.5 * n)


def test_safety_examples_read_the_request_not_the_answer(tokenizer, safety_files):
    dm = module(tokenizer, safety_files)
    assert dm.kind == "safety" and "weapons" in dm.groups
    text = tokenizer.decode(dm.rows["train"][0].input_ids)
    record = json.loads(safety_files["train"].read_text().splitlines()[0])
    assert record["messages"][0]["content"] in text and record["messages"][1]["content"] not in text
    assert dm.rows["train"][0].label == 1.0 and dm.rows["train"][1].label == 0.0  # refuse, comply
    with pytest.raises(ValueError, match="x.jsonl:3: a safety record needs a user turn"):
        request_messages([{"role": "assistant", "content": "hi"}], "x.jsonl:3")


def test_records_of_one_intent_share_a_cluster(tokenizer, safety_files, tmp_path):
    """``batch["cluster"]`` indexes ``dm.clusters``: records with the same ``metadata.intent`` share one (what
    the safety export redraws together); a record without an intent is a cluster of its own."""
    records = safety_records(12, 5)
    for r in records[:2]:
        del r["metadata"]["intent"]
    files = write_splits(tmp_path, "safety", {"train": records, "val": safety_records(24, 1), "test": safety_records(4, 2)})
    dm = module(tokenizer, files)
    assert [row.cluster for row in dm.rows["train"][:2]] == [f"{files['train']}:1", f"{files['train']}:2"]
    assert [row.cluster for row in dm.rows["train"][2:]] == [r["metadata"]["intent"] for r in records[2:]]
    val = [json.loads(line)["metadata"]["intent"] for line in files["val"].read_text().splitlines()]
    assert len(set(val)) < len(val)  # the fixture repeats requests under other openers
    seen = {}
    for batch in dm.val_dataloader():
        for last, cluster in zip(batch["last_index"].tolist(), batch["cluster"].tolist()):
            seen.setdefault(dm.clusters[cluster], []).append(last)
    assert sorted(seen) == sorted(set(val)) and sum(map(len, seen.values())) == len(val)


def test_batches_are_bucketed_deterministic_and_resume_mid_epoch(tokenizer, verifier_files):
    dm = module(tokenizer, verifier_files, micro_batch_size=4, seed=7)
    batches = [b["input_ids"].tolist() for b in dm.train_dataloader()]
    assert batches == [b["input_ids"].tolist() for b in module(tokenizer, verifier_files, micro_batch_size=4, seed=7).train_dataloader()]
    assert batches != [b["input_ids"].tolist() for b in module(tokenizer, verifier_files, micro_batch_size=4, seed=8).train_dataloader()]
    # Length bucketing: padding stays well below what a random order gives.
    padded = sum(len(b) * len(b[0]) for b in batches)
    real = sum(len(r.input_ids) for r in dm.rows["train"])
    assert real / padded > 0.9
    resumed = module(tokenizer, verifier_files, micro_batch_size=4, seed=7)
    resumed.load_state_dict({"batches_consumed": 5})
    assert [b["input_ids"].tolist() for b in resumed.train_dataloader()] == batches[5:]


@pytest.mark.parametrize(
    "metadata,message",
    [
        (None, "metadata.kind must be one of verifier, safety"),
        ({"kind": "verifier", "label": "refuse"}, "metadata.label of a verifier record must be 0 or 1; got .refuse."),
        ({"kind": "verifier", "label": 1, "step_labels": [1, 1]}, "step_labels has 2 labels for 3 assistant turns"),
        ({"kind": "safety", "label": "maybe"}, "metadata.label of a safety record must be one of comply, refuse"),
    ],
)
def test_bad_metadata_names_file_line_and_field(tokenizer, tmp_path, metadata, message):
    records = verifier_records(3, 0)
    if metadata is None:
        del records[3]["metadata"]
    else:
        records[3]["metadata"] = metadata
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records[:3]) + "\n\n" + "\n".join(json.dumps(r) for r in records[3:]) + "\n")
    dm = ClassificationDataModule(tokenizer, [str(path)])
    with pytest.raises(ValueError, match=f"{path}:5: .*{message}"):
        dm.setup("fit")


def test_mixed_kinds_and_packing_are_refused(tokenizer, tmp_path):
    files = write_splits(tmp_path, "mixed", {"train": verifier_records(2, 0) + safety_records(2, 0)})
    with pytest.raises(ValueError, match=r"train.jsonl:5: a safety record among verifier records"):
        ClassificationDataModule(tokenizer, [str(files["train"])]).setup("fit")
    with pytest.raises(ValueError, match="data.packing=false"):
        ClassificationDataModule(tokenizer, [str(files["train"])], packing=True)
