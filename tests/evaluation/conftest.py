"""The hand-made JSONL fixtures laid out the way ``svend-data generate`` writes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.evaluation.completions import DATA, KINDS


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """``<tmp>/data/fixture/<kind>/test.jsonl`` for each hand-made kind (the svend-data layout)."""
    root = tmp_path / "data"
    for kind in KINDS:
        (root / "fixture" / kind).mkdir(parents=True)
        shutil.copy(DATA / f"{kind}.jsonl", root / "fixture" / kind / "test.jsonl")
    return root
