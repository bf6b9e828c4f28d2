"""Find the chat exports under each ``ingest.chat_exports`` entry, tell their formats apart, and read them.

An entry is a file, a folder (searched recursively, in sorted order) or a ``.zip`` as downloaded
(Claude's export and Google Takeout both arrive zipped). The files that can hold chats are
``*.json`` (Claude's ``conversations.json``, Takeout's ``MyActivity.json``, a dump of a Cursor value),
``*.vscdb`` (Cursor) and, to say it is unsupported, Takeout's ``MyActivity.html``; a folder's other
files are counted, not read. The format is, in order: the entry's ``format`` if given, else what the
content looks like (``chat_messages`` → Claude, a ``Gemini Apps`` activity → Gemini, ``tabs`` or a
composer → Cursor), else what the file name says. A ChatGPT export (``mapping`` in its conversations)
is recognised and reported as unsupported rather than misread as Claude's.

A file that cannot be read or has the wrong structure is reported as ``malformed_file`` and the run
goes on with the next one; records inside a readable file are checked by each format's reader.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

from tqdm import tqdm

from svend.data.ingest.claude import read_claude
from svend.data.ingest.conversation import Conversation, ExportFormatError, conversation_records
from svend.data.ingest.cursor import CursorReader, is_cursor_value
from svend.data.ingest.gemini import HEADERS as GEMINI_HEADERS
from svend.data.ingest.gemini import read_gemini
from svend.data.ingest.refinements import CorrectionDetector
from svend.data.ingest.report import Deduper, Report, normalized_hash
from svend.data.ingest.settings import ExportSpec, IngestSettings
from svend.data.schema import validate_record

_SQLITE_MAGIC = b"SQLite format 3\x00"
_NAME_HINTS = {"conversations.json": "claude", "myactivity.json": "gemini"}


@dataclass(frozen=True)
class _Candidate:
    origin: str  # what reports call it: a path, or "archive.zip!member/path"
    name: str  # the file name alone
    read: Callable[[], bytes]
    path: Path | None  # the file on disk (None for a zip member)


def sniff(data: Any) -> str | None:
    """The export format a parsed JSON value looks like: claude, gemini, cursor, chatgpt or None."""
    if isinstance(data, list):
        for x in data[:50]:
            if not isinstance(x, dict):
                continue
            if "chat_messages" in x:
                return "claude"
            if "mapping" in x and "title" in x:
                return "chatgpt"
            products = x.get("products") if isinstance(x.get("products"), list) else []
            if x.get("header") in GEMINI_HEADERS or set(GEMINI_HEADERS) & set(products):
                return "gemini"
    return "cursor" if is_cursor_value(data) else None


def _candidates(spec: ExportSpec, report: Report, counts: Counter) -> Iterator[_Candidate]:
    path = spec.path
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            lower = f.name.lower()
            if lower.endswith((".json", ".vscdb", ".zip")) or lower == "myactivity.html":
                yield from _expand(f, report, counts)
            else:
                counts["files_not_considered"] += 1
    else:
        yield from _expand(path, report, counts, direct=True)


def _expand(f: Path, report: Report, counts: Counter, direct: bool = False) -> Iterator[_Candidate]:
    if f.suffix.lower() != ".zip":
        yield _Candidate(str(f), f.name, f.read_bytes, f)
        return
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError) as e:
        report.skip("chat_export", f, "malformed_file", f"not a readable zip archive: {e}")
        return
    with archive:
        for member in sorted(archive.namelist()):
            name = PurePosixPath(member).name
            lower = name.lower()
            if member.endswith("/"):
                continue
            if lower.endswith(".json") or lower == "myactivity.html":
                yield _Candidate(f"{f}!{member}", name, lambda m=member: archive.read(m), None)
            elif lower.endswith(".vscdb"):
                report.skip("cursor", f"{f}!{member}", "unsupported_format", "a database inside a zip: unzip it first")
            else:
                counts["files_not_considered"] += 1


def _load_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ExportFormatError(f"not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ExportFormatError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


def _conversations(c: _Candidate, fmt: str | None, settings: IngestSettings, cursor: CursorReader,
                   report: Report) -> tuple[str | None, Iterator[Conversation] | None]:
    """(format, conversations) of a candidate; (format, None) when it was reported and skipped."""
    if c.name.lower() == "myactivity.html":
        report.skip("gemini", c.origin, "unsupported_format",
                    "Takeout's HTML activity is not read: re-export My Activity → Gemini Apps with format JSON")
        return "gemini", None
    if c.name.lower().endswith(".vscdb") and c.path is not None:  # not read whole: can be gigabytes
        return "cursor", cursor.read_db(c.path, c.origin)
    try:
        raw = c.read()
    except OSError as e:
        report.skip(fmt or "chat_export", c.origin, "unreadable", f"cannot read: {e.strerror or e}")
        return fmt, None
    if raw.startswith(_SQLITE_MAGIC):
        if c.path is None:
            report.skip("cursor", c.origin, "unsupported_format", "a database inside a zip: unzip it first")
            return "cursor", None
        return "cursor", cursor.read_db(c.path, c.origin)
    try:
        data = _load_json(raw)
    except ExportFormatError as e:
        fmt = fmt or _NAME_HINTS.get(c.name.lower())
        report.skip(fmt or "chat_export", c.origin, "malformed_file", str(e))
        return fmt, None
    detected = sniff(data)
    if fmt is None and detected == "chatgpt":
        report.skip("chat_export", c.origin, "unsupported_format", "a ChatGPT export (conversations with a 'mapping'); not supported")
        return None, None
    fmt = fmt or detected or _NAME_HINTS.get(c.name.lower())
    if fmt is None:
        report.skip("chat_export", c.origin, "unknown_format", "JSON that is not a Claude, Gemini or Cursor export")
        return None, None
    if fmt == "claude":
        return fmt, read_claude(data, c.origin, report)
    if fmt == "gemini":
        return fmt, read_gemini(data, c.origin, report, settings.gemini_session_gap_minutes)
    return fmt, cursor.read_value(data, c.origin)


def ingest_chats(settings: IngestSettings, report: Report) -> tuple[list[dict], list[dict], dict]:
    """(instruction pairs, refinements, statistics) from every chat export, in input order."""
    detector = CorrectionDetector(settings.correction_cues["start"], settings.correction_cues["anywhere"])
    cursor = CursorReader(report)
    pair_dedupe, refinement_dedupe = Deduper(), Deduper()
    pairs: list[dict] = []
    refinements: list[dict] = []
    entries = []

    def keep(record: dict, out: list, dedupe: Deduper, source: str, origin: str, item: str) -> bool:
        answer = record["messages"][-1]["content"]
        lineage = record["metadata"]["lineage_id"]
        try:
            validate_record(record)
        except ValueError as e:
            report.skip(source, origin, "malformed_record", str(e), item=f"{item} → {lineage}")
            return False
        if len(answer.strip()) < settings.min_chars:
            report.skip(source, origin, "too_short", f"answer has {len(answer.strip())} characters", item=lineage)
            return False
        first = dedupe.first_of(normalized_hash(*(m["content"] for m in record["messages"])), lineage)
        if first is not None:
            report.skip(source, origin, "duplicate", f"same messages as {first}", item=lineage)
            return False
        out.append(record)
        return True

    for spec in settings.chat_exports:
        counts: Counter = Counter()
        files = []
        for c in _candidates(spec, report, counts):
            skips_before = len(report.skips)
            fmt, conversations = _conversations(c, spec.format, settings, cursor, report)
            stats: Counter = Counter()
            if conversations is not None:
                try:
                    for conv in tqdm(conversations, desc=f"{fmt} {c.name}", unit="conversation"):
                        stats["conversations"] += 1
                        conv_pairs, conv_refinements, conv_counts = conversation_records(conv, detector)
                        stats.update(conv_counts)
                        stats["instruction_pairs"] += sum(
                            keep(r, pairs, pair_dedupe, fmt, c.origin, conv.item) for r in conv_pairs)
                        stats["refinements"] += sum(
                            keep(r, refinements, refinement_dedupe, fmt, c.origin, conv.item) for r in conv_refinements)
                except ExportFormatError as e:
                    report.skip(fmt or "chat_export", c.origin, "malformed_file", str(e))
            skipped = Counter(s.reason for s in report.skips[skips_before:])
            files.append({"file": c.origin, "format": fmt, **dict(sorted(stats.items())),
                          "skipped_by_reason": dict(sorted(skipped.items()))})
        entries.append({"path": str(spec.path), "format": spec.format, "files": files, **dict(counts)})
    cursor.report_unresolved()
    return pairs, refinements, {"exports": entries}
