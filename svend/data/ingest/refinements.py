"""Find correction chains in a conversation: the user says an answer is wrong and the assistant revises it.

Those chains are the most valuable thing in a chat history — they show a wrong answer, what was wrong
with it in the user's words, and a better one — and Nasab's generational loop learns from validated
corrections. A correction is recognised by explicit cues only (``that's wrong``, ``no,``,
``actually``, ``you made a mistake``, ``not quite``, ``fix`` …, listed in ``ingest.correction_cues``):
some at the start of the user's turn, some anywhere in it, matched as whole words, case-insensitive,
with typographic apostrophes read as ``'``. A cue only counts when the turn directly follows an
assistant answer — ``Fix this bug`` as an opening request corrects nothing.

Chains continue: question → answer 1 → "no, …" → answer 2 → "still wrong" → answer 3 gives two
refinements, both against the original question (answer 1 → answer 2, answer 2 → answer 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from svend.data.ingest.conversation import Turn

_LEADING = r"^[\s\"'*_>`(\[-]*"  # quote marks, emphasis, list dashes before the first word


def _phrase(phrase: str) -> str:
    left = r"(?<!\w)" if phrase[0].isalnum() else ""
    right = r"(?!\w)" if phrase[-1].isalnum() else ""
    return left + re.escape(phrase.lower()) + right


class CorrectionDetector:
    def __init__(self, start: Sequence[str], anywhere: Sequence[str]):
        self._cues = [(p, re.compile(_LEADING + _phrase(p))) for p in start if p.strip()]
        self._cues += [(p, re.compile(_phrase(p))) for p in anywhere if p.strip()]

    def cue(self, text: str) -> str | None:
        """The first cue ``text`` contains (``"that's wrong"``), or ``None`` if it corrects nothing."""
        lowered = text.lower().replace("\u2019", "'").replace("\u2018", "'")
        return next((phrase for phrase, pattern in self._cues if pattern.search(lowered)), None)


@dataclass(frozen=True)
class Refinement:
    question: "Turn"
    first_answer: "Turn"
    correction: "Turn"
    revised_answer: "Turn"
    cue: str


def find_refinements(
    turns: Sequence["Turn"], detector: CorrectionDetector
) -> tuple[list[tuple[int, int]], list[Refinement], set[int]]:
    """The exchanges (user index, assistant index) of ``turns``, the refinements among them, and the
    indices of the exchanges the refinements consumed (the corrected one and the correcting one)."""
    exchanges = [(i, i + 1) for i in range(len(turns) - 1) if turns[i].role == "user" and turns[i + 1].role == "assistant"]
    refinements: list[Refinement] = []
    consumed: set[int] = set()
    question_of: dict[int, int] = {}  # exchange -> the exchange that asked the original question
    for k, (u, a) in enumerate(exchanges):
        question_of[k] = k
        if k == 0 or exchanges[k - 1][1] != u - 1:  # must directly follow the answer it corrects
            continue
        cue = detector.cue(turns[u].text)
        if cue is None:
            continue
        q = question_of[k] = question_of[k - 1]
        refinements.append(Refinement(turns[exchanges[q][0]], turns[exchanges[k - 1][1]], turns[u], turns[a], cue))
        consumed |= {k - 1, k}
    return exchanges, refinements, consumed
