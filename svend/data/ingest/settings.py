"""``cfg.ingest`` checked once, up front, into plain typed settings.

Ingestion can run for minutes over a large tree; a misspelt key (``chunk_line``), a negative window
or a codebase path that does not exist should fail before the first file is read, with the key named
(``ingest.overlap_lines``) and what was expected. Paths get ``~`` expanded, since Hydra overrides
cannot spell a bare ``~`` (quote it: ``ingest.codebases=["~/src/x"]``).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

FORMATS = ("claude", "gemini", "cursor")


class IngestError(ValueError):
    """Bad ingest settings or inputs: the message names the key or the path."""


@dataclass(frozen=True)
class ExportSpec:
    path: Path
    format: str | None  # None: detect from the file name and content


@dataclass(frozen=True)
class IngestSettings:
    codebases: list[Path]
    chat_exports: list[ExportSpec]
    out_dir: Path
    chunk_lines: int
    overlap_lines: int
    max_file_kb: float
    min_chars: int
    languages: list[str] | None
    skip_dirs: list[str]
    skip_files: list[str]
    secret_files: list[str]
    secret_name_words: list[str]
    correction_cues: dict[str, list[str]]
    gemini_session_gap_minutes: float

    @classmethod
    def from_cfg(cls, ingest: Any) -> "IngestSettings":
        raw = OmegaConf.to_container(ingest, resolve=True) if isinstance(ingest, DictConfig) else dict(ingest)
        known = [f.name for f in fields(cls)]
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean ingest.{close[0]}?)" if close else ""
                raise IngestError(f"unknown key ingest.{key}{hint}; known keys: {', '.join(known)}")
        missing = [k for k in known if k not in raw]
        if missing:
            raise IngestError(f"ingest config lacks {', '.join('ingest.' + k for k in missing)}")

        def integer(key: str, low: int) -> int:
            value = raw[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise IngestError(f"ingest.{key} must be an integer >= {low}, got {value!r}")
            return value

        def strings(key: str, value: Any = None) -> list[str]:
            value = raw[key] if value is None else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise IngestError(f"ingest.{key} must be a list of strings, got {value!r}")
            return value

        chunk_lines, overlap = integer("chunk_lines", 1), integer("overlap_lines", 0)
        if overlap >= chunk_lines:
            raise IngestError(f"ingest.overlap_lines ({overlap}) must be smaller than ingest.chunk_lines ({chunk_lines})")
        max_kb = raw["max_file_kb"]
        if not isinstance(max_kb, (int, float)) or isinstance(max_kb, bool) or max_kb <= 0:
            raise IngestError(f"ingest.max_file_kb must be a positive number, got {max_kb!r}")
        gap = raw["gemini_session_gap_minutes"]
        if not isinstance(gap, (int, float)) or isinstance(gap, bool) or gap < 0:
            raise IngestError(f"ingest.gemini_session_gap_minutes must be a number >= 0, got {gap!r}")
        cues = raw["correction_cues"]
        if not isinstance(cues, dict) or set(cues) - {"start", "anywhere"}:
            raise IngestError(f"ingest.correction_cues must be {{start: [...], anywhere: [...]}}, got {cues!r}")
        cues = {k: strings(f"correction_cues.{k}", cues.get(k, [])) for k in ("start", "anywhere")}
        languages = raw["languages"]
        if languages is not None:
            languages = strings("languages")

        if not isinstance(raw["codebases"], list):
            raise IngestError(f"ingest.codebases must be a list of folders, got {raw['codebases']!r}")
        codebases = []
        for i, entry in enumerate(raw["codebases"]):
            if not isinstance(entry, str):
                raise IngestError(f"ingest.codebases[{i}] must be a folder path, got {entry!r}")
            codebases.append(_path(entry))
        if not isinstance(raw["chat_exports"], list):
            raise IngestError(f"ingest.chat_exports must be a list of paths, got {raw['chat_exports']!r}")
        exports = [_export_spec(i, entry) for i, entry in enumerate(raw["chat_exports"])]
        if not isinstance(raw["out_dir"], str) or not raw["out_dir"]:
            raise IngestError(f"ingest.out_dir must be a folder path, got {raw['out_dir']!r}")
        return cls(
            codebases=codebases, chat_exports=exports, out_dir=_path(raw["out_dir"]), chunk_lines=chunk_lines,
            overlap_lines=overlap, max_file_kb=float(max_kb), min_chars=integer("min_chars", 0), languages=languages,
            skip_dirs=strings("skip_dirs"), skip_files=strings("skip_files"), secret_files=strings("secret_files"),
            secret_name_words=strings("secret_name_words"), correction_cues=cues, gemini_session_gap_minutes=float(gap),
        )

    def check_inputs(self) -> None:
        """Every input exists, and there is at least one: before any work starts."""
        if not self.codebases and not self.chat_exports:
            raise IngestError(
                "nothing to ingest: set ingest.codebases=[/path/to/project] and/or ingest.chat_exports=[/path/to/export]"
            )
        for i, root in enumerate(self.codebases):
            if not root.is_dir():
                raise IngestError(f"ingest.codebases[{i}]: {root} is not a folder")
        for i, spec in enumerate(self.chat_exports):
            if not spec.path.exists():
                raise IngestError(f"ingest.chat_exports[{i}]: {spec.path} does not exist")


def _path(text: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(text))).absolute()


def _export_spec(i: int, entry: Any) -> ExportSpec:
    if isinstance(entry, str):
        return ExportSpec(_path(entry), None)
    if isinstance(entry, dict) and isinstance(entry.get("path"), str) and set(entry) <= {"path", "format"}:
        fmt = entry.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise IngestError(f"ingest.chat_exports[{i}].format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return ExportSpec(_path(entry["path"]), fmt)
    raise IngestError(f"ingest.chat_exports[{i}] must be a path or {{path: ..., format: claude|gemini|cursor}}, got {entry!r}")
