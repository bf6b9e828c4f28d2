"""Shared by the data tests: compose `conf/data.yaml` the way `svend-data` does, and build a dataset in-process."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

import svend.config
from svend.data import build

# Small and quick: no tokenizer (lengths are tested once, slow), tools in-process.
FAST = ["data.tokenizer=null", "tools.isolation=none"]


def compose_data(overrides: list[str], root: Path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        return compose(config_name="data", overrides=[f"paths.root_dir={root}", *FAST, *overrides])


def build_dataset(overrides: list[str], root: Path) -> tuple[Path, build.Generated]:
    """Generate and write a dataset under ``root``; returns its folder and the in-memory result."""
    cfg = compose_data(overrides, root)
    registry = instantiate(cfg.tools)
    try:
        gen = build.generate(cfg.data, registry, progress=False)
    finally:
        registry.close()
    out = build.write(Path(cfg.data.out_dir), gen, build.metadata(cfg.data, gen))
    return out, gen
