"""Read Gemini's history from Google Takeout (My Activity → Gemini Apps, format JSON).

Takeout writes ``Takeout/My Activity/Gemini Apps/MyActivity.json``: a JSON list of activity items,
newest first ::

    [{"header": "Gemini Apps", "title": "Prompted What is the capital of Australia?",
      "time": "2024-05-01T10:15:30.123Z", "products": ["Gemini Apps"],
      "safeHtmlItem": [{"html": "<p>The capital is <b>Canberra</b>.</p>"}]}, …]

Only items whose title starts with ``Prompted `` are prompts; the rest (``Gave feedback``, ``Used
Gemini Apps`` …) are reported as ``not_a_prompt``, prompts without ``safeHtmlItem`` as
``no_response``. The response HTML becomes plain text with the stdlib ``html.parser``: paragraphs and
list items on their own lines, ``<pre>`` blocks fenced with ``````` and kept verbatim, inline
``<code>`` in backticks.

Takeout keeps no conversation ids, so prompts are ordered by time and grouped into one conversation
while less than ``ingest.gemini_session_gap_minutes`` apart; the conversation id is the first
prompt's time. That grouping is what lets a "no, that's wrong" prompt be paired with the answer it
corrects. Items without a readable time stay alone, after the others, in file order.

``MyActivity.html`` (Takeout's default format) is not read: re-export with format JSON.
Non-English Takeouts title prompts in their own language and are not recognised either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any, Iterator

from svend.data.ingest.conversation import Conversation, ExportFormatError, Turn, json_type
from svend.data.ingest.report import Report

HEADERS = ("Gemini Apps", "Bard")
_PROMPTED = "Prompted "
_BLOCKS = {"p", "div", "section", "article", "blockquote", "table", "tr", "ul", "ol", "dl", "dt", "dd", "hr",
           "h1", "h2", "h3", "h4", "h5", "h6"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pre = 0
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "pre":
            self.out.append("\n\n```\n")
            self.pre += 1
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" | ")
        elif tag in _BLOCKS:
            self.out.append("\n\n" + ("#" * int(tag[1]) + " " if tag[0] == "h" and tag[1:].isdigit() else ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(self.hidden - 1, 0)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            if self.out:
                self.out[-1] = self.out[-1].rstrip("\n")
            self.out.append("\n```\n\n")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines: list[str] = []
    fenced = False
    for line in "".join(parser.out).split("\n"):
        if line.strip().startswith("```"):
            fenced = not fenced
            lines.append(line.strip())
        elif fenced:
            lines.append(line.rstrip())  # code keeps its indentation and blank lines
        elif line.strip() or (lines and lines[-1]):
            lines.append(line.strip())
    return "\n".join(lines).strip()


@dataclass(frozen=True)
class _Prompt:
    index: int
    when: datetime | None
    time: str | None
    prompt: str
    response: str


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)



def read_gemini(data: Any, origin: str, report: Report, session_gap_minutes: float) -> Iterator[Conversation]:
    if not isinstance(data, list):
        raise ExportFormatError(f"expected a JSON list of activity items (Takeout's MyActivity.json), got {json_type(data)}")
    prompts: list[_Prompt] = []
    for i, raw in enumerate(data):
        item = f"item {i}"
        if not isinstance(raw, dict):
            report.skip("gemini", origin, "malformed_record", f"is {json_type(raw)}, not an object", item=item)
            continue
        time = raw.get("time") if isinstance(raw.get("time"), str) else None
        item += f" ({time})" if time else ""
        title = raw.get("title")
        if not isinstance(title, str):
            report.skip("gemini", origin, "malformed_record", f'"title" must be a string, got {json_type(title)}', item=item)
            continue
        products = raw.get("products") if isinstance(raw.get("products"), list) else []
        if raw.get("header") not in HEADERS and not set(HEADERS) & set(products):
            report.skip("gemini", origin, "not_a_prompt", f"header {raw.get('header')!r} is not Gemini Apps", item=item)
            continue
        if not title.startswith(_PROMPTED):
            report.skip("gemini", origin, "not_a_prompt", f"activity {title[:60]!r}", item=item)
            continue
        responses = raw.get("safeHtmlItem")
        if not responses:
            report.skip("gemini", origin, "no_response", "prompt without safeHtmlItem", item=item)
            continue
        if not isinstance(responses, list) or not all(isinstance(r, dict) and isinstance(r.get("html"), str) for r in responses):
            report.skip("gemini", origin, "malformed_record", '"safeHtmlItem" must be a list of {"html": string}', item=item)
            continue
        response = "\n\n".join(html_to_text(r["html"]) for r in responses).strip()
        if not response:
            report.skip("gemini", origin, "no_response", "response HTML holds no text", item=item)
            continue
        prompts.append(_Prompt(i, _parse_time(time), time, title[len(_PROMPTED):].strip(), response))

    # Oldest first; items without a time after the others, in file order.
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    prompts.sort(key=lambda p: (p.when is None, p.when or epoch, p.index))
    gap = timedelta(minutes=session_gap_minutes)
    conv: Conversation | None = None
    last: datetime | None = None
    for p in prompts:
        if conv is None or p.when is None or last is None or p.when - last > gap:
            if conv is not None:
                yield conv
            session = p.time or f"#{p.index}"
            conv = Conversation("gemini", session, None, f"session {session}")
        last = p.when
        ref = p.time or f"#{p.index}"
        if p.prompt:
            conv.turns.append(Turn("user", p.prompt, f"{ref}/prompt", p.time))
        else:
            conv.empty_turns += 1
        conv.turns.append(Turn("assistant", p.response, ref, p.time))
    if conv is not None:
        yield conv
