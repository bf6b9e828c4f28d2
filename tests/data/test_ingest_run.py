"""`svend.data.ingest.run`: every output written at once, described in metadata.json, the same on every
run, and bad settings refused before any work starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import svend.data.ingest as ingest
from svend.config import CONF_DIR
from svend.data.ingest import IngestError, run
from svend.data.ingest.code_samples import read_code_samples
from svend.data.schema import read_jsonl
from tests.conftest import run_cli
from tests.data.fixtures.ingest.build import FIXTURES, build_broken_vscdb, build_codebase, build_cursor, ingest_config

OUTPUTS = ["code_samples.jsonl", "instruction_pairs.jsonl", "refinements.jsonl", "metadata.json"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    return {
        "codebases": [build_codebase(tmp)],
        "chat_exports": [FIXTURES / "claude", FIXTURES / "claude_truncated", FIXTURES / "gemini",
                         FIXTURES / "gemini_wrong_structure", FIXTURES / "cursor", build_cursor(tmp), build_broken_vscdb(tmp)],
    }


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_writes_all_outputs_and_a_complete_summary(tmp_path, inputs, capsys):
    summary = run(ingest_config(tmp_path, **inputs))
    out = tmp_path / "data" / "ingested"  # ${paths.data_dir}/ingested
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert json.loads((out / "metadata.json").read_text()) == summary

    samples = read_code_samples(out / "code_samples.jsonl")
    pairs = read_jsonl(out / "instruction_pairs.jsonl")
    refinements = read_jsonl(out / "refinements.jsonl")
    assert len(samples) == summary["outputs"]["code_samples.jsonl"]["records"] == 24
    # Cursor: 2 pairs from the JSON dumps, 1 more from the databases (which repeat the dumps' 2: duplicates).
    assert summary["outputs"]["instruction_pairs.jsonl"]["by_source"] == {"claude": 6, "cursor": 3, "gemini": 2}
    assert summary["outputs"]["refinements.jsonl"]["by_source"] == {"claude": 1, "cursor": 1, "gemini": 1}
    assert len(pairs) == 11 and len(refinements) == 3
    assert summary["outputs"]["code_samples.jsonl"]["by_language"] == {
        "markdown": 2, "python": 16, "shell": 1, "typescript": 4, "yaml": 1}
    assert sum(summary["skipped_by_reason"].values()) == len(summary["skipped"])
    assert summary["skipped_by_reason"]["malformed_file"] == 3  # truncated JSON, wrong structure, not a database
    assert summary["config"]["chunk_lines"] == 20 and summary["config"]["out_dir"] == str(out)
    assert summary["codebases"][0]["name"] == "myproj" and summary["codebases"][0]["chunks"] == 24
    claude = next(f for e in summary["chat_exports"] for f in e["files"] if f["file"].endswith("claude/conversations.json"))
    assert claude["format"] == "claude" and claude["instruction_pairs"] == 6 and claude["refinements"] == 1

    printed = capsys.readouterr().out
    assert f"svend-data ingest → {out}" in printed
    assert "instruction_pairs.jsonl       11 user → assistant pairs (claude 6, cursor 3, gemini 2)" in printed
    assert "e.g. myproj/.env: name matches '.env'" in printed
    assert "not a readable SQLite database: file is not a database" in printed


def test_same_inputs_give_identical_outputs(tmp_path, inputs):
    first = run(ingest_config(tmp_path / "a", **inputs))
    second = run(ingest_config(tmp_path / "b", **inputs))
    a, b = snapshot(tmp_path / "a" / "data" / "ingested"), snapshot(tmp_path / "b" / "data" / "ingested")
    for name in OUTPUTS[:3]:
        assert a[name] == b[name] and a[name]
    for summary in (first, second):
        del summary["out_dir"], summary["config"]["out_dir"]
    assert first == second


def test_interrupted_write_leaves_the_previous_output_whole(tmp_path, inputs, monkeypatch):
    cfg = ingest_config(tmp_path, **inputs)
    run(cfg)
    out = tmp_path / "data" / "ingested"
    before = snapshot(out)

    real = ingest.write_jsonl

    def fail_midway(path, records):
        real(path, list(records)[:1])
        raise KeyboardInterrupt  # the user pressed Ctrl-C while the outputs were being written

    monkeypatch.setattr(ingest, "write_jsonl", fail_midway)
    with pytest.raises(KeyboardInterrupt):
        run(cfg)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["ingested"]  # no temporary folder left behind


def test_a_folder_ingest_did_not_write_is_never_replaced(tmp_path, inputs):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    with pytest.raises(IngestError, match=r"ingest.out_dir: .*mine holds files an ingest run did not write"):
        run(ingest_config(tmp_path, codebases=inputs["codebases"], out_dir=str(out)))
    assert (out / "thesis.tex").read_text() == "months of work"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"chunk_line": 10}, r"unknown key ingest.chunk_line \(did you mean ingest.chunk_lines\?\)"),
        ({"overlap_lines": 20}, r"ingest.overlap_lines \(20\) must be smaller than ingest.chunk_lines \(20\)"),
        ({"chunk_lines": 0}, r"ingest.chunk_lines must be an integer >= 1, got 0"),
        ({"max_file_kb": -1}, r"ingest.max_file_kb must be a positive number, got -1"),
        ({"codebases": ["/no/such/project"]}, r"ingest.codebases\[0\]: /no/such/project is not a folder"),
        ({"chat_exports": ["/no/such/export.zip"]}, r"ingest.chat_exports\[0\]: /no/such/export.zip does not exist"),
        ({"chat_exports": [{"path": "/x", "format": "chatgpt"}]},
         r"ingest.chat_exports\[0\].format must be one of claude, gemini, cursor, got 'chatgpt'"),
        ({"languages": "python"}, r"ingest.languages must be a list of strings, got 'python'"),
        ({}, r"nothing to ingest: set ingest.codebases=\[/path/to/project\]"),
    ],
)
def test_bad_settings_fail_before_any_work_naming_the_key(tmp_path, overrides, message):
    with pytest.raises(IngestError, match=message):
        run(ingest_config(tmp_path, **overrides))
    assert not (tmp_path / "data").exists()


def test_the_config_option_is_a_hydra_package():
    text = (CONF_DIR / "ingest" / "default.yaml").read_text()
    assert text.startswith("# @package ingest\n")


def test_cli(tmp_path):
    bad = run_cli(["svend-data", "ingest", f"paths.root_dir={tmp_path}", "ingest.codebases=[/no/such/project]"],
                  cwd=tmp_path, timeout=300)
    assert bad.returncode == 2 and "svend-data ingest: ingest.codebases[0]: /no/such/project is not a folder" in bad.stderr
    assert "Traceback" not in bad.stderr
    project = build_codebase(tmp_path)
    result = run_cli(["svend-data", "ingest", f"paths.root_dir={tmp_path}", f"ingest.codebases=[{project}]",
                      f"ingest.chat_exports=[{FIXTURES / 'claude'},{FIXTURES / 'claude_truncated'}]"], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "data" / "ingested"
    assert f"svend-data ingest → {out}" in result.stdout
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["outputs"]["instruction_pairs.jsonl"]["records"] == 6
    assert metadata["skipped_by_reason"]["malformed_file"] == 1
    assert len(read_code_samples(out / "code_samples.jsonl")) > 0
