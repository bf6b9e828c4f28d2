"""Shared fixtures: compose the real training config the way `svend-train` does, shrunk for CPU tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import svend.config

REPO = Path(__file__).resolve().parents[1]
# Small and quick: rows of 128 tokens, 4 per batch; every test run writes under its own tmp root.
FAST = ["hardware.max_seq_len=320", "hardware.micro_batch_size=4", "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Tokenizers and model caches go to one per-session folder, never the user's ~/.cache.
    monkeypatch.setenv("SVEND_CACHE", str(tmp_path_factory.getbasetemp() / "svend-cache"))


def compose_train(overrides: list[str], run_dir: Path):
    """The composed `train` config with Hydra's runtime output dir pointed at ``run_dir``."""
    return compose_entry_point("train", overrides, run_dir)


def compose_entry_point(config_name: str, overrides: list[str], run_dir: Path):
    """An entry point's composed primary config (``train``, ``eval``, ``serve``, ``data``) as its run
    sees it: Hydra's runtime output dir pointed at ``run_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]  # as in a real run: the job sees its config, Hydra's lives in HydraConfig
    return cfg


def run_cli(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a console script of this environment the way a user does, capturing its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    script = Path(sys.executable).parent / args[0]
    return subprocess.run([str(script), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def one_thread():
    """Tiny models run fastest on one thread: their matmuls are too small to split, and a second
    OpenMP thread spin-waiting on a busy machine costs 5-10x (measured: 70 training steps 2 s vs 17 s CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
