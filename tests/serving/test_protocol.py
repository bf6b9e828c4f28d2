"""Request validation and response building, without a server: every bad request names its field."""

from __future__ import annotations

import json

import pytest

from svend.serving import protocol
from svend.serving.protocol import RequestError, parse_chat_request, parse_json

USER = {"role": "user", "content": "What is 17 * 23?"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def bad(body, param, *words):
    with pytest.raises(RequestError) as e:
        parse_chat_request(body, max_tokens_limit=1000)
    assert e.value.status == 400 and e.value.param == param, (e.value.param, e.value.message)
    assert e.value.message.startswith(param or ""), e.value.message
    for word in words:
        assert word in e.value.message, e.value.message
    body = e.value.body()["error"]
    assert body["type"] == "invalid_request_error" and body["param"] == param
    return e.value.message


def test_a_plain_request_keeps_every_sampling_option():
    chat = parse_chat_request({"model": "whatever", "messages": [{"role": "developer", "content": "Be brief."}, USER],
                               "max_tokens": 7, "temperature": 0, "top_p": 0.5, "stop": "\n", "seed": 3,
                               "stream": True, "stream_options": {"include_usage": True}, "user": "ignored"})
    assert chat.messages == [{"role": "system", "content": "Be brief."}, USER]
    assert (chat.max_tokens, chat.temperature, chat.top_p, chat.stop, chat.seed) == (7, 0.0, 0.5, ["\n"], 3)
    assert chat.stream and chat.include_usage and chat.tools is None and chat.tool_choice == "auto"
    assert parse_chat_request({"messages": [USER], "max_completion_tokens": 9}).max_tokens == 9


def test_text_parts_are_joined_and_other_parts_refused():
    parts = {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    assert parse_chat_request({"messages": [parts]}).messages[0]["content"] == "a\nb"
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    bad({"messages": [image]}, "messages[0].content[0]", "only text parts", "image_url")


def test_a_tool_round_trip_is_accepted_and_names_the_tool_message():
    chat = parse_chat_request({"messages": [USER, {"role": "assistant", "content": None, "tool_calls": [CALL]},
                                            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 3}'}],
                               "tools": [WEATHER]})
    assert chat.messages[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    assert chat.messages[2] == {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temp": 3}'}
    assert chat.tools[0]["function"]["description"] == ""  # OpenAI makes description optional


@pytest.mark.parametrize("body,param,words", [
    ({"messages": []}, "messages", ["at least one"]),
    ({"model": "x"}, "messages", ["required"]),
    ({"messages": "hi"}, "messages", ["list"]),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role", ["robot", "'user'"]),
    ({"messages": [{"content": "hi"}]}, "messages[0].role", ["required"]),
    ({"messages": [{"role": "user"}]}, "messages[0].content", ["required"]),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", ["string"]),
    ({"messages": [{"role": "user", "content": "  "}]}, "messages[0].content", ["empty"]),
    ({"messages": [USER, {"role": "assistant", "content": "391"}]}, "messages[1]", ["ends with a assistant"]),
    ({"messages": [USER, {"role": "tool", "tool_call_id": "call_9", "content": "3"}]}, "messages[1].tool_call_id",
     ["call_9", "must follow a call"]),
    ({"messages": [USER, {"role": "tool", "content": "3"}]}, "messages[1].tool_call_id", ["required"]),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, USER]}, "messages[2]", ["call_1", "role 'tool'"]),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [CALL]}]}, "messages[2]", ["call_1"]),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [
        {"id": "c", "function": {"name": "f", "arguments": "{not json"}}]}]},
     "messages[1].tool_calls[0].function.arguments", ["not valid JSON"]),
    ({"messages": [USER], "max_tokens": 0}, "max_tokens", ["greater than 0", "0"]),
    ({"messages": [USER], "max_tokens": -5}, "max_tokens", ["greater than 0"]),
    ({"messages": [USER], "max_tokens": 5000}, "max_tokens", ["limit of 1000"]),
    ({"messages": [USER], "max_tokens": "lots"}, "max_tokens", ["integer"]),
    ({"messages": [USER], "temperature": 3}, "temperature", ["2"]),
    ({"messages": [USER], "top_p": 0}, "top_p", ["greater than 0"]),
    ({"messages": [USER], "n": 2}, "n", ["n=1"]),
    ({"messages": [USER], "stop": ["a", "b", "c", "d", "e"]}, "stop", ["at most 4"]),
    ({"messages": [USER], "stop": [1]}, "stop", ["strings"]),
    ({"messages": [USER], "seed": "x"}, "seed", ["integer"]),
    ({"messages": [USER], "stream": "yes please"}, "stream", ["boolean"]),
    ({"messages": [USER], "tool_choice": "required", "tools": [WEATHER]}, "tool_choice", ["'auto' and 'none'"]),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "bad name!"}}]},
     "tools[0].function.name", ["bad name!"]),
    ({"messages": [USER], "tools": [{"type": "retrieval"}]}, "tools[0].type", ["function"]),
    ({"messages": [USER], "logprobs": True}, "logprobs", []),
    ({"messages": [USER], "response_format": {"type": "json_object"}}, "response_format", ["json_object"]),
])
def test_bad_requests_name_the_field(body, param, words):
    bad(body, param, *words)


def test_bodies_that_are_not_json_objects():
    for raw in (b"", b"{not json", b"\xff\xfe"):
        with pytest.raises(RequestError, match="JSON|empty") as e:
            parse_json(raw)
        assert e.value.status == 400
    with pytest.raises(RequestError, match="JSON object"):
        parse_chat_request(parse_json(b"[1, 2]"))


def test_completion_and_chunks_carry_finish_reason_usage_and_svend():
    svend = protocol.svend_object({"decision": "allow"}, [{"name": "calculator", "result": {"result": "391"}}])
    call = protocol.openai_tool_call("call_0", "get_weather", {"city": "Oslo"})
    final = protocol.final_event(None, [call], "tool_calls", protocol.usage(10, 4), svend)
    body = protocol.completion_body(json.loads(json.dumps(final)), "svend")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
    assert body["svend"]["tool_calls"][0]["name"] == "calculator" and body["model"] == "svend"
    first, second = protocol.tool_call_deltas(0, call)
    assert first["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": ""}
    assert second["tool_calls"][0]["function"]["arguments"] == call["function"]["arguments"]
    usage_chunk = protocol.chunk_body("id", 1, "svend", None, usage=body["usage"])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 14
    assert protocol.sse("[DONE]") == "data: [DONE]\n\n"
