"""Cut a source file into chunks that each say where they come from.

A chunk is a line range plus the *enclosing symbol* — the definition the lines belong to — so a
sample read alone still knows it is ``Canvas.draw`` in ``src/shapes.py``. How the symbol is found
depends on the language:

- **Python** is cut along its syntax tree (``ast``): one chunk per top-level function, one per class
  that fits in ``chunk_lines``; a larger class is cut into its methods (``Class.method``) and the
  class-level lines between them (``Class``). Decorators and the comment lines directly above a
  definition belong to it. Lines outside any definition (imports, constants, ``__main__`` blocks)
  form ``module`` chunks. A file that does not parse (Python 2, a syntax error) falls back to
  line windows with an indentation-based symbol, and the caller records that it did.
- **Brace languages** (JS/TS, Java, Go, Rust, C/C++, C#, shell …) are cut into line windows of
  ``chunk_lines`` with ``overlap_lines`` shared between neighbours; the symbol is the stack of
  definitions (``class``/``fn``/``func``/methods …) open at the window's first line, tracked by
  brace depth with strings and comments ignored. It is a heuristic — a brace inside a regex literal
  can confuse it — and it only ever names a symbol, it never changes what text a chunk holds.
- **Markdown** windows carry the heading path (``Install > From source``).
- Everything else (YAML, SQL, HTML …) is cut into windows without a symbol.

Any part longer than ``chunk_lines`` (a long function) is windowed too, keeping its symbol. Chunks
never start or end on blank lines. Line numbers are 1-based and inclusive, counted on ``\\n`` after
``\\r\\n`` and ``\\r`` are made ``\\n`` (what ``ast`` counts).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from svend.data.ingest.languages import BRACES


@dataclass(frozen=True)
class Chunk:
    start: int  # first line, 1-based
    end: int  # last line, inclusive
    symbol: str | None  # enclosing definition: "Canvas.draw", "Install > From source", or None
    kind: str  # "module" | "function" | "class" | "method" (Python) or "window"


def split_lines(text: str) -> list[str]:
    """Lines as ``ast`` numbers them (the last newline does not start a line)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def chunk_source(lines: list[str], language: str, chunk_lines: int, overlap_lines: int) -> tuple[list[Chunk], str | None]:
    """The chunks of a file's ``lines`` (from :func:`split_lines`), and why Python fell back to line
    windows (``None`` when it did not)."""
    fallback = None
    if language == "python":
        try:
            return _python_chunks("\n".join(lines), lines, chunk_lines, overlap_lines), None
        except (SyntaxError, ValueError, RecursionError) as e:
            where = f" at line {e.lineno}" if getattr(e, "lineno", None) else ""
            fallback = f"not parseable as Python 3 ({getattr(e, 'msg', e)}{where}); chunked by line windows"
            symbols = _indent_symbols(lines)
    elif language in BRACES:
        symbols = _brace_symbols(lines, hash_comments=language in {"shell", "powershell", "hcl", "php"})
    elif language == "markdown":
        symbols = _heading_symbols(lines)
    else:
        symbols = [None] * len(lines)
    chunks = [
        Chunk(s, e, symbols[s - 1], "window")
        for s, e in _windows(lines, 1, len(lines), chunk_lines, overlap_lines)
    ]
    return chunks, fallback


def _trim(lines: list[str], start: int, end: int) -> tuple[int, int] | None:
    """``start..end`` without blank lines at either edge; ``None`` if nothing is left."""
    while start <= end and not lines[start - 1].strip():
        start += 1
    while end >= start and not lines[end - 1].strip():
        end -= 1
    return (start, end) if start <= end else None


def _windows(lines: list[str], start: int, end: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """``start..end`` cut into trimmed windows of at most ``size`` lines, neighbours sharing ``overlap``."""
    span = _trim(lines, start, end)
    if span is None:
        return []
    start, end = span
    out = []
    while True:
        stop = min(start + size - 1, end)
        window = _trim(lines, start, stop)
        if window is not None:
            out.append(window)
        if stop >= end:
            return out
        start = stop - overlap + 1


# ---------------------------------------------------------------------------------------------- Python


def _definition_start(node: ast.AST, lines: list[str], floor: int) -> int:
    """First line of a def/class: its decorators, and the comment lines directly above (not past ``floor``)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while start - 1 > floor and lines[start - 2].lstrip().startswith("#"):
        start -= 1
    return start


def _gaps(lines: list[str], start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The trimmed runs of ``start..end`` not covered by the (sorted) ``taken`` ranges."""
    out, cursor = [], start
    for s, e in taken + [(end + 1, end + 1)]:
        span = _trim(lines, cursor, min(s - 1, end))
        if span is not None:
            out.append(span)
        cursor = max(cursor, e + 1)
    return out


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _python_chunks(source: str, lines: list[str], size: int, overlap: int) -> list[Chunk]:
    tree = ast.parse(source)
    parts: list[tuple[int, int, str | None, str]] = []  # before windowing
    taken: list[tuple[int, int]] = []
    floor = 0
    for node in tree.body:
        if not isinstance(node, _DEFS):
            floor = node.end_lineno
            continue
        start, end = _definition_start(node, lines, floor), node.end_lineno
        floor = end
        taken.append((start, end))
        if not isinstance(node, ast.ClassDef):
            parts.append((start, end, node.name, "function"))
        elif end - start + 1 <= size:
            parts.append((start, end, node.name, "class"))
        else:  # too big for one chunk: its methods, and the class-level lines around them
            methods, method_floor = [], node.lineno
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    m_start = _definition_start(member, lines, method_floor)
                    methods.append((m_start, member.end_lineno))
                    parts.append((m_start, member.end_lineno, f"{node.name}.{member.name}", "method"))
                method_floor = member.end_lineno
            for s, e in _gaps(lines, start, end, methods):
                parts.append((s, e, node.name, "class"))
    for s, e in _gaps(lines, 1, len(lines), taken):
        parts.append((s, e, None, "module"))
    chunks = [
        Chunk(ws, we, symbol, kind)
        for s, e, symbol, kind in sorted(parts)
        for ws, we in _windows(lines, s, e, size, overlap)
    ]
    return chunks


_PY_DEF = re.compile(r"\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")


def _indent_symbols(lines: list[str]) -> list[str | None]:
    """For Python that does not parse: the def/class names open at each line, by indentation."""
    stack: list[tuple[int, str]] = []
    out: list[str | None] = []
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            indent = len(line) - len(line.lstrip())
            while stack and stack[-1][0] >= indent:
                stack.pop()
            match = _PY_DEF.match(line)
            if match:
                stack.append((indent, match.group(1)))
        out.append(".".join(name for _, name in stack) or None)
    return out


# -------------------------------------------------------------------------------------- brace languages

_NAME = r"[A-Za-z_$][\w$]*"
_KEYWORD_DEFS = [
    re.compile(rf"\b(?:class|interface|enum|struct|trait|namespace|module|object|record|protocol|extension|union|mod)\s+({_NAME})"),
    re.compile(r"\bimpl(?:<[^>]*>)?\s+(?:[\w:]+(?:<[^>]*>)?\s+for\s+)?([A-Za-z_]\w*)"),  # Rust impl [Trait for] Type
    re.compile(r"\btype\s+([A-Za-z_]\w*)\s+(?:struct|interface)\b"),  # Go
    re.compile(rf"\b(?:function\*?|func|fn|fun|def|sub)\s+(?:\([^)]*\)\s*)?(?:<[^>]*>\s*)?({_NAME})"),
    re.compile(rf"\b(?:const|let|var)\s+({_NAME})\s*(?::[^=]+)?=\s*(?:async\s+)?(?:\([^)]*\)|{_NAME})\s*(?::\s*[^=]+)?=>"),
]
# `name(args) {` / `Type name(args) {` / `name(args)` alone before a brace on the next line.
_CALL_DEF = re.compile(
    r"^\s*(?:[\w$<>\[\],.*&?:~@]+\s+)*?([A-Za-z_$~][\w$~]*)\s*\([^;]*\)\s*"
    r"(?:const\b\s*|throws\s+[\w.,\s]+|:\s*[^{;=]+?|->\s*[^{;=]+?)?\s*(?:\{|$)"
)
_MAX_DEF_LINE = 400  # longer lines are data or minified code, and would make _CALL_DEF backtrack
_CONTROL = {
    "if", "for", "while", "switch", "catch", "return", "else", "do", "try", "new", "sizeof", "with",
    "function", "typeof", "await", "using", "lock", "foreach", "elif", "until", "select", "when",
    "defer", "go", "throw", "case", "delete", "void", "super", "this", "assert", "print",
}


def _code_only(line: str, in_block: bool, hash_comments: bool) -> tuple[str, bool]:
    """``line`` with string contents and comments removed; and whether a /* comment is still open."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_block:
            close = line.find("*/", i)
            if close < 0:
                return "".join(out), True
            i, in_block = close + 2, False
            continue
        c = line[i]
        if line.startswith("/*", i):
            in_block, i = True, i + 2
        elif line.startswith("//", i) or (hash_comments and c == "#"):
            break
        elif c in "\"'`":
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), in_block


def _brace_symbols(lines: list[str], hash_comments: bool) -> list[str | None]:
    """The definitions open at each line (deepest point of the line), tracked by brace depth."""
    stack: list[tuple[str, int]] = []  # (name, depth inside its body)
    depth, pending, pending_age, in_block = 0, None, 0, False
    out: list[str | None] = []
    for line in lines:
        code, in_block = _code_only(line, in_block, hash_comments)
        found = None
        for pattern in _KEYWORD_DEFS:
            match = pattern.search(code)
            if match:
                found = match.group(1)
                break
        if found is None and len(code) <= _MAX_DEF_LINE:
            match = _CALL_DEF.match(code)
            if match and match.group(1) not in _CONTROL:
                found = match.group(1)
        if found is not None:
            pending, pending_age = found, 0
        deepest = list(stack)
        for c in code:
            if c == "{":
                depth += 1
                if pending is not None:
                    stack.append((pending, depth))
                    pending = None
                    if len(stack) > len(deepest):
                        deepest = list(stack)
            elif c == "}":
                if stack and stack[-1][1] == depth:
                    stack.pop()
                depth = max(depth - 1, 0)
        if pending is not None:  # a brace on the next line is still this definition's; later ones are not
            pending_age += 1
            if pending_age > 1 or code.rstrip().endswith(";"):
                pending = None
        out.append(".".join(name for name, _ in deepest) or None)
    return out


# --------------------------------------------------------------------------------------------- Markdown

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _heading_symbols(lines: list[str]) -> list[str | None]:
    stack: list[tuple[int, str]] = []
    fence = None
    out: list[str | None] = []
    for line in lines:
        stripped = line.lstrip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            fence = None if fence == marker else fence or marker
        elif fence is None:
            match = _HEADING.match(line)
            if match:
                level = len(match.group(1))
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, match.group(2)))
        out.append(" > ".join(title for _, title in stack) or None)
    return out
