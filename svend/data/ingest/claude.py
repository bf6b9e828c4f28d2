"""Read Claude's data export (claude.ai → Settings → Privacy → Export data).

The export is a zip holding ``conversations.json``: a JSON list of conversations ::

    [{"uuid": "…", "name": "Title", "created_at": "…",
      "chat_messages": [{"uuid": "…", "sender": "human" | "assistant", "created_at": "…",
                         "text": "…",                                   # may be empty, then:
                         "content": [{"type": "text", "text": "…"}, {"type": "tool_use", …}],
                         "attachments": [{"file_name": "…", "extracted_content": "…"}]}]}]

A message's text is ``text`` when it has any, else its ``content`` parts of type ``text`` joined;
tool-use, tool-result, thinking and image parts carry nothing a text pair can hold and are left out.
Pasted or uploaded files' ``extracted_content`` is appended to the message under an
``[Attached file: name]`` line, since a question about a file means nothing without it. A message with
no text at all is counted as an empty turn. A conversation or message with the wrong structure is
reported with its index and uuid and skipped; the rest of the file is read.
"""

from __future__ import annotations

from typing import Any, Iterator

from svend.data.ingest.conversation import Conversation, ExportFormatError, Turn, json_type
from svend.data.ingest.report import Report

_ROLES = {"human": "user", "user": "user", "assistant": "assistant"}



def _text(message: dict) -> str:
    text, parts = message.get("text"), message.get("content")
    if text is not None and not isinstance(text, str):
        raise ValueError(f'"text" must be a string, got {json_type(text)}')
    if parts is not None and not isinstance(parts, list):
        raise ValueError(f'"content" must be a list of parts, got {json_type(parts)}')
    if text is None and parts is None:
        raise ValueError('has neither "text" nor "content"')
    if text and text.strip():
        body = text
    else:
        body = "\n\n".join(
            p["text"] for p in parts or []
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) and p["text"].strip()
        )
    for attachment in message.get("attachments") or []:
        content = attachment.get("extracted_content") if isinstance(attachment, dict) else None
        if isinstance(content, str) and content.strip():
            body += f"\n\n[Attached file: {attachment.get('file_name') or 'unnamed'}]\n{content}"
    return body.strip()


def read_claude(data: Any, origin: str, report: Report) -> Iterator[Conversation]:
    if not isinstance(data, list):
        raise ExportFormatError(f"expected a JSON list of conversations (Claude's conversations.json), got {json_type(data)}")
    for i, raw in enumerate(data):
        item = f"conversation {i}"
        if not isinstance(raw, dict):
            report.skip("claude", origin, "malformed_record", f"is {json_type(raw)}, not an object", item=item)
            continue
        uuid = raw.get("uuid")
        conversation_id = uuid if isinstance(uuid, str) and uuid else f"#{i}"
        item += f" ({uuid})" if isinstance(uuid, str) and uuid else ""
        messages = raw.get("chat_messages")
        if not isinstance(messages, list):
            report.skip("claude", origin, "malformed_record", f'"chat_messages" must be a list, got {json_type(messages)}', item=item)
            continue
        name = raw.get("name")
        conv = Conversation("claude", conversation_id, name if isinstance(name, str) and name else None, item)
        for j, message in enumerate(messages):
            where = f"{item} message {j}"
            if not isinstance(message, dict):
                report.skip("claude", origin, "malformed_record", f"is {json_type(message)}, not an object", item=where)
                continue
            role = _ROLES.get(message.get("sender"))
            if role is None:
                report.skip("claude", origin, "malformed_record", f"unknown sender {message.get('sender')!r}", item=where)
                continue
            try:
                text = _text(message)
            except ValueError as e:
                report.skip("claude", origin, "malformed_record", str(e), item=where)
                continue
            if not text:
                conv.empty_turns += 1
                continue
            ref = message.get("uuid") if isinstance(message.get("uuid"), str) and message.get("uuid") else f"#{j}"
            created = message.get("created_at") if isinstance(message.get("created_at"), str) else None
            conv.turns.append(Turn(role, text, ref, created))
        yield conv
