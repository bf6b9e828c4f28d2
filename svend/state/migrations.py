"""The state database's schema, as numbered migrations, and how a file is brought up to date.

The schema version lives in the file itself (``PRAGMA user_version``). Opening a file applies every
migration it has not seen yet, each in its own transaction, so a file written by an older Svend is
upgraded in place with its data kept, and a crash mid-upgrade leaves it at the last whole version.
A file written by a *newer* Svend is refused rather than guessed at.

To change the schema, append a `Migration` (never edit a shipped one: files in the wild are at its
version already) and test the upgrade from the previous version with data in it::

    Migration(3, "what it adds", ("ALTER TABLE runs ADD COLUMN ...",))
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


class StateError(RuntimeError):
    """The state database cannot be opened, upgraded or used; the message names the file."""


class SchemaVersionError(StateError):
    """The file was written by a newer Svend than this one (its schema version is unknown here)."""


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, generations, gate results, actions, knowledge", (
        # One row per run folder; a resumed run updates its row (attempts counts the launches).
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            run_dir TEXT NOT NULL UNIQUE,
            cwd TEXT NOT NULL,
            task_name TEXT NOT NULL,
            stage TEXT,
            config TEXT NOT NULL,
            overrides TEXT NOT NULL DEFAULT '[]',
            git_rev TEXT,
            metric TEXT,
            score REAL,
            metrics TEXT NOT NULL DEFAULT '{}',
            checkpoints TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            host TEXT,
            pid INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        """CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            parent INTEGER REFERENCES generations(id),
            base TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            adapter_path TEXT,
            merged_path TEXT,
            stage_reached TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('training', 'gating', 'rolled_back', 'merged', 'failed', 'done')),
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE gate_results (
            id INTEGER PRIMARY KEY,
            generation INTEGER NOT NULL REFERENCES generations(id),
            gate TEXT NOT NULL,
            passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
            scores TEXT NOT NULL DEFAULT '{}',
            thresholds TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX gate_results_generation ON gate_results(generation)",
        """CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            type TEXT NOT NULL,
            content TEXT NOT NULL,
            author TEXT,
            session_id TEXT
        )""",
        "CREATE INDEX actions_session ON actions(session_id)",
        # lineage_id: the message this knowledge came from (claude:<conversation>:<message>), unique so an
        # import can run twice; parent_id: the knowledge it corrects or refines.
        """CREATE TABLE knowledge (
            id INTEGER PRIMARY KEY,
            content TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT,
            weight REAL NOT NULL CHECK (weight BETWEEN 0 AND 1),
            validation_count INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_validated TEXT,
            parent_id INTEGER REFERENCES knowledge(id),
            lineage_id TEXT UNIQUE,
            lineage TEXT NOT NULL DEFAULT '{}',
            record TEXT
        )""",
    )),
    Migration(2, "knowledge full-text index, generation steps", (
        # External-content FTS5: the text lives once, in knowledge; triggers keep the index in step.
        """CREATE VIRTUAL TABLE knowledge_fts USING fts5(
            content, content='knowledge', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')""",
        """CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge BEGIN
            INSERT INTO knowledge_fts(rowid, content) VALUES (new.id, new.content);
        END""",
        """CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge BEGIN
            INSERT INTO knowledge_fts(knowledge_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END""",
        """CREATE TRIGGER knowledge_fts_update AFTER UPDATE OF content ON knowledge BEGIN
            INSERT INTO knowledge_fts(knowledge_fts, rowid, content) VALUES ('delete', old.id, old.content);
            INSERT INTO knowledge_fts(rowid, content) VALUES (new.id, new.content);
        END""",
        "INSERT INTO knowledge_fts(knowledge_fts) VALUES ('rebuild')",  # index what version 1 stored
        # The generational loop's steps (train, gate, regression, merge, collect): a finished step is
        # skipped when the loop runs again after a crash.
        """CREATE TABLE generation_steps (
            generation INTEGER NOT NULL REFERENCES generations(id),
            step TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            detail TEXT NOT NULL DEFAULT '{}',
            finished_at TEXT NOT NULL,
            PRIMARY KEY (generation, step)
        )""",
    )),
)
LATEST = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version; a `SchemaVersionError` if this Svend does not know it."""
    found = schema_version(conn)
    if found > LATEST:
        raise SchemaVersionError(
            f"{path} is at state schema version {found}, but this Svend knows versions up to {LATEST}: "
            "it was written by a newer Svend; upgrade Svend, or use another file")
    return found


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations ``path`` has not seen, one transaction each; returns the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Two processes opening a new file at
    once are safe: ``BEGIN IMMEDIATE`` serializes them and the version is read again inside the
    transaction, so the second one finds the work done.
    """
    found = check_version(conn, path)
    for migration in MIGRATIONS:
        if migration.version <= found:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version}")
            conn.execute("COMMIT")
        except BaseException as e:
            conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StateError(f"{path}: upgrading to state schema version {migration.version} ({migration.what}) "
                                 f"failed: {e}; the file is left at version {migration.version - 1}") from e
            raise
        found = migration.version
    return found
