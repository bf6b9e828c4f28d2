"""``svend-data ingest``: turn your own codebases and chat exports into training data (Nasab's data prep).

    svend-data ingest ingest.codebases=[$HOME/src/myproj] ingest.chat_exports=[$HOME/Downloads/claude-export]

writes, all at once, into ``ingest.out_dir`` (default ``${paths.data_dir}/ingested``):

- ``code_samples.jsonl`` — code chunks with path, language, line range and enclosing symbol
  (``code_samples.py`` has the schema; ``codebase.py`` what is skipped; ``chunking.py`` how files are cut);
- ``instruction_pairs.jsonl`` — user → assistant pairs from Claude, Gemini and Cursor exports, as
  Svend chat records (``conversation.py``; the readers ``claude.py``, ``gemini.py``, ``cursor.py``);
- ``refinements.jsonl`` — correction chains: question, first answer, correction, revised answer
  (``refinements.py``);
- ``metadata.json`` — counts per source, file and language, every skipped item with its reason, the
  config. ``run`` returns the same dict and prints a summary.

A bad file or record is reported (file, record, reason) and skipped; everything else is processed.
The output folder is built beside its target and renamed into place (``svend.atomic.write_folder``):
a killed run leaves the previous output whole. Inputs are read in a fixed order and exact duplicates
are dropped, so the same inputs give byte-identical outputs. Supported layouts: docs/ingestion.md.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from svend.atomic import write_folder
from svend.data.ingest.code_samples import write_code_samples
from svend.data.ingest.codebase import ingest_codebase
from svend.data.ingest.exports import ingest_chats
from svend.data.ingest.report import Deduper, Report, format_summary
from svend.data.ingest.settings import IngestError, IngestSettings
from svend.data.schema import write_jsonl

__all__ = ["run", "IngestError"]

MARKER = "svend_ingest"  # a metadata.json with this key says the folder is ours to replace
VERSION = 1


def _codebase_names(roots: list[Path]) -> list[str]:
    """Folder names, made unique (``app``, ``app-2``) so sample ids never collide."""
    seen: Counter = Counter()
    names = []
    for root in roots:
        seen[root.name] += 1
        names.append(root.name if seen[root.name] == 1 else f"{root.name}-{seen[root.name]}")
    return names


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to replace a folder that an earlier ingest did not write (``out_dir`` is replaced whole)."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise IngestError(f"ingest.out_dir: {out_dir} exists and is not a folder")
    if not any(out_dir.iterdir()):
        return
    try:
        ours = MARKER in json.loads((out_dir / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        raise IngestError(
            f"ingest.out_dir: {out_dir} holds files an ingest run did not write, and ingest replaces its output "
            "folder whole; choose another ingest.out_dir or empty that folder"
        )


def _by(records: list[dict], key: str) -> dict[str, int]:
    return dict(sorted(Counter(r[key] if key in r else r["metadata"][key] for r in records).items()))


def run(cfg: Any) -> dict:
    """Ingest what ``cfg.ingest`` names; write the outputs; print and return the summary."""
    settings = IngestSettings.from_cfg(cfg.ingest)
    settings.check_inputs()
    _check_out_dir(settings.out_dir)
    report = Report()

    samples: list[dict] = []
    codebases = []
    code_dedupe = Deduper()
    for root, name in zip(settings.codebases, _codebase_names(settings.codebases)):
        found, stats = ingest_codebase(root, name, settings, report, code_dedupe)
        samples += found
        codebases.append(stats)
    pairs, refinements, chats = ingest_chats(settings, report) if settings.chat_exports else ([], [], {"exports": []})

    summary = {
        MARKER: VERSION,
        "out_dir": str(settings.out_dir),
        "outputs": {
            "code_samples.jsonl": {"records": len(samples), "what": "code chunks", "by_language": _by(samples, "language")},
            "instruction_pairs.jsonl": {"records": len(pairs), "what": "user → assistant pairs", "by_source": _by(pairs, "source")},
            "refinements.jsonl": {"records": len(refinements), "what": "correction chains", "by_source": _by(refinements, "source")},
        },
        "codebases": codebases,
        "chat_exports": chats["exports"],
        "skipped_by_reason": report.by_reason(),
        "skipped": report.as_list(),
        "config": _config(cfg.ingest),
    }

    def write(tmp: Path) -> None:
        write_code_samples(tmp / "code_samples.jsonl", samples)
        write_jsonl(tmp / "instruction_pairs.jsonl", pairs)
        write_jsonl(tmp / "refinements.jsonl", refinements)
        (tmp / "metadata.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    write_folder(settings.out_dir, write, replace=True)
    print(format_summary(summary), flush=True)
    return summary


def _config(ingest: Any) -> Any:
    return OmegaConf.to_container(ingest, resolve=True) if isinstance(ingest, DictConfig) else ingest
