"""Assertions on tool results: a result is a dict without "error"; a failure is exactly
{"error": {"type", "message"}}."""

from __future__ import annotations


def ok(result: dict) -> dict:
    assert "error" not in result, result
    return result


def fails(result: dict, type_: str | None = None) -> dict:
    assert set(result) == {"error"}, result
    assert set(result["error"]) == {"type", "message"} and result["error"]["message"], result
    if type_ is not None:
        assert result["error"]["type"] == type_, result
    return result["error"]
