"""Build the model a config describes: tokenizer, network, adapter — the same three steps for the
from-scratch decoder and for pretrained bases."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from svend.models.adapters import store_frozen_matrices_in
from svend.models.pretrained import resize_embeddings


def fit_vocab(net: nn.Module, tokenizer) -> nn.Module:
    """Make the embedding hold every token of the tokenizer (Svend adds special tokens to pretrained
    tokenizers); a from-scratch model must have been configured large enough."""
    rows = net.get_output_embeddings().weight.shape[0]
    if rows >= len(tokenizer):
        return net
    if hasattr(net, "resize_token_embeddings"):  # transformers: new rows from their text's pieces
        resize_embeddings(net, len(tokenizer), tokenizer)
        return net
    raise ValueError(
        f"the model's vocabulary has {rows} rows but the tokenizer has {len(tokenizer)} tokens: "
        f"raise model.net.config.vocab_size to at least {len(tokenizer)}"
    )


def build_model(model_cfg: DictConfig, adapter_cfg: DictConfig, precision: str | None = None) -> tuple[nn.Module, object]:
    """``(net, tokenizer)`` from the ``model`` and ``adapter`` config groups, for training at
    ``precision`` (the hardware profile's Lightning precision string)."""
    tokenizer = instantiate(model_cfg.tokenizer)
    net = fit_vocab(instantiate(model_cfg.net), tokenizer)
    net = instantiate(adapter_cfg)(net, tokenizer)
    store_frozen_matrices_in(net, precision)
    # transformers returns pretrained models in eval mode and Lightning keeps each module's mode, so
    # without this the decoder layers stay in eval mode, where transformers skips gradient
    # checkpointing (and dropout): a 7B QLoRA step measured 32.9 GiB instead of ~11 (experiments/qlora_12gb)
    net.train()
    return net, tokenizer
