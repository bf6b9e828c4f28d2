"""Which language a file is written in, from its name (or its ``#!`` line), and what kind of text it is.

The language decides how a file is chunked (Python by its syntax tree, brace languages with a
definition tracker, Markdown by headings) and is recorded on every code sample. A file whose type is
not listed here is skipped and reported as ``unknown_language`` rather than guessed at: training on a
CSV dump or a log file as if it were code does more harm than leaving it out.

Kinds: ``code`` (a programming language), ``config`` (JSON, YAML, TOML …) and ``docs`` (Markdown,
reStructuredText). Secret-looking name *words* are only checked for config and docs files (secrets.py).
"""

from __future__ import annotations

import re
from pathlib import PurePath

# extension (lower case, without the dot) -> language
EXTENSIONS: dict[str, str] = {
    "py": "python", "pyi": "python", "pyw": "python",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "tsx": "typescript", "mts": "typescript", "cts": "typescript",
    "java": "java", "kt": "kotlin", "kts": "kotlin", "scala": "scala", "groovy": "groovy", "gradle": "groovy",
    "go": "go", "rs": "rust", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp", "cu": "cuda", "cuh": "cuda",
    "cs": "csharp", "swift": "swift", "m": "objective-c", "mm": "objective-c", "dart": "dart",
    "php": "php", "rb": "ruby", "pl": "perl", "pm": "perl", "lua": "lua", "r": "r", "jl": "julia",
    "ex": "elixir", "exs": "elixir", "erl": "erlang", "hs": "haskell", "ml": "ocaml", "mli": "ocaml",
    "clj": "clojure", "cljs": "clojure", "zig": "zig", "nim": "nim", "sol": "solidity",
    "sh": "shell", "bash": "shell", "zsh": "shell", "fish": "shell", "ps1": "powershell",
    "sql": "sql", "proto": "protobuf", "graphql": "graphql", "gql": "graphql", "tf": "hcl", "hcl": "hcl",
    "html": "html", "htm": "html", "vue": "vue", "svelte": "svelte",
    "css": "css", "scss": "scss", "sass": "scss", "less": "less",
    "json": "json", "jsonc": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "xml": "xml",
    "ini": "ini", "cfg": "ini",
    "md": "markdown", "markdown": "markdown", "mdx": "markdown", "rst": "rst", "tex": "latex",
}
# whole file names (exact) -> language
FILENAMES: dict[str, str] = {
    "Dockerfile": "dockerfile", "Containerfile": "dockerfile", "Makefile": "make", "GNUmakefile": "make",
    "CMakeLists.txt": "cmake", "Jenkinsfile": "groovy", "Rakefile": "ruby", "Gemfile": "ruby",
    "Vagrantfile": "ruby", "BUILD": "starlark", "BUILD.bazel": "starlark", "WORKSPACE": "starlark",
    "Justfile": "make", "justfile": "make",
}
# interpreter named on a `#!` line -> language (for scripts without an extension)
SHEBANGS: dict[str, str] = {
    "python": "python", "python3": "python", "node": "javascript", "deno": "typescript", "bash": "shell",
    "sh": "shell", "zsh": "shell", "dash": "shell", "ruby": "ruby", "perl": "perl", "php": "php", "lua": "lua",
}
CONFIG = {"json", "yaml", "toml", "xml", "ini"}
DOCS = {"markdown", "rst", "latex"}
# Languages whose blocks are delimited by braces: their definitions are tracked by brace depth.
BRACES = {
    "javascript", "typescript", "java", "kotlin", "scala", "groovy", "go", "rust", "c", "cpp", "cuda",
    "csharp", "swift", "objective-c", "dart", "php", "zig", "solidity", "shell", "powershell", "hcl",
}

_SHEBANG = re.compile(r"^#!\s*(?:/usr/bin/env\s+(?:-S\s+)?)?(?:\S*/)?([A-Za-z]+[0-9.]*)")


def kind(language: str) -> str:
    """``config``, ``docs`` or ``code``."""
    return "config" if language in CONFIG else "docs" if language in DOCS else "code"


def language_from_name(name: str) -> str | None:
    if name in FILENAMES:
        return FILENAMES[name]
    suffix = PurePath(name).suffix
    return EXTENSIONS.get(suffix[1:].lower()) if suffix else None


def language_from_shebang(first_line: str) -> str | None:
    match = _SHEBANG.match(first_line)
    if not match:
        return None
    interpreter = match.group(1)
    return SHEBANGS.get(interpreter) or SHEBANGS.get(interpreter.rstrip("0123456789."))
