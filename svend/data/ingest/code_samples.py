"""``code_samples.jsonl``: raw code chunks with the context that locates them.

These are not chat records — there is no conversation, only code — so they have their own small
schema, one JSON object per line::

    {"id": "myproj/src/shapes.py:40-58",      # codebase/path:start-end, unique in the file
     "codebase": "myproj", "path": "src/shapes.py", "language": "python",
     "start_line": 40, "end_line": 58,         # 1-based, inclusive; text has exactly that many lines
     "symbol": "Canvas.draw",                  # enclosing definition, or null
     "kind": "method",                         # module | function | class | method | window
     "text": "    def draw(self, ...):\\n..."}

As with chat records (``svend.data.schema``), every line is validated on read and an error names
``file:line`` and what was wrong. ``svend.data.ingest.run`` writes the file inside the output folder
it builds in a temporary sibling and renames into place (``svend.atomic.write_folder``), so a reader
never sees half of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

KINDS = ("module", "function", "class", "method", "window")
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str, "codebase": str, "path": str, "language": str, "start_line": int, "end_line": int,
    "symbol": (str, type(None)), "kind": str, "text": str,
}


class CodeSampleError(ValueError):
    """A code sample that does not match the schema; the message starts with ``file:line:``."""


def validate_code_sample(sample: Any) -> None:
    """Raise ``ValueError`` naming the first thing wrong with ``sample``."""
    if not isinstance(sample, Mapping):
        raise ValueError(f"a code sample must be a JSON object, got {type(sample).__name__}")
    for name, types in _FIELDS.items():
        if name not in sample:
            raise ValueError(f'missing "{name}"')
        value = sample[name]
        if not isinstance(value, types) or (types is int and isinstance(value, bool)):
            expected = types.__name__ if isinstance(types, type) else "string or null"
            raise ValueError(f'"{name}" must be {expected}, got {type(value).__name__}')
    extra = sorted(set(sample) - set(_FIELDS))
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(extra)}")
    if sample["kind"] not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}; got {sample["kind"]!r}')
    start, end = sample["start_line"], sample["end_line"]
    if start < 1 or end < start:
        raise ValueError(f"line range {start}-{end} is not 1 <= start_line <= end_line")
    if not sample["text"].strip():
        raise ValueError('"text" is empty')
    lines = sample["text"].count("\n") + 1
    if lines != end - start + 1:
        raise ValueError(f'"text" has {lines} lines but the range {start}-{end} has {end - start + 1}')


def write_code_samples(path: str | os.PathLike, samples: Iterable[Mapping[str, Any]]) -> int:
    """Validate and write samples to ``path`` (a file inside a folder being built atomically)."""
    path = Path(path)
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for count, sample in enumerate(samples, start=1):
            try:
                validate_code_sample(sample)
            except ValueError as e:
                raise CodeSampleError(f"{path}: record {count}: {e}") from None
            f.write(json.dumps(sample, ensure_ascii=False) + "\n")
    return count


def read_code_samples(path: str | os.PathLike) -> list[dict]:
    """Read and validate ``code_samples.jsonl``; blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such code samples file")
    samples = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except json.JSONDecodeError as e:
                raise CodeSampleError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
            try:
                validate_code_sample(sample)
            except ValueError as e:
                raise CodeSampleError(f"{path}:{lineno}: {e}") from None
            samples.append(sample)
    return samples
