"""Record metadata: the keys Svend reads are type-checked, and the error names the line and the key."""

from __future__ import annotations

import json

import pytest

from svend.data.schema import RecordError, read_jsonl, validate_record

BASE = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}


def test_good_metadata_passes():
    validate_record({**BASE, "metadata": {"source": "svend-data", "generator": "calculator.multiply", "kind": "tool_traces",
                                          "seed": 0, "split": "train", "lineage_id": "ab12", "answer": None, "tools_used": ["calculator"],
                                          "label": 0, "step_labels": [1, 0], "corruption": "tool_copy", "category": "weapons",
                                          "anything_else": {"free": True}}})
    validate_record({**BASE, "metadata": {"label": "refuse"}})


@pytest.mark.parametrize("metadata,message", [
    ({"seed": "7"}, "metadata.seed must be an integer"),
    ({"seed": True}, "metadata.seed must be an integer"),
    ({"split": "holdout"}, "metadata.split must be one of train, val, test"),
    ({"answer": 391}, "metadata.answer must be a string or null"),
    ({"tools_used": "calculator"}, "metadata.tools_used must be a list of tool names"),
    ({"label": 2}, "metadata.label must be 0, 1 or a string label"),
    ({"step_labels": [1, 2]}, "metadata.step_labels must be a list of 0/1"),
    ({"source": None}, "metadata.source must be a string"),
    ([1], '"metadata" must be an object'),
])
def test_bad_metadata_names_the_line_and_key(tmp_path, metadata, message):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(BASE) + "\n" + json.dumps({**BASE, "metadata": metadata}) + "\n")
    with pytest.raises(RecordError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}:2: ") and message in str(e.value)
