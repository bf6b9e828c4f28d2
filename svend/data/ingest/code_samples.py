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

import os
from typing import Any, Iterable, Mapping

from svend.data.schema import iter_jsonl, write_jsonl

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
    """Validate and write samples to ``path`` atomically; returns the number written."""
    return write_jsonl(path, samples, validate_code_sample, CodeSampleError)


def read_code_samples(path: str | os.PathLike) -> list[dict]:
    """Read and validate ``code_samples.jsonl``; blank lines are skipped."""
    return [sample for _, sample in iter_jsonl(path, validate_code_sample, CodeSampleError, "code samples file")]
