"""Which turn format a tokenizer's model trains and answers in: Svend's ChatML, or the base's own chat
template.

- ``chatml``: `svend.tokens` renders every turn. Chosen for bases whose own template already is ChatML
  (SmolLM2, Qwen2.5, CodeQwen1.5: the turns come out identical) and for tokenizers without a template
  (from-scratch models).
- ``template``: the base tokenizer's chat template lays out the turns (Mistral's ``[INST] … [/INST]``,
  Zephyr's ``<|user|>``…), so a fine-tuned instruct model keeps the format it was instruction-tuned in.
  Inside the turns the content is Svend's: the tools block in the system turn, ``<tool_call>`` blocks in
  assistant turns, ``<tool_response>`` blocks in tool turns (sent as user turns when the template knows
  no ``tool`` role), because templates such as SmolLM2's ignore ``tools``.

The choice is made once per tokenizer (``load_tokenizer(chat_format=auto|svend|base)``, the model
config's ``tokenizer.chat_format``) and stored in its ``tokenizer_config.json`` (``svend_chat_format``),
so a run folder, an adapter or a merged export reloads into the format it was trained in.

Training marks what the loss covers from the template itself: each turn's text is the difference
between renderings of the conversation up to it, and an assistant turn's text after the template's
generation prompt is trainable. A template that rewrites earlier turns when a later one is added (one
that moves the system prompt into the last user turn, say) cannot be used that way; ``base`` then fails
naming the turn, and ``auto`` falls back to ChatML with a warning.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from svend.tokens import IM_END, IM_START, Segment, render_segments, turn_body, with_tools

log = logging.getLogger(__name__)

CONFIG_KEY = "svend_chat_format"  # in tokenizer_config.json
CHOICES = ("auto", "svend", "base")

_PROBE = [
    {"role": "system", "content": "S"},
    {"role": "user", "content": "U"},
    {"role": "assistant", "content": "A"},
    {"role": "user", "content": "V"},
]


class ChatFormatError(ValueError):
    """The base's chat template cannot carry Svend's conversations."""


class ChatML:
    """Svend's ChatML (`svend.tokens`)."""

    name = "chatml"
    end_of_turn = IM_END

    def segments(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None,
                 add_generation_prompt: bool = False) -> list[Segment]:
        return render_segments(messages, tools, add_generation_prompt)

    def continuation(self, history: Sequence[Mapping[str, Any]], assistant_text: str,
                     tool_messages: Sequence[Mapping[str, Any]], next_turn: bool = True) -> tuple[str, str]:
        """What follows an assistant turn that called tools: ``(end of the turn, the tool turns and,
        with next_turn, the next assistant turn's header)``."""
        tool_turns = "".join(s.text for s in render_segments(tool_messages))
        return IM_END, "\n" + tool_turns + (f"{IM_START}assistant\n" if next_turn else "")


class Template:
    """The base tokenizer's chat template around Svend's turn contents (module docstring)."""

    name = "template"

    def __init__(self, tokenizer) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ChatFormatError("the tokenizer has no chat template; use chat_format=svend")
        self.tokenizer = tokenizer
        self.tool_role = self._tool_role()
        self.end_of_turn = self._end_of_turn()
        probe = [*_PROBE[:2], {"role": "assistant", "content": "B"}, {"role": "tool", "content": "T"},
                 {"role": "assistant", "content": "A"}, _PROBE[3]]
        self.segments(probe, add_generation_prompt=True)  # raises ChatFormatError if not prefix-stable

    def render(self, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool) -> str:
        try:
            return self.tokenizer.apply_chat_template(list(messages), tokenize=False,
                                                      add_generation_prompt=add_generation_prompt)
        except Exception as exc:  # jinja2 TemplateError from the template's raise_exception, and the like
            roles = "/".join(m["role"] for m in messages)
            raise ChatFormatError(f"the base chat template refused a conversation of roles {roles}: {exc}") from None

    def _tool_role(self) -> str:
        """``tool`` when the template renders a tool turn's content, else ``user``."""
        probe = [{"role": "user", "content": "U"}, {"role": "assistant", "content": "A"},
                 {"role": "tool", "content": "TOOL-RESULT-PROBE"}]
        try:
            text = self.render(probe, add_generation_prompt=False)
        except ChatFormatError:
            return "user"
        return "tool" if "TOOL-RESULT-PROBE" in text else "user"

    def _end_of_turn(self) -> str:
        """The special token that closes an assistant turn in this template (generation stops there)."""
        head = self.render(_PROBE[1:2], add_generation_prompt=True)
        full = self.render(_PROBE[1:3], add_generation_prompt=False)
        if not full.startswith(head + "A"):
            raise ChatFormatError("the base chat template does not render an assistant turn after its own "
                                  "generation prompt; use chat_format=svend")
        rest = full[len(head) + 1:].lstrip()
        ids = self.tokenizer(rest, add_special_tokens=False)["input_ids"] if rest else []
        special = set(self.tokenizer.all_special_ids)
        if not ids or ids[0] not in special:
            raise ChatFormatError(f"the base chat template ends an assistant turn with {rest[:20]!r}, not with a "
                                  "special token generation could stop at; use chat_format=svend")
        return self.tokenizer.convert_ids_to_tokens(ids[0])

    def plain(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None) -> list[dict]:
        """Svend's messages as the template sees them: content strings in Svend's format."""
        out = []
        for message in with_tools(messages, tools):
            role = self.tool_role if message["role"] == "tool" else message["role"]
            out.append({"role": role, "content": turn_body(message)})
        return out

    def segments(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None,
                 add_generation_prompt: bool = False) -> list[Segment]:
        plain = self.plain(messages, tools)
        segments: list[Segment] = []
        before = ""
        for i, message in enumerate(plain):
            if message["role"] == "assistant":
                head = self._extend(before, self.render(plain[:i], add_generation_prompt=True), i, message)
                segments.append(Segment(head[len(before):], False))
                before = head
            text = self._extend(before, self.render(plain[:i + 1], add_generation_prompt=False), i, message)
            turn = text[len(before):]
            if message["role"] == "assistant":  # trained up to its end-of-turn token, as in ChatML
                body = turn.rstrip()
                segments += [Segment(body, True), Segment(turn[len(body):], False)]
            else:
                segments.append(Segment(turn, False))
            before = text
        if add_generation_prompt:
            head = self._extend(before, self.render(plain, add_generation_prompt=True), len(plain), None)
            segments.append(Segment(head[len(before):], False))
        return [s for s in segments if s.text]

    def continuation(self, history: Sequence[Mapping[str, Any]], assistant_text: str,
                     tool_messages: Sequence[Mapping[str, Any]], next_turn: bool = True) -> tuple[str, str]:
        """As `ChatML.continuation`, from the template: the rendering of the conversation with this
        assistant turn and its tool turns, past the prompt and the text the model wrote."""
        plain = self.plain(history)
        prompt = self.render(plain, add_generation_prompt=True)
        turns = [*plain, {"role": "assistant", "content": assistant_text},
                 *({"role": self.tool_role, "content": turn_body(m)} for m in tool_messages)]
        full = self.render(turns, add_generation_prompt=next_turn)
        if not full.startswith(prompt + assistant_text):
            raise ChatFormatError("the base chat template changes an assistant turn's text when it renders it "
                                  "(it trims or rewrites content); use chat_format=svend")
        rest = full[len(prompt) + len(assistant_text):]
        at = rest.find(self.end_of_turn)
        if at < 0 or rest[:at].strip():
            raise ChatFormatError(f"the base chat template does not close an assistant turn with {self.end_of_turn!r}")
        at += len(self.end_of_turn)
        return rest[:at], rest[at:]

    def _extend(self, before: str, text: str, index: int, message: Mapping[str, Any] | None) -> str:
        if not text.startswith(before):
            where = f"turn {index} ({message['role']})" if message else "the generation prompt"
            raise ChatFormatError(f"the base chat template rewrites earlier turns when it adds {where}, so the "
                                  "turns cannot be trained one by one; use chat_format=svend")
        return text


def _same_as_chatml(tokenizer) -> bool:
    try:
        text = tokenizer.apply_chat_template(_PROBE, tokenize=False, add_generation_prompt=True)
    except Exception:
        return False
    return text == "".join(s.text for s in render_segments(_PROBE, add_generation_prompt=True))


def choose(tokenizer, preference: str = "auto") -> str:
    """Decide the tokenizer's format (``chatml`` or ``template``) and record it in the tokenizer
    (saved with it). ``svend``: ChatML always; ``base``: the base template, or ChatFormatError;
    ``auto``: the base template unless it is ChatML already, missing, or unusable (then ChatML)."""
    if preference not in CHOICES:
        raise ValueError(f"chat_format={preference!r}: expected one of {', '.join(CHOICES)}")
    fmt: ChatML | Template = ChatML()
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if preference == "base" or (preference == "auto" and has_template and not _same_as_chatml(tokenizer)):
        try:
            fmt = Template(tokenizer)
        except ChatFormatError as exc:
            if preference == "base":
                raise
            log.warning("chat_format=auto: %s; training and serving in Svend's ChatML instead", exc)
    tokenizer.init_kwargs[CONFIG_KEY] = fmt.name
    tokenizer._svend_format = fmt  # what format_for returns from now on
    return fmt.name


def format_for(tokenizer) -> ChatML | Template:
    """The format a tokenizer was given by `choose` (decided now, with ``auto``, if it never was)."""
    cached = getattr(tokenizer, "_svend_format", None)
    if cached is not None:
        return cached
    name = tokenizer.init_kwargs.get(CONFIG_KEY)
    if name is None:
        choose(tokenizer)
        return tokenizer._svend_format
    fmt = Template(tokenizer) if name == "template" else ChatML()
    tokenizer._svend_format = fmt
    return fmt
