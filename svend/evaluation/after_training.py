"""The main job's last step: the base model and the model just trained, side by side, through the same
tool-loop engine on the same held-out problems.

Training calls `compare_with_base` when the run's config has an ``eval`` node (``experiment=tool_arith``
sets it, with the ``engine`` and ``task`` groups). The tuned model is reloaded from the run folder
exactly as ``svend-serve checkpoint=<run>`` and ``svend-eval checkpoint=<run>`` will load it, so the
comparison also proves the saved artifacts are complete. Results go to ``<run>/eval/``: metrics.json,
report.md, per-problem transcripts and TensorBoard scalars (``<run>/eval/tensorboard/{base,tuned}``).
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from svend.evaluation.runner import build_tasks, compare
from svend.inference.loading import load_for_inference


def compare_with_base(cfg: DictConfig, run_dir: Path) -> tuple[dict, str]:
    """Evaluate ``cfg.model`` (the base, no adapter) and ``run_dir``'s trained model; returns
    ``({label: metrics}, markdown table)`` and prints the table."""
    tasks = build_tasks(cfg.task, list(cfg.eval.tasks))
    registry = instantiate(cfg.tools)
    try:
        base, base_tok, base_info = load_for_inference(model_cfg=cfg.model)
        tuned, tuned_tok, tuned_info = load_for_inference(run_dir)
        engine = instantiate(cfg.engine)
        by_label, table = compare(
            {"base": (base, base_tok), "tuned": (tuned, tuned_tok)}, tasks,
            lambda model, tokenizer: engine(model=model, tokenizer=tokenizer, registry=registry),
            run_dir / "eval", limit=cfg.eval.limit, seed=cfg.eval.seed, batch_size=cfg.eval.batch_size,
            descriptions={"base": base_info, "tuned": tuned_info})
    finally:
        registry.close()
    print(f"\nbase vs tuned ({cfg.eval.limit or 'all'} problems per task, same engine, same tools):\n\n{table}\n")
    print(f"evaluation:      {run_dir / 'eval' / 'report.md'}")
    return by_label, table
