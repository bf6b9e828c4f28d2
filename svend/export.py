"""Merge a trained adapter into its base and export it: a plain Hugging Face folder (safetensors +
tokenizer) that any transformers/vLLM/llama.cpp-convert tool loads with no Svend and no peft — or, with
``--peft``, the adapter alone in PEFT format.

    svend-export outputs/<run>/adapter exports/svend-smollm2            # merged, float32 (the base's dtype)
    svend-export outputs/<run>/adapter exports/svend-smollm2 --dtype bfloat16
    svend-export outputs/<run>/adapter exports/svend-lora --peft       # adapter only
    svend-export outputs/<run>/adapter exports/x --base-path /models/Qwen2.5-7B-Instruct

A QLoRA adapter is merged into the *full-precision* base (merging into 4-bit weights would round the
update away); its merged logits therefore match adapter + full-precision base, not the 4-bit base it
trained on. A ``--peft`` folder reloads with::

    base = AutoModelForCausalLM.from_pretrained(<base>); base.resize_token_embeddings(len(tokenizer))
    model = PeftModel.from_pretrained(base, <folder>)

(the tokenizer is in the folder; all rows Svend added are trainable-token rows stored in the adapter).
Outputs are written to a temporary sibling folder and renamed into place.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from svend.atomic import write_folder
from svend.models import adapters
from svend.models.pretrained import WeightsNotFoundError, resolve

EXPORT_FILE = "svend_export.json"


def merge(adapter_dir: str | os.PathLike, base_path: str | None = None, dtype: str | None = None):
    """``(merged model, tokenizer)``: the adapter folder's LoRA and trained token rows folded into the
    base weights (full-precision base, also for QLoRA)."""
    model, tokenizer = adapters.load_adapter(adapter_dir, path=base_path, quantization=None, dtype=dtype)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.config.use_cache = True  # an exported model is for generation
    return model, tokenizer


def _write_atomic(out: Path, force: bool, write) -> Path:
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass --force to replace it")
    return write_folder(out, write, replace=True)


def export_merged(
    adapter_dir: str | os.PathLike,
    out: str | os.PathLike,
    base_path: str | None = None,
    dtype: str | None = None,
    force: bool = False,
) -> Path:
    """Write the merged model (safetensors), the tokenizer and svend_export.json to ``out``."""
    meta = adapters.read_adapter_meta(adapter_dir)
    model, tokenizer = merge(adapter_dir, base_path, dtype)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {"exported_from": str(Path(adapter_dir).resolve()), "format": "merged", **meta}
        (tmp / EXPORT_FILE).write_text(json.dumps(info, indent=2, default=str))

    return _write_atomic(Path(out), force, write)


def export_peft(
    adapter_dir: str | os.PathLike,
    out: str | os.PathLike,
    base_path: str | None = None,
    force: bool = False,
) -> Path:
    """Copy the adapter in PEFT format (adapter_config.json + adapter_model.safetensors + tokenizer)
    with ``base_model_name_or_path`` pointing at the base's local folder (or its hub id)."""
    adapter_dir = Path(adapter_dir)
    meta = adapters.read_adapter_meta(adapter_dir)
    if meta["adapter"]["kind"] == "full":
        raise ValueError(f"{adapter_dir} holds a fully fine-tuned model, not an adapter: export it without --peft")
    source, path = meta["model"]["source"], base_path if base_path is not None else meta["model"]["path"]
    try:
        base = str(resolve(source, path))
    except WeightsNotFoundError:
        base = str(path or source)
    if not path and source and not str(source).startswith(("gguf:", "/", ".", "~")):
        base = str(source).removeprefix("hf:")  # a hub id is the portable name

    def write(tmp: Path) -> None:
        for file in adapter_dir.iterdir():
            if file.is_file() and file.name != "README.md":
                shutil.copy2(file, tmp / file.name)
        config = json.loads((tmp / "adapter_config.json").read_text())
        config["base_model_name_or_path"] = base
        (tmp / "adapter_config.json").write_text(json.dumps(config, indent=2))
        info = {"exported_from": str(adapter_dir.resolve()), "format": "peft", "base": base, **meta}
        (tmp / EXPORT_FILE).write_text(json.dumps(info, indent=2, default=str))

    return _write_atomic(Path(out), force, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svend-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("adapter", help="an adapter folder written by training (<run>/adapter)")
    parser.add_argument("out", help="the folder to write")
    parser.add_argument("--peft", action="store_true", help="export the adapter alone in PEFT format")
    parser.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: the base's dtype)")
    parser.add_argument("--base-path", default=None, help="where the base weights are (overrides the recorded model.path)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    try:
        if args.peft:
            out = export_peft(args.adapter, args.out, args.base_path, args.force)
        else:
            out = export_merged(args.adapter, args.out, args.base_path, args.dtype, args.force)
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        print(f"svend-export: {e}", file=sys.stderr)
        return 2
    print(f"svend-export: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
