"""Shared registries: one in-process (fast; most tests) and one with the worker process (time limits)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from svend.tools.registry import Registry

CONF = Path(__file__).resolve().parents[2] / "conf" / "tools"


def load(name: str, **overrides) -> Registry:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return instantiate(cfg)


@pytest.fixture(scope="session")
def registry() -> Registry:
    """conf/tools/default.yaml with every tool running in this process."""
    reg = load("default", isolation="none")
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def isolated_registry() -> Registry:
    """conf/tools/default.yaml as shipped: sympy/pint/z3 tools in the worker process."""
    reg = load("default")
    yield reg
    reg.close()
