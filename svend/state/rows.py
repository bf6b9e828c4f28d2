"""How values go into the state database and come back out: UTC timestamps, JSON columns, rows as dicts."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

# Columns that hold JSON text; `as_dict` decodes them.
JSON_COLUMNS = ("overrides", "metrics", "checkpoints", "scores", "thresholds", "detail", "lineage", "record")


def now() -> str:
    """The current time, UTC, ISO 8601 to the second: sorts as text, reads as a date."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_dict(row: sqlite3.Row | None) -> dict | None:
    """A row as a dict with its JSON columns decoded (``passed`` as a bool)."""
    if row is None:
        return None
    out = dict(row)
    for key in JSON_COLUMNS:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    if "passed" in out:
        out["passed"] = bool(out["passed"])
    return out
