"""Chat exports: each format read from realistic fixtures, corrupted files reported and skipped while the
rest is processed, and correction chains found only where the user really corrected an answer."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from svend.data.ingest.conversation import Turn
from svend.data.ingest.exports import ingest_chats
from svend.data.ingest.gemini import html_to_text
from svend.data.ingest.refinements import CorrectionDetector, find_refinements
from svend.data.ingest.report import Report
from svend.data.ingest.settings import IngestSettings
from svend.data.schema import validate_record
from tests.data.fixtures.ingest.build import FIXTURES, build_broken_vscdb, build_cursor, ingest_config

CLAUDE = FIXTURES / "claude"
GEMINI = FIXTURES / "gemini"
GEMINI_JSON = GEMINI / "Takeout" / "My Activity" / "Gemini Apps" / "MyActivity.json"
CURSOR = FIXTURES / "cursor"


def chats(tmp_path, *exports):
    settings = IngestSettings.from_cfg(ingest_config(tmp_path, chat_exports=list(exports)).ingest)
    report = Report()
    pairs, refinements, stats = ingest_chats(settings, report)
    for record in pairs + refinements:
        validate_record(record)  # every record is a valid Svend chat record
    return pairs, refinements, stats, report


def lineages(records):
    return [r["metadata"]["lineage_id"] for r in records]


def skips(report, reason=None):
    return [(s.source, s.file.rsplit("/", 1)[-1], s.item, s.reason) for s in report.skips if reason in (None, s.reason)]


def test_claude_export_folder(tmp_path):
    pairs, refinements, stats, report = chats(tmp_path, CLAUDE)
    c = "claude:5f0c1a2e-000{}-4a6b-9d1e-00000000000{}:{}".format
    assert lineages(pairs) == [c(1, 1, "m-0001-02"), c(1, 1, "m-0001-04"), c(2, 2, "m-0002-06"), c(3, 3, "m-0003-02"),
                               c(7, 7, "m-0007-02"), c(7, 7, "m-0007-04")]
    first = pairs[0]
    assert first["metadata"] == {"source": "claude", "conversation_id": "5f0c1a2e-0001-4a6b-9d1e-000000000001",
                                 "title": "Vectorize a NumPy loop", "lineage_id": c(1, 1, "m-0001-02"),
                                 "created_at": "2024-03-04T09:12:09.000000Z"}
    # `text` was empty: the text parts of `content` are joined, the tool_use part is left out.
    assert first["messages"][1]["content"] == (
        "Use elementwise operations on whole arrays:\n\n```python\nout = a * b + c\n```\n\n"
        "NumPy applies `*` and `+` element by element, so no Python loop is needed.")
    assert pairs[3]["messages"][0]["content"] == (
        "Summarize the attached notes in one sentence.\n\n[Attached file: notes.txt]\n"
        "Meeting: ship v2 on Friday. Anna owns the release notes.")

    (refinement,) = refinements
    assert [m["role"] for m in refinement["messages"]] == ["user", "assistant", "user", "assistant"]
    question, first_answer, correction, revised = (m["content"] for m in refinement["messages"])
    assert question.startswith("What is the VAT on an invoice of 1,250 EUR")
    assert "252.50" in first_answer and correction.startswith("That\u2019s wrong") and "262.50 EUR" in revised
    assert refinement["metadata"]["correction_cue"] == "that's wrong"
    assert refinement["metadata"]["lineage_id"] == c(2, 2, "m-0002-04")
    assert refinement["metadata"]["parent_lineage_id"] == c(2, 2, "m-0002-02")
    # The corrected answer is not an instruction pair, and neither is the correction.
    assert c(2, 2, "m-0002-02") not in lineages(pairs) and c(2, 2, "m-0002-04") not in lineages(pairs)

    assert skips(report) == [  # in the order they were met
        ("claude", "conversations.json", c(3, 3, "m-0003-04"), "too_short"),  # "You're welcome!"
        ("claude", "conversations.json", "conversation 3 (5f0c1a2e-0004-4a6b-9d1e-000000000004) message 0", "malformed_record"),
        ("claude", "conversations.json", "conversation 3 (5f0c1a2e-0004-4a6b-9d1e-000000000004) message 4", "malformed_record"),
        ("claude", "conversations.json", "conversation 4 (5f0c1a2e-0005-4a6b-9d1e-000000000005)", "malformed_record"),
        ("claude", "conversations.json", c(6, 6, "m-0006-02"), "duplicate"),
        ("chat_export", "users.json", None, "unknown_format"),  # the export's account file: not chats
    ]
    assert report.skips[1].detail == '"text" must be a string, got a number (42)'
    assert report.skips[2].detail == "unknown sender 'bot'"
    assert report.skips[3].detail == '"chat_messages" must be a list, got null'
    assert report.skips[4].detail == f"same messages as {c(1, 1, 'm-0001-02')}"
    (entry,) = stats["exports"]
    conversations = next(f for f in entry["files"] if f["file"].endswith("conversations.json"))
    assert conversations["conversations"] == 6 and conversations["instruction_pairs"] == 6
    assert conversations["refinements"] == 1 and conversations["empty_turns"] == 1


def test_each_corrupted_file_is_reported_and_the_rest_is_processed(tmp_path):
    broken_db = build_broken_vscdb(tmp_path)
    pairs, refinements, _, report = chats(
        tmp_path, FIXTURES / "claude_truncated", CLAUDE, FIXTURES / "gemini_wrong_structure", GEMINI,
        broken_db, FIXTURES / "gemini_html", CURSOR / "chatdata.json")
    files = [(s.source, s.reason, s.detail) for s in report.skips if s.item is None and s.reason != "unknown_format"]
    assert files == [
        ("claude", "malformed_file", "invalid JSON at line 211 column 13: Unterminated string starting at"),
        ("gemini", "malformed_file", "expected a JSON list of activity items (Takeout's MyActivity.json), got an object"),
        ("cursor", "malformed_file", "not a readable SQLite database: file is not a database"),
        ("gemini", "unsupported_format",
         "Takeout's HTML activity is not read: re-export My Activity → Gemini Apps with format JSON"),
    ]
    assert {r["metadata"]["source"] for r in pairs} == {"claude", "gemini", "cursor"}
    assert (len(pairs), len(refinements)) == (6 + 2 + 1, 1 + 1 + 1)


def test_gemini_takeout_sessions_and_html(tmp_path):
    pairs, refinements, _, report = chats(tmp_path, GEMINI)
    assert [(p["metadata"]["conversation_id"], p["messages"][0]["content"]) for p in pairs] == [
        ("2024-04-28T07:00:00.000Z", "How many bits are in a byte?"),
        ("2024-05-01T11:00:00.000Z", "Write a Python function that reverses a string."),
    ]
    assert pairs[1]["messages"][1]["content"] == (
        "Here is one way & it is short:\n\n```\ndef reverse(s: str) -> str:\n    return s[::-1]\n```\n\n"
        "- Slicing with a step of `-1` walks backwards.\n- It works for any sequence.")
    (refinement,) = refinements  # two prompts two minutes apart: one session, the second corrects the first
    assert refinement["metadata"]["conversation_id"] == "2024-05-02T09:01:00.100Z"
    assert [m["content"] for m in refinement["messages"]] == [
        "What is the capital of Australia?", "The capital of Australia is Sydney.",
        "No, that's wrong. Sydney is not the capital of Australia.",
        "You're right, I apologize. The capital of Australia is Canberra, not Sydney.",
    ]
    assert refinement["metadata"]["correction_cue"] == "no,"
    assert skips(report) == [
        ("gemini", "MyActivity.json", "item 2 (2024-05-01T12:00:00.000Z)", "not_a_prompt"),
        ("gemini", "MyActivity.json", "item 4 (2024-04-30T08:00:00.000Z)", "no_response"),
        ("gemini", "MyActivity.json", "item 5 (2024-04-29T08:00:00.000Z)", "malformed_record"),
    ]


def test_gemini_session_gap_is_a_setting(tmp_path):
    settings = IngestSettings.from_cfg(ingest_config(tmp_path, chat_exports=[GEMINI], gemini_session_gap_minutes=1).ingest)
    pairs, refinements, _ = ingest_chats(settings, Report())
    assert refinements == []  # 2 minutes apart is now two conversations: the correction stands alone
    assert "No, that's wrong. Sydney is not the capital of Australia." in [p["messages"][0]["content"] for p in pairs]


def test_cursor_json_dumps(tmp_path):
    pairs, refinements, _, report = chats(tmp_path, CURSOR)
    assert lineages(pairs) == ["cursor:3b1f6c7e-tab-0003:a-3", "cursor:c7d2-inline-0001:b-0002"]
    assert pairs[1]["metadata"]["title"] == "Type hints for parse_config"
    assert pairs[1]["metadata"]["created_at"] == "2024-04-26T08:00:00+00:00"
    (refinement,) = refinements
    assert refinement["metadata"]["correction_cue"] == "not quite"
    assert refinement["messages"][2]["content"].startswith("Not quite: it accepts a trailing dot")
    assert skips(report) == [
        ("cursor", "chatdata.json", "tab 1 (3b1f6c7e-tab-0002)", "malformed_record"),
        ("cursor", "chatdata.json", "tab 2 (3b1f6c7e-tab-0003) message 2", "malformed_record"),
    ]


def test_cursor_databases_in_all_three_layouts(tmp_path):
    user = build_cursor(tmp_path)
    pairs, refinements, stats, report = chats(tmp_path, user)
    # globalStorage first (sorted): the inline composer, the split one (bubble rows), then the workspace chat panel.
    assert lineages(pairs) == ["cursor:c7d2-inline-0001:b-0002", "cursor:c7d2-split-0002:s-2", "cursor:3b1f6c7e-tab-0003:a-3"]
    assert pairs[1]["messages"][0]["content"] == "Why does my React effect run twice in development?"
    assert lineages(refinements) == ["cursor:3b1f6c7e-tab-0001:a-2"]
    found = [(s.file.split("/User/")[-1], s.item, s.reason) for s in report.skips]
    assert found == [
        ("globalStorage/state.vscdb", "cursorDiskKV key composerData:c7d2-broken-0004", "malformed_record"),
        ("globalStorage/state.vscdb", "cursorDiskKV key composerData:c7d2-split-0002", "malformed_record"),
        ("workspaceStorage/9f1e2d3c4b5a/state.vscdb", "tab 1 (3b1f6c7e-tab-0002)", "malformed_record"),
        ("workspaceStorage/9f1e2d3c4b5a/state.vscdb", "tab 2 (3b1f6c7e-tab-0003) message 2", "malformed_record"),
        ("workspaceStorage/9f1e2d3c4b5a/workspace.json", None, "unknown_format"),
        ("workspaceStorage/9f1e2d3c4b5a/state.vscdb", "composer 2 (c7d2-lost-0003)", "no_messages"),
    ]
    assert "invalid JSON in value" in report.skips[0].detail
    assert "bubble 's-missing'" in report.skips[1].detail
    (entry,) = stats["exports"]
    assert entry["files_not_considered"] == 1  # state.vscdb.backup


def test_database_inside_the_run_resolves_what_a_workspace_lists(tmp_path):
    user = build_cursor(tmp_path)
    _, _, _, report = chats(tmp_path, user / "workspaceStorage")
    lost = sorted(s.item for s in report.skips if s.reason == "no_messages")
    assert lost == ["composer 0 (c7d2-inline-0001)", "composer 1 (c7d2-split-0002)", "composer 2 (c7d2-lost-0003)"]


def test_zip_explicit_format_and_chatgpt(tmp_path):
    archive = tmp_path / "data-2024-03-11.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(CLAUDE / "conversations.json", "conversations.json")
    pairs, _, _, _ = chats(tmp_path, archive)
    from_folder, _, _, _ = chats(tmp_path / "f", CLAUDE)
    assert pairs == from_folder

    renamed = tmp_path / "export.json"
    shutil.copy(CURSOR / "composer.json", renamed)
    pairs, _, _, _ = chats(tmp_path, {"path": str(renamed), "format": "cursor"})
    assert lineages(pairs) == ["cursor:c7d2-inline-0001:b-0002"]
    # The stated format wins over the content: a Claude file read as Gemini has no valid activity items.
    _, _, _, report = chats(tmp_path, {"path": str(CLAUDE / "conversations.json"), "format": "gemini"})
    assert {(s.source, s.reason) for s in report.skips} == {("gemini", "malformed_record")}

    chatgpt = tmp_path / "chatgpt" / "conversations.json"
    chatgpt.parent.mkdir()
    chatgpt.write_text(json.dumps([{"title": "Hi", "mapping": {}, "create_time": 1.0}]))
    _, _, _, report = chats(tmp_path, chatgpt.parent)
    assert skips(report) == [("chat_export", "conversations.json", None, "unsupported_format")]


# ---------------------------------------------------------------------------------- correction chains

DETECTOR = CorrectionDetector(
    start=["no,", "nope", "actually", "wrong", "fix", "not quite"],
    anywhere=["that's wrong", "you made a mistake", "incorrect", "still wrong"],
)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("That\u2019s wrong, the answer is 12.", "that's wrong"),
        ("No, I meant the net amount.", "no,"),
        ("  **Actually** the file is UTF-16.", "actually"),
        ("fix it: the loop never ends", "fix"),
        ("I think you made a mistake in step 2.", "you made a mistake"),
        ("Now do the same for 9%.", None),  # "no" only as a whole word followed by a comma
        ("Can you fix the typo in my README too?", None),  # "fix" counts only at the start
        ("Nothing is wrong with the first part.", None),  # "wrong" counts only at the start
        ("Nopes are not words.", None),
    ],
)
def test_correction_cues(text, cue):
    assert DETECTOR.cue(text) == cue


def turns(*texts):
    return [Turn("user" if i % 2 == 0 else "assistant", t, f"#{i}") for i, t in enumerate(texts)]


def test_a_chain_of_corrections_refers_back_to_the_original_question():
    conversation = turns("What is 17 * 24?", "It is 418.", "No, that is not it.", "Sorry: 398.",
                         "Still wrong.", "You are right: 17 * 24 = 408.", "Thanks, and 17 * 25?", "425.")
    exchanges, refinements, consumed = find_refinements(conversation, DETECTOR)
    assert len(exchanges) == 4 and consumed == {0, 1, 2}
    assert [(r.question.ref, r.first_answer.ref, r.correction.ref, r.revised_answer.ref, r.cue) for r in refinements] == [
        ("#0", "#1", "#2", "#3", "no,"), ("#0", "#3", "#4", "#5", "still wrong")]


def test_a_conversation_without_corrections_has_no_refinements():
    conversation = turns("Fix the failing test in parser.py.", "Parse with float() first.",
                         "Can you also add a docstring?", "Sure, here it is.")
    exchanges, refinements, consumed = find_refinements(conversation, DETECTOR)
    assert len(exchanges) == 2 and refinements == [] and consumed == set()


def test_a_cue_only_counts_right_after_the_answer_it_corrects():
    conversation = [Turn("user", "Sum 2 and 2.", "#0"), Turn("assistant", "5", "#1"), Turn("user", "hello?", "#2"),
                    Turn("user", "No, that is wrong.", "#3"), Turn("assistant", "4, sorry.", "#4")]
    _, refinements, _ = find_refinements(conversation, DETECTOR)
    assert refinements == []


def test_html_to_text_keeps_code_and_structure():
    html = ("<h2>Steps</h2><ol><li>Install</li><li>Run <code>make</code></li></ol>"
            "<pre><code>if x:\n    y()\n</code></pre><p>a &lt; b &amp;&amp; c</p><script>alert(1)</script>")
    assert html_to_text(html) == "## Steps\n\n- Install\n- Run `make`\n\n```\nif x:\n    y()\n```\n\na < b && c"
