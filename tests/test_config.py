"""Every option of every config group composes, its `_target_` nodes instantiate, and bad overrides
fail early with a message naming the key."""

from __future__ import annotations

import functools

import pytest
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from omegaconf import OmegaConf

import svend.config
from svend.models.memory import plan_from_config
from tests.conftest import FAST, compose_entry_point, compose_train

CONF = svend.config.CONF_DIR
# Groups of the other entry points' primary configs (svend-data, svend-eval, svend-serve); train.yaml
# reaches engine/task only through experiment=tool_arith's evaluation after training.
OTHER_PRIMARY = {"recipe": "data", "ingest": "data", "engine": "eval", "task": "eval", "safety": "serve",
                 "serve": "serve", "gate": "generations"}
GROUPS = sorted(p.name for p in CONF.iterdir()
                if p.is_dir() and p.name not in {"hydra", "paths", *OTHER_PRIMARY})


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


CASES = [(g, o) for g in GROUPS for o in options(g)]


def test_every_group_has_options():
    for group in ["model", "stage", "data", "trainer", "hardware", "logger", "callbacks", "experiment",
                  "debug", "hparams_search", "optim", "scheduler", "adapter"]:
        assert options(group), f"conf/{group}/ has no options"
    assert {"svend_tiny", "svend_1b", "svend_3b", "svend_7b", "svend_13b"} <= set(options("model"))
    assert {"tensorboard", "csv", "none"} <= set(options("logger"))
    assert {"fdr", "overfit", "limit"} <= set(options("debug"))


@pytest.mark.parametrize("group,option", CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_option_composes_and_instantiates(group, option, tmp_path):
    cfg = compose_train([f"{group}={option}", f"paths.root_dir={tmp_path}"], tmp_path)
    OmegaConf.resolve(cfg)  # every interpolation resolves
    if group in ("optim", "scheduler"):
        assert isinstance(instantiate(cfg[group]), functools.partial)
    elif group in ("callbacks", "logger"):
        for name, node in cfg[group].items():
            assert instantiate(node) is not None, name
    elif group == "hardware":
        assert plan_from_config(cfg).total_bytes > 0  # every profile can be planned
        if cfg.hardware.accelerator == "cpu":  # GPU profiles can't build a Trainer on a CPU machine
            assert instantiate(cfg.trainer, logger=False, enable_checkpointing=False).max_steps == cfg.trainer.max_steps
    elif group == "trainer":
        trainer = instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
        assert trainer.max_steps == cfg.trainer.max_steps
    elif group == "adapter":
        assert callable(instantiate(cfg.adapter))
    elif group == "model" and cfg.model.kind == "scratch":
        config = instantiate(cfg.model.net.config)  # the shape only: 13B weights are never allocated
        assert config.num_params() > 0
    elif group == "tools":
        registry = instantiate(cfg.tools)
        try:
            assert len(registry.openai_tools()) == len(registry.names())
        finally:
            registry.close()
    elif group == "stage":
        assert cfg.stage._target_.startswith("svend.stages.")


OTHER_CASES = [(g, o) for g in sorted(OTHER_PRIMARY) for o in options(g)]


@pytest.mark.parametrize("group,option", OTHER_CASES, ids=[f"{g}={o}" for g, o in OTHER_CASES])
def test_other_entry_points_options_compose(group, option, tmp_path):
    # eval.yaml composes every task (task.<name>) and eval.tasks picks; the others select one option.
    overrides = [f"paths.root_dir={tmp_path}"] + ([] if group == "task" else [f"{group}={option}"])
    cfg = compose_entry_point(OTHER_PRIMARY[group], overrides, tmp_path)
    OmegaConf.resolve(cfg)
    if group == "task":
        assert option in cfg.task, f"conf/eval.yaml does not compose task {option}"
    elif group == "recipe":  # recipes are `@package data`: they name the dataset they build
        assert cfg.data.name == option and cfg.data.kinds
    else:
        assert cfg[group] is not None


def test_misspelt_key_fails_naming_it(tmp_path):
    with pytest.raises(ConfigCompositionException) as e:
        compose_train(["hardware.micro_batch_sise=4"], tmp_path)
    assert "micro_batch_sise" in str(e.value)


def test_wrong_type_fails_naming_it(tmp_path):
    with pytest.raises(ConfigCompositionException) as e:
        compose_train(["optim.lr=fast"], tmp_path)
    assert "lr" in str(e.value) and "fast" in str(e.value)


def test_unknown_option_lists_the_available_ones(tmp_path):
    with pytest.raises(ConfigCompositionException) as e:
        compose_train(["model=svend_huge"], tmp_path)
    assert "svend_huge" in str(e.value) and "svend_tiny" in str(e.value)


def test_cpu_profile_picks_a_real_precision(tmp_path):
    cfg = compose_train([*FAST], tmp_path)
    assert cfg.trainer.precision in {"bf16-mixed", "32-true"}


def test_slurm_launcher_preset_sizes_the_job_from_the_profile(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", return_hydra_config=True,
                      overrides=["hardware=multi_gpu", "hardware.num_nodes=2", "hydra/launcher=slurm"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
