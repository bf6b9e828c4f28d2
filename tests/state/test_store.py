"""`StateStore`: concurrent writer processes, crash-safe generation steps, gate results, actions, and
writes grouped in one transaction."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from svend.state import StateError, StateStore

ROWS = 300


def write_rows(path: str, writer: str, both_started) -> None:
    """One writer process: its own store, every row its own transaction. Neither goes past its first row
    before the other has written one, so the two really write at the same time."""
    with StateStore(path) as store:
        for i in range(ROWS):
            store.log_action("note", f"{writer} action {i}", author=writer, session_id=writer)
            store.knowledge.add(f"{writer} learnt fact number {i}", source=writer, weight=(i % 10) / 10)
            if i == 0:
                both_started.wait(timeout=60)


def test_two_writer_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "svend.db")  # a new file: both processes also race to create the schema
    ctx = multiprocessing.get_context("spawn")
    both_started = ctx.Barrier(2)
    writers = [ctx.Process(target=write_rows, args=(path, name, both_started)) for name in ("alpha", "beta")]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    with StateStore(path) as store:
        db = store.db
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.execute("INSERT INTO knowledge_fts(knowledge_fts) VALUES ('integrity-check')")  # raises if the index is off
        for writer in ("alpha", "beta"):
            actions = store.list_actions(session_id=writer)
            assert [a["content"] for a in actions] == [f"{writer} action {i}" for i in range(ROWS)]
            assert db.execute("SELECT COUNT(*) FROM knowledge WHERE source = ?", (writer,)).fetchone()[0] == ROWS
        assert len(store.knowledge.retrieve("beta fact", mode="deep", limit=1000)) == 2 * ROWS  # "fact" is in all


def run_loop(store: StateStore, generation: int, crash_at: str | None = None) -> list[str]:
    """The generational loop's shape: each step runs unless a previous run finished it."""
    ran = []
    for step in ("train", "gate", "regression", "merge", "collect"):
        if store.step_detail(generation, step) is not None:
            continue
        if step == crash_at:
            raise RuntimeError(f"crashed in {step}")
        ran.append(step)
        store.finish_step(generation, step, {"order": len(ran), "adapter": f"/runs/g{generation}/adapter"})
    return ran


def test_finished_steps_are_skipped_on_rerun(tmp_path):
    path = tmp_path / "svend.db"
    with StateStore(path) as store:
        gen = store.add_generation("models/base")
        assert store.step_detail(gen, "train") is None
        with pytest.raises(RuntimeError, match="crashed in merge"):
            run_loop(store, gen, crash_at="merge")
    with StateStore(path) as store:  # a new process after the crash
        assert store.step_detail(gen, "train") == {"order": 1, "adapter": f"/runs/g{gen}/adapter"}
        assert store.step_detail(gen, "merge") is None
        assert run_loop(store, gen) == ["merge", "collect"]
        assert run_loop(store, gen) == []
        assert [s["step"] for s in store.list_steps(gen)] == ["train", "gate", "regression", "merge", "collect"]


def test_failed_step_is_not_done(tmp_path):
    with StateStore(tmp_path / "svend.db") as store:
        gen = store.add_generation("models/base")
        store.fail_step(gen, "gate", "CUDA out of memory")
        assert store.step_detail(gen, "gate") is None
        assert store.list_steps(gen)[0]["detail"] == {"error": "CUDA out of memory"}
        store.finish_step(gen, "gate", {"passed": True})
        assert store.step_detail(gen, "gate") == {"passed": True}
        with pytest.raises(LookupError, match="no generation 42"):
            store.finish_step(42, "train")


def test_generations_and_gate_results(tmp_path):
    with StateStore(tmp_path / "svend.db") as store:
        first = store.add_generation("models/base")
        second = store.add_generation("models/base", parent=first)
        assert (first, second) == (1, 2)
        store.update_generation(second, adapter_path=tmp_path / "adapter", stage_reached="gate", status="gating")
        store.record_gate(second, "syntax", passed=True, scores={"pass_rate": 1.0}, thresholds={"pass_rate": 0.95})
        store.record_gate(second, "domain", passed=False, scores={"accuracy": 0.41}, thresholds={"accuracy": 0.5})
        row = store.update_generation(second, status="rolled_back", reason="domain gate: accuracy 0.41 < 0.5")
        assert row["parent"] == first and row["adapter_path"] == str(tmp_path / "adapter")
        assert row["status"] == "rolled_back" and row["stage_reached"] == "gate"
        gates = store.list_gate_results(second)
        assert [(g["gate"], g["passed"], g["scores"]) for g in gates] == [
            ("syntax", True, {"pass_rate": 1.0}), ("domain", False, {"accuracy": 0.41})]
        assert [g["id"] for g in store.list_generations()] == [1, 2]
        with pytest.raises(ValueError, match="generation status 'shipped': must be one of training, gating"):
            store.update_generation(second, status="shipped")
        with pytest.raises(ValueError, match="unknown field\\(s\\) base"):
            store.update_generation(second, base="other")
        with pytest.raises(LookupError, match="no generation 9"):
            store.record_gate(9, "syntax", passed=True, scores={}, thresholds={})
        with pytest.raises(LookupError, match="no generation 7"):
            store.add_generation("models/base", parent=7)
        with pytest.raises(ValueError, match="generation 2 exists already"):
            store.add_generation("models/base", number=2)


def test_transaction_commits_all_or_nothing(tmp_path):
    with StateStore(tmp_path / "svend.db") as store:
        gen = store.add_generation("models/base")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.update_generation(gen, status="merged", merged_path="/models/g1")
                store.finish_step(gen, "merge", {"merged_path": "/models/g1"})
                raise RuntimeError("killed between the two writes")
        assert store.get_generation(gen)["status"] == "training" and store.step_detail(gen, "merge") is None
        with store.transaction():
            store.update_generation(gen, status="merged", merged_path="/models/g1")
            store.finish_step(gen, "merge", {"merged_path": "/models/g1"})
        assert store.get_generation(gen)["status"] == "merged" and store.step_detail(gen, "merge") == {"merged_path": "/models/g1"}


def test_actions_in_order_by_session_and_type(tmp_path):
    with StateStore(tmp_path / "svend.db") as store:
        store.log_action("query", "what is the VAT rate?", author="user", session_id="s1")
        store.log_action("tool_call", '{"name": "calculator"}', author="svend", session_id="s1")
        store.log_action("query", "hello", author="user", session_id="s2")
        assert [a["content"] for a in store.list_actions(session_id="s1")] == ["what is the VAT rate?", '{"name": "calculator"}']
        assert [a["session_id"] for a in store.list_actions(type="query")] == ["s1", "s2"]
        assert len(store.list_actions(limit=2)) == 2


def use_inherited(store: StateStore, queue) -> None:
    try:
        store.log_action("note", "from the child")
    except StateError as e:
        queue.put(str(e))
    else:
        queue.put("no error")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_store_used_across_fork_is_refused(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    with StateStore(tmp_path / "svend.db") as store:
        child = ctx.Process(target=use_inherited, args=(store, queue))
        child.start()
        child.join(timeout=30)
        assert "open one in each process" in queue.get(timeout=5)
        store.log_action("note", "the parent still works")
        assert store.list_actions()[0]["content"] == "the parent still works"
