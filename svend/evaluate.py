"""Evaluate a model: ``svend-eval [group=option ...] [key=value ...]``.

    svend-eval model=smollm2_135m eval.limit=20                      # the base model on every benchmark
    svend-eval checkpoint=outputs/tool_arith/<time> eval.tasks=[basic_arithmetic,chain_sum] eval.limit=50
    svend-eval eval.tasks=[humaneval] task.humaneval.sandbox.timeout_s=20

Reads top to bottom: tasks → problems (a missing data file fails here, before a model loads) → model →
tools → engine → evaluate → report card. The benchmarks live in ``svend/evaluation/``; their configs
in ``conf/task/``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import svend.config  # noqa: F401  (registers the resolvers before Hydra composes)
from svend.evaluation.report import comparison_table, write_report
from svend.evaluation.runner import build_tasks, evaluate, select_problems

log = logging.getLogger("svend.evaluate")


def model_label(cfg: DictConfig) -> str:
    """The model's name in the report: ``eval.label``; else for a run folder (or its ``adapter/``)
    ``<task>-<time>``, for any other checkpoint folder its name; else the model config's name."""
    if cfg.eval.label:
        return str(cfg.eval.label)
    if cfg.checkpoint:
        path = Path(str(cfg.checkpoint)).resolve()
        if path.name == "adapter" and (path.parent / "config.yaml").is_file():
            path = path.parent
        parts = path.parts[-2:] if (path / "config.yaml").is_file() else path.parts[-1:]
        return re.sub(r"[^A-Za-z0-9_.+-]+", "_", "-".join(parts)).strip("_") or "checkpoint"
    return str(cfg.model.name)


def evaluate_from_config(cfg: DictConfig) -> dict[str, dict[str, float]]:
    """Run the configured benchmarks on the configured model; returns ``{task: {metric: value}}``."""
    from torch.utils.tensorboard import SummaryWriter

    from svend.inference.loading import load_for_inference

    run_dir = Path(cfg.paths.run_dir)
    # One gate: the safety task scores with it, and the code the model sends to the sandbox passes it.
    gate = instantiate(cfg.safety) if cfg.get("safety") is not None else None
    tasks = build_tasks(cfg.task, list(cfg.eval.tasks), shared={"gate": gate})
    problems = select_problems(tasks, cfg.eval.limit, cfg.eval.seed)
    log.info("problems: %s", ", ".join(f"{name} {len(p)}" for name, p in problems.items()))

    model, tokenizer, description = load_for_inference(
        checkpoint=cfg.checkpoint, model_cfg=None if cfg.checkpoint else cfg.model, dtype=cfg.eval.dtype)
    label = model_label(cfg)
    registry = instantiate(cfg.tools).screen_with(gate)
    writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
    try:
        engine = instantiate(cfg.engine)(model=model, tokenizer=tokenizer, registry=registry)
        metrics = evaluate(engine, tasks, run_dir, label=label, batch_size=cfg.eval.batch_size, problems=problems,
                           tb_writer=writer, step=cfg.eval.step)
        table = comparison_table({label: metrics})
        writer.add_text("eval/report_card", table, global_step=cfg.eval.step)
    finally:
        writer.close()
        registry.close()

    settings: dict[str, Any] = {"checkpoint": cfg.checkpoint, "limit": cfg.eval.limit, "seed": cfg.eval.seed,
                                "tasks": ",".join(tasks), "engine": OmegaConf.to_container(cfg.engine, resolve=True)}
    files = write_report(run_dir, {label: metrics}, models={label: description}, settings=settings)
    print(f"\n{table}")
    print(f"metrics:     {files['metrics']}")
    print(f"report card: {files['report']}")
    print(f"transcripts: {run_dir / label}/<task>.jsonl")
    print(f"TensorBoard: tensorboard --logdir {run_dir / 'tensorboard'}")
    return metrics


@hydra.main(version_base="1.3", config_path=str(svend.config.CONF_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    evaluate_from_config(cfg)


if __name__ == "__main__":
    main()
