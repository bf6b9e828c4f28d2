"""Read Cursor's chat history from its ``state.vscdb`` SQLite files, or from a JSON dump of one value.

Cursor (a VS Code fork) keeps state in key/value tables of SQLite files under its user folder
(``~/.config/Cursor/User`` on Linux, ``~/Library/Application Support/Cursor/User`` on macOS,
``%APPDATA%\\Cursor\\User`` on Windows). Three layouts have held chats:

- **Chat panel (older versions)**: ``workspaceStorage/<id>/state.vscdb``, table ``ItemTable``, key
  ``workbench.panel.aichat.view.aichat.chatdata`` → ``{"tabs": [{"tabId", "chatTitle", "bubbles":
  [{"type": "user" | "ai", "text" or "rawText"}]}]}``.
- **Composer, inline**: ``composerData:<composerId>`` in table ``cursorDiskKV`` of
  ``globalStorage/state.vscdb`` (some versions: in ``ItemTable`` key ``composer.composerData`` under
  ``allComposers``) → ``{"composerId", "name", "conversation": [{"type": 1 (user) | 2 (assistant),
  "text", "bubbleId"}]}``.
- **Composer, split (newer)**: the same ``composerData:<id>`` lists ``fullConversationHeadersOnly:
  [{"bubbleId", "type"}]`` and each message is its own row ``bubbleId:<composerId>:<bubbleId>``.

A workspace's ``composer.composerData`` often lists composers whose messages live only in the global
database; those still missing at the end of a run (no input held them) are reported as
``no_messages``, naming the file to add. Databases are opened read-only (``mode=ro``), so reading one
while Cursor runs changes nothing. A JSON dump of any of these values (``{"tabs": …}``, a composer,
``{"allComposers": …}`` or a list of composers) is read the same way, except that a split composer
cannot be resolved from a dump. Bubbles' attached context (selected code, files) is not included.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from svend.data.ingest.conversation import Conversation, ExportFormatError, Turn, json_type
from svend.data.ingest.report import Report

CHATDATA_KEY = "workbench.panel.aichat.view.aichat.chatdata"
COMPOSER_INDEX_KEY = "composer.composerData"
_TAB_ROLES = {"user": "user", "ai": "assistant"}
_COMPOSER_ROLES = {1: "user", 2: "assistant"}

BubbleLookup = Callable[[str, str], Any]



def _bubble_text(bubble: dict) -> str:
    for key in ("text", "rawText"):
        value = bubble.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def is_cursor_value(data: Any) -> bool:
    """Whether a JSON value looks like one of Cursor's chat values."""
    keys = {"tabs", "allComposers", "composerId", "conversation", "fullConversationHeadersOnly"}
    if isinstance(data, dict):
        return bool(keys & set(data))
    return isinstance(data, list) and any(isinstance(x, dict) and {"composerId", "conversation"} & set(x) for x in data[:20])


class CursorReader:
    """Reads Cursor values and databases, remembering which listed composers were never found."""

    def __init__(self, report: Report):
        self.report = report
        self.found: set[str] = set()
        self.listed: dict[str, tuple[str, str]] = {}  # composer id -> (file that lists it, item)

    # -- values ---------------------------------------------------------------------------------------

    def _tabs(self, value: Any, origin: str) -> Iterator[Conversation]:
        tabs = value.get("tabs")
        if not isinstance(tabs, list):
            raise ExportFormatError(f'"tabs" must be a list, got {json_type(tabs)}')
        for i, tab in enumerate(tabs):
            item = f"tab {i}"
            if not isinstance(tab, dict):
                self.report.skip("cursor", origin, "malformed_record", f"is {json_type(tab)}, not an object", item=item)
                continue
            tab_id = tab.get("tabId") if isinstance(tab.get("tabId"), str) and tab.get("tabId") else f"tab-{i}"
            item += f" ({tab_id})"
            bubbles = tab.get("bubbles")
            if not isinstance(bubbles, list):
                self.report.skip("cursor", origin, "malformed_record", f'"bubbles" must be a list, got {json_type(bubbles)}', item=item)
                continue
            title = tab.get("chatTitle") if isinstance(tab.get("chatTitle"), str) and tab.get("chatTitle") else None
            yield self._conversation(tab_id, title, item, bubbles, "type", _TAB_ROLES, origin)

    def _composer(self, value: Any, origin: str, item: str, lookup: BubbleLookup | None) -> Conversation | None:
        if not isinstance(value, dict):
            self.report.skip("cursor", origin, "malformed_record", f"is {json_type(value)}, not an object", item=item)
            return None
        cid = value.get("composerId") if isinstance(value.get("composerId"), str) else None
        item = item if cid is None or cid in item else f"{item} ({cid})"
        composer_id = cid or item
        title = value.get("name") if isinstance(value.get("name"), str) and value.get("name") else None
        conversation, headers = value.get("conversation"), value.get("fullConversationHeadersOnly")
        if isinstance(conversation, list) and (conversation or not headers):
            bubbles = conversation
        elif isinstance(headers, list):
            if not headers:
                bubbles = []
            elif lookup is None or cid is None:
                self.report.skip("cursor", origin, "no_messages",
                                 "only message headers; the messages are bubbleId:<composerId>:<bubbleId> rows of the "
                                 "state.vscdb it came from — ingest that file instead", item=item)
                return None
            else:
                bubbles = []
                for j, header in enumerate(headers):
                    bubble_id = header.get("bubbleId") if isinstance(header, dict) else None
                    bubble = lookup(cid, bubble_id) if isinstance(bubble_id, str) else None
                    if bubble is None:
                        self.report.skip("cursor", origin, "malformed_record",
                                         f"message header {j} names bubble {bubble_id!r}, which is not in the database",
                                         item=item)
                        continue
                    bubbles.append(bubble)
        elif conversation is None and headers is None:
            if cid is not None:  # an index entry: the messages are elsewhere (another database)
                self.listed.setdefault(cid, (origin, item))
            return None
        else:
            self.report.skip("cursor", origin, "malformed_record", '"conversation" must be a list', item=item)
            return None
        self.found.add(composer_id)
        conv = self._conversation(composer_id, title, item, bubbles, "type", _COMPOSER_ROLES, origin)
        created = value.get("createdAt")
        if isinstance(created, (int, float)) and not isinstance(created, bool) and conv.turns:
            stamp = datetime.fromtimestamp(created / 1000, timezone.utc).isoformat()
            conv.turns = [Turn(t.role, t.text, t.ref, t.created_at or stamp) for t in conv.turns]
        return conv

    def _conversation(self, cid: str, title: str | None, item: str, bubbles: list, type_key: str,
                      roles: dict, origin: str) -> Conversation:
        conv = Conversation("cursor", cid, title, item)
        for j, bubble in enumerate(bubbles):
            where = f"{item} message {j}"
            if not isinstance(bubble, dict):
                self.report.skip("cursor", origin, "malformed_record", f"is {json_type(bubble)}, not an object", item=where)
                continue
            role = roles.get(bubble.get(type_key)) if isinstance(bubble.get(type_key), (str, int)) else None
            if role is None:
                self.report.skip("cursor", origin, "malformed_record", f"unknown message type {bubble.get(type_key)!r}", item=where)
                continue
            text = _bubble_text(bubble)
            if not text:
                conv.empty_turns += 1
                continue
            ref = next((bubble[k] for k in ("bubbleId", "id") if isinstance(bubble.get(k), str) and bubble[k]), f"#{j}")
            conv.turns.append(Turn(role, text, ref))
        return conv

    def _index(self, value: Any, origin: str, lookup: BubbleLookup | None) -> Iterator[Conversation]:
        composers = value.get("allComposers")
        if not isinstance(composers, list):
            raise ExportFormatError(f'"allComposers" must be a list, got {json_type(composers)}')
        for i, composer in enumerate(composers):
            conv = self._composer(composer, origin, f"composer {i}", lookup)
            if conv is not None:
                yield conv

    def read_value(self, data: Any, origin: str, lookup: BubbleLookup | None = None) -> Iterator[Conversation]:
        """Conversations of one JSON value (a dump, or a row of a database)."""
        if isinstance(data, list):
            for i, composer in enumerate(data):
                conv = self._composer(composer, origin, f"composer {i}", lookup)
                if conv is not None:
                    yield conv
        elif isinstance(data, dict) and "tabs" in data:
            yield from self._tabs(data, origin)
        elif isinstance(data, dict) and "allComposers" in data:
            yield from self._index(data, origin, lookup)
        elif is_cursor_value(data):
            conv = self._composer(data, origin, "composer", lookup)
            if conv is not None:
                yield conv
        else:
            raise ExportFormatError(
                'expected a Cursor chat value ({"tabs": …}, {"allComposers": …}, a composer or a list of composers), '
                f"got {json_type(data)}" + (f" with keys {', '.join(sorted(data)[:8])}" if isinstance(data, dict) else "")
            )

    # -- databases ------------------------------------------------------------------------------------

    def read_db(self, path: Path, origin: str) -> Iterator[Conversation]:
        """Conversations of a ``state.vscdb``; raises ``ExportFormatError`` if it is not a readable one."""
        try:
            con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        except sqlite3.Error as e:
            raise ExportFormatError(f"cannot open as SQLite: {e}") from None
        with closing(con):
            try:
                tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            except sqlite3.Error as e:
                raise ExportFormatError(f"not a readable SQLite database: {e}") from None
            if not {"ItemTable", "cursorDiskKV"} & tables:
                raise ExportFormatError(f"no ItemTable or cursorDiskKV table (tables: {', '.join(sorted(tables)) or 'none'}): "
                                        "not a Cursor state.vscdb")
            rows: list[tuple[str, str, Any]] = []  # (table, key, value), in a fixed order
            try:
                if "ItemTable" in tables:
                    rows += [("ItemTable", k, v) for k, v in con.execute(
                        "SELECT key, value FROM ItemTable WHERE key IN (?, ?) ORDER BY key", (CHATDATA_KEY, COMPOSER_INDEX_KEY))]
                if "cursorDiskKV" in tables:
                    rows += [("cursorDiskKV", k, v) for k, v in con.execute(
                        "SELECT key, value FROM cursorDiskKV WHERE key LIKE 'composerData:%' ORDER BY key")]
            except sqlite3.Error as e:
                raise ExportFormatError(f"cannot read the chat rows: {e}") from None

            def lookup(composer_id: str, bubble_id: str) -> Any:
                if "cursorDiskKV" not in tables:
                    return None
                row = con.execute("SELECT value FROM cursorDiskKV WHERE key = ?", (f"bubbleId:{composer_id}:{bubble_id}",)).fetchone()
                if row is None:
                    return None
                try:
                    return _json(row[0])
                except ValueError:
                    return None

            for table, key, value in rows:
                item = f"{table} key {key}"
                try:
                    data = _json(value)
                except ValueError as e:
                    self.report.skip("cursor", origin, "malformed_record", str(e), item=item)
                    continue
                if table == "cursorDiskKV":
                    conv = self._composer(data, origin, item, lookup)
                    if conv is not None:
                        yield conv
                    continue
                try:
                    yield from self.read_value(data, origin, lookup)
                except ExportFormatError as e:
                    self.report.skip("cursor", origin, "malformed_record", str(e), item=item)

    def report_unresolved(self) -> None:
        """Composers a workspace listed whose messages no input held."""
        for cid, (origin, item) in sorted(self.listed.items(), key=lambda kv: (kv[1], kv[0])):
            if cid not in self.found:
                self.report.skip("cursor", origin, "no_messages",
                                 "listed in this workspace, but its messages are in Cursor's globalStorage/state.vscdb, "
                                 "which was not among the inputs", item=item)


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"value is not UTF-8 text (byte {e.start})") from None
    if not isinstance(value, str):
        raise ValueError(f"value is {type(value).__name__}, not JSON text")
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON in value: {e.msg} at line {e.lineno} column {e.colno}") from None
