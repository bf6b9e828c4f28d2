"""What ingestion left out, and why — so that nothing is lost without a trace.

Ingestion reads other people's formats (a chat export, a folder of code) and must keep going when one
file or one record is bad. Every item it does not turn into a sample is recorded here as a
:class:`Skip` — which source, which file, which record, a reason from a small fixed vocabulary (so the
summary can count them) and a detail a person can act on. ``metadata.json`` carries the full list;
the printed summary counts them by reason with a few examples.

Details never quote a secret: a secret file is named, the matching rule is named, its value is not.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field

# The reasons an item can be skipped; the summary groups by these.
REASONS = {
    "excluded_dir": "vendored, generated or tooling folder (ingest.skip_dirs, or a virtualenv)",
    "excluded_file": "lock, minified or generated file name (ingest.skip_files)",
    "secret": "secret-looking file name or content (ingest.secret_files, ingest.secret_name_words, key patterns)",
    "symlink": "symbolic link (not followed)",
    "binary": "binary file",
    "not_utf8": "not UTF-8 text",
    "too_large": "larger than ingest.max_file_kb",
    "generated": "generated or minified content",
    "unknown_language": "file type is not a known programming, config or docs language",
    "language_not_selected": "language not in ingest.languages",
    "empty": "empty file",
    "too_short": "shorter than ingest.min_chars",
    "duplicate": "exact duplicate (normalized) of an earlier sample",
    "unreadable": "file or folder that cannot be opened (permissions, I/O error)",
    "malformed_file": "file with the wrong structure (invalid JSON, not a database, wrong layout)",
    "malformed_record": "record has the wrong structure",
    "unknown_format": "file is not a recognized chat export",
    "unsupported_format": "a known export layout Svend does not read (see docs/ingestion.md)",
    "not_a_prompt": "activity item that is not a prompt with its response",
    "no_response": "prompt without a response",
    "no_messages": "conversation whose messages are not in this file",
}


@dataclass(frozen=True)
class Skip:
    source: str  # "codebase", "claude", "gemini", "cursor" or "chat_export" (format not known yet)
    file: str  # the file or folder, as the user can find it
    item: str | None  # the record inside the file (index and id), None for a whole file or folder
    reason: str  # a key of REASONS
    detail: str  # what exactly, in words


@dataclass
class Report:
    """Collects skips in the order they happen (which is deterministic: inputs are read in order)."""

    skips: list[Skip] = field(default_factory=list)

    def skip(self, source: str, file: object, reason: str, detail: str, item: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown skip reason {reason!r}; expected one of {', '.join(REASONS)}")
        self.skips.append(Skip(source, str(file), item, reason, detail))

    def by_reason(self) -> dict[str, int]:
        counts = Counter(s.reason for s in self.skips)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    def as_list(self) -> list[dict]:
        return [asdict(s) for s in self.skips]


def normalized_hash(*texts: str) -> str:
    """sha256 of the texts with Unicode normalized (NFC) and every run of whitespace made one space:
    two samples that differ only in line endings, indentation width or trailing blanks are the same."""
    normalized = "\x1f".join(" ".join(unicodedata.normalize("NFC", t).split()) for t in texts)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


class Deduper:
    """Remembers the first sample seen for each normalized hash; later copies are reported as skips."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def first_of(self, key: str, sample_id: str) -> str | None:
        """``None`` if ``key`` is new (and remember ``sample_id`` for it), else the id seen first."""
        first = self._first.get(key)
        if first is None:
            self._first[key] = sample_id
        return first


def format_summary(summary: dict, examples: int = 3) -> str:
    """The lines printed at the end of a run: what was written where, what was skipped and why."""
    out = summary["outputs"]
    lines = [f"svend-data ingest → {summary['out_dir']}"]
    for name, info in out.items():
        by = info.get("by_source") or info.get("by_language") or {}
        detail = ", ".join(f"{k} {v}" for k, v in by.items())
        lines.append(f"  {name:<24} {info['records']:>7} {info['what']}" + (f" ({detail})" if detail else ""))
    lines.append(f"  {'metadata.json':<24} counts per source, file and language; every skipped item; the config")
    skipped = summary["skipped_by_reason"]
    if not skipped:
        lines.append("Skipped nothing.")
        return "\n".join(lines)
    lines.append(f"Skipped {sum(skipped.values())} items (all listed in metadata.json):")
    for reason, count in skipped.items():
        lines.append(f"  {reason:<22} {count:>6}  {REASONS[reason]}")
        shown = [s for s in summary["skipped"] if s["reason"] == reason][:examples]
        for s in shown:
            where = s["file"] + (f" [{s['item']}]" if s["item"] else "")
            lines.append(f"      e.g. {where}: {s['detail']}")
    return "\n".join(lines)
