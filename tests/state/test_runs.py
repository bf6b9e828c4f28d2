"""Runs in the state store: what `svend-train` records (running → finished or failed), and `svend-runs`
list / show / resume on a database filled by real training runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from svend.runs_cli import main as svend_runs
from svend.state import StateError, StateStore
from svend.state.runs import git_revision, record_run, resume_command
from tests.conftest import FAST, REPO, compose_train, run_cli

SMOKE = ["experiment=smoke", "trainer.max_steps=3"]


def test_record_run_keeps_config_overrides_revision_and_results(tmp_path):
    overrides = [*SMOKE, f"paths.root_dir={tmp_path}", *FAST]
    run_dir = tmp_path / "outputs" / "smoke" / "run"
    cfg = compose_train(overrides, run_dir)
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "best-step3.ckpt").write_bytes(b"")
    with record_run(cfg) as record:
        with StateStore(tmp_path / "svend.db") as store:  # another process reading while the run is on
            running = store.get_run(record.id)
        record.metrics, record.score = {"val/loss": 2.5, "best_val/loss": 2.25}, 2.25
    assert running["status"] == "running" and running["finished_at"] is None
    with StateStore(tmp_path / "svend.db") as store:
        run = store.get_run(run_dir)
    assert run["id"] == record.id and run["status"] == "finished" and run["finished_at"]
    assert run["overrides"] == overrides and run["task_name"] == "smoke" and run["stage"] == "base_reasoning"
    assert "max_steps: 3" in run["config"] and f"state_db: {tmp_path}/svend.db" in run["config"]
    assert run["cwd"] == str(Path.cwd()) and run["metric"] == "val/loss" and run["score"] == 2.25
    assert run["metrics"] == {"val/loss": 2.5, "best_val/loss": 2.25}
    assert run["checkpoints"] == {"best": str(run_dir / "checkpoints" / "best-step3.ckpt"), "last": None, "adapter": None}
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path.cwd(), capture_output=True, text=True).stdout.strip()
    assert run["git_rev"] == (revision or None)


def test_git_revision_is_none_outside_a_checkout(tmp_path):
    assert git_revision(tmp_path) is None
    assert git_revision(tmp_path / "missing") is None


def test_failed_and_interrupted_runs_are_recorded_and_reraised(tmp_path):
    cfg = compose_train([*SMOKE, f"paths.root_dir={tmp_path}"], tmp_path / "a")
    with pytest.raises(ValueError, match="diverged"):
        with record_run(cfg):
            raise ValueError("loss diverged at step 2")
    cfg = compose_train([*SMOKE, f"paths.root_dir={tmp_path}"], tmp_path / "b")
    with pytest.raises(SystemExit):
        with record_run(cfg):
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                sys.exit(1)  # what Lightning does on Ctrl-C, after saving on_exception.ckpt
    with StateStore(tmp_path / "svend.db") as store:
        a, b = store.get_run(tmp_path / "a"), store.get_run(tmp_path / "b")
        assert (a["status"], a["error"]) == ("failed", "ValueError: loss diverged at step 2")
        assert (b["status"], b["error"]) == ("failed", "interrupted (KeyboardInterrupt)")
        assert [r["id"] for r in store.list_runs(status="failed")] == [b["id"], a["id"]]


def test_unusable_state_db_names_the_setting_and_the_path(tmp_path):
    (tmp_path / "a_file").write_text("")
    bad = tmp_path / "a_file" / "svend.db"
    cfg = compose_train([*SMOKE, f"paths.state_db={bad}"], tmp_path / "run")
    with pytest.raises(StateError, match=f"paths.state_db: {bad}: cannot open the state database"):
        with record_run(cfg):
            pass


def test_resume_command_reuses_the_overrides_in_the_same_folder():
    run = {"run_dir": "/runs/smoke/2026-01-02_03-04-05", "overrides": [
        "experiment=smoke", "ckpt_path=/old/step10.ckpt", "optim.lr=3e-4", "resume=last", "+callbacks.x.y=1"]}
    assert resume_command(run) == [sys.executable, "-m", "svend.train", "experiment=smoke", "optim.lr=3e-4", "+callbacks.x.y=1",
                                   "hydra.run.dir=/runs/smoke/2026-01-02_03-04-05", "hydra.mode=RUN", "resume=last"]
    odd = resume_command({"run_dir": "/my runs/it's, [odd]", "overrides": []})
    assert odd[3] == "hydra.run.dir='/my runs/it\\'s, [odd]'"


def test_cli_errors_name_the_run_and_the_database(tmp_path, capsys):
    assert svend_runs(["list", "--db", str(tmp_path / "missing.db")]) == 2
    assert f"{tmp_path / 'missing.db'}: no state database here" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
    StateStore(tmp_path / "svend.db").close()
    assert svend_runs(["list", "--db", str(tmp_path / "svend.db")]) == 0
    assert "no runs in" in capsys.readouterr().out
    assert svend_runs(["show", "42", "--db", str(tmp_path / "svend.db")]) == 2
    assert f"no run 42 in {tmp_path / 'svend.db'}" in capsys.readouterr().err
    assert svend_runs(["resume", str(tmp_path / "nowhere"), "--db", str(tmp_path / "svend.db")]) == 2
    assert f"no run with folder {tmp_path / 'nowhere'} in" in capsys.readouterr().err

    with StateStore(tmp_path / "svend.db") as store:  # a row whose process (this one) is alive
        live = store.start_run(tmp_path, task_name="smoke", stage=None, config="", overrides=[], git_rev=None)
        gone = store.start_run(tmp_path / "gone", task_name="smoke", stage=None, config="", overrides=[], git_rev=None,
                               cwd=str(tmp_path / "moved"))
        store.fail_run(gone, "interrupted (KeyboardInterrupt)")
    assert svend_runs(["resume", str(live), "--db", str(tmp_path / "svend.db")]) == 2
    assert f"run {live} is still running (pid {os.getpid()}" in capsys.readouterr().err
    (tmp_path / "gone").mkdir()
    assert svend_runs(["resume", str(gone), "--db", str(tmp_path / "svend.db")]) == 2
    assert f"run {gone}: its folder it was launched from {tmp_path / 'moved'} no longer exists" in capsys.readouterr().err


@pytest.mark.slow
def test_list_show_and_resume_a_real_interrupted_run(tmp_path, monkeypatch):
    # A real training run, interrupted at step 6 (Ctrl-C, as tests/test_train.py does) after the step-4 checkpoint.
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the training imports the test's callback
    overrides = ["experiment=smoke", "trainer.max_steps=8", "trainer.val_check_interval=4", "callbacks.last.every_n_train_steps=4",
                 "test=false", f"paths.root_dir={tmp_path}", *FAST,
                 "+callbacks.stop._target_=tests.test_train.StopAtStep", "+callbacks.stop.step=6"]
    first = run_cli(["svend-train", *overrides], cwd=tmp_path)
    assert first.returncode == 1, first.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "smoke").iterdir()
    db = str(tmp_path / "svend.db")

    listed = run_cli(["svend-runs", "list", "--db", db], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "status", "task", "stage", "started", "score", "run", "folder"]
    assert row.split()[:4] == ["1", "failed", "smoke", "base_reasoning"] and row.endswith(f"outputs/smoke/{run_dir.name}")

    shown = run_cli(["svend-runs", "show", "1", "--db", db], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "interrupted (KeyboardInterrupt)" in shown.stdout and f"run folder   {run_dir}" in shown.stdout
    assert "command      svend-train experiment=smoke trainer.max_steps=8" in shown.stdout

    # Resumed from its folder's newest checkpoint with the saved overrides (the callback stops at step 6
    # only, and the resumed run starts there): it finishes, in the same folder, under the same id.
    resumed = run_cli(["svend-runs", "resume", str(run_dir), "--db", db], cwd=REPO)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"hydra.run.dir={run_dir} hydra.mode=RUN resume=last" in resumed.stdout
    assert f"resuming from {run_dir}/checkpoints/on_exception.ckpt" in resumed.stdout + resumed.stderr
    assert list((tmp_path / "outputs" / "smoke").iterdir()) == [run_dir]
    with StateStore(db) as store:
        (run,) = store.list_runs()
    assert run["status"] == "finished" and run["attempts"] == 2 and run["error"] is None
    assert run["overrides"] == [*overrides, "resume=last"]
    assert 0 < run["score"] < 20 and run["metrics"]["val/loss"] > 0 and run["checkpoints"]["best"].endswith("best-step8.ckpt")

    shown = run_cli(["svend-runs", "show", str(run_dir), "--db", db, "--config"], cwd=tmp_path)
    assert "1  finished (2 launches)" in shown.stdout and "best_val/loss" in shown.stdout and "max_steps: 8" in shown.stdout
    listed = run_cli(["svend-runs", "list", "--db", db, "--status", "finished"], cwd=tmp_path)
    assert f"val/loss={run['score']:.4g}" in listed.stdout
