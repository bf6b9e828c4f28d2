"""`svend-plan` as a user runs it: the breakdown table, exit 0 when the run fits, 1 when it does not;
and training refuses a run that will not fit, naming the levers."""

from __future__ import annotations

import pytest

from svend.models.memory import MemoryPlanError
from svend.train import train
from tests.conftest import FAST, compose_train, run_cli


def test_plan_fits_7b_qlora_on_12gb(tmp_path):
    result = run_cli(["svend-plan", "model=svend_7b", "hardware=rtx4070_12gb"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "FITS" in result.stdout and "quantized linears" in result.stdout
    assert not any(tmp_path.iterdir())  # planning writes nothing


def test_plan_refuses_full_13b_on_12gb(tmp_path):
    result = run_cli(["svend-plan", "model=svend_13b", "hardware=rtx4070_12gb", "adapter=full"], cwd=tmp_path)
    assert result.returncode == 1 and "DOES NOT FIT" in result.stdout


def test_training_refuses_a_run_that_will_not_fit(tmp_path):
    cfg = compose_train(["model=svend_13b", "hardware.memory_gb=12", *FAST], tmp_path)
    with pytest.raises(MemoryPlanError) as e:
        train(cfg)
    message = str(e.value)
    for lever in ("micro_batch", "seq", "qlora", "checkpointing"):
        assert lever in message, lever
    assert not (tmp_path / "checkpoints").exists()  # refused before any work
