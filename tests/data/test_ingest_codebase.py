"""Codebase ingestion: what the walker leaves out (and says why), and chunks that know where they are."""

from __future__ import annotations

import json

import pytest

from svend.data.ingest.chunking import chunk_source, split_lines
from svend.data.ingest.code_samples import CodeSampleError, read_code_samples, validate_code_sample, write_code_samples
from svend.data.ingest.codebase import ingest_codebase
from svend.data.ingest.report import Deduper, Report
from svend.data.ingest.secrets import secret_content, secret_name
from svend.data.ingest.settings import IngestSettings
from tests.data.fixtures.ingest.build import FIXTURES, build_codebase, ingest_config

MYPROJ = FIXTURES / "codebase" / "myproj"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codebase")
    root = build_codebase(tmp)
    settings = IngestSettings.from_cfg(ingest_config(tmp, codebases=[root]).ingest)
    report = Report()
    samples, stats = ingest_codebase(root, "myproj", settings, report, Deduper())
    return samples, stats, report


def test_walker_skips_vendored_binary_secret_and_generated_files_with_reasons(ingested):
    samples, stats, report = ingested
    whole = {s.file: (s.reason, s.detail) for s in report.skips if s.item is None}
    assert {f: r for f, (r, _) in whole.items()} == {
        "myproj/.venv": "excluded_dir",
        "myproj/dist": "excluded_dir",
        "myproj/node_modules": "excluded_dir",
        "myproj/py311": "excluded_dir",  # a virtualenv by its pyvenv.cfg, whatever the name
        "myproj/vendor": "excluded_dir",
        "myproj/src/__pycache__": "excluded_dir",
        "myproj/.env": "secret",
        "myproj/deploy/server.key": "secret",
        "myproj/config/credentials.json": "secret",
        "myproj/src/aws_settings.py": "secret",
        "myproj/package-lock.json": "excluded_file",
        "myproj/static/app.min.js": "excluded_file",
        "myproj/src/proto/messages_pb2.py": "excluded_file",
        "myproj/assets/logo.png": "binary",
        "myproj/assets/blob.js": "binary",
        "myproj/src/latin1.py": "not_utf8",
        "myproj/static/vendor-bundle.js": "generated",
        "myproj/src/generated_client.py": "generated",
        "myproj/data/dump.sql": "too_large",
        "myproj/docs/notes.txt": "unknown_language",
        "myproj/src/__init__.py": "empty",
        "myproj/src/link.py": "symlink",
    }
    assert whole["myproj/py311"][1] == "a Python virtualenv (has pyvenv.cfg)"
    assert whole["myproj/src/aws_settings.py"][1] == "content: AWS access key id at line 4"
    assert whole["myproj/deploy/server.key"][1] == "name matches '*.key'"
    assert whole["myproj/config/credentials.json"][1] == "name word 'credentials'"
    # Reasons never quote the secret itself.
    assert not any("AKIA" in s.detail or "hunter2" in s.detail for s in report.skips)

    paths = {s["path"] for s in samples}
    assert paths == {"README.md", "config/settings.yaml", "deploy/README.md", "scripts/deploy", "src/legacy.py",
                     "src/server.ts", "src/shapes.py", "src/util.py"}
    text = "\n".join(s["text"] for s in samples)
    for leaked in ("AKIA", "PRIVATE KEY", "hunter2", "leftpad", "PY3 = True", "virtualenv file", "DO NOT EDIT"):
        assert leaked not in text
    assert stats["files_chunked"] == len(paths) + 1  # + tools/copy_of_util.py, whose chunks are all duplicates
    assert stats["languages"] == {"markdown": {"files": 2, "chunks": 2}, "python": {"files": 4, "chunks": 16},
                                  "shell": {"files": 1, "chunks": 1}, "typescript": {"files": 1, "chunks": 4},
                                  "yaml": {"files": 1, "chunks": 1}}


def test_copied_module_is_dropped_as_duplicate_and_short_chunks_are_reported(ingested):
    samples, _, report = ingested
    duplicates = [(s.file, s.item, s.detail) for s in report.skips if s.reason == "duplicate"]
    assert duplicates == [
        ("myproj/tools/copy_of_util.py", "lines 1-1", "same code as myproj/src/util.py:1-1"),
        ("myproj/tools/copy_of_util.py", "lines 4-8", "same code as myproj/src/util.py:4-8"),
        ("myproj/tools/copy_of_util.py", "lines 11-13", "same code as myproj/src/util.py:11-13"),
    ]
    short = [(s.file, s.item) for s in report.skips if s.reason == "too_short"]
    assert short == [("myproj/src/shapes.py", "lines 59-59")]  # `border: int = 0`


def test_python_is_chunked_by_definitions_with_class_names_for_methods(ingested):
    samples, _, _ = ingested
    shapes = [(s["start_line"], s["end_line"], s["symbol"], s["kind"]) for s in samples if s["path"] == "src/shapes.py"]
    assert shapes == [
        (1, 8, None, "module"),
        (11, 13, "cached", "function"),
        (16, 21, "regular_area", "function"),  # the comment and decorator above belong to it
        (24, 30, "Point", "class"),  # fits in chunk_lines=20: one chunk
        (33, 36, "Canvas", "class"),  # too long: header + docstring + attribute ...
        (38, 43, "Canvas.__init__", "method"),  # ... then each method
        (45, 48, "Canvas.line", "method"),
        (50, 54, "Canvas.polygon", "method"),
        (56, 57, "Canvas._clip", "method"),
        (61, 63, "Canvas.area", "method"),
        (66, 69, "Layer", "class"),
        (72, 75, None, "module"),
    ]
    lines = (MYPROJ / "src" / "shapes.py").read_text().split("\n")
    line = next(s for s in samples if s["symbol"] == "Canvas.line")
    assert line["text"] == "\n".join(lines[44:48])
    assert line["text"].startswith("    # Lines are clipped") and line["id"] == "myproj/src/shapes.py:45-48"
    assert all(s["language"] == "python" and s["codebase"] == "myproj" for s in samples if s["path"] == "src/shapes.py")


def test_brace_language_windows_overlap_and_name_the_enclosing_definition(ingested):
    samples, _, _ = ingested
    ts = [(s["start_line"], s["end_line"], s["symbol"]) for s in samples if s["path"] == "src/server.ts"]
    # 20-line windows sharing 4 lines; braces inside strings ("{") and comments (} ) do not count.
    assert ts == [(1, 20, None), (17, 36, "Router.add"), (33, 52, "Router.match"), (49, 61, "health")]
    deploy = next(s for s in samples if s["path"] == "scripts/deploy")
    assert deploy["language"] == "shell" and deploy["start_line"] == 1 and deploy["end_line"] == 10  # by its #! line


def test_unparseable_python_falls_back_to_windows_with_indentation_symbols(ingested):
    samples, stats, _ = ingested
    legacy = [(s["start_line"], s["end_line"], s["symbol"], s["kind"]) for s in samples if s["path"] == "src/legacy.py"]
    assert legacy == [(1, 9, None, "window")]
    (fallback,) = stats["python_parse_fallbacks"]
    assert fallback["path"] == "src/legacy.py" and "at line 6" in fallback["reason"]
    chunks, reason = chunk_source(["class Greeter:", "    def greet(self):", '        print "hi"', "", "    def shout(self):",
                                   '        print "HI"'], "python", 2, 0)
    assert reason is not None and [(c.start, c.end, c.symbol) for c in chunks] == [
        (1, 2, "Greeter"), (3, 3, "Greeter.greet"), (5, 6, "Greeter.shout")]


def test_long_function_is_windowed_keeping_its_symbol():
    lines = split_lines((MYPROJ / "src" / "shapes.py").read_text())
    chunks, reason = chunk_source(lines, "python", 4, 1)
    assert reason is None
    assert [(c.start, c.end, c.symbol) for c in chunks if c.symbol == "regular_area"] == [
        (16, 19, "regular_area"), (19, 21, "regular_area")]


def test_markdown_windows_carry_the_heading_path_and_ignore_fenced_hashes():
    lines = split_lines((MYPROJ / "README.md").read_text())
    chunks, _ = chunk_source(lines, "markdown", 5, 1)
    assert [(c.start, c.end, c.symbol) for c in chunks] == [
        (1, 5, "myproj"), (5, 9, "myproj > Install"), (9, 12, "myproj > Install"), (14, 14, "myproj > Usage")]


def test_languages_setting_restricts_what_is_chunked(tmp_path):
    root = build_codebase(tmp_path)
    settings = IngestSettings.from_cfg(ingest_config(tmp_path, codebases=[root], languages=["typescript"]).ingest)
    report = Report()
    samples, _ = ingest_codebase(root, "myproj", settings, report, Deduper())
    assert {s["path"] for s in samples} == {"src/server.ts"}
    assert {s.file for s in report.skips if s.reason == "language_not_selected"} >= {
        "myproj/src/shapes.py", "myproj/README.md", "myproj/scripts/deploy"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("key = '''\n-----BEGIN OPENSSH " + "PRIVATE KEY-----\nabc\n'''", "private key block at line 2"),
        ("token = 'ghp_" + "a" * 36 + "'", "GitHub token at line 1"),
        ("client = OpenAI(api_key='sk-" + "proj-" + "A1b2" * 6 + "')", "OpenAI/Anthropic API key at line 1"),
        ('\n\nDB_PASSWORD = "s3cr3tPassw0rd99"\n', "hard-coded credential assignment at line 3"),
        ('password = "your-password-here-123"', None),  # a placeholder
        ('api_key = os.environ["API_KEY"]', None),  # read from the environment
        ('password: "${DB_PASSWORD}"', None),
        ("def tokenize(text): return text.split()", None),
    ],
)
def test_secret_content(text, found):
    assert secret_content(text) == found


def test_secret_names_only_use_words_where_asked():
    patterns, words = [".env", ".env.*", "*.pem", "id_rsa*"], ["secret", "token", "credentials"]
    assert secret_name(".env.production", patterns, words, check_words=True) == "name matches '.env.*'"
    assert secret_name("ID_RSA.pub", patterns, words, check_words=True) == "name matches 'id_rsa*'"
    assert secret_name("client_secret_123.json", patterns, words, check_words=True) == "name word 'secret'"
    assert secret_name("token.yaml", patterns, words, check_words=True) == "name word 'token'"
    assert secret_name("token.py", patterns, words, check_words=False) is None  # code: judged by its content
    assert secret_name("tokenizer.json", patterns, words, check_words=True) is None  # a whole word only


def _sample(**changes):
    sample = {"id": "p/a.py:3-4", "codebase": "p", "path": "a.py", "language": "python", "start_line": 3,
              "end_line": 4, "symbol": None, "kind": "function", "text": "def f():\n    return 1"}
    return {**sample, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_line": 5}, '"text" has 2 lines but the range 3-5 has 3'),
        ({"start_line": 0}, "line range 0-4 is not 1 <= start_line <= end_line"),
        ({"kind": "lambda"}, '"kind" must be one of module, function, class, method, window'),
        ({"symbol": 3}, '"symbol" must be string or null, got int'),
        ({"start_line": True}, '"start_line" must be int, got bool'),
        ({"extra": 1}, "unknown field(s) extra"),
        ({"text": "  \n "}, '"text" is empty'),
    ],
)
def test_code_sample_schema_names_what_is_wrong(changes, message):
    validate_code_sample(_sample())
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_code_sample(_sample(**changes))


def test_code_samples_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "code_samples.jsonl"
    assert write_code_samples(path, [_sample(), _sample(id="p/a.py:3-4b")]) == 2
    assert read_code_samples(path) == [_sample(), _sample(id="p/a.py:3-4b")]
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + json.dumps(_sample(end_line=9)) + "\n")
    with pytest.raises(CodeSampleError, match=r"code_samples.jsonl:2: \"text\" has 2 lines"):
        read_code_samples(path)
    path.write_text(lines[0] + "\n{oops\n")
    with pytest.raises(CodeSampleError, match=r"code_samples.jsonl:2: invalid JSON"):
        read_code_samples(path)
    with pytest.raises(CodeSampleError, match=r"record 2: missing \"text\""):
        write_code_samples(tmp_path / "other.jsonl", [_sample(), {k: v for k, v in _sample().items() if k != "text"}])
