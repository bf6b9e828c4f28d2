"""What an evaluation leaves in its run folder, in three forms for three readers.

    metrics.json        machines (gates, regression checks, the state DB): {"metrics": {label: {task:
                        {metric: value}}}, "models": {label: description}, "settings": {...}}
    report.md           people: the report card — one table task × metric (a column per model, and a
                        ratio column when two are compared) and a right and a wrong transcript per task
    tensorboard/        curves: scalars ``eval/<task>/<metric>`` (one run folder per label when models
                        are compared) and the table in the TEXT tab

The per-problem transcripts (``<label>/<task>.jsonl``, written by the runner) are where the examples
come from. Every file is written atomically: a killed evaluation leaves the previous file or the new
one, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from svend.atomic import write_file

Metrics = Mapping[str, Mapping[str, float]]  # task -> metric -> value

EXAMPLE_CHARS = 1200


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling and a rename."""
    return write_file(path, lambda f: f.write(text))


def write_jsonl_atomic(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """One JSON object per line; values JSON cannot hold are written as their ``str``."""
    return write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


# -- the table -------------------------------------------------------------------------------------

def _cell(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric == "n":
        return str(int(value))
    return f"{value:.3f}"


def comparison_table(metrics_by_label: Mapping[str, Metrics]) -> str:
    """A markdown table: one row per task and metric, one column per label; with exactly two labels a
    last column gives second ÷ first (— where the first is 0 or a value is missing)."""
    labels = list(metrics_by_label)
    if not labels:
        raise ValueError("comparison_table needs the metrics of at least one model")
    rows: dict[tuple[str, str], None] = {}
    for metrics in metrics_by_label.values():
        for task, values in metrics.items():
            for metric in values:
                rows[(task, metric)] = None
    ratio = len(labels) == 2
    header = ["task", "metric", *labels] + ([f"{labels[1]} / {labels[0]}"] if ratio else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for task, metric in rows:
        values = [metrics_by_label[label].get(task, {}).get(metric) for label in labels]
        cells = [task, metric, *(_cell(metric, v) for v in values)]
        if ratio:
            a, b = values
            cells.append("—" if a in (None, 0) or b is None else f"{b / a:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- examples --------------------------------------------------------------------------------------

def _clip(text: str, limit: int = EXAMPLE_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def _fence(text: str) -> str:
    """A code fence long enough that the text's own ``` cannot close it."""
    ticks = "````" if "```" in text else "```"
    return f"{ticks}text\n{text}\n{ticks}"


def _read_transcripts(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _example(label: str, record: Mapping[str, Any]) -> str:
    verdict = "right" if record.get("passed") else "wrong"
    prompt = "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in record.get("prompt", []))
    parts = [f"**{label} · `{record.get('id')}` · {verdict}** (finish: {record.get('finish_reason')}, "
             f"{record.get('new_tokens')} new tokens)", "", "Prompt:", "", _fence(_clip(prompt)), "",
             "Completion:", "", _fence(_clip(record.get("completion") or "")), ""]
    calls = record.get("tool_calls") or []
    for call in calls:
        arguments = json.dumps(call.get("arguments"), ensure_ascii=False)
        outcome = "ok" if call.get("ok") else "error"
        parts.append(f"- tool call `{call.get('name')}` {_clip(arguments, 200)} → {outcome}")
    scalar = (bool, int, float, str, type(None))
    scores = {k: v for k, v in (record.get("score") or {}).items() if isinstance(v, scalar)}
    parts += [""] * bool(calls) + [f"Scores: `{json.dumps(scores, ensure_ascii=False, default=str)[:600]}`", ""]
    return "\n".join(parts)


def examples_section(out_dir: Path, metrics_by_label: Mapping[str, Metrics], per_task: int = 1) -> str:
    """Up to ``per_task`` right and as many wrong transcripts per task and label."""
    parts = ["## Examples", ""]
    tasks = list(dict.fromkeys(task for metrics in metrics_by_label.values() for task in metrics))
    for task in tasks:
        parts += [f"### {task}", ""]
        for label in metrics_by_label:
            records = _read_transcripts(out_dir / label / f"{task}.jsonl")
            right = [r for r in records if r.get("passed")][:per_task]
            wrong = [r for r in records if not r.get("passed")][:per_task]
            parts += [_example(label, r) for r in right + wrong]
    return "\n".join(parts)


# -- the files -------------------------------------------------------------------------------------

def write_report(out_dir: str | os.PathLike, metrics_by_label: Mapping[str, Metrics],
                 models: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None,
                 examples_per_task: int = 1) -> dict[str, Path]:
    """Write ``metrics.json`` and ``report.md`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    models, settings = dict(models or {}), dict(settings or {})
    payload = {"metrics": metrics_by_label, "models": models, "settings": settings}
    metrics_file = write_text_atomic(out_dir / "metrics.json", json.dumps(payload, indent=2, default=str) + "\n")
    lines = ["# Svend report card", ""]
    if settings:
        lines += [" · ".join(f"{k}: `{v}`" for k, v in settings.items()), ""]
    for label in metrics_by_label:
        description = models.get(label)
        described = json.dumps(description, default=str) if isinstance(description, Mapping) else description
        lines.append(f"- **{label}**" + (f": `{described}`" if described else ""))
    lines += ["", "## Scores", "", comparison_table(metrics_by_label), examples_section(out_dir, metrics_by_label,
                                                                                         examples_per_task)]
    report_file = write_text_atomic(out_dir / "report.md", "\n".join(lines))
    return {"metrics": metrics_file, "report": report_file}


def log_scalars(writer, metrics: Metrics, step: int = 0) -> None:
    """Every metric as TensorBoard scalar ``eval/<task>/<metric>`` at ``step``."""
    for task, values in metrics.items():
        for metric, value in values.items():
            writer.add_scalar(f"eval/{task}/{metric}", float(value), global_step=step)
    writer.flush()
