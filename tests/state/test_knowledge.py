"""Knowledge: normal vs deep retrieval, full-text ranking with weight, any query text, validation, and the
user's corrections imported from `svend-data ingest`'s refinements.jsonl and handed back as training data."""

from __future__ import annotations

import json
import re

import pytest

from svend.data.ingest.conversation import Conversation, Turn, conversation_records
from svend.data.ingest.refinements import CorrectionDetector
from svend.data.schema import RecordError, validate_record, write_jsonl
from svend.state import StateStore
from svend.state.knowledge import CORRECTION_WEIGHT, NEW_WEIGHT, SUPERSEDED_WEIGHT

FILLER = ["Python lists are mutable sequences", "The capital of Norway is Oslo", "Water boils at 100 degrees Celsius",
          "A LoRA adapter adds low-rank matrices to a frozen model", "Git stores snapshots, not diffs",
          "SQLite in WAL mode lets readers and one writer work at once"]


@pytest.fixture
def store(tmp_path):
    with StateStore(tmp_path / "svend.db") as store:
        yield store


def test_normal_retrieval_serves_trusted_knowledge_deep_serves_all(store):
    kb = store.knowledge
    trusted = kb.add("The UK standard VAT rate is 20 percent", kind="fact", source="hmrc", weight=0.8)
    rumour = kb.add("Someone said the VAT rate is going to 25 percent", kind="note", source="chat")
    assert kb.get(rumour)["weight"] == NEW_WEIGHT < 0.5
    assert [r["id"] for r in kb.retrieve("VAT rate")] == [trusted]
    assert {r["id"] for r in kb.retrieve("VAT rate", mode="deep")} == {trusted, rumour}
    with pytest.raises(ValueError, match="retrieval mode 'shallow'"):
        kb.retrieve("VAT", mode="shallow")


def test_the_better_match_ranks_first_and_weight_breaks_ties(store):
    kb = store.knowledge
    for text in FILLER:
        kb.add(text, weight=0.6)
    partial = kb.add("Invoices need a VAT number", weight=0.6)
    full = kb.add("Invoices over 500 pounds need a purchase order and a VAT number", weight=0.6)
    hits = kb.retrieve("purchase order for invoices over 500")
    assert [h["id"] for h in hits[:2]] == [full, partial] and hits[0]["score"] > hits[1]["score"] > 0
    # Stemming: "validated" finds "validation".
    stemmed = kb.add("Each validation raises the retrieval weight", weight=0.6)
    assert kb.retrieve("validated")[0]["id"] == stemmed
    # The same text, trusted more, ranks higher.
    twin_low = kb.add("Merge the adapter into the base after the gates pass", weight=0.55)
    twin_high = kb.add("Merge the adapter into the base after the gates pass", weight=0.95)
    assert [h["id"] for h in kb.retrieve("merge adapter gates")[:2]] == [twin_high, twin_low]


@pytest.mark.parametrize("query", ['"', 'VAT"', "rate*", "-rate", "vat:rate", "(vat OR", "NEAR(vat rate)", "AND", "NOT vat",
                                   "'; DROP TABLE knowledge; --", "^vat", "{rate}", "vat + rate", "ø æ ✓ 漢字", "\x00"])
def test_query_text_is_never_parsed_as_fts_syntax(store, query):
    kb = store.knowledge
    texts = ["The UK standard VAT rate is 20 percent", "NOT a fact: water is dry"]
    ids = [kb.add(text, weight=0.8) for text in texts]
    # Operators and punctuation are text: an item matches when it shares a word with the query.
    words = set(re.findall(r"\w+", query.lower()))
    expected = {i for i, text in zip(ids, texts) if words & set(re.findall(r"\w+", text.lower()))} if words else set(ids)
    assert {hit["id"] for hit in kb.retrieve(query, mode="deep")} == expected
    assert store.db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0] == 2


def test_a_query_without_words_returns_the_most_trusted(store):
    kb = store.knowledge
    low, high, mid = (kb.add(f"fact {n}", weight=w) for n, w in (("one", 0.5), ("two", 0.9), ("three", 0.7)))
    kb.add("untrusted", weight=0.1)
    assert [r["id"] for r in kb.retrieve("")] == [high, mid, low]
    assert [r["id"] for r in kb.retrieve("?!  -- ", limit=2)] == [high, mid]
    assert len(kb.retrieve("", mode="deep")) == 4


def test_validation_counts_and_raises_the_weight(store):
    kb = store.knowledge
    item = kb.add("Gate 1 runs the generated code")
    assert kb.retrieve("generated code") == []
    once = kb.validate(item)
    assert once["validation_count"] == 1 and once["weight"] == pytest.approx(0.65) and once["last_validated"]
    assert [r["id"] for r in kb.retrieve("generated code")] == [item]
    twice = kb.validate(item)
    assert twice["validation_count"] == 2 and twice["weight"] == pytest.approx(0.825)
    for _ in range(40):
        kb.validate(item)
    assert kb.get(item)["weight"] <= 1.0
    with pytest.raises(LookupError, match="no knowledge item 99"):
        kb.validate(99)
    with pytest.raises(ValueError, match="weight 1.5: must be between 0 and 1"):
        kb.add("too sure", weight=1.5)


def refinements_file(path):
    """A refinements.jsonl as `svend-data ingest` writes it, from a conversation with a correction chain:
    question → answer 1 → "no, …" → answer 2 → "still wrong" → answer 3, plus one single correction."""
    turns = [Turn("user", "What is 17 * 23?", "m1"), Turn("assistant", "17 * 23 = 381", "m2"),
             Turn("user", "No, that's wrong. Check the multiplication.", "m3"), Turn("assistant", "Sorry: 17 * 23 = 392", "m4"),
             Turn("user", "Still wrong, multiply again carefully.", "m5"), Turn("assistant", "17 * 23 = 391", "m6"),
             Turn("user", "What is the boiling point of water at sea level?", "m7"), Turn("assistant", "90 degrees Celsius", "m8"),
             Turn("user", "Actually it is 100 degrees, please fix that.", "m9"),
             Turn("assistant", "Water boils at 100 degrees Celsius at sea level", "m10")]
    conversation = Conversation("claude", "conv-1", "maths", "conversation 1 (conv-1)", turns)
    detector = CorrectionDetector(["no", "actually"], ["that's wrong", "still wrong"])
    _, refinements, _ = conversation_records(conversation, detector)
    assert len(refinements) == 3
    write_jsonl(path, refinements)
    return path


def test_refinements_import_once_and_feed_training(store, tmp_path):
    kb = store.knowledge
    path = refinements_file(tmp_path / "refinements.jsonl")
    first = kb.import_refinements(path)
    assert (first.read, first.added, first.superseded) == (3, 3, 1)
    again = kb.import_refinements(path)
    assert (again.read, again.added, again.superseded) == (3, 0, 0)
    assert store.db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0] == 3

    rows = {r["lineage_id"]: r for r in kb.retrieve("", mode="deep")}
    rejected, final, water = rows["claude:conv-1:m4"], rows["claude:conv-1:m6"], rows["claude:conv-1:m10"]
    assert rejected["weight"] == SUPERSEDED_WEIGHT and final["weight"] == water["weight"] == CORRECTION_WEIGHT
    assert final["parent_id"] == rejected["id"] and rejected["parent_id"] is None
    assert final["kind"] == "correction" and final["source"] == "claude"
    assert final["lineage"]["parent_lineage_id"] == "claude:conv-1:m4" and final["lineage"]["file"] == str(path.resolve())
    assert "Correction: Still wrong" in final["content"] and "Corrected answer: 17 * 23 = 391" in final["content"]
    # Normal retrieval serves the last correction of the chain, not the answer the user rejected again.
    assert [r["id"] for r in kb.retrieve("17 * 23")] == [final["id"]]

    records = kb.corrections_for_training()
    for record in records:
        validate_record(record)
    assert [(r["messages"][0]["content"], r["messages"][1]["content"]) for r in records] == [
        ("What is 17 * 23?", "17 * 23 = 391"),
        ("What is the boiling point of water at sea level?", "Water boils at 100 degrees Celsius at sea level")]
    assert [m["role"] for m in records[0]["messages"]] == ["user", "assistant"]
    meta = records[0]["metadata"]
    assert meta["kind"] == "correction" and meta["lineage_id"] == "claude:conv-1:m6" and meta["knowledge_id"] == final["id"]
    write_jsonl(tmp_path / "corrections.jsonl", records)  # Svend's data files take them as they are


def test_malformed_refinements_line_is_named_and_nothing_is_imported(store, tmp_path):
    path = refinements_file(tmp_path / "refinements.jsonl")
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["messages"] = broken["messages"][:2]
    path.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]) + "\n")
    with pytest.raises(RecordError, match=f"{path}:2: a refinement has 4 messages"):
        store.knowledge.import_refinements(path)
    assert store.db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0] == 0
    with pytest.raises(FileNotFoundError, match="no such refinements file"):
        store.knowledge.import_refinements(tmp_path / "missing.jsonl")
