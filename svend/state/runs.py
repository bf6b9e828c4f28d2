"""Training runs in the state store: `record_run` gives every ``svend-train`` run a row in
``paths.state_db``, and `resume_command` turns a row back into the command that continues the run.

    svend-train experiment=smoke     # row: running, with task, stage, resolved config, overrides, git revision
                                     # → finished, with metrics, score and checkpoints; or failed, with the error
    svend-runs list                  # svend/runs_cli.py reads the rows
    svend-runs resume 3              # python -m svend.train <saved overrides> hydra.run.dir=<run folder> resume=last

A run folder has one row: resuming it updates that row (``attempts`` counts the launches).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from omegaconf import DictConfig, OmegaConf

from svend.state.migrations import StateError
from svend.state.store import StateStore

# Overrides that pick the checkpoint to start from; a resume replaces them with resume=last.
RESUME_KEYS = ("resume", "ckpt_path")


@dataclass
class RunRecord:
    """What `record_run` yields: fill in the final ``metrics`` and ``score`` before the block ends."""

    id: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None


def git_revision(cwd: str | os.PathLike) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``; ``None`` outside a git checkout or without git — never an error."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def run_checkpoints(run_dir: Path) -> dict[str, str | None]:
    """What a finished run leaves to continue from or to use: the best checkpoint, ``last.ckpt``, the
    adapter folder (``None`` for what it does not have)."""
    folder = run_dir / "checkpoints"
    best = sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime)
    last, adapter = folder / "last.ckpt", run_dir / "adapter"
    return {"best": str(best[-1]) if best else None, "last": str(last) if last.is_file() else None,
            "adapter": str(adapter) if adapter.is_dir() else None}


def describe_failure(error: BaseException) -> str:
    # Lightning turns Ctrl-C into sys.exit(1) after saving on_exception.ckpt.
    if isinstance(error, KeyboardInterrupt) or isinstance(error.__context__, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return f"{type(error).__name__}: {error}"[:4000]


def _is_rank_zero() -> bool:
    # Lightning starts ranks > 0 as copies of this command with LOCAL_RANK/RANK set (torchrun: RANK, SLURM:
    # SLURM_PROCID), which rank_zero_only.rank reads; the main process of a second node has NODE_RANK > 0.
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return rank_zero_only.rank == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def _open(path: Path) -> StateStore:
    try:
        return StateStore(path)
    except StateError as e:
        raise StateError(f"paths.state_db: {e}") from e


def newest_run(stage: str, state_db: str | os.PathLike = "svend.db", needs: str = ".") -> Path:
    """The run folder of the newest finished ``stage`` run in ``state_db`` that still has ``needs`` inside
    it (``head`` for a verifier); a clear error when there is none."""
    path = Path(state_db)
    if not path.is_file():
        raise FileNotFoundError(f"no state database at {path.resolve()}: train a {stage} first "
                                f"(svend-train experiment={stage}) or name its run folder")
    with _open(path) as store:
        for run in store.list_runs(status="finished"):
            if run["stage"] == stage and (Path(run["run_dir"]) / needs).exists():
                return Path(run["run_dir"])
    raise FileNotFoundError(f"{path}: no finished {stage} run with {needs}/ in its folder; train one "
                            f"(svend-train experiment={stage}) or name its run folder")


@contextmanager
def record_run(cfg: DictConfig) -> Iterator[RunRecord]:
    """Record the run of ``cfg`` (a Hydra job's config) in ``cfg.paths.state_db`` for the duration of the
    block: running at the start, then finished with the yielded record's metrics and score, or failed with
    the error, which is re-raised. Only rank 0 writes; the file is opened at the start and at the end only,
    so no connection lives through training (or into forked data-loader workers)."""
    from hydra.core.hydra_config import HydraConfig

    record = RunRecord(id=None)
    if not _is_rank_zero():
        yield record
        return
    hydra = HydraConfig.get()
    path, run_dir = Path(cfg.paths.state_db), Path(cfg.paths.run_dir)
    with _open(path) as store:
        record.id = store.start_run(
            run_dir, task_name=cfg.task_name, stage=cfg.stage.get("name"), config=OmegaConf.to_yaml(cfg, resolve=True),
            overrides=list(hydra.overrides.task), git_rev=git_revision(hydra.runtime.cwd),
            metric=cfg.get("optimized_metric"), cwd=hydra.runtime.cwd)
    try:
        yield record
    except BaseException as e:
        with _open(path) as store:
            store.fail_run(record.id, describe_failure(e))
        raise
    with _open(path) as store:
        store.finish_run(record.id, metrics=record.metrics, checkpoints=run_checkpoints(run_dir), score=record.score)


def _override_key(override: str) -> str:
    """The key an override sets: ``+a.b=1`` → ``a.b``, ``~resume`` → ``resume``."""
    return re.match(r"[~+]*([^=]*)", override).group(1).strip()


def _hydra_value(text: str) -> str:
    return text if re.fullmatch(r"[\w./-]+", text, re.ASCII) else "'" + text.replace("'", "\\'") + "'"


def resume_command(run: Mapping) -> list[str]:
    """The command that continues ``run`` (a runs row) in its own folder: its saved overrides (without the
    checkpoint it started from), ``hydra.run.dir=<run folder>``, single-run mode, ``resume=last``.
    Run it in ``run["cwd"]``, where relative paths in the overrides mean what they meant."""
    overrides = [o for o in run["overrides"] if _override_key(o) not in RESUME_KEYS]
    return [sys.executable, "-m", "svend.train", *overrides, f"hydra.run.dir={_hydra_value(run['run_dir'])}",
            "hydra.mode=RUN", "resume=last"]
