"""Run benchmarks through the inference engine and keep everything they produce.

    from svend.evaluation.runner import build_tasks, compare, evaluate
    tasks = build_tasks(cfg.task, ["chain_sum", "tool_calls"])            # conf/task/*.yaml
    metrics = evaluate(engine, tasks, out_dir, limit=50, label="tuned")   # {task: {metric: value}}
    by_label, table = compare({"base": (m0, tok0), "tuned": (m1, tok1)}, tasks, engine_factory, out_dir)

The runner owns the loop a task should not care about: choose the problems (once, so every model
sees the same ones), batch them through ``engine.generate`` with a progress bar, hand each
``(problem, Generation)`` to ``task.evaluate``, aggregate, and save one transcript per problem as
``<out_dir>/<label>/<task>.jsonl`` (prompt, completion, tool calls, scores) the moment a task is done,
so a crash in the last benchmark loses nothing before it. ``compare`` evaluates several models through
the same engine configuration on the same problems and writes one report card for all of them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hydra.utils import instantiate
from tqdm.auto import tqdm

from svend.evaluation.report import comparison_table, log_scalars, write_jsonl_atomic, write_report
from svend.evaluation.task import Task, mean_of
from svend.inference.scorers import best_index, majority

_LABEL = re.compile(r"^[A-Za-z0-9_.+-]+$")


def build_tasks(task_cfgs: Mapping[str, Any], names: Sequence[str], shared: Mapping[str, Any] | None = None
                ) -> dict[str, Task]:
    """Instantiate the named tasks of the ``task`` config group (``task.<name>`` nodes). ``shared``
    holds objects built once by the caller (``{"gate": gate}``) and given to every task whose config
    sets that key (``task.safety.gate=null`` keeps it out), instead of each task building its own copy (a classifier loaded twice)."""
    if isinstance(names, str):
        names = [names]
    if not names:
        raise ValueError("eval.tasks is empty: name at least one task, e.g. eval.tasks=[chain_sum]")
    unknown = [n for n in names if n not in task_cfgs]
    if unknown:
        raise ValueError(f"eval.tasks names unknown task(s) {', '.join(map(str, unknown))}; "
                         f"known (conf/task/): {', '.join(task_cfgs)}")
    tasks = {}
    for name in names:
        given = {key: value for key, value in (shared or {}).items() if task_cfgs[name].get(key) is not None}
        task = instantiate(task_cfgs[name], name=name, _convert_="all", **given)  # plain dicts and lists, not OmegaConf nodes
        if not isinstance(task, Task):
            raise TypeError(f"task.{name} built a {type(task).__name__}, not a svend.evaluation.task.Task")
        tasks[name] = task
    return tasks


def select_problems(tasks: Mapping[str, Task], limit: int | None = None, seed: int = 0) -> dict[str, list[dict]]:
    """Every task's problems for this ``limit`` and ``seed``, loaded up front: a missing data file
    fails before a model is loaded, and models compared later all get these same problems."""
    problems = {}
    for name, task in tasks.items():
        problems[name] = task.problems(limit=limit, seed=seed)
        if not problems[name]:
            raise ValueError(f"task {name} has no problems (limit={limit})")
        ids = [p["id"] for p in problems[name]]
        if len(set(ids)) != len(ids):
            raise ValueError(f"task {name}: problem ids are not unique")
    return problems


def best_of_columns(task: Task, problem: Mapping[str, Any], generation: Any, key: str
                    ) -> tuple[dict[str, bool], list[dict]]:
    """Best-of-N, read off the candidates the engine already sampled: whether the first candidate
    (greedy's with ``engine.greedy_candidate``), majority vote's pick and any candidate pass ``key``.
    One run then compares the configured scorer with greedy and with self-consistency on the same
    samples, next to the ceiling no scorer can pass (``@any``, pass@N). Returns ``({key@first,
    key@majority, key@any}, one record per candidate)``; empty for a single candidate. A candidate's
    record keeps its new turns, so ``svend-data samples`` can turn the candidates into verifier data."""
    candidates = list(getattr(generation, "candidates", None) or [])
    if len(candidates) < 2:
        return {}, []
    passed = [bool(task.evaluate(problem, c).get(key)) for c in candidates]
    voted = best_index(majority(problem["messages"], candidates))
    columns = {f"{key}@first": passed[0], f"{key}@majority": passed[voted], f"{key}@any": any(passed)}
    return columns, [{"final": c.final, "score": c.score, "passed": ok, "messages": c.messages}
                     for c, ok in zip(candidates, passed)]


def transcript(problem: Mapping[str, Any], generation: Any, score: Mapping[str, Any], passed: bool,
               candidates: list[dict] | None = None) -> dict:
    """The saved record of one problem: what was asked, what came back, how it scored (and with
    best-of-N, each candidate's final answer, scorer score, pass and new turns)."""
    tools = problem.get("tools")
    return {
        "id": problem["id"],
        "prompt": problem["messages"],
        "tools_offered": None if tools is None else [t.get("function", t).get("name") for t in tools],
        "completion": generation.text,
        "final": generation.final,
        "tool_calls": [{"name": c.name, "arguments": c.arguments, "ok": c.ok, "round": c.round, "result": c.result}
                       for c in generation.tool_calls],
        "finish_reason": generation.finish_reason,
        "rounds": generation.rounds,
        "new_tokens": generation.new_tokens,
        "candidates": candidates or [],
        "passed": passed,
        "score": dict(score),
    }


def headline(task: Task) -> str:
    """The metric a task is judged by at a glance: its ``headline``, else the first of its ``metrics``."""
    return task.headline or task.metrics[0]


def evaluate(engine: Any, tasks: Mapping[str, Task], out_dir: str | Path, limit: int | None = None,
             label: str = "model", seed: int = 0, batch_size: int = 32,
             problems: Mapping[str, list[dict]] | None = None, tb_writer: Any = None, step: int = 0
             ) -> dict[str, dict[str, float]]:
    """Generate and score every task's problems; returns ``{task: {metric: value}}``.

    With best-of-N each task also reports ``<headline>@first``, ``@majority`` and ``@any`` over the same
    candidates (`best_of_columns`). Transcripts go to ``<out_dir>/<label>/<task>.jsonl``; with
    ``tb_writer`` (a TensorBoard ``SummaryWriter``) every metric is also logged as
    ``eval/<task>/<metric>`` at ``step``.
    ``problems`` (from ``select_problems``) pins the problem set; otherwise it is chosen here.
    """
    if not _LABEL.match(label):
        raise ValueError(f"label {label!r} must be a plain folder name (letters, digits, _ . + -)")
    if batch_size < 1:
        raise ValueError(f"eval.batch_size must be at least 1, got {batch_size}")
    problems = problems if problems is not None else select_problems(tasks, limit, seed)
    out_dir = Path(out_dir)
    metrics: dict[str, dict[str, float]] = {}
    for name, task in tasks.items():
        todo, key = problems[name], headline(task)
        rows, records, extra = [], [], {}  # extra: the best-of-N columns, in order
        started = time.perf_counter()
        with tqdm(total=len(todo), desc=f"{label} · {name}", unit="problem", dynamic_ncols=True) as bar:
            for start in range(0, len(todo), batch_size):
                batch = todo[start:start + batch_size]
                generations = engine.generate([p["messages"] for p in batch], tools=[p.get("tools") for p in batch])
                if len(generations) != len(batch):
                    raise RuntimeError(f"the engine returned {len(generations)} generations for {len(batch)} prompts")
                for problem, generation in zip(batch, generations):
                    row = task.evaluate(problem, generation)
                    columns, candidates = best_of_columns(task, problem, generation, key)
                    extra.update(dict.fromkeys(columns))
                    rows.append({**row, **columns})
                    records.append(transcript(problem, generation, rows[-1], bool(row.get(key)), candidates))
                bar.update(len(batch))
                bar.set_postfix({key: f"{sum(bool(r.get(key)) for r in rows) / len(rows):.2f}"})
        metrics[name] = {**task.aggregate(rows), **mean_of(rows, extra)}
        metrics[name]["seconds"] = round(time.perf_counter() - started, 2)
        write_jsonl_atomic(out_dir / label / f"{name}.jsonl", records)
        if tb_writer is not None:
            log_scalars(tb_writer, {name: metrics[name]}, step)
    return metrics


def compare(models: Mapping[str, tuple[Any, Any]], tasks: Mapping[str, Task], engine_factory: Callable[[Any, Any], Any],
            out_dir: str | Path, limit: int | None = None, seed: int = 0, batch_size: int = 32, step: int = 0,
            descriptions: Mapping[str, Any] | None = None) -> tuple[dict[str, dict], str]:
    """Evaluate each ``label: (model, tokenizer)`` with ``engine_factory(model, tokenizer)`` — the same
    engine settings for all — on the same problems; write ``metrics.json``, ``report.md`` and
    ``tensorboard/<label>/`` into ``out_dir``. Returns ``({label: metrics}, markdown table)``; with two
    models the table has a ratio column (second ÷ first)."""
    from torch.utils.tensorboard import SummaryWriter

    if not models:
        raise ValueError("compare needs at least one model")
    out_dir = Path(out_dir)
    problems = select_problems(tasks, limit, seed)
    by_label: dict[str, dict] = {}
    for label, (model, tokenizer) in models.items():
        engine = engine_factory(model, tokenizer)
        writer = SummaryWriter(log_dir=str(out_dir / "tensorboard" / label))
        try:
            by_label[label] = evaluate(engine, tasks, out_dir, label=label, batch_size=batch_size,
                                       problems=problems, tb_writer=writer, step=step)
        finally:
            writer.close()
    table = comparison_table(by_label)
    write_report(out_dir, by_label, models=descriptions or {label: None for label in models},
                 settings={"limit": limit, "seed": seed, "tasks": ",".join(tasks)})
    return by_label, table
