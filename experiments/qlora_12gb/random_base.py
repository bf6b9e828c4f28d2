"""Write a randomly initialised Hugging Face checkpoint with a shipped base's exact shape.

Peak training memory depends on shapes, dtypes and the training recipe, not on the weights' values, so
a random Qwen2.5-7B measures what `svend-train model=qwen2_5_7b` would hold on the card — on a machine
that cannot download the real weights.

    python experiments/qlora_12gb/random_base.py --model qwen2_5_7b --tokenizer TOKDIR --out /tmp/qwen7b
    svend-train model=qwen2_5_7b model.path=/tmp/qwen7b hardware=rtx4070_12gb ...

`--tokenizer` is any tokenizer folder (its ids must stay below the shape's vocab_size); the model's
vocabulary, and so its embedding and logits memory, is the shape's. The weights are created in bf16 on
the GPU when there is one (seconds for 7B), then saved as safetensors.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
import yaml
from transformers import AutoConfig, AutoModelForCausalLM

CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
# Hugging Face architecture of each shipped base (config.json's model_type)
MODEL_TYPE = {"qwen2_5_7b": "qwen2", "qwen2_5_14b": "qwen2", "codeqwen1_5_7b": "qwen2", "mistral_7b": "mistral"}


def hf_config(model: str, layers: int | None = None, hidden: int | None = None):
    shape = yaml.safe_load((CONF / f"{model}.yaml").read_text())["shape"]
    hidden = hidden or shape["hidden_size"]
    scale = hidden / shape["hidden_size"]
    return AutoConfig.for_model(
        MODEL_TYPE[model],
        vocab_size=shape["vocab_size"],
        hidden_size=hidden,
        num_hidden_layers=layers or shape["num_layers"],
        num_attention_heads=shape["num_heads"],
        num_key_value_heads=shape["num_kv_heads"],
        intermediate_size=int(shape["intermediate_size"] * scale),
        tie_word_embeddings=shape["tie_embeddings"],
        max_position_embeddings=32768,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(MODEL_TYPE))
    ap.add_argument("--tokenizer", required=True, type=Path, help="folder with tokenizer.json / tokenizer_config.json")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--layers", type=int, help="fewer layers (a small dry run); default: the shape's")
    ap.add_argument("--hidden", type=int, help="a smaller hidden size (dry run); default: the shape's")
    args = ap.parse_args()

    start = time.perf_counter()
    config = hf_config(args.model, args.layers, args.hidden)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(args.out, max_shard_size="4GB")
    for f in args.tokenizer.iterdir():
        if f.name.startswith("tokenizer") or f.name in ("special_tokens_map.json", "chat_template.jinja"):
            shutil.copy(f, args.out / f.name)
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {n / 1e9:.2f} B random parameters ({config.model_type}) -> {args.out} "
          f"in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
