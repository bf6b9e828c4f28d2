"""The shipped gate (conf/safety/default.yaml), composed once, and cheap variants of it."""

from __future__ import annotations

import copy

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from svend.safety import Gate
from svend.safety.gate import load_config


@pytest.fixture(scope="session")
def safety_cfg() -> DictConfig:
    """conf/safety/default.yaml composed by Hydra (rules group included)."""
    return load_config("default")


@pytest.fixture(scope="session")
def gate(safety_cfg) -> Gate:
    return instantiate(safety_cfg)


@pytest.fixture(scope="session")
def make_gate(safety_cfg):
    """``make_gate(**{"pii.email": "allow", "threshold": 0.7})``: the default config with dotted
    keys changed, built directly (what ``instantiate`` does, minus OmegaConf's cost per test)."""
    plain = OmegaConf.to_container(safety_cfg, resolve=True)

    def make(**changes) -> Gate:
        cfg = copy.deepcopy(plain)
        for key, value in changes.items():
            *parents, leaf = key.split(".")
            node = cfg
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        assert cfg.pop("_target_") == "svend.safety.gate.Gate"
        cfg.pop("_convert_", None)
        return Gate(**cfg)

    return make
