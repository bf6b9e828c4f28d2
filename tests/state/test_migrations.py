"""The state database's schema: a new file gets every migration, an older file is upgraded with its data
kept, a newer one is refused, and a migration that fails leaves the file at the last whole version."""

from __future__ import annotations

import sqlite3

import pytest

import svend.state.migrations as migrations
from svend.state import LATEST, SchemaVersionError, StateError, StateStore


def tables(db: sqlite3.Connection) -> set[str]:
    return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def test_new_file_gets_the_latest_schema_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "folder" / "svend.db"
    with StateStore(path) as store:
        assert store.version == LATEST >= 2
        db = store.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert {"runs", "generations", "generation_steps", "gate_results", "actions", "knowledge", "knowledge_fts"} <= tables(db)
    with StateStore(path) as again:  # opening an up-to-date file changes nothing
        assert again.version == LATEST


def write_version_1(path) -> None:
    """A file as Svend wrote it before version 2: the core tables, with data, and no full-text index."""
    db = sqlite3.connect(path, isolation_level=None)
    for statement in migrations.MIGRATIONS[0].statements:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    stamp = "2026-01-02T03:04:05+00:00"
    db.execute("INSERT INTO runs (run_dir, cwd, task_name, stage, config, overrides, status, started_at) "
               "VALUES ('/runs/a', '/home', 'smoke', 'base_reasoning', 'seed: 1', '[\"experiment=smoke\"]', 'finished', ?)", (stamp,))
    db.execute("INSERT INTO generations (base, run_id, status, created_at, updated_at) VALUES ('base-model', 1, 'gating', ?, ?)",
               (stamp, stamp))
    db.execute("INSERT INTO gate_results (generation, gate, passed, scores, created_at) VALUES (1, 'syntax', 1, '{\"rate\": 1.0}', ?)",
               (stamp,))
    db.execute("INSERT INTO actions (created_at, type, content, author) VALUES (?, 'note', 'started the loop', 'eric')", (stamp,))
    db.execute("INSERT INTO knowledge (content, kind, weight, created_at) VALUES ('Invoices over 500 need a purchase order', "
               "'fact', 0.9, ?)", (stamp,))
    db.close()


def test_version_1_file_with_data_is_upgraded_and_keeps_it(tmp_path):
    path = tmp_path / "svend.db"
    write_version_1(path)
    with StateStore(path) as store:
        assert store.version == LATEST
        run = store.get_run("/runs/a")
        assert run["task_name"] == "smoke" and run["overrides"] == ["experiment=smoke"] and run["status"] == "finished"
        assert store.get_generation(1)["status"] == "gating"
        assert store.list_gate_results(1)[0]["scores"] == {"rate": 1.0}
        assert store.list_actions()[0]["author"] == "eric"
        # What version 1 stored is in version 2's full-text index, and version 2's tables work on old rows.
        (hit,) = store.knowledge.retrieve("purchase orders for invoices")
        assert hit["content"].startswith("Invoices over 500")
        store.finish_step(1, "gate", {"passed": True})
        assert store.step_detail(1, "gate") == {"passed": True}
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_file_from_a_newer_svend_is_refused_untouched(tmp_path):
    path = tmp_path / "svend.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = %d" % (LATEST + 5))
    db.close()
    with pytest.raises(SchemaVersionError, match=f"{path} is at state schema version {LATEST + 5}.*up to {LATEST}"):
        StateStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    db.close()


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StateError, match=f"{path}: cannot open the state database: file is not a database"):
        StateStore(path)


def test_failed_migration_leaves_the_last_whole_version(tmp_path, monkeypatch):
    path = tmp_path / "svend.db"
    StateStore(path).close()
    broken = migrations.Migration(LATEST + 1, "a broken step", ("CREATE TABLE half_done (x)", "SELECT * FROM no_such_table"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(StateError, match=f"version {LATEST + 1} \\(a broken step\\) failed: no such table.*left at version {LATEST}"):
        StateStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST and "half_done" not in tables(db)
    db.close()
