"""Svend's state: one SQLite file (``paths.state_db``, default ``./svend.db``) that remembers what was
done and what was learnt, shared by training runs, the generational loop and ``svend-runs``.

- ``store.py``       `StateStore`: runs, generations and their steps, gate results, actions; WAL mode,
                     one transaction per write
- ``knowledge.py``   knowledge with retrieval weight, validation count and lineage; normal and deep
                     retrieval; imports the user's corrections (``refinements.jsonl``)
- ``runs.py``        `record_run` (svend-train's row) and `resume_command` (svend-runs resume)
- ``migrations.py``  the schema as numbered migrations; older files are upgraded on open
- ``rows.py``        timestamps, JSON columns, rows as dicts

    from svend.state import StateStore

    with StateStore("svend.db") as store:
        store.list_runs(status="failed")
        store.knowledge.retrieve("VAT rate", mode="deep", limit=5)
"""

from __future__ import annotations

from svend.state.knowledge import Knowledge, RefinementImport
from svend.state.migrations import LATEST, SchemaVersionError, StateError
from svend.state.store import StateStore

__all__ = ["LATEST", "Knowledge", "RefinementImport", "SchemaVersionError", "StateError", "StateStore"]
