"""Knowledge: what Svend has learnt, and how far to trust it (Nasab's retrieval memory).

Every item carries a retrieval weight in [0, 1] and a validation count. New knowledge starts at
``NEW_WEIGHT`` (0.3); each validation moves the weight a ``VALIDATION_STEP`` share of the way to 1
(0.3 → 0.65 → 0.83 …). ``normal`` retrieval serves items of weight ≥ ``NORMAL_MIN_WEIGHT`` (0.5) —
validated at least once, or trusted on arrival; ``deep`` retrieval serves everything. Results are
ranked by full-text relevance (FTS5's bm25 over porter-stemmed words) times ``0.5 + weight``, so trust
breaks ties and a weak match of a trusted item can outrank a weaker match of an untrusted one.

The user's own corrections (``svend-data ingest`` writes them to ``refinements.jsonl``: question, first
answer, correction, revised answer) come in as knowledge of kind ``correction``, and go back out as
training data for the next generation::

    kb = store.knowledge
    kb.add("The UK standard VAT rate is 20 %.", kind="fact", source="hmrc.gov.uk")
    kb.validate(item_id)
    kb.retrieve("VAT rate?", mode="normal", limit=5)
    kb.import_refinements("data/ingested/refinements.jsonl")      # twice: adds nothing the second time
    write_jsonl("data/corrections/train.jsonl", kb.corrections_for_training())
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping

from svend.data.schema import iter_jsonl, validate_record
from svend.state.rows import as_dict, now, to_json

if TYPE_CHECKING:
    from svend.state.store import StateStore

NEW_WEIGHT = 0.3
NORMAL_MIN_WEIGHT = 0.5
VALIDATION_STEP = 0.5
# A correction the user made and did not object to afterwards is trusted on arrival (normal retrieval,
# training data); a revised answer the user then corrected again is kept for lineage, deep retrieval only.
CORRECTION_WEIGHT = 0.5
SUPERSEDED_WEIGHT = 0.1
MAX_QUERY_WORDS = 64


@dataclass(frozen=True)
class RefinementImport:
    read: int  # refinements in the file
    added: int  # new knowledge items (the rest were imported before)
    superseded: int  # earlier corrections that a new one corrects again, now weighted down


def match_expression(query: str) -> str | None:
    """An FTS5 query that matches any word of ``query``, or ``None`` when it has no words.

    Words are quoted, so FTS5 syntax in user text (quotes, ``*``, ``-``, ``:``, parentheses, AND/OR/NOT,
    NEAR) is matched as text and never parsed; bm25 ranks items that contain more of the words higher.
    """
    words = re.findall(r"\w+", query)[:MAX_QUERY_WORDS]
    return " OR ".join(f'"{word}"' for word in words) or None


def validate_refinement(record: Any) -> None:
    """A ``refinements.jsonl`` line: a chat record of question, first answer, correction, revised answer,
    with ``metadata.lineage_id`` (see svend/data/ingest/conversation.py)."""
    validate_record(record)
    roles = [m["role"] for m in record["messages"]]
    if roles != ["user", "assistant", "user", "assistant"]:
        raise ValueError(f"a refinement has 4 messages: user, assistant, user, assistant; got {', '.join(roles)}")
    if not all(isinstance(m.get("content"), str) and m["content"].strip() for m in record["messages"]):
        raise ValueError("every message of a refinement needs text content")
    if not isinstance((record.get("metadata") or {}).get("lineage_id"), str):
        raise ValueError("a refinement needs metadata.lineage_id (the revised answer's source message)")


class Knowledge:
    """The knowledge table of a `StateStore` (``store.knowledge``)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def add(self, content: str, *, kind: str = "note", source: str | None = None, weight: float = NEW_WEIGHT,
            parent: int | None = None, lineage_id: str | None = None, lineage: Mapping[str, Any] | None = None,
            record: Mapping[str, Any] | None = None) -> int:
        """Store one item; returns its id. ``lineage_id`` names where it came from (unique), ``parent`` the
        item it refines, ``lineage`` anything else about its origin; ``record`` is the chat record that
        teaches it (question → right answer), which `corrections_for_training` hands out."""
        if not isinstance(content, str) or not content.strip():
            raise ValueError("knowledge content must be a non-empty string")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"knowledge weight {weight}: must be between 0 and 1")
        if record is not None:
            validate_record(record)
        try:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "INSERT INTO knowledge (content, kind, source, weight, created_at, parent_id, lineage_id, lineage, record) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (content, kind, source, float(weight), now(), parent, lineage_id, to_json(dict(lineage or {})),
                     None if record is None else to_json(dict(record))))
                return cursor.lastrowid
        except sqlite3.IntegrityError as e:
            if "lineage_id" in str(e):
                raise ValueError(f"{self._store.path}: knowledge from {lineage_id} is stored already") from e
            if "FOREIGN KEY" in str(e):
                raise LookupError(f"{self._store.path}: no knowledge item {parent} (the parent)") from e
            raise

    def _rows(self, sql: str, params: tuple) -> list[dict]:
        return [as_dict(row) for row in self._store.db.execute(sql, params).fetchall()]

    def get(self, item_id: int) -> dict | None:
        return as_dict(self._store.db.execute("SELECT * FROM knowledge WHERE id = ?", (item_id,)).fetchone())

    def validate(self, item_id: int, step: float = VALIDATION_STEP) -> dict:
        """Count one more validation of an item and move its weight ``step`` of the way to 1; returns it."""
        with self._store.transaction() as db:
            cursor = db.execute("UPDATE knowledge SET validation_count = validation_count + 1, last_validated = ?, "
                                "weight = MIN(1.0, weight + (1.0 - weight) * ?) WHERE id = ?", (now(), step, item_id))
            if cursor.rowcount == 0:
                raise LookupError(f"{self._store.path}: no knowledge item {item_id}")
            return self.get(item_id)

    def retrieve(self, query: str, mode: Literal["normal", "deep"] = "normal", limit: int = 10) -> list[dict]:
        """The items that best match ``query`` (any text), each with its ``score``; ``normal`` mode only
        trusted ones (weight ≥ 0.5), ``deep`` all. A query without words returns the most trusted items."""
        if mode not in ("normal", "deep"):
            raise ValueError(f"retrieval mode {mode!r}: must be 'normal' or 'deep'")
        min_weight = NORMAL_MIN_WEIGHT if mode == "normal" else 0.0
        expression = match_expression(query)
        if expression is None:
            return self._rows("SELECT *, weight AS score FROM knowledge WHERE weight >= ? "
                                    "ORDER BY weight DESC, validation_count DESC, id DESC LIMIT ?", (min_weight, limit))
        return self._rows(
            "SELECT k.*, -bm25(knowledge_fts) * (0.5 + k.weight) AS score "
            "FROM knowledge_fts JOIN knowledge AS k ON k.id = knowledge_fts.rowid "
            "WHERE knowledge_fts MATCH ? AND k.weight >= ? ORDER BY score DESC, k.weight DESC, k.id LIMIT ?",
            (expression, min_weight, limit))

    def import_refinements(self, path: str | os.PathLike) -> RefinementImport:
        """Import a ``refinements.jsonl`` as corrections, all in one transaction; a line imported before
        (same ``lineage_id``) is skipped, so importing a file twice adds nothing. A bad line stops the
        import before anything is written, naming ``file:line``."""
        path = Path(path)
        records = [record for _, record in iter_jsonl(path, validate_refinement, what="refinements file")]
        added: list[tuple[int, dict]] = []
        superseded = 0
        with self._store.transaction() as db:
            for record in records:
                meta = record["metadata"]
                if db.execute("SELECT 1 FROM knowledge WHERE lineage_id = ?", (meta["lineage_id"],)).fetchone():
                    continue
                question, first, correction, revised = (m["content"] for m in record["messages"])
                content = f"Question: {question}\nWrong answer: {first}\nCorrection: {correction}\nCorrected answer: {revised}"
                lineage = {"file": str(path.resolve()), **{k: meta[k] for k in ("conversation_id", "parent_lineage_id",
                                                                                  "correction_cue", "created_at") if k in meta}}
                training = {"messages": [record["messages"][0], record["messages"][3]],
                            "metadata": {"source": meta.get("source", "refinements"), "kind": "correction",
                                         "lineage_id": meta["lineage_id"]}}
                item = self.add(content, kind="correction", source=meta.get("source"), weight=CORRECTION_WEIGHT,
                                lineage_id=meta["lineage_id"], lineage=lineage, record=training)
                added.append((item, meta))
            # Chains: "no, …" → answer 2 → "still wrong" → answer 3. The second correction's parent is the
            # first one, whose revised answer the user rejected.
            for item, meta in added:
                parent = db.execute("SELECT id, weight FROM knowledge WHERE lineage_id = ?",
                                    (meta.get("parent_lineage_id"),)).fetchone()
                if parent is None:
                    continue
                db.execute("UPDATE knowledge SET parent_id = ? WHERE id = ?", (parent[0], item))
                if parent[1] > SUPERSEDED_WEIGHT:
                    db.execute("UPDATE knowledge SET weight = ? WHERE id = ?", (SUPERSEDED_WEIGHT, parent[0]))
                    superseded += 1
        return RefinementImport(read=len(records), added=len(added), superseded=superseded)

    def corrections_for_training(self, min_weight: float = NORMAL_MIN_WEIGHT) -> list[dict]:
        """Chat records (Svend's schema, svend/data/schema.py) for the next generation's data: the
        question and the right answer of every item of weight ≥ ``min_weight`` that has one, oldest first;
        ``metadata`` keeps the lineage and adds ``knowledge_id``, ``weight`` and ``validation_count``."""
        rows = self._rows("SELECT id, weight, validation_count, record FROM knowledge "
                                "WHERE record IS NOT NULL AND weight >= ? ORDER BY id", (min_weight,))
        out = []
        for row in rows:
            record = row["record"]
            record["metadata"] = {**record.get("metadata", {}), "knowledge_id": row["id"], "weight": row["weight"],
                                  "validation_count": row["validation_count"]}
            validate_record(record)
            out.append(record)
        return out
