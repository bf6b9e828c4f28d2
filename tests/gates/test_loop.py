"""The generational loop end to end on CPU with a tiny random Llama: generation 0 (the base) fails the
first gate; generation 1 learns to answer "yes", passes it and merges; generation 2 is forced to say "no"
(by_generation), regresses and is rolled back; generation 3 trains from generation 1's merged weights
and merges. Then kill -9 at each kind of step and the same command again: the same lineage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from svend.data.schema import write_jsonl
from svend.state import StateStore
from tests.conftest import FAST, REPO, compose_entry_point
from tests.gates.loop_task import records
from tests.models.conftest import _write_base

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    base = _write_base(root / "base", "llama")
    write_jsonl(root / "yes.jsonl", records("yes"))
    write_jsonl(root / "no.jsonl", records("no"))
    return root, base


def loop_overrides(root: Path, base: Path, name: str, generations: int = 3) -> list[str]:
    train = ["adapter=lora", f"data.train_files=[{root}/yes.jsonl]", f"data.val_files=[{root}/yes.jsonl]",
             "trainer.max_steps=24", "trainer.val_check_interval=12", "callbacks.last.every_n_train_steps=6",
             "optim.lr=3e-3", "scheduler.warmup_steps=2", "logger=none", *FAST]
    quoted = ", ".join(f'"{o}"' for o in train)
    return [
        "model=hf", f"model.path={base}", f"paths.root_dir={root}", f"generations.name={name}",
        f"generations.max_generations={generations}", f"generations.train=[{quoted}]",
        f'generations.by_generation={{2: ["data.train_files=[{root}/no.jsonl]"]}}',
        "engine.max_new_tokens=6", "engine.max_rounds=1",
        "+task.affirm={_target_: tests.gates.loop_task.AffirmTask}",
        "gate.stages=[Hatchling,Speaker,Apex]", "~gate.gates",
        "+gate.gates={affirm: {tasks: [affirm], limit: 4, thresholds: {affirm/said_yes: 0.75}},"
        " sums: {tasks: [chain_sum], limit: 2, thresholds: {chain_sum/accuracy: 1.0}}}",
        "~gate.regression", "+gate.regression={tasks: [affirm], limit: 6, seed: 0, tolerances: {affirm/said_yes: 0.2}}",
    ]


def lineage(db: Path) -> list[tuple]:
    with StateStore(db, create=False) as store:
        rows = [(g["id"], g["parent"], g["status"], g["stage_reached"]) for g in store.list_generations()]
        gates = [(g["generation"], g["gate"], g["passed"]) for n, *_ in rows for g in store.list_gate_results(n)]
        steps = sorted((s["generation"], s["step"]) for n, *_ in rows for s in store.list_steps(n) if s["status"] == "done")
    return rows, gates, steps


EXPECTED_ROWS = [(0, None, "done", "Hatchling"), (1, 0, "merged", "Speaker"), (2, 1, "rolled_back", "Speaker"),
                 (3, 1, "merged", "Speaker")]
# Generation 0 fails gate 0; 1 passes it and, climbing, fails gate 1; 2 and 3 start at 1's stage (gate 1).
EXPECTED_GATES = [(0, "affirm", 0), (1, "affirm", 1), (1, "sums", 0), (2, "sums", 0), (3, "sums", 0)]
EXPECTED_STEPS = sorted([(0, "gate"), (0, "regression")]
                        + [(n, s) for n in (1, 2, 3) for s in ("train", "gate", "regression", "collect")]
                        + [(1, "merge"), (2, "rollback"), (3, "merge")])


def test_three_generations_one_rolled_back(setup, capsys):
    from svend.gates.loop import run_generations

    root, base = setup
    cfg = compose_entry_point("generations", loop_overrides(root, base, "e2e"), root / "hydra")
    run_generations(cfg)
    out = capsys.readouterr().out
    db = root / "outputs" / "generations" / "e2e" / "state.db"
    rows, gates, steps = lineage(db)
    assert (rows, gates, steps) == (EXPECTED_ROWS, EXPECTED_GATES, EXPECTED_STEPS)
    with StateStore(db, create=False) as store:
        two = store.get_generation(2)
        assert two["reason"].startswith("regressed against generation 1: affirm/said_yes fell")
        assert Path(two["adapter_path"]).is_dir() and two["merged_path"] is None  # kept for inspection
        three = store.get_generation(3)
        assert three["base"] == store.get_generation(1)["merged_path"]  # trained on 1's merged weights
        assert (Path(three["merged_path"]) / "model.safetensors").is_file()
        assert [a["type"] for a in store.list_actions()] == ["merge", "rollback", "merge"]
        assert len(store.list_runs()) == 3  # each generation's svend-train recorded in the lineage's db
        assert store.knowledge.retrieve("sums", mode="normal") == []  # gate failures: deep only, for review
        assert store.knowledge.retrieve("sums chain_sum", mode="deep")
    assert "| 2 | 1 | rolled_back | Speaker |" in out and "REGRESSED" in out
    # Rerunning the finished command does nothing new.
    run_generations(cfg)
    assert lineage(db) == (rows, gates, steps)


def start(root: Path, base: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "svend.generations", *loop_overrides(root, base, name)], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_kill_9_at_each_kind_of_step_then_rerun_gives_the_same_lineage(setup):
    """kill -9 during gate evaluation, then during training, then during a merge — each time the same
    command again — and the last rerun finishes with the uninterrupted run's lineage."""
    root, base = setup
    for moment, delay in (("generation 1: gate", 0.2), ("generation 2: training", 3.0), ("generation 3: merging", 0.2)):
        proc = start(root, base, "killed")
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(moment):
                time.sleep(delay)  # into the step, not at its first line
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"never reached {moment!r}:\n" + "".join(seen[-20:])
    rerun = start(root, base, "killed")
    out, _ = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, out[-3000:]
    assert lineage(root / "outputs" / "generations" / "killed" / "state.db") == (EXPECTED_ROWS, EXPECTED_GATES,
                                                                                 EXPECTED_STEPS), out[-2000:]
