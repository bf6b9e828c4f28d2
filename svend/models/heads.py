"""Value and classification heads on a causal LM's hidden states, and the folder a headed run exports.

The verifier and the safety classifier are the same shape of model: the LM backbone (LoRA-tuned, fully
tuned or frozen) reads a conversation, and a linear read-out maps the final hidden state at chosen
positions to a few logits::

    tokens ──► backbone (net.get_decoder()) ──► hidden [B, T, H] ──► pool at positions ──► Linear(·, n)
                                                                      last token of each example
                                                                      (and step boundaries: the verifier)

Why the last non-pad token: the decoder is causal, so only the last token has read the whole chain;
``pooling=mean`` or ``last_and_mean`` add the mean of the states up to it (`PooledHead`). Batches are
right-padded (`svend.data.classification`), so real tokens never attend to padding and no attention
mask is needed. Why one ``Linear`` with named columns instead of several heads: the
verifier's outcome and step logits, the safety classifier's refuse logit and category logits are all
linear read-outs of the same hidden state; one matrix keeps the export to one tensor pair, and the
names (``head.json``) say which column is which.

``HeadedLM`` works for the Svend decoder, transformers and peft models alike: all of them expose
``get_decoder()`` returning the final-normed hidden states (as `svend.stages.causal_lm.lm_loss` uses).

The exported folder (`save_head`, written atomically into ``<run>/head/`` at the end of fit)::

    head.safetensors   the read-out weights (best checkpoint)
    head.json          kind, output names, hidden size, max_seq_len, where the backbone comes from
    *.json             what the stage adds: the safety classifier's threshold curve, the verifier's
                       calibration bins

`load_headed_lm` rebuilds the whole scoring model from the run folder alone: the backbone from
``<run>/adapter`` (adapter runs) or from ``config.yaml`` + ``tokenizer/`` + the best checkpoint (full
fine-tunes and frozen backbones), then the head. `HeadScorer` wraps it as "conversations → scores"
(`svend.stages.verifier.VerifierScorer`, `svend.stages.safety_classifier.SafetyScorer`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import torch
from torch import nn

from svend.atomic import write_folder

HEAD_DIR = "head"
HEAD_WEIGHTS = "head.safetensors"
HEAD_META = "head.json"
FORMAT_VERSION = 1


def hidden_size(net: nn.Module) -> int:
    """Width of the hidden states ``net.get_decoder()`` returns (the embedding width)."""
    return int(net.get_input_embeddings().weight.shape[1])


POOLINGS = ("last_token", "mean", "last_and_mean")


class PooledHead(nn.Module):
    """``Linear(features, len(names))`` applied to the pooled hidden state at given positions; column
    ``i`` is the logit called ``names[i]``. Zero-initialized: every output starts at logit 0 (p = 0.5),
    so the first steps do not depend on a random read-out.

    ``pooling`` says what the read-out sees at a position:
    - ``last_token``: the hidden state at the position itself (the decoder is causal, so it has read
      everything before);
    - ``mean``: the mean of the hidden states from the row's start up to and including the position (a
      prefix mean, so a step boundary's feature covers the chain so far): every token's own state
      reaches the read-out, where a small model's final state can lean on the phrasing around a word
      rather than on the word;
    - ``last_and_mean``: both, concatenated (``2 × hidden_size`` features)."""

    def __init__(self, hidden_size: int, names: Sequence[str], dropout: float = 0.0, pooling: str = "last_token") -> None:
        super().__init__()
        if not names:
            raise ValueError("a head needs at least one output name")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}: choose one of {', '.join(POOLINGS)}")
        self.names = list(names)
        self.hidden_size, self.pooling = int(hidden_size), pooling
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(self.hidden_size * (2 if pooling == "last_and_mean" else 1), len(self.names))
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def column(self, name: str) -> int:
        return self.names.index(name)

    def forward(self, hidden: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``hidden`` [B, T, H], ``index`` [B, S] positions (-1 = none; its output is garbage the caller
        masks) → logits [B, S, len(names)] in fp32. Rows start at position 0 (one example per row)."""
        rows = torch.arange(hidden.shape[0], device=hidden.device)[:, None]
        index = index.clamp(min=0)
        features = []
        if self.pooling != "mean":
            features.append(hidden[rows, index])
        if self.pooling != "last_token":  # summed in fp32: a bf16 running sum over a long chain loses the tail
            prefix_sum = hidden.float().cumsum(dim=1)[rows, index]  # divide only the picked positions
            features.append((prefix_sum / (index + 1).unsqueeze(-1)).to(hidden.dtype))
        picked = torch.cat(features, dim=-1)
        return self.proj(self.dropout(picked).to(self.proj.weight.dtype)).float()


class HeadedLM(nn.Module):
    """A causal LM backbone plus a `PooledHead`.

    ``freeze_backbone`` runs the backbone without gradients (a linear probe: only the head trains, a
    step costs one forward pass). ``trainable_layers=N`` freezes the embeddings and every block below
    the top N (their LoRA matrices stay at their initial no-op): the backward pass stops at block
    ``L - N``, so a step costs a forward pass plus N/L of a backward one, and the frozen blocks keep no
    activations — the top of a pretrained LM is where a judgment is read out."""

    def __init__(self, backbone: nn.Module, head: PooledHead, freeze_backbone: bool = False, trainable_layers: int | None = None) -> None:
        super().__init__()
        for attr in ("get_decoder", "get_input_embeddings"):
            if not hasattr(backbone, attr):
                raise TypeError(f"the backbone {type(backbone).__name__} has no {attr}(); use a Svend decoder or a transformers/peft causal LM")
        self.backbone = backbone
        self.head = head
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            backbone.requires_grad_(False)
        elif trainable_layers is not None:
            layers = backbone.get_decoder().layers
            if not 0 < int(trainable_layers) <= len(layers):
                raise ValueError(f"trainable_layers={trainable_layers}: the backbone has {len(layers)} blocks; give 1..{len(layers)} (or null: all)")
            backbone.get_input_embeddings().requires_grad_(False)
            for layer in layers[: len(layers) - int(trainable_layers)]:
                layer.requires_grad_(False)

    def hidden(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        context = torch.no_grad() if self.freeze_backbone else contextlib.nullcontext()
        with context:
            return self.backbone.get_decoder()(input_ids=input_ids, position_ids=position_ids).last_hidden_state

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Logits [B, S, outputs] at positions ``index`` [B, S]."""
        return self.head(self.hidden(input_ids, position_ids), index)


# ---------------------------------------------------------------------------------------------------
# The exported folder
# ---------------------------------------------------------------------------------------------------


def save_head(model: HeadedLM, folder: str | os.PathLike, meta: Mapping[str, Any], files: Mapping[str, Any] | None = None) -> Path:
    """Write ``head.safetensors``, ``head.json`` (``meta`` + the head's shape) and each of ``files``
    (name → JSON-able object) into ``folder``, atomically."""
    from safetensors.torch import save_file

    head = model.head
    record = {
        "format_version": FORMAT_VERSION,
        "names": head.names,
        "hidden_size": head.hidden_size,
        "pooling": head.pooling,
        **dict(meta),
    }

    def write(tmp: Path) -> None:
        state = {k: v.detach().float().contiguous().cpu() for k, v in head.state_dict().items()}
        save_file(state, str(tmp / HEAD_WEIGHTS))
        os.chmod(tmp / HEAD_WEIGHTS, 0o644)  # safetensors writes 0600; the folder is meant to be shared
        (tmp / HEAD_META).write_text(json.dumps(record, indent=2, default=str))
        for name, content in (files or {}).items():
            (tmp / name).write_text(json.dumps(content, indent=2, default=str))

    return write_folder(folder, write, replace=True)


def backbone_record(net: nn.Module, run_dir: Path, checkpoint: str | None) -> dict[str, Any]:
    """How `load_headed_lm` will find this backbone again: the run's ``adapter/`` folder for peft
    models (train.py writes it after fit), else the checkpoint (relative to the run folder)."""
    from peft import PeftModel

    if isinstance(net, PeftModel):
        return {"kind": "adapter", "folder": "adapter"}
    if checkpoint:
        try:
            checkpoint = str(Path(checkpoint).resolve().relative_to(Path(run_dir).resolve()))
        except ValueError:
            checkpoint = str(Path(checkpoint).resolve())
    return {"kind": "checkpoint", "checkpoint": checkpoint}


def head_folder(source: str | os.PathLike) -> Path:
    """The head folder of ``source``: a run folder (``<run>/head``) or the head folder itself."""
    source = Path(source).expanduser()
    for folder in (source / HEAD_DIR, source):
        if (folder / HEAD_META).is_file():
            return folder
    raise FileNotFoundError(
        f"{source} has no {HEAD_DIR}/{HEAD_META}: point at the run folder of a verifier or safety_classifier "
        "run that finished fitting (the stage exports its head at the end of fit)"
    )


def read_head_meta(source: str | os.PathLike) -> dict[str, Any]:
    file = head_folder(source) / HEAD_META
    try:
        return json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(f"{file} is not valid JSON: {e}") from e


def load_headed_lm(source: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[HeadedLM, Any, dict[str, Any]]:
    """``(model in eval mode, tokenizer, head meta)`` from a run folder (or its ``head/`` folder)."""
    from safetensors.torch import load_file

    folder = head_folder(source)
    meta = read_head_meta(folder)
    run_dir = folder.parent
    backbone, tokenizer = _load_backbone(run_dir, meta.get("backbone") or {})
    head = PooledHead(int(meta["hidden_size"]), meta["names"], pooling=meta.get("pooling", "last_token"))
    head.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
    if hidden_size(backbone) != head.hidden_size:
        raise ValueError(f"{folder}: the head reads {head.hidden_size}-wide states but the backbone's are {hidden_size(backbone)}")
    model = HeadedLM(backbone, head, freeze_backbone=True).to(device).eval()
    return model, tokenizer, meta


def _load_backbone(run_dir: Path, record: Mapping[str, Any]):
    kind = record.get("kind")
    if kind == "adapter":
        from svend.models.adapters import load_adapter

        adapter = run_dir / record.get("folder", "adapter")
        if not (adapter / "svend_adapter.json").is_file():
            raise FileNotFoundError(f"{adapter}: no adapter folder; train.py writes it once the run has finished")
        return load_adapter(adapter)
    if kind == "checkpoint":
        checkpoint = record.get("checkpoint")
        if checkpoint and not Path(checkpoint).is_absolute():
            checkpoint = run_dir / checkpoint
        return load_run_net(run_dir, checkpoint, prefix="net.backbone.")
    raise ValueError(f"{run_dir}/{HEAD_DIR}/{HEAD_META}: backbone.kind must be 'adapter' or 'checkpoint', got {kind!r}")


def load_run_net(run_dir: str | os.PathLike, checkpoint: str | os.PathLike | None = None, prefix: str = "net.") -> tuple[nn.Module, Any]:
    """``(net, tokenizer)`` of a run without an adapter folder (a full fine-tune, a from-scratch model,
    a frozen backbone): the model its ``config.yaml`` describes, its ``tokenizer/``, and the tensors
    under ``prefix`` in ``checkpoint`` (default: the run's best checkpoint). A checkpoint without such
    tensors (a frozen backbone's holds only the head) leaves the configured weights."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer

    from svend.models.build import fit_vocab

    run_dir = Path(run_dir)
    for needed in ("config.yaml", "tokenizer"):
        if not (run_dir / needed).exists():
            raise FileNotFoundError(f"{run_dir}: no {needed}; a run's model is rebuilt from its config.yaml and tokenizer/")
    if checkpoint is None:
        found = sorted((run_dir / "checkpoints").glob("best-*.ckpt")) or sorted((run_dir / "checkpoints").glob("*.ckpt"))
        if not found:
            raise FileNotFoundError(f"{run_dir}: no checkpoint in checkpoints/")
        checkpoint = found[-1]
    cfg = OmegaConf.load(run_dir / "config.yaml")
    tokenizer = AutoTokenizer.from_pretrained(str(run_dir / "tokenizer"), local_files_only=True)
    net = fit_vocab(instantiate(cfg.model.net), tokenizer)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    weights = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    if weights:
        result = net.load_state_dict(weights, strict=False)
        if result.unexpected_keys:
            raise ValueError(f"{checkpoint}: {len(result.unexpected_keys)} tensors do not fit the model of {run_dir}/config.yaml, "
                             f"e.g. {result.unexpected_keys[0]}")
    return net, tokenizer


class HeadScorer:
    """A trained head as a function: the sigmoid of its ``column`` logit at the last token of each
    conversation, which is rendered and tokenized exactly as in training
    (`svend.data.classification.encode_conversations`), batched by length and right-padded."""

    kind: ClassVar[str] = ""
    column: ClassVar[str] = ""

    def __init__(self, source: str | os.PathLike, device: str | torch.device = "cpu", batch_size: int = 8, max_seq_len: int | None = None) -> None:
        self.model, self.tokenizer, self.meta = load_headed_lm(source, device)
        if self.kind and self.meta.get("kind") != self.kind:
            raise ValueError(f"{source}: the head is a {self.meta.get('kind')!r} head, not a {self.kind!r} one")
        self.device, self.batch_size = torch.device(device), int(batch_size)
        self.max_seq_len = int(max_seq_len or self.meta.get("max_seq_len") or 2048)
        self.threshold = float(self.meta.get("threshold", 0.5))
        self._column = self.model.head.column(self.column) if self.column else 0

    @torch.no_grad()
    def logits_many(self, conversations: Sequence[Sequence[Mapping[str, Any]]]) -> torch.Tensor:
        """Every head column's logit per conversation: ``[len(conversations), len(head.names)]``."""
        from svend.data.classification import NO_GROUP, LabelledExample, collate_examples, encode_conversations

        encoded = encode_conversations(self.tokenizer, conversations, self.max_seq_len)
        out = torch.zeros(len(encoded), len(self.model.head.names))
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = collate_examples([LabelledExample(encoded[i][0], 0.0, NO_GROUP) for i in chunk], self.tokenizer.pad_token_id)
            logits = self.model(batch["input_ids"].to(self.device), batch["position_ids"].to(self.device),
                                batch["last_index"][:, None].to(self.device))
            out[chunk] = logits[:, 0].float().cpu()
        return out

    def score_many(self, conversations: Sequence[Sequence[Mapping[str, Any]]]) -> list[float]:
        return torch.sigmoid(self.logits_many(conversations)[:, self._column]).tolist()

    def score(self, conversation: Sequence[Mapping[str, Any]]) -> float:
        return self.score_many([conversation])[0]
