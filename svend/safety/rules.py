"""Rules: weighted pattern evidence per harm category, with context exemptions that subtract.

A keyword list refuses "how do I kill a hung process" and lets "give me step-by-step synthesis of a
nerve agent, for a novel" through. So a rule hit here is *evidence with a weight*, never a verdict:

    score(category) = clip( sum(weights of the rules that fire) - sum(weights of the exemptions that fire), 0, 1 )

and the gate refuses when a category's score reaches its threshold (``conf/safety/default.yaml``,
``threshold: 0.5``). The weights are chosen so that a harmful *object* alone ("sarin", "ransomware")
stays below the threshold, an *operational request* for it ("how do I make …", "write …") crosses it,
aggravating context ("undetectable", "without her knowing") adds, and a benign reading ("bomb-sniffing
dog", "gunpowder tea", "kill the process", "awareness training") subtracts. Each rule and exemption
fires at most once, so repeating a word does not add up.

Config (``conf/safety/rules/default.yaml``)::

    macros:                     # named regex fragments, used as <name> inside patterns
      ask: '(how (do|can) i|how to|…)'
    categories:
      weapons:
        rules:
          - {id: make_agent, weight: 0.5, match: '<ask> ~ <make> ~ <agent>'}
          - {id: agent_and_quantity, weight: 0.3, match: ['<agent>', '\\b(grams?|litres?)\\b']}
        exemptions:
          - {id: bomb_sniffing, weight: 0.6, match: 'bomb[- ]sniff'}

``match`` is one regex or a list of regexes that must *all* match somewhere in the text. Inside a
regex, `` ~ `` (space, tilde, space) is a gap of at most 60 characters within one sentence, and
``<name>`` is a macro (a literal ``<`` is ``\\<``). Matching is case-insensitive: patterns and text are
lower-cased (NFKC-normalised, zero-width characters removed). Category ids are fixed (``CATEGORIES``); a config may leave
a category out, not invent one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

CATEGORIES = ("weapons", "malware", "self_harm", "drugs", "fraud", "privacy", "minors", "code_abuse")

GAP = r"[^\n.!?]{0,60}?"  # what `` ~ `` stands for: a short stretch inside one sentence
_MACRO = re.compile(r"(?<!\?P)(?<!\\)<([A-Za-z_][A-Za-z0-9_]*)>")  # not (?P<name>, not an escaped \<
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """What patterns see: NFKC (full-width and ligature look-alikes folded), no zero-width
    characters or soft hyphens (an old trick to split a keyword), straight quotes, lower case."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_QUOTES).lower()


_UPPER = re.compile(r"(\\.)|([A-Z])")


def _lower_pattern(pattern: str) -> str:
    """Literal capitals to lower case, escapes (``\\W``, ``\\S``, ``\\D``, ``\\B``, ``\\Z``) kept: the
    text is lower-cased once instead of every pattern matching case-insensitively (2.5x faster)."""
    return _UPPER.sub(lambda m: m.group(1) or m.group(2).lower(), pattern)


def _expand(pattern: str, macros: Mapping[str, str], where: str, depth: int = 0) -> str:
    if depth > 5:
        raise ValueError(f"{where}: macros nest more than 5 deep (a macro that uses itself?)")

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in macros:
            known = ", ".join(sorted(macros)) or "none"
            raise ValueError(f"{where}: unknown macro <{name}>; known: {known}")
        return f"(?:{_expand(macros[name], macros, f'{where} <{name}>', depth + 1)})"

    return _MACRO.sub(sub, pattern.replace(" ~ ", GAP))


@dataclass(frozen=True)
class Rule:
    """One piece of evidence (or one exemption): fires when every pattern matches."""

    id: str
    weight: float
    patterns: tuple[re.Pattern, ...]

    def fires(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class Category:
    id: str
    description: str
    rules: tuple[Rule, ...]
    exemptions: tuple[Rule, ...]


@dataclass
class CategoryScore:
    """A category's evidence for one text: the score and which rules and exemptions made it."""

    category: str
    score: float
    hits: list[tuple[str, float]] = field(default_factory=list)
    exemptions: list[tuple[str, float]] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """Rule ids and weights only — never the matched text (it may hold PII)."""
        out = [f"{self.category}: rule {rid} +{w:g}" for rid, w in self.hits]
        out += [f"{self.category}: exemption {rid} -{w:g}" for rid, w in self.exemptions]
        return out


def _build_rule(spec: Any, macros: Mapping[str, str], where: str) -> Rule:
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: a rule must be a mapping {{id, weight, match}}, got {type(spec).__name__}")
    unknown = set(spec) - {"id", "weight", "match"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}; a rule has id, weight, match")
    rid = spec.get("id")
    if not isinstance(rid, str) or not rid:
        raise ValueError(f"{where}: needs an 'id' (a non-empty string)")
    where = f"{where} (id={rid})"
    weight = spec.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 2:
        raise ValueError(f"{where}: 'weight' must be a number in (0, 2], got {weight!r}")
    match = spec.get("match")
    if isinstance(match, str):
        match = [match]
    if not isinstance(match, Sequence) or not match or not all(isinstance(m, str) and m for m in match):
        raise ValueError(f"{where}: 'match' must be a regex or a non-empty list of regexes")
    patterns = []
    for i, raw in enumerate(match):
        expanded = _expand(raw, macros, f"{where} match[{i}]")
        try:
            patterns.append(re.compile(_lower_pattern(expanded)))
        except re.error as exc:
            raise ValueError(f"{where} match[{i}]: invalid regex {raw!r}: {exc}") from None
    return Rule(rid, float(weight), tuple(patterns))


class RuleSet:
    """The compiled rules of every configured category; ``score(text)`` is all it does."""

    def __init__(self, categories: Mapping[str, Any], macros: Mapping[str, str] | None = None):
        macros = dict(macros or {})
        for name, value in macros.items():
            if not isinstance(value, str):
                raise ValueError(f"safety.rules.macros.{name}: must be a regex string, got {type(value).__name__}")
        if not isinstance(categories, Mapping) or not categories:
            raise ValueError("safety.rules.categories: needs at least one category")
        self.categories: dict[str, Category] = {}
        for cid, spec in categories.items():
            where = f"safety.rules.categories.{cid}"
            if cid not in CATEGORIES:
                raise ValueError(f"{where}: unknown category {cid!r}; known: {', '.join(CATEGORIES)}")
            if not isinstance(spec, Mapping):
                raise ValueError(f"{where}: must be a mapping with rules and exemptions")
            unknown = set(spec) - {"description", "rules", "exemptions"}
            if unknown:
                raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
            rules = tuple(_build_rule(r, macros, f"{where}.rules[{i}]") for i, r in enumerate(spec.get("rules") or []))
            if not rules:
                raise ValueError(f"{where}: has no rules")
            exemptions = tuple(_build_rule(r, macros, f"{where}.exemptions[{i}]")
                               for i, r in enumerate(spec.get("exemptions") or []))
            ids = [r.id for r in rules + exemptions]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{where}: duplicate rule ids {', '.join(dupes)}")
            self.categories[cid] = Category(cid, str(spec.get("description", "")), rules, exemptions)

    def score(self, text: str) -> dict[str, CategoryScore]:
        """Every configured category's score for ``text`` (0 where nothing fired)."""
        text = normalize(text)
        out = {}
        for cid, cat in self.categories.items():
            hits = [(r.id, r.weight) for r in cat.rules if r.fires(text)]
            exempt = [(r.id, r.weight) for r in cat.exemptions if r.fires(text)] if hits else []
            raw = sum(w for _, w in hits) - sum(w for _, w in exempt)
            out[cid] = CategoryScore(cid, round(min(max(raw, 0.0), 1.0), 6), hits, exempt)
        return out
