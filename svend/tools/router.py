"""The router picks the tool families (the design's "specialists") a question belongs to, so a prompt
can show only those tools — a small model reads fewer specs and picks among fewer names.

It is deliberately simple and inspectable: each family has a list of regular expressions (in
``conf/tools/default.yaml`` under ``router.rules``); a family scores one point per pattern that
matches, and the best-scoring families are returned. Nothing matching gives ``default`` — but only for
a question that matches ``default_if`` (in the shipped config: it has a digit, i.e. it may be a word
problem such as "Ann has 3 boxes of 12 eggs…"). Any other question ("why is the sky blue?") gets no
tools: four unrelated specs would cost ~600 prompt tokens per request and teach nothing.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence


class Router:
    def __init__(self, rules: Mapping[str, Sequence[str]], default: Sequence[str] = ("calculator",), max_families: int = 2,
                 default_if: str | None = None):
        self.rules = {family: [re.compile(p, re.IGNORECASE) for p in patterns] for family, patterns in rules.items()}
        self.default = list(default)
        self.max_families = max_families
        self.default_if = re.compile(default_if) if default_if else None

    def scores(self, question: str) -> dict[str, int]:
        return {family: sum(1 for p in patterns if p.search(question)) for family, patterns in self.rules.items()}

    def route(self, question: str) -> list[str]:
        """Families for ``question``, best first (ties keep the configured order)."""
        ranked = sorted(((s, -i, f) for i, (f, s) in enumerate(self.scores(question).items()) if s > 0), reverse=True)
        if ranked:
            return [f for _, _, f in ranked[: self.max_families]]
        if self.default_if is not None and not self.default_if.search(question):
            return []
        return list(self.default)
