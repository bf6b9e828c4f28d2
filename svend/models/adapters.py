"""Adapters: how much of a model trains. Each option of `conf/adapter/` is a partial of one of these
functions, called as ``adapter(model, tokenizer) -> model``; `save_adapter` / `load_adapter` write and
read a self-describing adapter folder.

LoRA (Hu et al. 2021) freezes a linear layer W and learns a low-rank update::

    x ──► W (frozen) ─────────────┐
    │                            (+) ──► y = W x + (alpha / r) · B A x
    └──► A (r × in) ──► B (out × r)┘      A random, B = 0 at the start: training starts from the base

QLoRA (Dettmers et al. 2023) stores W in 4-bit NF4 (double-quantized constants) and computes in bf16;
the LoRA matrices stay in full precision. Both papers' finding: adapt *all* linear layers of the blocks,
not only q/v. The tokens Svend adds (tool and meta-cognitive, `svend.tokens.SPECIAL_TOKENS`) get
trainable embedding rows: peft's ``trainable_token_indices`` trains just those rows of the input (and,
untied, output) embedding — measured far cheaper than ``modules_to_save`` copies of whole matrices.

Adapter folder (`save_adapter`)::

    adapter_config.json adapter_model.safetensors   PEFT format (LoRA + the new token rows)
                                                    — or config.json model.safetensors for `full`
    tokenizer.json tokenizer_config.json …          the tokenizer with Svend's tokens
    svend_adapter.json                              base source/path, vocab size, adapter config,
                                                    chat/tool format version
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from svend import tokens
from svend.atomic import write_folder
from svend.models import pretrained

ADAPTER_FILE = "svend_adapter.json"
FORMAT_VERSION = 1
TOOL_FORMAT = "hermes-tools"  # <tool_call>/<tool_response> blocks inside the turns (svend.tokens)
NEW_TOKEN_METHODS = ("trainable_tokens", "modules_to_save")


def chat_format(tokenizer) -> dict[str, Any]:
    """The chat/tool format a checkpoint was trained with: the turn layout (`svend.chat_format`: chatml
    or the base's template) and Svend's tool syntax inside the turns (`svend.tokens`)."""
    from svend.chat_format import format_for

    return {
        "name": f"{format_for(tokenizer).name}+{TOOL_FORMAT}",
        "version": getattr(tokens, "FORMAT_VERSION", 1),
        "special_tokens": list(tokens.SPECIAL_TOKENS),
    }


def svend_token_ids(tokenizer) -> list[int]:
    """Ids of the tokens whose embedding rows train: `svend.tokens.SPECIAL_TOKENS` and the pad token
    (when Svend added ``<|pad|>`` its row is new too; training pushes its logit down)."""
    names = list(tokens.SPECIAL_TOKENS) + ([tokenizer.pad_token] if tokenizer.pad_token else [])
    ids = tokenizer.convert_tokens_to_ids(names)
    unknown = [n for n, i in zip(names, ids) if i is None or i == tokenizer.unk_token_id]
    if unknown:
        raise ValueError(f"tokenizer lacks {unknown}; load it with svend.models.pretrained.load_tokenizer")
    return sorted(set(ids))


def _check_vocab(model, tokenizer) -> None:
    rows = model.get_input_embeddings().weight.shape[0]
    if tokenizer is not None and len(tokenizer) > rows:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model only {rows} embedding rows; build the "
            "model with load_causal_lm(..., vocab_size=len(tokenizer))"
        )


def full(model: nn.Module, tokenizer=None, quantization: Mapping[str, Any] | None = None) -> nn.Module:
    """Full fine-tuning (or pre-training from scratch): every parameter trains. ``quantization`` (the
    adapter yaml's top-level key) must be null: 4-bit weights cannot train directly."""
    if quantization:
        raise ValueError("adapter=full cannot train a quantized model; use adapter=qlora (or quantization: null)")
    for p in model.parameters():
        p.requires_grad_(True)
    if tokenizer is not None and hasattr(model, "get_input_embeddings"):
        _check_vocab(model, tokenizer)
    model.svend_adapter = {"kind": "full"}
    return model


def _lora_config(model, tokenizer, r, alpha, dropout, target_modules, train_new_tokens, new_tokens_method):
    from peft import LoraConfig

    if new_tokens_method not in NEW_TOKEN_METHODS:
        raise ValueError(f"adapter.new_tokens_method={new_tokens_method!r}; choose one of {NEW_TOKEN_METHODS}")
    if target_modules in (None, "all-linear", "all_linear", "all"):
        targets = pretrained.linear_target_modules(model)
    elif isinstance(target_modules, str):
        targets = [t.strip() for t in target_modules.split(",") if t.strip()]
    else:
        targets = list(target_modules)
    inp_name, out_name, tied = pretrained.embedding_module_names(model)
    extra: dict[str, Any] = {}
    token_ids: list[int] = []
    if train_new_tokens:
        if tokenizer is None:
            raise ValueError("train_new_tokens=True needs the tokenizer: call adapter(model, tokenizer)")
        _check_vocab(model, tokenizer)
        token_ids = svend_token_ids(tokenizer)
        inp_leaf = inp_name.rsplit(".", 1)[-1]
        out_leaf = out_name.rsplit(".", 1)[-1] if out_name else None
        if new_tokens_method == "trainable_tokens":
            if tied or out_leaf is None:  # peft ties the output rows to the input rows itself
                extra["trainable_token_indices"] = {inp_leaf: token_ids}
            else:
                extra["trainable_token_indices"] = {inp_leaf: token_ids, out_leaf: token_ids}
        else:
            extra["modules_to_save"] = [inp_leaf] + ([out_leaf] if out_leaf and not tied else [])
            if tied:
                extra["ensure_weight_tying"] = True
    config = LoraConfig(
        r=int(r),
        lora_alpha=alpha,
        lora_dropout=float(dropout),
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
        **extra,
    )
    record = {
        "r": int(r),
        "alpha": alpha,
        "dropout": float(dropout),
        "target_modules": targets,
        "train_new_tokens": bool(train_new_tokens),
        "new_tokens_method": new_tokens_method,
        "trainable_token_ids": token_ids,
    }
    return config, record


def lora(
    model: nn.Module,
    tokenizer=None,
    r: int = 16,
    alpha: float = 32,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] | None = "all-linear",
    train_new_tokens: bool = True,
    new_tokens_method: str = "trainable_tokens",
    quantization: Mapping[str, Any] | None = None,
) -> nn.Module:
    """LoRA on ``target_modules`` ("all-linear": every linear layer of the decoder blocks, found by type)
    plus, with ``train_new_tokens``, trainable embedding rows for Svend's tokens. Returns a
    ``peft.PeftModel``; only the LoRA matrices and the new rows require grad. ``quantization`` (the
    adapter yaml's top-level key) must be null — use `qlora` for a 4-bit base."""
    from peft import get_peft_model

    if quantization or _is_4bit(model):
        raise ValueError("adapter=lora got a 4-bit model (or quantization settings); use adapter=qlora")
    config, record = _lora_config(model, tokenizer, r, alpha, dropout, target_modules, train_new_tokens, new_tokens_method)
    peft_model = get_peft_model(model, config)
    peft_model.svend_adapter = {"kind": "lora", **record, "quantization": None}
    return peft_model


def qlora(
    model: nn.Module,
    tokenizer=None,
    r: int = 16,
    alpha: float = 32,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] | None = "all-linear",
    train_new_tokens: bool = True,
    new_tokens_method: str = "trainable_tokens",
    quantization: Mapping[str, Any] | None = None,
) -> nn.Module:
    """QLoRA: `lora` on a base loaded in 4-bit NF4 (``load_causal_lm(quantization=...)``, which the
    model config does by interpolating ``${adapter.quantization}``), after peft's
    ``prepare_model_for_kbit_training`` (fp32 norms/embeddings, input grads; gradient checkpointing kept
    as the model has it). ``quantization`` is checked against the loaded model and recorded."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    if not _is_4bit(model):
        raise ValueError(
            "adapter=qlora needs the base loaded in 4 bit: the model config must pass "
            "quantization: ${adapter.quantization} to svend.models.pretrained.load_causal_lm"
        )
    model = prepare_model_for_kbit_training(
        model,
        use_gradient_checkpointing=_checkpointing(model),
        gradient_checkpointing_kwargs={"use_reentrant": False},
    )
    config, record = _lora_config(model, tokenizer, r, alpha, dropout, target_modules, train_new_tokens, new_tokens_method)
    peft_model = get_peft_model(model, config)
    origin = getattr(model, "svend_origin", {}) or {}
    peft_model.svend_adapter = {
        "kind": "qlora",
        **record,
        "quantization": dict(quantization) if quantization else origin.get("quantization"),
    }
    return peft_model


def store_frozen_matrices_in(model: nn.Module, precision: str | None) -> int:
    """Under 16-bit mixed precision, keep a 4-bit model's frozen full-precision matrices (embeddings, an
    untied LM head) in that 16-bit dtype. peft's ``prepare_model_for_kbit_training`` upcasts them to
    fp32, but autocast casts them back at every use, so fp32 only costs memory: 4.1 GiB instead of 2.0
    for Qwen2.5-7B's 152k-row embedding and head. Norm weights (1-D) and everything that trains stay
    fp32. Without autocast (``32-true``) nothing changes: the fp32 activations need fp32 matrices.
    Returns how many parameters were cast."""
    dtype = {"bf16": torch.bfloat16, "16": torch.float16}.get(str(precision or "").split("-")[0])
    if dtype is None or "mixed" not in str(precision) or not _is_4bit(model):
        return 0
    cast = 0
    for param in model.parameters():
        if (not param.requires_grad and param.ndim >= 2 and param.dtype == torch.float32
                and type(param).__name__ != "Params4bit"):
            param.data = param.data.to(dtype)
            cast += 1
    return cast


def _checkpointing(model) -> bool:
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):  # renamed in transformers 5.x
        if hasattr(type(model), name):
            return bool(getattr(model, name))
    return False


def _is_4bit(model) -> bool:
    if getattr(model, "is_loaded_in_4bit", False):
        return True
    q = getattr(getattr(model, "config", None), "quantization_config", None)
    return bool(q.get("load_in_4bit")) if isinstance(q, dict) else bool(getattr(q, "load_in_4bit", False))


# ---------------------------------------------------------------------------------------------------
# The adapter folder
# ---------------------------------------------------------------------------------------------------


def save_adapter(model: nn.Module, tokenizer, folder: str | os.PathLike, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the adapter folder (module docstring) atomically: a temporary sibling renamed into place.

    LoRA/QLoRA: adapter-only (LoRA matrices + the trained token rows, not the embedding matrix — the
    base is rebuilt from its source by `load_adapter`). ``full``: the whole model. ``extra`` is stored
    in svend_adapter.json (e.g. the run's stage and step)."""
    folder = Path(folder)
    adapter = dict(getattr(model, "svend_adapter", None) or {"kind": "full"})
    origin = dict(getattr(model, "svend_origin", None) or {})
    if not origin.get("source") and not origin.get("path"):
        raise ValueError("the model does not say where its base came from; build it with load_causal_lm")

    def write(tmp: Path) -> None:
        if adapter["kind"] == "full":
            model.save_pretrained(tmp)
        else:
            model.save_pretrained(tmp, save_embedding_layers=False)
        tokenizer.save_pretrained(tmp)
        meta = {
            "format_version": FORMAT_VERSION,
            "chat_format": chat_format(tokenizer),
            "model": {
                "source": origin.get("source"),
                "path": origin.get("path"),
                "vocab_size": model.get_input_embeddings().weight.shape[0],
                "dtype": origin.get("dtype"),
                "quantization": origin.get("quantization"),
                "resolved_folder": origin.get("folder"),
            },
            "adapter": adapter,
            "tokenizer_size": len(tokenizer),
            **({"extra": dict(extra)} if extra else {}),
        }
        (tmp / ADAPTER_FILE).write_text(json.dumps(meta, indent=2, default=str))

    return write_folder(folder, write, replace=True)


def read_adapter_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """svend_adapter.json of an adapter folder, with a clear error when it is not one."""
    file = Path(folder) / ADAPTER_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{folder} is not a Svend adapter folder: no {ADAPTER_FILE} (write it with save_adapter)")
    try:
        return json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(f"{file} is not valid JSON: {e}") from e


_SAVED = object()


def load_adapter(
    folder: str | os.PathLike,
    path: str | os.PathLike | None = None,
    quantization: Any = _SAVED,
    dtype: str | torch.dtype | None = None,
    trainable: bool = False,
):
    """Rebuild ``(model, tokenizer)`` from an adapter folder alone: the base from the recorded source
    (``path`` overrides where its weights are), resized to the saved tokenizer, then the adapter.
    ``quantization`` defaults to what training used; pass None to put a QLoRA adapter on a
    full-precision base (what export does). ``trainable`` keeps the adapter trainable (resume)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    meta = read_adapter_meta(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    kind = meta["adapter"]["kind"]
    if kind == "full":
        kwargs = {"dtype": pretrained._torch_dtype(dtype) or "auto"}
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, **kwargs)
        model.config.use_cache = False
        model.svend_origin = {**meta["model"], "folder": str(folder)}
        model.svend_adapter = meta["adapter"]
        return model, tokenizer
    q = meta["model"].get("quantization") if quantization is _SAVED else quantization
    base = pretrained.load_causal_lm(
        meta["model"]["source"],
        path if path is not None else meta["model"]["path"],
        quantization=q,
        vocab_size=meta["model"]["vocab_size"],
        dtype=dtype if dtype is not None else meta["model"].get("dtype"),
    )
    if q and trainable:
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    model = PeftModel.from_pretrained(base, folder, is_trainable=trainable)
    model.svend_adapter = meta["adapter"]
    return model, tokenizer


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; trainable-token rows count only their own rows."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
