"""Train a Svend model: ``svend-train [group=option ...] [key=value ...]``.

    svend-train experiment=smoke                         # seconds
    svend-train model=smollm2_135m adapter=lora          # fine-tune the offline default base
    svend-train -m optim.lr=1e-3,3e-4                    # multirun: one run folder per value
    svend-train hparams_search=optuna                    # Optuna sweep; returns optimized_metric
    svend-train hydra.run.dir=outputs/train/<time> resume=last   # continue an interrupted run
    svend-runs resume 3                                  # the same, by its id in paths.state_db (svend-runs list)

Reads top to bottom: seed → model → data → stage → callbacks, loggers → trainer → fit → test → report
→ (with an ``eval`` node, e.g. experiment=tool_arith) base vs tuned on held-out problems.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig

import svend.config  # noqa: F401  (registers the schema and resolvers before Hydra composes)
from svend.models.build import build_model
from svend.models.memory import check_fits, measured_vs_planned, plan_from_config
from svend.runs import instantiate_all, load_weights, log_hparams, resume_checkpoint, save_adapter_folder, save_run_files
from svend.state.runs import record_run

log = logging.getLogger("svend.train")
# With OnExceptionCheckpoint present, Lightning turns fit(ckpt_path=None) into "last" and warns that there
# is none in a fresh run folder; resuming is explicit here (resume=last / ckpt_path=…), so that is noise.
warnings.filterwarnings("ignore", message=r".*(was called without a model|there is no last checkpoint available).*")
# Mid-epoch resume is exact: the DataModule's state (batches consumed) makes the sampler skip ahead.
warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")


def train(cfg: DictConfig) -> tuple[float | None, dict[str, float]]:
    """Fit (and test) the configured stage; returns the optimized metric and all final metrics."""
    L.seed_everything(cfg.seed, workers=True)
    run_dir = Path(cfg.paths.run_dir)
    ckpt_path = resume_checkpoint(cfg)
    memory = plan_from_config(cfg)  # refuses, naming the levers, a run that will not fit its card
    log.info("memory plan (%s):\n%s", cfg.hardware.name, memory.table())
    check_fits(memory)

    net, tokenizer = build_model(cfg.model, cfg.adapter, cfg.hardware.precision)
    datamodule = instantiate(cfg.data, tokenizer=tokenizer)
    module = instantiate(cfg.stage, net=net, optimizer=instantiate(cfg.optim), scheduler=instantiate(cfg.scheduler))

    loggers = instantiate_all(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=instantiate_all(cfg.get("callbacks")),
        logger=loggers or False,
        use_distributed_sampler=False,  # Svend's batch sampler shards by rank itself
    )
    if trainer.is_global_zero:
        save_run_files(cfg, tokenizer, run_dir)

    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    measured = measured_vs_planned(memory)  # GPU runs: does the planner hold for this model and card?
    if measured:
        metrics.update(measured)
        log.info("peak GPU memory: %.2f GiB allocated, %.2f GiB reserved; planned %.2f GiB allocated (%+.0f %%)",
                 measured["memory/peak_allocated_gib"], measured["memory/peak_reserved_gib"],
                 measured["memory/planned_allocated_gib"], 100 * measured["memory/planned_error"])
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:  # test and export the best weights, not the last step's
        load_weights(module, best)
    if cfg.test and datamodule.files["test"]:
        metrics.update({k: float(v) for d in trainer.test(module, datamodule=datamodule) for k, v in d.items()})
    best_score = trainer.checkpoint_callback.best_model_score if trainer.checkpoint_callback else None
    if best_score is not None:
        metrics[f"best_{cfg.optimized_metric}"] = float(best_score)
    if trainer.is_global_zero:
        log_hparams(loggers, cfg, metrics)
        adapter = save_adapter_folder(net, tokenizer, run_dir, {"stage": cfg.stage.name, "checkpoint": best, "step": trainer.global_step})
        print(f"\nrun folder:      {run_dir}")
        print(f"best checkpoint: {best or '(none: no validation ran)'}")
        if adapter is not None:
            print(f"adapter:         {adapter}   (merge: svend-export {adapter} OUT)")
        if (run_dir / "tensorboard").is_dir():
            print(f"TensorBoard:     tensorboard --logdir {run_dir / 'tensorboard'}")
        # base vs tuned on held-out problems (experiment=tool_arith); eval.after_training=false skips it
        if cfg.get("eval") and cfg.eval.get("after_training", True):
            from svend.evaluation.after_training import compare_with_base

            compare_with_base(cfg, run_dir)
        print(f"tuned model:     {adapter or best or run_dir}")
        print(f"serve it:        svend-serve checkpoint={run_dir}")
    optimized = float(best_score) if best_score is not None else metrics.get(cfg.optimized_metric)
    return optimized, metrics


def recorded_train(cfg: DictConfig) -> float | None:
    """`train`, with the run's row in the state database (``paths.state_db``; ``svend-runs list``)."""
    with record_run(cfg) as record:
        record.score, record.metrics = train(cfg)
    return record.score


@hydra.main(version_base="1.3", config_path=str(svend.config.CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        # One failed trial (an OOM, a diverged run) is recorded as failed; the sweep goes on.
        try:
            return recorded_train(cfg)
        except Exception:
            log.exception("this trial failed; the sweep continues")
            return math.nan
    return recorded_train(cfg)


if __name__ == "__main__":
    main()
