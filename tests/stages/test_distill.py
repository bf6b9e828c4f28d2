"""Distillation: the loss is the tempered KL, cached teacher logits are the live teacher's (packed rows
included), a run builds its cache and never checkpoints the teacher, and mismatches are named."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from svend.data.datamodule import ChatDataModule
from svend.data.schema import read_jsonl, write_jsonl
from svend.data.packing import encode_records
from svend.data.teacher_cache import (
    TeacherCache,
    build_teacher_cache,
    cache_mismatch,
    example_key,
    load_teacher,
    read_cache_meta,
    teacher_topk,
)
from svend.stages.distill import kd_loss
from svend.train import train
from tests.conftest import FAST, REPO, compose_train
from tests.test_train import scalars

SAMPLE = REPO / "svend" / "data" / "sample"


@pytest.fixture(scope="module")
def chat_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    # Chats without tool specs: they fit the tiny base's 128 positions.
    write_jsonl(root / "train.jsonl", [r for r in read_jsonl(SAMPLE / "train.jsonl") if not r.get("tools")][:40])
    write_jsonl(root / "val.jsonl", [r for r in read_jsonl(SAMPLE / "val.jsonl") if not r.get("tools")][:12])
    return {"train": root / "train.jsonl", "val": root / "val.jsonl"}


def test_kd_loss_is_the_tempered_kl():
    torch.manual_seed(0)
    student, teacher = torch.randn(6, 50), torch.randn(6, 50)
    ids = torch.arange(50).expand(6, 50)
    for t in (1.0, 2.0, 4.0):
        expected = F.kl_div(F.log_softmax(student / t, -1), F.log_softmax(teacher / t, -1), log_target=True, reduction="batchmean") * t * t
        assert kd_loss(student, ids, teacher, t).item() == pytest.approx(expected.item(), rel=1e-5)
    assert kd_loss(teacher, ids, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    # Top-k: the teacher's k best tokens, renormalized; the student's full softmax read at those ids.
    values, top = teacher.topk(5, dim=-1)
    p = F.softmax(values / 2, -1)
    q = F.log_softmax(student / 2, -1).gather(-1, top)
    assert kd_loss(student, top, values, 2.0).item() == pytest.approx(((p * (p.log() - q)).sum(-1).mean() * 4).item(), rel=1e-5)


def test_cached_logits_are_the_live_teachers_on_packed_rows(tiny_base_dir, chat_files, tmp_path):
    teacher, tokenizer = load_teacher(tiny_base_dir)
    folder = build_teacher_cache(teacher, tokenizer, [str(chat_files["train"])], tmp_path / "cache", max_seq_len=128, top_k=8, batch_size=5)
    meta = read_cache_meta(folder)
    encoded = [e for e in encode_records(tokenizer, read_jsonl(chat_files["train"]), 128) if e is not None]
    assert meta["top_k"] == 8 and meta["max_seq_len"] == 128 and meta["shards"]
    assert meta["examples"] == len({example_key(ids) for ids, _ in encoded}) > 15  # one entry per distinct example
    cache = TeacherCache(folder)
    dm = ChatDataModule(tokenizer, [str(chat_files["train"])], micro_batch_size=4, max_seq_len=128, packing=True)
    dm.setup("fit")
    packed = 0
    for batch in dm.train_dataloader():
        packed += int((batch["position_ids"][:, 1:] == 0).any(-1).sum())
        cached_ids, cached_logits = cache.lookup(batch)
        live_ids, live_logits = teacher_topk(teacher, batch, 8)
        assert cached_ids.shape == live_ids.shape == (int((batch["labels"] != -100).sum()), 8)
        assert torch.equal(cached_ids, live_ids)
        assert torch.allclose(cached_logits, live_logits, atol=2e-2, rtol=1e-2)  # stored as fp16
    assert packed  # rows really held several examples
    assert cache_mismatch(meta, tokenizer, [str(chat_files["train"])], 128) == []
    problems = cache_mismatch(meta, tokenizer, [str(chat_files["val"])], 96, teacher="outputs/train/other")
    assert any("max_seq_len=128" in p for p in problems) and any("val.jsonl" in p for p in problems)
    assert any("this run names 'outputs/train/other'" in p for p in problems)


def distill_overrides(tiny_base_dir, chat_files, *extra: str) -> list[str]:
    return ["model=hf", f"model.path={tiny_base_dir}", "adapter=lora", "stage=distill", f"data.train_files=[{chat_files['train']}]",
            f"data.val_files=[{chat_files['val']}]", "data.test_files=[]", "trainer.max_steps=4", "trainer.val_check_interval=4",
            "trainer.log_every_n_steps=1", "callbacks.last.every_n_train_steps=4", *FAST, "hardware.max_seq_len=128", *extra]


def test_a_run_builds_its_cache_trains_and_never_saves_the_teacher(tiny_base_dir, chat_files, tmp_path):
    cache = tmp_path / "cache"
    live = train(compose_train(distill_overrides(tiny_base_dir, chat_files, f"stage.teacher={tiny_base_dir}"), tmp_path / "live"))[1]
    built = train(compose_train(distill_overrides(tiny_base_dir, chat_files, f"stage.teacher={tiny_base_dir}",
                                                  f"stage.teacher_cache={cache}"), tmp_path / "built"))[1]
    assert read_cache_meta(cache)["teacher"] == str(tiny_base_dir)
    stamp = (cache / "teacher_cache.json").stat().st_mtime_ns
    cached = train(compose_train(distill_overrides(tiny_base_dir, chat_files, "stage.teacher=null", f"stage.teacher_cache={cache}"),
                                 tmp_path / "cached"))[1]
    assert (cache / "teacher_cache.json").stat().st_mtime_ns == stamp  # reused, not rebuilt
    for metrics in (live, built, cached):
        assert 0 < metrics["train/kd"] and 0 < metrics["train/ce"] and 0 < metrics["val/loss"] < 20
    # Same student, same batches: the first step's KD term is the same from the live teacher and from disk.
    first = {name: scalars(tmp_path / name, "train/kd")[0] for name in ("live", "built", "cached")}
    assert first["built"] == pytest.approx(first["live"], rel=1e-3) and first["cached"] == first["built"]
    state = torch.load(tmp_path / "cached" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    assert state and all("lora_" in k or "trainable_tokens" in k for k in state)


def test_a_teacher_with_another_tokenizer_is_refused(tiny_base_dir, chat_files, tmp_path):
    cfg = compose_train(["stage=distill", f"stage.teacher={tiny_base_dir}", f"data.train_files=[{chat_files['train']}]",
                         f"data.val_files=[{chat_files['val']}]", "data.test_files=[]", "trainer.max_steps=2", *FAST], tmp_path)
    with pytest.raises(ValueError, match="its tokenizer differs from the student's"):
        train(cfg)


def test_distill_without_teacher_names_both_options(tmp_path):
    from hydra.errors import InstantiationException

    with pytest.raises(InstantiationException, match="stage.teacher .* or stage.teacher_cache"):
        train(compose_train(["stage=distill", "stage.teacher=null", *FAST], tmp_path))


def test_an_earlier_full_run_teaches_the_next(chat_files, tmp_path):
    """A generation trained from scratch (no adapter folder: config + best checkpoint) is a teacher."""
    data = [f"data.train_files=[{chat_files['train']}]", f"data.val_files=[{chat_files['val']}]", "data.test_files=[]",
            "trainer.max_steps=4", "trainer.val_check_interval=4", "callbacks.last.every_n_train_steps=4", "test=false", *FAST]
    first = tmp_path / "gen1"
    train(compose_train(data, first))
    teacher, tokenizer = load_teacher(first)
    assert type(teacher).__name__ == "SvendDecoder" and not any(p.requires_grad for p in teacher.parameters())
    _, metrics = train(compose_train([*data, "stage=distill", f"stage.teacher={first}"], tmp_path / "gen2"))
    assert metrics["train/kd"] > 0 and metrics["val/loss"] < 20
