"""`StateStore`: one SQLite file with what Svend has done — runs, generations and their steps, gate
results, actions — and what it has learnt (knowledge, in ``knowledge.py``).

    from svend.state import StateStore

    with StateStore("svend.db") as store:                    # created and upgraded as needed
        gen = store.add_generation(base="models/qwen2.5-7b")
        if store.step_detail(gen, "train") is None:           # None: not done yet (or a crash cut it short)
            ...                                               # train
            store.finish_step(gen, "train", {"run_dir": run_dir})
        store.record_gate(gen, "syntax", passed=True, scores={"pass_rate": 1.0}, thresholds={"pass_rate": 0.95})
        store.knowledge.retrieve("VAT rate", mode="deep")

The file is in WAL mode, so readers never block the writer and several processes (a training run, the
generational loop, ``svend-runs``) can use it at once; a writer waits up to ``BUSY_TIMEOUT_S`` for
another's transaction. Each write is one transaction (``BEGIN IMMEDIATE``: it takes the write lock up
front, so two writers queue instead of failing); ``with store.transaction():`` groups several.
Open one store per process: an SQLite connection must not cross a ``fork``.
Rows come back as plain dicts, their JSON columns decoded.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from svend.state.knowledge import Knowledge
from svend.state.migrations import StateError, check_version, migrate
from svend.state.rows import as_dict, now, to_json

BUSY_TIMEOUT_S = 30.0
RUN_STATUSES = ("running", "finished", "failed")
GENERATION_STATUSES = ("training", "gating", "rolled_back", "merged", "failed", "done")
GENERATION_FIELDS = ("run_id", "adapter_path", "merged_path", "stage_reached", "status", "reason")


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} {value!r}: must be one of {', '.join(choices)}")


class StateStore:
    """The state database at ``path``; ``create=False`` refuses to make a new file (for readers)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no state database here (svend-train writes one to paths.state_db)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"{self.path}: cannot open the state database: {e}") from e
        try:
            check_version(conn, self.path)  # before anything writes to a file from a newer Svend
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StateError(f"{self.path}: SQLite cannot use WAL mode here (got {mode!r}); "
                                 "put the state database on a local disk")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed data
            conn.execute("PRAGMA foreign_keys = ON")
            self.version = migrate(conn, self.path)
        except sqlite3.Error as e:  # e.g. "file is not a database"
            conn.close()
            raise StateError(f"{self.path}: cannot open the state database: {e}") from e
        except BaseException:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
        self._conn: sqlite3.Connection | None = conn
        self._pid = os.getpid()
        self.knowledge = Knowledge(self)

    # -- connection ------------------------------------------------------------------------------

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None and os.getpid() == self._pid:
            self._conn.close()
        self._conn = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError(f"{self.path}: the state store is closed")
        if os.getpid() != self._pid:
            raise StateError(f"{self.path}: this StateStore was opened in process {self._pid} and used in "
                             f"{os.getpid()}; open one in each process (a connection must not cross a fork)")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything written inside commits together or not at all; store methods called inside join it."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _one(self, sql: str, params: tuple = ()) -> dict | None:
        return as_dict(self.db.execute(sql, params).fetchone())

    def _all(self, sql: str, params: tuple = ()) -> list[dict]:
        return [as_dict(row) for row in self.db.execute(sql, params).fetchall()]

    # -- runs (written by svend-train through svend.state.runs.record_run) ---------------------------

    def start_run(self, run_dir: str | os.PathLike, *, task_name: str, stage: str | None, config: str,
                  overrides: list[str], git_rev: str | None, metric: str | None = None, cwd: str | None = None) -> int:
        """Mark the run in ``run_dir`` running and return its id; a run folder seen before (a resumed run)
        keeps its id and start time, and counts one more attempt."""
        run_dir = str(Path(run_dir).resolve())
        with self.transaction() as db:
            db.execute(
                """INSERT INTO runs (run_dir, cwd, task_name, stage, config, overrides, git_rev, metric, status,
                                     host, pid, started_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
                   ON CONFLICT (run_dir) DO UPDATE SET
                     cwd = excluded.cwd, task_name = excluded.task_name, stage = excluded.stage,
                     config = excluded.config, overrides = excluded.overrides, git_rev = excluded.git_rev,
                     metric = excluded.metric, status = 'running', error = NULL, attempts = attempts + 1,
                     host = excluded.host, pid = excluded.pid, finished_at = NULL""",
                (run_dir, cwd or os.getcwd(), task_name, stage, config, to_json(list(overrides)),
                 git_rev, metric, socket.gethostname(), os.getpid(), now()))
            return db.execute("SELECT id FROM runs WHERE run_dir = ?", (run_dir,)).fetchone()[0]

    def finish_run(self, run_id: int, *, metrics: Mapping[str, float], checkpoints: Mapping[str, str | None],
                   score: float | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'finished', metrics = ?, checkpoints = ?, score = ?, finished_at = ? "
                       "WHERE id = ?", (to_json(dict(metrics)), to_json(dict(checkpoints)), score, now(), run_id))

    def fail_run(self, run_id: int, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?", (error, now(), run_id))

    def get_run(self, run: int | str | os.PathLike) -> dict | None:
        """A run by id (an int) or by its run folder (a path)."""
        if isinstance(run, int):
            return self._one("SELECT * FROM runs WHERE id = ?", (run,))
        return self._one("SELECT * FROM runs WHERE run_dir = ?", (str(Path(run).expanduser().resolve()),))

    def list_runs(self, status: str | None = None, limit: int | None = None) -> list[dict]:
        """Runs, newest first; ``status`` keeps one of running, finished, failed."""
        if status is not None:
            _check_choice("run status", status, RUN_STATUSES)
        return self._all("SELECT * FROM runs WHERE ? IS NULL OR status = ? ORDER BY id DESC LIMIT ?",
                         (status, status, -1 if limit is None else limit))

    # -- generations and their steps (the generational loop) ---------------------------------------

    def add_generation(self, base: str, *, parent: int | None = None, number: int | None = None,
                       status: str = "training") -> int:
        """A new generation trained from ``base`` (a model path or name); returns its number (the next
        one unless ``number`` is given). ``parent`` is the generation it continues."""
        _check_choice("generation status", status, GENERATION_STATUSES)
        if number is not None and self.get_generation(number) is not None:
            raise ValueError(f"{self.path}: generation {number} exists already")
        stamp = now()
        with self._generation_must_exist(parent), self.transaction() as db:
            cursor = db.execute("INSERT INTO generations (id, parent, base, status, created_at, updated_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (number, parent, base, status, stamp, stamp))
            return cursor.lastrowid

    def update_generation(self, number: int, **fields: Any) -> dict:
        """Set some of run_id, adapter_path, merged_path, stage_reached, status, reason; returns the row."""
        unknown = sorted(set(fields) - set(GENERATION_FIELDS))
        if unknown:
            raise ValueError(f"update_generation: unknown field(s) {', '.join(unknown)}; "
                             f"known: {', '.join(GENERATION_FIELDS)}")
        if "status" in fields:
            _check_choice("generation status", fields["status"], GENERATION_STATUSES)
        with self.transaction() as db:
            assignments = "".join(f"{key} = ?, " for key in fields)
            cursor = db.execute(f"UPDATE generations SET {assignments}updated_at = ? WHERE id = ?",
                                (*[str(v) if isinstance(v, Path) else v for v in fields.values()], now(), number))
            if cursor.rowcount == 0:
                raise LookupError(f"{self.path}: no generation {number}")
            return self._one("SELECT * FROM generations WHERE id = ?", (number,))

    @contextmanager
    def _generation_must_exist(self, generation: int | None) -> Iterator[None]:
        """Turn the foreign-key failure of a row that points at a missing generation into an error naming it."""
        try:
            yield
        except sqlite3.IntegrityError as e:
            if "FOREIGN KEY" not in str(e):
                raise
            raise LookupError(f"{self.path}: no generation {generation}") from e

    def get_generation(self, number: int) -> dict | None:
        return self._one("SELECT * FROM generations WHERE id = ?", (number,))

    def list_generations(self) -> list[dict]:
        return self._all("SELECT * FROM generations ORDER BY id")

    def step_detail(self, generation: int, step: str) -> dict | None:
        """What a finished step recorded, or ``None`` when it has not finished (never ran, or failed)."""
        row = self._one("SELECT detail FROM generation_steps WHERE generation = ? AND step = ? AND status = 'done'",
                        (generation, step))
        return None if row is None else row["detail"]

    def finish_step(self, generation: int, step: str, detail: Mapping[str, Any] | None = None) -> None:
        """Mark ``step`` of ``generation`` done with what it produced; a rerun of the loop skips it."""
        self._set_step(generation, step, "done", dict(detail or {}))

    def fail_step(self, generation: int, step: str, error: str) -> None:
        """Record that ``step`` failed; it is not done, so a rerun of the loop tries it again."""
        self._set_step(generation, step, "failed", {"error": error})

    def _set_step(self, generation: int, step: str, status: str, detail: dict) -> None:
        with self._generation_must_exist(generation), self.transaction() as db:
            db.execute("INSERT INTO generation_steps (generation, step, status, detail, finished_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (generation, step) DO UPDATE SET status = excluded.status, detail = excluded.detail, "
                       "finished_at = excluded.finished_at", (generation, step, status, to_json(detail), now()))

    def list_steps(self, generation: int) -> list[dict]:
        return self._all("SELECT * FROM generation_steps WHERE generation = ? ORDER BY finished_at, rowid", (generation,))

    # -- gate results --------------------------------------------------------------------------------

    def record_gate(self, generation: int, gate: str, *, passed: bool, scores: Mapping[str, float],
                    thresholds: Mapping[str, float]) -> int:
        with self._generation_must_exist(generation), self.transaction() as db:
            cursor = db.execute("INSERT INTO gate_results (generation, gate, passed, scores, thresholds, created_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                (generation, gate, int(bool(passed)), to_json(dict(scores)), to_json(dict(thresholds)), now()))
            return cursor.lastrowid

    def list_gate_results(self, generation: int) -> list[dict]:
        return self._all("SELECT * FROM gate_results WHERE generation = ? ORDER BY id", (generation,))

    # -- actions: what was done, by whom, in which session ------------------------------------------

    def log_action(self, type: str, content: str, *, author: str | None = None, session_id: str | None = None) -> int:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO actions (created_at, type, content, author, session_id) VALUES (?, ?, ?, ?, ?)",
                                (now(), type, content, author, session_id))
            return cursor.lastrowid

    def list_actions(self, *, type: str | None = None, session_id: str | None = None, limit: int | None = None) -> list[dict]:
        """Actions in the order they happened, optionally of one type or one session."""
        return self._all("SELECT * FROM actions WHERE (? IS NULL OR type = ?) AND (? IS NULL OR session_id = ?) "
                         "ORDER BY id LIMIT ?", (type, type, session_id, session_id, -1 if limit is None else limit))
