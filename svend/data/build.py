"""Build a generated dataset: run the configured generators, dedupe, split, measure, write.

    svend-data generate                                   # recipe=default, data.num_examples=2000
    svend-data generate data.num_examples=12000           # the Phase-1 size (< 5 min on 2 cores)
    svend-data generate recipe=tool_arith data.seed=1     # the main job's arithmetic mixture
    svend-data generate data.kinds.tool_traces.generators.calculator.multiply=3   # reweight one template

Output (``data.out_dir``, default ``data/<recipe>``)::

    <kind>/{train,val,test}.jsonl    chat records (svend.data.schema), metadata on every record
    metadata.json                    counts per kind, generator, split and tool; drops by reason;
                                     token lengths; the generator config

Why each step:
  * Determinism — example ``i`` of generator ``g`` is drawn from ``Random(f"{seed}/{g}/{i}")``, tools
    are deterministic, and nothing time- or machine-dependent is written: the same config gives the
    same bytes. Another seed draws other problems.
  * Dedupe — by a hash of the normalized conversation and its labels; a generator whose template
    space is nearly used up stops after ``max_attempts`` draws per wanted example, and the shortfall is
    reported, not hidden.
  * Split — by a hash of the normalized *problem* (the question, or the template instance a pair
    shares), independent of the seed and of the kind: one problem is in one split everywhere, so nothing
    leaks from train into val/test, not even across datasets built with different seeds. A generator
    with small strata passes the stratum (``Example.split_group``) so that it is split as a whole and
    each stratum reaches every split (safety: each category's templates).
  * Tools shown — each record gets ``registry.tools_for(question)``, the list inference will show;
    a trace calling a tool that list lacks is dropped (``tool_not_shown``): the model must not learn to
    call tools it cannot see.
  * Atomic — the whole dataset is built in a temporary sibling folder and renamed into place: a killed
    run leaves the previous dataset (or none), never a mix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import statistics
import time
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from tqdm import tqdm

from svend.atomic import write_folder
from svend.data.generators import KINDS, Context, Drop, Example
from svend.data.generators.base import digest, normalize
from svend.data.schema import SPLITS, write_jsonl
from svend.tools.registry import _plain  # OmegaConf containers to plain dicts

log = logging.getLogger(__name__)

SOURCE = "svend-data"


# -- config -> plan ------------------------------------------------------------------------------------------

def _allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties by name, so deterministic)."""
    live = {k: float(w) for k, w in weights.items() if float(w) > 0}
    if not live or total <= 0:
        return {k: 0 for k in weights}
    norm = sum(live.values())
    exact = {k: total * w / norm for k, w in live.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(live, key=lambda k: (counts[k] - exact[k], k))[: total - sum(counts.values())]:
        counts[k] += 1
    return {k: counts.get(k, 0) for k in weights}


def plan(data: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Records wanted per kind and generator, from ``data.num_examples`` and the weights in
    ``data.kinds``. Unknown kinds, generators or bad weights fail here, naming the key."""
    kinds = _plain(data.get("kinds")) or {}
    if not isinstance(kinds, Mapping) or not kinds:
        raise ValueError(f"data.kinds must map kinds to {{weight, generators}}; known kinds: {', '.join(KINDS)}")
    kind_weights, generator_weights = {}, {}
    for kind, spec in kinds.items():
        if kind not in KINDS:
            raise ValueError(f"data.kinds.{kind}: unknown kind; known: {', '.join(KINDS)}")
        if not isinstance(spec, Mapping) or "weight" not in spec:
            raise ValueError(f"data.kinds.{kind} needs a weight and generators")
        weight = float(spec["weight"])
        if weight < 0:
            raise ValueError(f"data.kinds.{kind}.weight must be >= 0, got {weight}")
        flat = {}
        for family, templates in (spec.get("generators") or {}).items():
            if not isinstance(templates, Mapping):
                raise ValueError(f"data.kinds.{kind}.generators.{family} must map template names to weights")
            for template, w in templates.items():
                name = f"{family}.{template}"
                if name not in KINDS[kind]:
                    raise ValueError(f"data.kinds.{kind}.generators.{name}: unknown generator; known: {', '.join(KINDS[kind])}")
                if w is None or float(w) < 0:
                    raise ValueError(f"data.kinds.{kind}.generators.{name}: weight must be >= 0, got {w}")
                flat[name] = float(w)
        if weight > 0 and not any(flat.values()):
            raise ValueError(f"data.kinds.{kind} has weight {weight} but no generator with a positive weight")
        kind_weights[kind], generator_weights[kind] = weight, flat
    total = int(data.get("num_examples", 0))
    if total <= 0:
        raise ValueError(f"data.num_examples must be positive, got {total}")
    per_kind = _allocate(total, kind_weights)
    return {kind: _allocate(per_kind[kind], generator_weights[kind]) for kind in kinds if per_kind[kind] > 0}


def _split_fractions(splits: Mapping[str, float]) -> list[tuple[str, float]]:
    splits = dict(_plain(splits) or {})
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"data.splits: unknown split(s) {sorted(unknown)}; use {', '.join(SPLITS)}")
    if any(float(v) < 0 for v in splits.values()) or abs(sum(float(v) for v in splits.values()) - 1) > 1e-6:
        raise ValueError(f"data.splits must be non-negative fractions summing to 1, got {splits}")
    return [(s, float(splits.get(s, 0))) for s in SPLITS]


def _split_hash(problem: str) -> float:
    return int(hashlib.sha256(f"split/{normalize(problem)}".encode("utf-8")).hexdigest()[:15], 16) / 16**15


@lru_cache(maxsize=None)
def _ranked(group: tuple[str, ...]) -> tuple[str, ...]:
    """A stratum's distinct normalized problems in hash order (once per stratum, not once per record)."""
    return tuple(sorted({normalize(p) for p in group}, key=_split_hash))


def split_of(problem: str, fractions: list[tuple[str, float]], group: tuple[str, ...] | None = None) -> str:
    """The split of a problem: a hash of its normalized text, so a problem has one split everywhere.

    With ``group`` (every problem of its stratum, e.g. all templates of one safety category) the
    stratum is split as a whole: its problems ranked by the same hash, each held-out split takes
    ``round(fraction × size)`` of them and at least one, the rest train — so a small stratum still
    appears in every split. A stratum too small to leave train one problem falls back to the hash."""
    if group:
        ranked, key = _ranked(tuple(group)), normalize(problem)
        if key not in ranked:
            raise ValueError(f"split_of: {problem!r} is not in its own group of {len(ranked)} problems")
        held = [(name, max(1, round(f * len(ranked)))) for name, f in fractions if name != "train" and f > 0]
        if sum(n for _, n in held) < len(ranked):
            position = ranked.index(key)
            for name, n in held:
                if position < n:
                    return name
                position -= n
            return "train"
    h = _split_hash(problem)
    edge = 0.0
    for name, fraction in fractions:
        edge += fraction
        if h < edge:
            return name
    return next(n for n, f in reversed(fractions) if f > 0)  # h within rounding of 1.0


# -- generating --------------------------------------------------------------------------------------------

def _tools_used(messages: list[dict]) -> list[str]:
    names = [c["function"]["name"] for m in messages for c in m.get("tool_calls") or []]
    return list(dict.fromkeys(names))


def _dedupe_key(record: dict) -> str:
    labels = {k: record["metadata"].get(k) for k in ("kind", "label", "corruption", "category")}
    return hashlib.sha256(normalize(json.dumps([record["messages"], labels], ensure_ascii=False, sort_keys=True)).encode()).hexdigest()


def _record(example: Example, kind: str, generator: str, seed: int, split: str, tools: list[dict]) -> dict:
    return {
        "messages": example.messages,
        "tools": tools,
        "metadata": {
            "source": SOURCE, "generator": generator, "kind": kind, "seed": seed, "split": split,
            "lineage_id": digest(normalize(example.problem)), "answer": example.answer,
            "tools_used": _tools_used(example.messages), **example.extra,
        },
    }


class Generated:
    """Records per kind and split, and what happened on the way."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, list[dict]]] = defaultdict(lambda: {s: [] for s in SPLITS})
        self.dropped: dict[str, Counter] = defaultdict(Counter)
        self.shortfall: dict[str, int] = {}

    def count(self) -> int:
        return sum(len(r) for splits in self.records.values() for r in splits.values())


def generate(data: Mapping[str, Any], registry, progress: bool = True) -> Generated:
    """Run every planned generator until it has its share of unique records. A generator that gives up
    (``max_attempts`` draws per wanted record) leaves a shortfall, which the other generators of the
    same kind fill, round-robin, so the kind keeps its size."""
    wanted = plan(data)
    seed = int(data.get("seed", 0))
    fractions = _split_fractions(data.get("splits") or {"train": 0.9, "val": 0.05, "test": 0.05})
    max_tools = int(data.get("max_tools", 4))
    max_attempts = float(data.get("max_attempts", 5))
    ctx = Context(registry, seed=seed)
    out = Generated()
    seen: set[str] = set()
    next_index: Counter = Counter()

    def draw(kind: str, name: str) -> int:
        """One draw of generator ``name``; returns the number of records kept."""
        index = next_index[name]
        next_index[name] += 1
        try:
            produced = KINDS[kind][name](ctx, random.Random(f"{seed}/{name}/{index}"), index)
        except Drop as drop:
            out.dropped[name][drop.reason] += 1
            return 0
        records = []
        for example in produced if isinstance(produced, list) else [produced]:
            tools = registry.tools_for(example.question, max_tools)
            if not set(_tools_used(example.messages)) <= {t["function"]["name"] for t in tools}:
                out.dropped[name]["tool_not_shown"] += 1
                return 0
            records.append(_record(example, kind, name, seed, split_of(example.problem, fractions, example.split_group), tools))
        keys = [_dedupe_key(r) for r in records]
        if any(k in seen for k in keys):
            out.dropped[name]["duplicate"] += 1
            return 0
        seen.update(keys)
        for record in records:
            out.records[kind][record["metadata"]["split"]].append(record)
        if bar.n + len(records) > bar.total:  # a pair generator may overshoot its share by one record
            bar.total = bar.n + len(records)
        bar.update(len(records))
        return len(records)

    total = sum(n for gens in wanted.values() for n in gens.values())
    bar = tqdm(total=total, desc="generating", unit="rec", disable=not progress, dynamic_ncols=True)
    try:
        for kind, generators in wanted.items():
            deficit, open_ = 0, []
            for name, n in generators.items():
                if n <= 0:
                    continue
                bar.set_postfix_str(name, refresh=False)
                made, limit = 0, max(int(n * max_attempts), n + 20)
                while made < n and next_index[name] < limit:
                    made += draw(kind, name)
                if made < n:
                    out.shortfall[name] = n - made
                    deficit += n - made
                    log.warning("%s: %d of %d records after %d draws; the rest of %s fills in", name, made, n, next_index[name], kind)
                else:
                    open_.append(name)
            while deficit > 0 and open_:  # round-robin over generators that still have room
                for name in list(open_):
                    bar.set_postfix_str(f"{name} (filling)", refresh=False)
                    kept = 0
                    for _ in range(int(max_attempts) + 1):
                        kept = draw(kind, name)
                        if kept:
                            break
                    if not kept:
                        open_.remove(name)
                    deficit -= kept
                    if deficit <= 0:
                        break
    finally:
        bar.close()
    for kind, splits in out.records.items():  # a deterministic shuffle, so files don't come in generator blocks
        for split, records in splits.items():
            random.Random(f"{seed}/shuffle/{kind}/{split}").shuffle(records)
    return out


# -- measuring and writing -----------------------------------------------------------------------------------

def token_lengths(tokenizer, records: list[dict]) -> list[int]:
    """Tokens of each record exactly as training counts them (``packing.encode_records`` tokenizes the
    rendered segments one by one, system turn with the tools block included), before truncation.
    Segments repeat — the same tools block heads hundreds of records — so each distinct segment is
    tokenized once."""
    from svend.chat_format import format_for

    fmt = format_for(tokenizer)
    rendered = [[s.text for s in fmt.segments(r["messages"], r.get("tools"))] for r in records]
    unique = list(dict.fromkeys(text for segments in rendered for text in segments))
    if not unique:
        return []
    counts = dict(zip(unique, map(len, tokenizer(unique, add_special_tokens=False)["input_ids"])))
    return [sum(counts[text] for text in segments) for segments in rendered]


def _summary(lengths: list[int]) -> dict:
    if not lengths:
        return {"count": 0}
    ordered = sorted(lengths)
    return {"count": len(ordered), "min": ordered[0], "median": statistics.median_low(ordered), "mean": round(statistics.fmean(ordered), 1),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], "max": ordered[-1], "total": sum(ordered)}


def metadata(data: Mapping[str, Any], gen: Generated, tokenizer=None) -> dict:
    kinds, tools, lengths = {}, defaultdict(Counter), {}
    for kind, splits in gen.records.items():
        per_generator: dict[str, Counter] = defaultdict(Counter)
        for split, records in splits.items():
            for r in records:
                per_generator[r["metadata"]["generator"]][split] += 1
                for m in r["messages"]:
                    for c in m.get("tool_calls") or []:
                        tools[c["function"]["name"]][split] += 1
        kinds[kind] = {"total": sum(len(r) for r in splits.values()),
                       "splits": {s: len(splits[s]) for s in SPLITS},
                       "generators": {g: {s: c[s] for s in SPLITS} for g, c in sorted(per_generator.items())}}
        if tokenizer is not None:
            lengths[kind] = {s: _summary(token_lengths(tokenizer, splits[s])) for s in SPLITS}
    return {
        "name": data.get("name"),
        "source": SOURCE,
        "seed": int(data.get("seed", 0)),
        "num_examples": {"requested": int(data.get("num_examples", 0)), "written": gen.count()},
        "kinds": kinds,
        "tool_calls": {t: {s: c[s] for s in SPLITS} for t, c in sorted(tools.items())},
        "dropped": {g: dict(sorted(c.items())) for g, c in sorted(gen.dropped.items())},
        "shortfall": dict(sorted(gen.shortfall.items())),
        "token_lengths": {"tokenizer": data.get("tokenizer"), "per_kind": lengths} if tokenizer is not None else None,
        "config": _plain(data),
    }


def write(out_dir: str | Path, gen: Generated, meta: dict) -> Path:
    """Write every ``<kind>/<split>.jsonl`` and ``metadata.json`` into a temporary sibling, then swap
    it in. Empty splits get no file (a reader would reject an empty file)."""

    def fill(tmp: Path) -> None:
        files = {}
        for kind, splits in gen.records.items():
            for split in SPLITS:
                if splits[split]:
                    write_jsonl(tmp / kind / f"{split}.jsonl", splits[split])
                    files.setdefault(kind, {})[split] = f"{kind}/{split}.jsonl"
        (tmp / "metadata.json").write_text(json.dumps({**meta, "files": files}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return write_folder(out_dir, fill, replace=True)


def run(cfg) -> Path:
    """``svend-data generate``: build the registry from ``cfg.tools``, generate ``cfg.data``, write it."""
    from hydra.utils import instantiate

    data = cfg.data
    plan(data)  # fail on a bad config before building anything
    started = time.perf_counter()
    tokenizer = None
    if data.get("tokenizer"):
        from svend.models.pretrained import load_tokenizer

        tokenizer = load_tokenizer(str(data.tokenizer))
    registry = instantiate(cfg.tools)
    try:
        gen = generate(data, registry)
    finally:
        registry.close()
    meta = metadata(data, gen, tokenizer)
    print(f"writing {data.out_dir} ...", flush=True)
    out = write(Path(str(data.out_dir)), gen, meta)
    elapsed = time.perf_counter() - started
    print(f"\nwrote {gen.count()} records in {elapsed:.0f} s to {out}")
    for kind, info in meta["kinds"].items():
        splits = ", ".join(f"{s} {n}" for s, n in info["splits"].items())
        line = f"  {kind:14s} {info['total']:6d}  ({splits})"
        if meta["token_lengths"]:
            line += f"  median {meta['token_lengths']['per_kind'][kind]['train'].get('median', '-')} tokens (train)"
        print(line)
    drops = sum(sum(c.values()) for c in gen.dropped.values())
    if drops:
        worst = sorted(((sum(c.values()), g) for g, c in gen.dropped.items()), reverse=True)[:3]
        print(f"  dropped {drops} draws (most: {', '.join(f'{g} {n}' for n, g in worst)}); reasons in metadata.json")
    if gen.shortfall:
        print(f"  short of target: {gen.shortfall}")
    print(f"metadata:        {out / 'metadata.json'}")
    print(f"check the traces: svend-data verify {out}")
    return out
