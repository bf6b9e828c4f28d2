"""The training entry point end to end: smoke run, multirun, Optuna, resume, clear errors."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from svend.data.schema import RecordError
from svend.models.build import build_model
from svend.plots import plot_scalars, read_scalars
from svend.train import train
from tests.conftest import FAST, compose_train, run_cli


def scalars(run_dir: Path, tag: str) -> dict[int, float]:
    """Every value of a scalar tag across all event files of a run (a resumed run adds a file)."""
    return read_scalars(run_dir, tag)


@pytest.mark.slow
def test_smoke_experiment_end_to_end(tmp_path):
    result = run_cli(["svend-train", "experiment=smoke", f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "smoke").iterdir()
    assert list((run_dir / "checkpoints").glob("best-step*.ckpt")) and (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "tokenizer" / "tokenizer.json").is_file() and (run_dir / "config.yaml").is_file()
    losses = scalars(run_dir, "train/loss")
    assert len(losses) >= 5 and all(v == v for v in losses.values())
    assert scalars(run_dir, "val/loss") and scalars(run_dir, "train/tokens_per_s") and scalars(run_dir, "lr-AdamW")
    # HPARAMS compares runs on real metrics, not a -1 placeholder.
    hp = scalars(run_dir, "hparams/val_loss")
    assert hp and 0 < next(iter(hp.values())) < 20
    assert f"best checkpoint: {run_dir}" in result.stdout and "tensorboard --logdir" in result.stdout
    # No terminal here, so the progress bar is not watched: the log says where training stands instead.
    progress = [line for line in (run_dir / "train.log").read_text().splitlines() if "[svend.progress]" in line]
    assert progress and "s/step" in progress[0] and "left" in progress[0], progress
    assert "done: step 12/12" in progress[-1] and "in all" in progress[-1], progress
    # The README's loss-curve PNG is drawn from these event files.
    png = plot_scalars(run_dir, ["train/loss", "val/loss", "never/logged"], tmp_path / "loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with pytest.raises(ValueError, match="none of never/logged"):
        plot_scalars(run_dir, ["never/logged"], tmp_path / "x.png")


@pytest.mark.slow
def test_multirun_writes_one_folder_per_value(tmp_path):
    result = run_cli(["svend-train", "-m", "optim.lr=1e-3,3e-4", "experiment=smoke", "trainer.max_steps=4",
                      "trainer.val_check_interval=4", "test=false", f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "multirun" / "smoke").iterdir()
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in runs] == ["0", "1"]
    lrs = sorted(json.loads(json.dumps(__import__("yaml").safe_load((r / "config.yaml").read_text())["optim"]["lr"])) for r in runs)
    assert lrs == [3e-4, 1e-3]
    assert all(list((r / "checkpoints").glob("*.ckpt")) for r in runs)


@pytest.mark.slow
def test_optuna_preset_runs_two_trials(tmp_path):
    result = run_cli(["svend-train", "hparams_search=optuna", "hydra.sweeper.n_trials=2", "experiment=smoke",
                      "trainer.max_steps=4", "trainer.val_check_interval=4", f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "multirun" / "optuna").iterdir()
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()) == ["0", "1"]
    best = __import__("yaml").safe_load((sweep / "optimization_results.yaml").read_text())
    assert 0 < best["best_value"] < 20 and "optim.lr" in best["best_params"]


class StopAtStep(L.Callback):
    """Interrupts training right after optimizer step ``step``, the way Ctrl-C would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


RESUME = ["experiment=smoke", "trainer.max_steps=12", "trainer.val_check_interval=12", "trainer.log_every_n_steps=1",
          "callbacks.last.every_n_train_steps=4", "test=false", *FAST]


def assert_resume_matches_straight_run(overrides: list[str], tmp_path: Path) -> Path:
    """Interrupt a run at step 6 (Ctrl-C), resume it with resume=last, and compare every logged loss with
    an uninterrupted run; returns the resumed run's folder."""
    straight = tmp_path / "straight"
    train(compose_train([*RESUME, *overrides], straight))
    expected = scalars(straight, "train/loss")

    resumed = tmp_path / "resumed"
    cfg = compose_train([*RESUME, *overrides, "+callbacks.stop._target_=tests.test_train.StopAtStep", "+callbacks.stop.step=6"], resumed)
    with pytest.raises(SystemExit):  # Lightning catches the interrupt, saves on_exception.ckpt, exits 1
        train(cfg)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores Ctrl-C after one
    assert max(scalars(resumed, "train/loss")) < 12
    train(compose_train([*RESUME, *overrides, "resume=last"], resumed))
    got = scalars(resumed, "train/loss")
    # Step 5's value was still buffered when the interrupt hit; steps 6-11 come from the resumed process.
    assert len(expected) == 12 and set(range(6, 12)) <= set(got) <= set(expected)
    for step in got:  # bf16 autocast on CPU is deterministic: the same batches give the same losses
        assert got[step] == pytest.approx(expected[step], rel=1e-4, abs=1e-4), step
    return resumed


@pytest.mark.slow
def test_resume_continues_the_same_loss_curve(tmp_path):
    assert_resume_matches_straight_run([], tmp_path)


def test_resume_last_without_checkpoint_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        train(compose_train(["resume=last", *FAST], tmp_path))


def test_malformed_data_line_names_file_and_line(tmp_path):
    good = Path(__file__).resolve().parents[1] / "svend" / "data" / "sample" / "train.jsonl"
    lines = good.read_text().splitlines()[:20]
    lines[6] = '{"messages": [{"role": "robot", "content": "hi"}]}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    # The first reader may be the tokenizer trainer (through hydra's instantiate, which wraps errors):
    # whatever the path, the message names the file, the line and the field.
    with pytest.raises(Exception) as e:
        train(compose_train([f"data.train_files=[{bad}]", *FAST], tmp_path))
    assert f"{bad}:7: messages[0].role must be one of system, user, assistant, tool; got 'robot'" in str(e.value)
    assert isinstance(e.value, RecordError) or isinstance(e.value.__cause__, RecordError)


def test_malformed_data_line_cli_error_is_readable(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{"messages": [\n')
    result = run_cli(["svend-train", f"data.train_files=[{bad}]", f"paths.root_dir={tmp_path}", *FAST], cwd=tmp_path)
    assert result.returncode != 0
    assert f"{bad}:2: invalid JSON" in result.stderr


def test_bad_override_cli_fails_fast_naming_the_key(tmp_path):
    result = run_cli(["svend-train", "trainer.max_stepz=3", f"paths.root_dir={tmp_path}"], cwd=tmp_path)
    assert result.returncode != 0 and "max_stepz" in result.stderr
    assert not (tmp_path / "outputs").exists()  # nothing started


def test_runs_without_logger_or_validation_files(tmp_path):
    cfg = compose_train(["logger=none", "data.val_files=[]", "data.test_files=[]", "trainer.max_steps=2",
                         "trainer.val_check_interval=2", "callbacks.last.every_n_train_steps=2", *FAST], tmp_path)
    optimized, metrics = train(cfg)
    assert optimized is None and metrics["train/loss"] > 0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file() and not (tmp_path / "tensorboard").exists()


def test_init_from_a_full_run_loads_its_tied_weights(tmp_path):
    """A from-scratch run (tied embedding / lm_head) seeds the next stage from its best checkpoint."""
    steps = ["trainer.max_steps=2", "trainer.val_check_interval=2", "callbacks.last.every_n_train_steps=2", *FAST]
    train(compose_train(["logger=none", *steps], tmp_path / "first"))
    cfg = compose_train(["logger=none", "stage=tool_integration", f"stage.init_from={tmp_path / 'first'}", *steps],
                        tmp_path / "next")
    net, _ = build_model(cfg.model, cfg.adapter)
    stage = instantiate(cfg.stage, net=net)
    (best,) = (tmp_path / "first" / "checkpoints").glob("best-*.ckpt")
    saved = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
    for name, tensor in stage.net.state_dict().items():
        assert torch.equal(tensor, saved[f"net.{name}"]), name


def test_init_from_a_missing_run_names_it(tmp_path):
    cfg = compose_train(["stage=tool_integration", f"stage.init_from={tmp_path / 'nope'}", *FAST], tmp_path / "run")
    with pytest.raises(InstantiationException, match="FileNotFoundError.*init_from=.*nope.*not a run folder"):
        train(cfg)
