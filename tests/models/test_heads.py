"""`PooledHead`'s pooling modes read what they say: the state at the position, the mean of the states
from the row's start up to it, or both side by side."""

from __future__ import annotations

import pytest
import torch

from svend.models.heads import PooledHead


def head(pooling: str) -> PooledHead:
    torch.manual_seed(0)
    h = PooledHead(5, ["a", "b"], pooling=pooling)
    torch.nn.init.normal_(h.proj.weight)  # zero-initialized otherwise: every pooling would give 0
    return h


def test_pooling_reads_the_position_the_prefix_mean_or_both():
    hidden = torch.randn(2, 6, 5)
    index = torch.tensor([[5, 2], [3, -1]])
    last, mean, both = head("last_token"), head("mean"), head("last_and_mean")
    assert both.proj.in_features == 10 and both.hidden_size == 5
    for b, row in enumerate(index.tolist()):
        for s, i in enumerate(row):
            if i < 0:
                continue
            at, prefix = hidden[b, i], hidden[b, : i + 1].mean(0)
            torch.testing.assert_close(last(hidden, index)[b, s], last.proj(at))
            torch.testing.assert_close(mean(hidden, index)[b, s], mean.proj(prefix))
            torch.testing.assert_close(both(hidden, index)[b, s], both.proj(torch.cat([at, prefix])))
    assert mean(hidden, index).dtype == torch.float32 and not torch.isnan(mean(hidden, index)).any()


def test_an_unknown_pooling_is_named():
    with pytest.raises(ValueError, match="pooling='max'.*last_token, mean, last_and_mean"):
        PooledHead(5, ["a"], pooling="max")
