"""The final answer in a model's text — one rule for the majority-vote scorer and the evaluation harness,
so "the answer" means the same thing when candidates are voted on and when they are graded.

Svend's convention is a last line ``Answer: <answer>``. Models not trained on it (a base model, an
early checkpoint) write ``<answer>…</answer>``, LaTeX ``\\boxed{…}`` or just end on a number, so those
are tried in that order::

    extract_answer("17 * 23 = 391.\\nAnswer: 391")     # '391'
    extract_answer("so \\\\boxed{\\\\frac{1}{2}}")          # '\\\\frac{1}{2}'
    extract_answer("It costs $1,250 in total.")        # '1250'
    normalize_answer(" $1,250.00 ") == normalize_answer("1250")   # True: compare answers this way

Pass ``Generation.final`` (tool-call blocks removed), not the raw transcript: numbers inside tool calls
and tool responses are not answers.
"""

from __future__ import annotations

import re

_ANSWER_LINE = re.compile(r"\banswer\s*:[ \t]*(.*)", re.IGNORECASE)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def _clean(answer: str) -> str:
    answer = answer.strip().strip("*").strip()  # markdown bold around the answer
    if answer.endswith(".") and not answer.endswith(".."):
        answer = answer[:-1].rstrip()
    return answer


def _boxed(text: str) -> str | None:
    """Contents of the last ``\\boxed{…}``, braces balanced (``\\boxed{\\frac{1}{2}}``)."""
    start = text.rfind("\\boxed{")
    while start != -1:
        depth, i = 0, start + len("\\boxed")
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1:j]
        start = text.rfind("\\boxed{", 0, start)  # unbalanced: try an earlier one
    return None


def extract_answer(text: str | None) -> str | None:
    """The answer in ``text``: the last ``Answer:`` line, else the last ``<answer>…</answer>``, else the
    last ``\\boxed{…}``, else the last number (thousands separators removed); None when there is none."""
    if not text:
        return None
    for match in reversed(list(_ANSWER_LINE.finditer(text))):
        answer = _clean(match.group(1))
        if answer:
            return answer
    for match in reversed(list(_ANSWER_TAG.finditer(text))):
        answer = _clean(match.group(1))
        if answer:
            return answer
    boxed = _boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def normalize_answer(answer: str | None) -> str | None:
    """A canonical form for comparing answers: case, spaces, ``$``, thousands separators and a final
    period do not matter; numbers compare by value (``1250.00`` == ``1,250``)."""
    if answer is None:
        return None
    text = _clean(answer).lower().replace("$", "").replace("\\!", "")
    text = re.sub(r"\s+", " ", text).strip()
    number = text.replace(",", "") if re.fullmatch(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", text) else None
    if number is not None:
        value = float(number)
        return str(int(value)) if value.is_integer() else repr(value)
    return text
