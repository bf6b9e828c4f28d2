"""Teacher logits on disk: the teacher's top-k logits at every assistant token of a data file, so a
distillation run (`svend.stages.distill`) reads them instead of holding the teacher in memory.

    python -m svend.data.teacher_cache --teacher outputs/train/<time> \\
        --files svend/data/sample/train.jsonl --out cache/teacher-sample --top-k 64 --max-seq-len 512
    svend-train experiment=distill stage.teacher=null stage.teacher_cache=cache/teacher-sample

The teacher is any loadable model (`load_teacher`): a run folder or adapter folder of an earlier
generation, a merged (`svend-export`) folder, or a model source string (``gguf:…``, a hub id in the
local cache). It must share the student's tokenizer; the cache records the tokenizer's fingerprint and
the student run checks it.

What is stored, and how the student finds it. Examples are tokenized exactly as `ChatDataModule` does
(`svend.data.packing.encode_records`, same ``max_seq_len``), and each is keyed by the SHA-1 of its
token ids. For each labelled position (the positions whose next token is an assistant token, in order)
the teacher's top-k token ids and logits are kept — the rest of the vocabulary carries little mass at
k = 64 and would cost 49 k floats per token. A packed training row is split back into its examples at
the position-id restarts, and each example's entries are looked up by key, so packing, bucketing and
shuffling on the student side need no bookkeeping.

Layout (written into a temporary sibling and renamed into place: a killed build leaves no cache)::

    teacher_cache.json       teacher, files (sha256), top_k, max_seq_len, tokenizer fingerprint, shards
    shard-00000.safetensors  keys uint8 [n, 20], offsets int64 [n + 1], ids int32 [P, k], logits fp16 [P, k]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from svend.atomic import write_folder
from svend.data.packing import IGNORE_INDEX, collate, encode_records, single_rows
from svend.data.schema import read_jsonl

log = logging.getLogger(__name__)

META = "teacher_cache.json"
FORMAT_VERSION = 1
SHARD_EXAMPLES = 4096


def tokenizer_fingerprint(tokenizer) -> str:
    """A short hash of the vocabulary (token → id): equal fingerprints, same token ids."""
    vocab = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode()).hexdigest()[:16]


def example_key(ids: Sequence[int] | torch.Tensor) -> bytes:
    """The cache key of one tokenized example: SHA-1 of its token ids as int32."""
    array = ids.to(torch.int32).cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids, dtype=np.int32)
    return hashlib.sha1(array.tobytes()).digest()


def file_digest(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def load_teacher(spec: str | os.PathLike, vocab_size: int | None = None) -> tuple[nn.Module, Any]:
    """``(model in eval mode, tokenizer)`` for a teacher: a run folder (its ``adapter/``, or for a full
    or from-scratch run its config + best checkpoint), an adapter folder (LoRA merged into the base for
    speed), or any `svend.models.pretrained` source / folder."""
    from svend.models.adapters import ADAPTER_FILE, load_adapter
    from svend.models.pretrained import load_causal_lm, load_tokenizer

    path = Path(str(spec)).expanduser()
    if (path / "adapter" / ADAPTER_FILE).is_file():
        path = path / "adapter"
    if (path / ADAPTER_FILE).is_file():
        model, tokenizer = load_adapter(path)
        if hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
    elif (path / "config.yaml").is_file() and (path / "checkpoints").is_dir():  # a full or from-scratch run
        from svend.models.heads import load_run_net

        model, tokenizer = load_run_net(path)
    else:
        tokenizer = load_tokenizer(str(spec))
        model = load_causal_lm(str(spec), vocab_size=max(vocab_size or 0, len(tokenizer)))
    model.requires_grad_(False)
    return model.eval(), tokenizer


@torch.no_grad()
def teacher_topk(teacher: nn.Module, batch: dict[str, torch.Tensor], top_k: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's top-k token ids [n, k] (int64) and logits [n, k] (fp32) at every labelled position
    of ``batch`` (row-major, the order of ``labels[labels != -100]``); ``top_k`` None: all of them."""
    hidden = teacher.get_decoder()(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).last_hidden_state
    logits = teacher.get_output_embeddings()(hidden[batch["labels"] != IGNORE_INDEX]).float()
    if top_k is None or top_k >= logits.shape[-1]:
        ids = torch.arange(logits.shape[-1], device=logits.device).expand_as(logits)
        return ids, logits
    values, ids = logits.topk(int(top_k), dim=-1)
    return ids, values


def build_teacher_cache(
    teacher: nn.Module,
    tokenizer,
    files: Sequence[str],
    out: str | os.PathLike,
    max_seq_len: int,
    top_k: int = 64,
    batch_size: int = 8,
    teacher_name: str = "",
) -> Path:
    """Run ``teacher`` over every example of ``files`` and write the cache folder (module docstring)."""
    from safetensors.torch import save_file
    from tqdm import tqdm

    if not top_k or top_k < 1:
        raise ValueError(f"top_k={top_k}: a cache keeps the top-k logits per token; give a positive k (e.g. 64)")
    records = [r for path in files for r in read_jsonl(path)]
    examples: dict[bytes, tuple[list[int], list[int]]] = {}
    for encoded in encode_records(tokenizer, records, max_seq_len):
        if encoded is not None:
            examples.setdefault(example_key(encoded[0]), encoded)
    keys = sorted(examples, key=lambda k: len(examples[k][0]))  # similar lengths together: little padding
    device = next(teacher.parameters()).device
    results: dict[bytes, tuple[torch.Tensor, torch.Tensor]] = {}
    for start in tqdm(range(0, len(keys), batch_size), desc="teacher logits", unit="batch"):
        chunk = keys[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate(single_rows([examples[k] for k in chunk]), tokenizer.pad_token_id).items()}
        ids, logits = teacher_topk(teacher, batch, top_k)
        counts = (batch["labels"] != IGNORE_INDEX).sum(1).tolist()
        for key, part_ids, part_logits in zip(chunk, ids.split(counts), logits.split(counts)):
            results[key] = (part_ids.to(torch.int32).cpu(), part_logits.to(torch.float16).cpu())

    def write(tmp: Path) -> None:
        shards = []
        ordered = sorted(results)
        for s, start in enumerate(range(0, len(ordered), SHARD_EXAMPLES)):
            part = ordered[start : start + SHARD_EXAMPLES]
            lengths = [results[k][0].shape[0] for k in part]
            tensors = {
                "keys": torch.tensor(np.frombuffer(b"".join(part), dtype=np.uint8).reshape(len(part), 20).copy()),
                "offsets": torch.tensor(np.concatenate([[0], np.cumsum(lengths)]), dtype=torch.int64),
                "ids": torch.cat([results[k][0] for k in part]),
                "logits": torch.cat([results[k][1] for k in part]),
            }
            name = f"shard-{s:05d}.safetensors"
            save_file(tensors, str(tmp / name))
            os.chmod(tmp / name, 0o644)  # safetensors writes 0600
            shards.append(name)
        meta = {
            "format_version": FORMAT_VERSION,
            "teacher": teacher_name,
            "files": [{"path": str(p), "sha256": file_digest(p)} for p in files],
            "top_k": int(top_k),
            "max_seq_len": int(max_seq_len),
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "examples": len(results),
            "positions": int(sum(r[0].shape[0] for r in results.values())),
            "shards": shards,
        }
        (tmp / META).write_text(json.dumps(meta, indent=2))

    folder = write_folder(out, write, replace=True)
    log.info("teacher cache: %d examples, top-%d logits → %s", len(results), top_k, folder)
    return folder


def read_cache_meta(folder: str | os.PathLike) -> dict[str, Any] | None:
    file = Path(folder) / META
    if not file.is_file():
        return None
    try:
        return json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(f"{file} is not valid JSON: {e}") from e


def cache_mismatch(meta: dict[str, Any], tokenizer, files: Sequence[str], max_seq_len: int, teacher: str | None = None) -> list[str]:
    """What differs between a cache and the run that wants to read it (empty: it fits). ``teacher``:
    the teacher the run names, if any (a cache built from another one is not its logits)."""
    problems = []
    if teacher is not None and meta.get("teacher") != str(teacher):
        problems.append(f"built from teacher {meta.get('teacher')!r}, this run names {str(teacher)!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        problems.append(f"format_version {meta.get('format_version')} (this Svend reads {FORMAT_VERSION})")
    if meta.get("tokenizer") != tokenizer_fingerprint(tokenizer):
        problems.append("the tokenizer differs (teacher and student must share one)")
    if meta.get("max_seq_len") != max_seq_len:
        problems.append(f"built with max_seq_len={meta.get('max_seq_len')}, this run uses {max_seq_len}")
    cached = {f["sha256"] for f in meta.get("files", [])}
    missing = [str(p) for p in files if file_digest(p) not in cached]
    if missing:
        problems.append(f"not built from {', '.join(missing)}")
    return problems


class TeacherCache:
    """A cache folder, loaded: ``lookup(batch)`` gives the teacher's top-k ids and logits at every
    labelled position of a (packed) batch."""

    def __init__(self, folder: str | os.PathLike) -> None:
        from safetensors.torch import load_file

        self.folder = Path(folder)
        meta = read_cache_meta(self.folder)
        if meta is None:
            raise FileNotFoundError(f"{self.folder}: no {META}; build it with `python -m svend.data.teacher_cache`")
        self.meta = meta
        self.top_k = int(meta["top_k"])
        self._ids, self._logits, self._index = [], [], {}
        for s, name in enumerate(meta["shards"]):
            tensors = load_file(str(self.folder / name))
            offsets = tensors["offsets"].tolist()
            for i, key in enumerate(tensors["keys"].numpy()):
                self._index[key.tobytes()] = (s, offsets[i], offsets[i + 1])
            self._ids.append(tensors["ids"])
            self._logits.append(tensors["logits"])

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids int64 [n, k], logits fp32 [n, k])`` in the order of ``labels[labels != -100]``."""
        input_ids, positions, labels = (batch[k].cpu() for k in ("input_ids", "position_ids", "labels"))
        ids, logits = [], []
        for b in range(input_ids.shape[0]):
            starts = torch.nonzero(positions[b] == 0).flatten().tolist() + [input_ids.shape[1]]
            for start, end in zip(starts[:-1], starts[1:]):
                wanted = int((labels[b, start:end] != IGNORE_INDEX).sum())
                if not wanted:  # padding, or an example with nothing to learn
                    continue
                found = self._index.get(example_key(input_ids[b, start:end]))
                if found is None:
                    raise KeyError(f"{self.folder}: no teacher logits for an example of {end - start} tokens; "
                                   "rebuild the cache from this run's data files and max_seq_len")
                s, lo, hi = found
                if hi - lo != wanted:
                    raise ValueError(f"{self.folder}: an example has {hi - lo} cached positions but {wanted} labelled ones")
                ids.append(self._ids[s][lo:hi])
                logits.append(self._logits[s][lo:hi])
        device = batch["input_ids"].device
        if not ids:
            return torch.empty(0, self.top_k, dtype=torch.long, device=device), torch.empty(0, self.top_k, device=device)
        return torch.cat(ids).long().to(device), torch.cat(logits).float().to(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svend.data.teacher_cache", description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", required=True, help="run folder, adapter folder, merged folder or model source")
    parser.add_argument("--files", nargs="+", required=True, help="chat-record JSONL files (the student's train files)")
    parser.add_argument("--out", required=True, help="cache folder to write")
    parser.add_argument("--top-k", type=int, default=64)
    parser.add_argument("--max-seq-len", type=int, default=512, help="the student's data.max_seq_len")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    teacher, tokenizer = load_teacher(args.teacher)
    build_teacher_cache(teacher, tokenizer, args.files, args.out, args.max_seq_len, args.top_k, args.batch_size, str(args.teacher))
    print(Path(args.out).resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
