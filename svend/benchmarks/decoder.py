"""Training throughput of the Svend decoder vs ``transformers.LlamaForCausalLM`` of the same shape.

    python -m svend.benchmarks.decoder                       # both shapes, fp32, the default sizes
    python -m svend.benchmarks.decoder --shapes tiny --steps 20 --dtype bf16

Fair by construction: both models are built from one ``SvendConfig`` (Llama through
``to_llama_kwargs``) and hold the same weights (the state dict is copied across), run in the
same process with the same batch, sequence length, dtype and attention backend (SDPA, no mask,
causal), and each step is the same work: forward → fp32 cross-entropy over every position →
backward → AdamW step (fused, for both). Warm-up steps are not timed; the timed steps
alternate between the two models (A B, B A, …) so that machine noise hits both alike. tok/s
comes from the median step time; the ratio is given twice: from the best step of each, and as
the median over rounds of the two back-to-back steps' time ratio.
Because the weights and optimizer are identical, the first-step losses must agree: the table's
footnote prints the difference as a correctness check of what was timed.

Prints a markdown table: shape, params, svend tok/s, llama tok/s, ratio (svend / llama; ≥ 1.0
means Svend is not slower than the reference implementation of the same architecture).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F

from svend.models.transformer import SvendConfig, SvendDecoder

# name → (config, batch, seq). `tiny` is conf/model/svend_tiny.yaml's shape.
SHAPES: dict[str, tuple[SvendConfig, int, int]] = {
    "tiny": (
        SvendConfig(vocab_size=4096, d_model=128, n_layers=4, n_heads=4, n_kv_heads=2, d_ff=384, tie_embeddings=True),
        8,
        256,
    ),
    "100m": (
        SvendConfig(
            vocab_size=32000, d_model=768, n_layers=12, n_heads=12, n_kv_heads=4, d_ff=2048, tie_embeddings=True
        ),
        2,
        256,
    ),
}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def build_pair(config: SvendConfig, device: torch.device):
    """A Svend decoder and a LlamaForCausalLM with identical shape and weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    svend = SvendDecoder(config).to(device)
    llama = LlamaForCausalLM(LlamaConfig(**config.to_llama_kwargs(), attn_implementation="sdpa", use_cache=False))
    llama.load_state_dict(svend.state_dict(), strict=True)
    return svend, llama.to(device)


def make_step(model, call, x, autocast):
    """One training step as a closure returning the loss: forward, fp32 CE, backward, AdamW."""
    # fused=True: PyTorch's default AdamW on CPU runs one small op per tensor and measured ~3x
    # slower than the fused kernel; it would drown the model difference in optimizer time.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    model.train()

    def step() -> float:
        with autocast():
            logits = call(model, x[:, :-1])
        loss = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def timed(step, device: torch.device) -> tuple[float, torch.Tensor]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loss = step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, loss


def bench_shape(name: str, steps: int, warmup: int, dtype: str, device: torch.device, batch=None, seq=None):
    config, default_batch, default_seq = SHAPES[name]
    batch, seq = batch or default_batch, seq or default_seq
    svend, llama = build_pair(config, device)
    x = torch.randint(0, config.vocab_size, (batch, seq + 1), generator=torch.Generator().manual_seed(0)).to(device)
    if dtype == "fp32":
        autocast = contextlib.nullcontext
    else:
        autocast = lambda: torch.autocast(device.type, dtype=DTYPES[dtype])  # noqa: E731
    runs = {
        "svend": make_step(svend, lambda m, ids: m(ids).logits, x, autocast),
        "llama": make_step(llama, lambda m, ids: m(input_ids=ids, use_cache=False).logits, x, autocast),
    }
    times: dict[str, list[float]] = {"svend": [], "llama": []}
    first_loss = {}
    for i in range(warmup + steps):
        order = ("svend", "llama") if i % 2 == 0 else ("llama", "svend")
        for key in order:
            seconds, loss = timed(runs[key], device)
            first_loss.setdefault(key, float(loss))
            if i >= warmup:
                times[key].append(seconds)
    tokens = batch * seq
    svend_tps = tokens / statistics.median(times["svend"])
    llama_tps = tokens / statistics.median(times["llama"])
    # Two ratios, both robust to other processes' load in different ways: the ratio of the best
    # (fastest) steps — the least-disturbed measurement of each, as `timeit` recommends — and the
    # median over rounds of the two back-to-back steps' ratio (paired: run under the same load).
    ratios = sorted(ll / sv for sv, ll in zip(times["svend"], times["llama"]))
    ratio = statistics.median(ratios)
    return {
        "shape": f"{name} (d={config.d_model}, L={config.n_layers}, H={config.n_heads}/{config.n_kv_heads}, "
        f"V={config.vocab_size}; B={batch}, T={seq})",
        "params": config.num_params(),
        "svend": svend_tps,
        "llama": llama_tps,
        "ratio": min(times["llama"]) / min(times["svend"]),
        "paired": ratio,
        "loss_diff": abs(first_loss["svend"] - first_loss["llama"]),
        "ratio_range": (ratios[0], ratios[-1]),
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="tiny,100m", help=f"comma-separated, from {sorted(SHAPES)}")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="bf16 = autocast for both")
    parser.add_argument("--batch", type=int, default=None, help="override every shape's batch size")
    parser.add_argument("--seq", type=int, default=None, help="override every shape's sequence length")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    names = [n.strip() for n in args.shapes.split(",") if n.strip()]
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        parser.error(f"unknown shape(s) {unknown}; choose from {sorted(SHAPES)}")

    rows = [bench_shape(n, args.steps, args.warmup, args.dtype, device, args.batch, args.seq) for n in names]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"\nSvend decoder vs transformers LlamaForCausalLM, training step, {args.dtype}, SDPA, {where}; "
        f"{args.steps} interleaved steps each after {args.warmup} warm-up\n"
    )
    print("| shape | params | svend tok/s | llama tok/s | ratio (best steps) | ratio (paired median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['shape']} | {r['params'] / 1e6:.1f} M | {r['svend']:,.0f} | {r['llama']:,.0f} "
            f"| {r['ratio']:.2f} | {r['paired']:.2f} |"
        )
    diffs = ", ".join(f"{r['shape'].split()[0]} {r['loss_diff']:.1e}" for r in rows)
    spread = ", ".join(f"{r['shape'].split()[0]} {lo:.2f}–{hi:.2f}" for r in rows for lo, hi in [r["ratio_range"]])
    print(f"\nSame weights in both: |first-step loss difference| = {diffs}")
    print(f"Per-round ratios ranged over {spread} (the machine's noise; compare ratios, not absolutes)")
    return rows


if __name__ == "__main__":
    main()
