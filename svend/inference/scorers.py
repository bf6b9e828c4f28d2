"""Scorers for best-of-N: which of N sampled candidates to return.

A scorer is any callable ``(conversation, candidates: list[Generation]) -> list[float]`` (one score per
candidate, higher is better; the engine returns the best, ties to the first). ``engine.scorer`` in
config is a name from ``SCORERS``, ``name:argument`` for a scorer built from one argument, or a
``_target_`` node for one that needs several::

    engine.scorer=majority                                 # self-consistency
    engine.scorer=verifier                                 # the newest finished verifier run in ./svend.db
    engine.scorer=verifier:outputs/verifier/<time>         # that run
    engine.scorer=verifier_vote:outputs/verifier/<time>    # votes weighted by that verifier's P(correct)
    '+engine.scorer={_target_: svend.stages.verifier.VerifierScorer, source: <run>, batch_size: 16}'

Registering one is one line in ``SCORERS``: a scorer, or ``"module:attr"`` of a factory imported on
first use, so a heavy scorer costs nothing until a config asks for it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence

from svend.inference.answers import extract_answer, normalize_answer

Scorer = Callable[[Sequence[dict], Sequence[Any]], list[float]]


def weighted_vote(candidates: Sequence[Any], weights: Sequence[float]) -> list[float]:
    """Each candidate scores the summed weight of the candidates whose final answer
    (`svend.inference.answers.extract_answer`, compared normalized) equals its own; no answer scores 0.
    Weights 1/N are self-consistency; a verifier's P(correct) is weighted voting (Li et al. 2023)."""
    answers = [normalize_answer(extract_answer(c.final)) for c in candidates]
    totals: dict[str, float] = {}
    for answer, weight in zip(answers, weights, strict=True):
        if answer is not None:
            totals[answer] = totals.get(answer, 0.0) + float(weight)
    return [totals[a] if a is not None else 0.0 for a in answers]


def best_index(scores: Sequence[float]) -> int:
    """The candidate best-of-N returns for these scores: the highest, ties to the first (with
    ``engine.greedy_candidate`` the first is greedy's)."""
    return max(range(len(scores)), key=lambda k: (scores[k], -k))


def majority(conversation: Sequence[dict], candidates: Sequence[Any]) -> list[float]:
    """Self-consistency: each candidate scores the share of candidates that give its final answer."""
    n = len(candidates) or 1
    return [votes / n for votes in weighted_vote(candidates, [1.0] * len(candidates))]


# name -> a scorer, or "module:attr" of a scorer factory (called with no arguments) imported on first use
SCORERS: dict[str, Scorer | str] = {
    "majority": majority,
    "verifier": "svend.stages.verifier:VerifierScorer",
    "verifier_vote": "svend.stages.verifier:VerifierVote",
}


def resolve_scorer(spec: Any) -> Scorer:
    """A scorer from a name in `SCORERS`, a ``_target_`` config node, or a callable."""
    if isinstance(spec, str):
        name, colon, argument = spec.partition(":")
        if name not in SCORERS:
            raise ValueError(f"engine.scorer={spec!r}: unknown scorer; known: {', '.join(sorted(SCORERS))}, "
                             "or a _target_ node")
        entry = SCORERS[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            factory = getattr(importlib.import_module(module), attr)
            return factory(argument) if colon else factory()
        if colon:
            raise ValueError(f"engine.scorer={spec!r}: {name} takes no argument")
        return entry
    if isinstance(spec, Mapping) or type(spec).__name__ == "DictConfig":
        if "_target_" not in spec:
            raise ValueError(f"engine.scorer: a config node needs _target_, got keys {sorted(spec)}")
        from hydra.utils import instantiate

        return resolve_scorer(instantiate(spec))
    if callable(spec):
        return spec
    raise ValueError(f"engine.scorer must be a name ({', '.join(sorted(SCORERS))}), a _target_ node or a callable; "
                     f"got {type(spec).__name__}")
