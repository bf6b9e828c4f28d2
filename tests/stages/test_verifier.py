"""The verifier stage through the real entry point: it trains, reports AUROC / ECE / accuracy to
TensorBoard, exports its head, and `VerifierScorer` reloads it from the run folder alone — for a full
fine-tune (the tiny Svend decoder: backbone from the checkpoint) and for LoRA on a transformers model
(backbone from the adapter folder)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from hydra.errors import InstantiationException

from svend.data.schema import read_jsonl, write_jsonl
from svend.stages.verifier import VerifierScorer, verifier_metrics
from svend.train import train
from tests.conftest import FAST, compose_train
from tests.stages.conftest import data_overrides, read_json
from tests.test_train import assert_resume_matches_straight_run, scalars

VERIFIER = ["stage=verifier", "data=verifier", "trainer.max_steps=16", "trainer.val_check_interval=8",
            "trainer.log_every_n_steps=2", "callbacks.last.every_n_train_steps=8", "optim.lr=3e-3", *FAST]


def check_scorer_matches_export(run, val_file, expected_kind: str) -> VerifierScorer:
    """The reloaded scorer reproduces the exported validation numbers, in batches and one at a time."""
    meta = read_json(run / "head" / "head.json")
    assert meta["kind"] == "verifier" and meta["names"] == ["outcome", "step"] and meta["backbone"]["kind"] == expected_kind
    report = read_json(run / "head" / "calibration.json")
    records = read_jsonl(val_file)
    scorer = VerifierScorer(run, batch_size=3)
    scores = scorer.score_many([r["messages"] for r in records])
    labels = torch.tensor([float(r["metadata"]["label"]) for r in records])
    groups = sorted({r["metadata"]["corruption"] or "none" for r in records})
    group = torch.tensor([groups.index(r["metadata"]["corruption"] or "none") for r in records])
    again = verifier_metrics(torch.logit(torch.tensor(scores, dtype=torch.float64)).float(), labels, group, groups)
    assert again["loss"] == pytest.approx(report["loss"], abs=1e-4)
    assert again["auroc"] == pytest.approx(report["auroc"], abs=1e-6) and again["flagged"] == pytest.approx(report["flagged"])
    assert scorer.score(records[0]["messages"]) == pytest.approx(scores[0], abs=1e-5)  # padding changes nothing
    # Best-of-N: the conversation so far + each candidate's new turns, through the engine's resolver.
    from svend.inference.scorers import resolve_scorer

    user, turns = records[0]["messages"][:1], records[0]["messages"][1:]
    candidates = [SimpleNamespace(messages=turns), {"messages": records[1]["messages"][1:]}]
    assert scorer(user, candidates) == pytest.approx([scores[0], scores[1]], abs=1e-5)
    engine_scorer = resolve_scorer({"_target_": "svend.stages.verifier.VerifierScorer", "source": str(run)})
    assert engine_scorer(user, candidates[:1]) == pytest.approx([scores[0]], abs=1e-5)
    assert resolve_scorer(f"verifier:{run}")(user, candidates[:1]) == pytest.approx([scores[0]], abs=1e-5)
    # Weighted voting: candidates with one final answer pool the verifier's P(correct).
    voters = [SimpleNamespace(messages=turns, final="Answer: 7"), SimpleNamespace(messages=turns, final="so 7.0"),
              SimpleNamespace(messages=records[1]["messages"][1:], final="Answer: 8")]
    expected = [2 * scores[0], 2 * scores[0], scores[1]]
    assert resolve_scorer(f"verifier_vote:{run}")(user, voters) == pytest.approx(expected, abs=1e-5)
    return scorer


def test_engine_scorer_verifier_finds_the_newest_finished_verifier_run(verifier_files, tmp_path, monkeypatch):
    """`engine.scorer=verifier` alone: the newest finished verifier run in ./svend.db that has a head."""
    from svend.inference.scorers import resolve_scorer
    from svend.state.store import StateStore

    run = tmp_path / "run"
    train(compose_train([*VERIFIER, "trainer.max_steps=2", "trainer.val_check_interval=2", *data_overrides(verifier_files)], run))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no state database"):
        resolve_scorer("verifier")
    with StateStore(tmp_path / "svend.db") as store:
        for folder, stage in ((run, "verifier"), (tmp_path / "newer_without_head", "verifier"), (tmp_path / "lm", "base_reasoning")):
            folder.mkdir(exist_ok=True)
            store.finish_run(store.start_run(folder, task_name="t", stage=stage, config="", overrides=[], git_rev=None),
                             metrics={}, checkpoints={})
    conversation = read_jsonl(verifier_files["val"])[0]["messages"]
    assert resolve_scorer("verifier").score(conversation) == pytest.approx(VerifierScorer(run).score(conversation), abs=1e-6)
    (run / "head").rename(tmp_path / "moved")
    with pytest.raises(FileNotFoundError, match="no finished verifier run with head/"):
        resolve_scorer("verifier")


def test_verifier_trains_reports_exports_and_reloads(verifier_files, tmp_path):
    run = tmp_path / "run"
    _, metrics = train(compose_train([*VERIFIER, *data_overrides(verifier_files)], run))
    for key in ("val/loss", "val/auroc", "val/accuracy", "val/ece", "val/brier", "val/step_auroc", "test/auroc",
                "val/flagged/none", "val/flagged/wrong_step", "train/step_loss"):
        assert key in metrics, key
    assert 0 <= metrics["val/ece"] <= 1 and 0 <= metrics["val/auroc"] <= 1
    assert set(scalars(run, "val/auroc")) == {7, 15} and scalars(run, "train/outcome_loss")
    check_scorer_matches_export(run, verifier_files["val"], "checkpoint")


@pytest.mark.slow
def test_lora_verifier_on_a_transformers_model_reloads_from_the_adapter(tiny_base_dir, verifier_files, tmp_path):
    run = tmp_path / "run"
    train(compose_train([*VERIFIER, "model=hf", f"model.path={tiny_base_dir}", "adapter=lora", *data_overrides(verifier_files)], run))
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    check_scorer_matches_export(run, verifier_files["val"], "adapter")


def test_the_head_overfits_a_small_set(verifier_files, tmp_path):
    """Gradients reach backbone and head: 12 chains are learned to near-zero loss."""
    small = [f"data.train_files=[{verifier_files['train']}]", f"data.val_files=[{verifier_files['train']}]",
             "data.test_files=[]", "trainer.overfit_batches=3", "trainer.max_steps=60", "trainer.val_check_interval=60",
             "stage.process_weight=0", "logger=none"]
    _, metrics = train(compose_train([*VERIFIER, *small], tmp_path / "run"))
    assert metrics["train/outcome_loss"] < 0.1, metrics


def test_a_validation_split_without_step_labels_reports_outcome_metrics(verifier_files, tmp_path):
    """`svend-data samples` records carry an outcome label only: with every validation chain like that,
    validation still reports (no step metrics) while training keeps its process loss."""
    val = tmp_path / "val.jsonl"
    records = read_jsonl(verifier_files["val"])
    for r in records:
        r["metadata"].pop("step_labels", None)
    write_jsonl(val, records)
    overrides = [*VERIFIER, *data_overrides(verifier_files), f"data.val_files=[{val}]", "trainer.max_steps=8", "logger=none"]
    _, metrics = train(compose_train(overrides, tmp_path / "run"))
    assert "val/auroc" in metrics and "train/step_loss" in metrics
    assert "val/step_auroc" not in metrics


def test_wrong_data_kind_is_named(safety_files, tmp_path):
    with pytest.raises(ValueError, match="stage=verifier trains on verifier records.*use data=verifier"):
        train(compose_train([*VERIFIER, *data_overrides(safety_files)], tmp_path / "run"))


def test_frozen_backbone_trains_only_the_head(verifier_files, tmp_path):
    from hydra.utils import instantiate

    from svend.models.build import build_model

    cfg = compose_train([*VERIFIER, "stage.freeze_backbone=true", *data_overrides(verifier_files)], tmp_path / "run")
    net, _ = build_model(cfg.model, cfg.adapter)
    module = instantiate(cfg.stage, net=net)
    assert module.trainable_names == {"net.head.proj.weight", "net.head.proj.bias"} and not module.strict_loading


def test_trainable_layers_freezes_everything_below_the_top_blocks(verifier_files, tmp_path):
    from hydra.utils import instantiate

    from svend.models.build import build_model

    cfg = compose_train([*VERIFIER, "stage.trainable_layers=1", *data_overrides(verifier_files)], tmp_path / "run")
    net, tokenizer = build_model(cfg.model, cfg.adapter)  # svend_tiny: 4 blocks, tied embeddings
    module = instantiate(cfg.stage, net=net)
    blocks = {n.split(".")[4] for n in module.trainable_names if n.startswith("net.backbone.model.layers.")}
    assert blocks == {"3"} and "net.backbone.model.norm.weight" in module.trainable_names
    assert not any("embed_tokens" in n or "lm_head" in n for n in module.trainable_names)
    dm = instantiate(cfg.data, tokenizer=tokenizer)
    dm.setup("fit")
    module.losses(next(iter(dm.train_dataloader())))["loss"].backward()
    for name, p in module.named_parameters():
        assert (p.grad is not None) == (name in module.trainable_names), name
    cfg = compose_train([*VERIFIER, "stage.trainable_layers=5", *data_overrides(verifier_files)], tmp_path / "bad")
    with pytest.raises(Exception, match="trainable_layers=5: the backbone has 4 blocks"):
        instantiate(cfg.stage, net=build_model(cfg.model, cfg.adapter)[0])


def test_missing_run_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}.*no head/head.json"):
        VerifierScorer(tmp_path)


@pytest.mark.slow
def test_verifier_resumes_mid_epoch_exactly(verifier_files, tmp_path):
    assert_resume_matches_straight_run(["stage=verifier", "data=verifier", *data_overrides(verifier_files)], tmp_path)


def test_unknown_stage_key_fails_at_instantiate(tmp_path, verifier_files):
    with pytest.raises(InstantiationException, match="process_wieght"):
        train(compose_train([*VERIFIER, "+stage.process_wieght=1", *data_overrides(verifier_files)], tmp_path / "run"))


def test_export_reuses_the_validation_outputs_or_recomputes_the_same(verifier_files, tmp_path):
    import lightning as L
    from hydra.utils import instantiate

    from svend.models.build import build_model

    cfg = compose_train([*VERIFIER, *data_overrides(verifier_files)], tmp_path / "run")
    net, tokenizer = build_model(cfg.model, cfg.adapter)
    module = instantiate(cfg.stage, net=net)
    trainer = L.Trainer(max_steps=3, val_check_interval=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=instantiate(cfg.data, tokenizer=tokenizer))
    assert list(module._val_outputs) == [3]
    reused = read_json(tmp_path / "run" / "head" / "calibration.json")
    module._val_outputs.clear()
    module.on_fit_end()
    recomputed = read_json(tmp_path / "run" / "head" / "calibration.json")
    assert recomputed["n"] == reused["n"] == 16
    for key in ("loss", "auroc", "accuracy", "ece", "brier", "step_auroc"):
        assert recomputed[key] == pytest.approx(reused[key], abs=1e-5), key
