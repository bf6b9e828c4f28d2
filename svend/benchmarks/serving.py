"""Serving benchmark (``make bench-serve``): latency and requests/s of the real server at concurrency 1
and 8, unbatched and batched, next to plain ``transformers`` ``generate`` on the same prompts in-process.

    python -m svend.benchmarks.serving                              # SmolLM2-135M, max_tokens 64
    python -m svend.benchmarks.serving --concurrency 1 8 16 --batch 8 --requests 32
    python -m svend.benchmarks.serving --override checkpoint=outputs/train/<time> --json bench.json

Each server mode (``serve.max_batch_size=1``, then ``=--batch``) starts its own ``svend-serve`` process
on 127.0.0.1 (``svend.serving.process``) with the default config — safety gate and built-in tools on —,
waits for ``/health`` and sends one warm-up request. Then, per concurrency level C, C ``openai``
clients start together and share ``--requests`` chat completions, each sending its share one after another (greedy,
``max_tokens`` fixed, a different question per request). Reported: p50/p90 latency of a request,
requests/s over the burst, generated tokens/s (from the ``usage`` blocks).

The reference runs the same prompts — rendered exactly as the server renders them, tool specs included
— through ``model.generate`` in this process, with the model loaded the same way: one prompt at a time
for concurrency 1, C prompts as one left-padded batch for concurrency C (the best a hand-written
batch loop does: no HTTP, no queue, no gate). Compare ratios, not absolutes: BASELINE.md measured
±20 % run to run on these machines.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from svend.serving.process import ServerProcess

QUESTIONS = [
    "Name three colours of the rainbow.", "What is the capital of France?", "Give me a synonym for happy.",
    "Why is the sky blue?", "Write one sentence about cats.", "What is 12 times 12?",
    "Name a planet in the solar system.", "What do bees make?", "Describe the sea in five words.",
    "What is the opposite of cold?", "Name a famous scientist.", "What language is spoken in Spain?",
    "How many legs does a spider have?", "What is water made of?", "Suggest a name for a dog.",
    "What season comes after winter?", "Which animal is known as the king of the jungle?",
    "What colour do you get by mixing blue and yellow?", "How many days are there in a week?",
    "What is the largest ocean on Earth?", "Name something you can find in a kitchen.",
    "What do plants need to grow?", "What is the freezing point of water in Celsius?",
    "Give an example of a musical instrument.",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def schedule(clients: int, requests: int) -> list[list[str]]:
    """The questions client ``i`` asks, in order: ``requests`` per burst (rounded up to a multiple of
    ``clients``), each a different question while there are enough."""
    share = -(-requests // clients)
    return [[QUESTIONS[(i + r * clients) % len(QUESTIONS)] for r in range(share)] for i in range(clients)]


def summary(latencies: list[float], tokens: int, wall: float, errors: list[str]) -> dict:
    return {"requests": len(latencies), "errors": errors, "wall_s": wall,
            "p50_s": percentile(latencies, 0.5), "p90_s": percentile(latencies, 0.9),
            "req_per_s": len(latencies) / wall, "tok_per_s": tokens / wall}


def burst(base_url: str, clients: int, requests: int, max_tokens: int, model: str) -> dict:
    """Every client sends its requests in turn; all clients at once. Latencies in seconds."""
    import openai

    latencies: list[float] = []
    tokens = [0]
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(clients)
    plan = schedule(clients, requests)

    def client(i: int) -> None:
        api = openai.OpenAI(base_url=base_url, api_key="none", timeout=900, max_retries=0)
        start_line.wait()
        for question in plan[i]:
            t0 = time.perf_counter()
            try:
                out = api.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                                  max_tokens=max_tokens, temperature=0)
            except Exception as exc:  # an error is counted, not hidden
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                tokens[0] += out.usage.completion_tokens

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return summary(latencies, tokens[0], time.perf_counter() - t0, errors)


def run_server(batch: int, args) -> list[dict]:
    """One server process with ``max_batch_size=batch``; a burst per concurrency level."""
    import openai

    overrides = [f"serve.max_batch_size={batch}", f"serve.batch_timeout={args.batch_timeout}", *args.override]
    rows = []
    with ServerProcess(overrides, startup_s=args.startup_s) as server:
        warm = openai.OpenAI(base_url=server.base_url, api_key="none", timeout=900)
        warm.chat.completions.create(model="svend", messages=[{"role": "user", "content": "Hello"}], max_tokens=4)
        for clients in args.concurrency:
            result = burst(server.base_url, clients, args.requests, args.max_tokens, "svend")
            rows.append({"mode": f"svend-serve max_batch_size={batch}", "concurrency": clients, **result})
            print(table(rows[-1:]), flush=True)
    return rows


def serve_config(overrides: list[str]):
    """The ``serve`` config the server composes, so the reference loads the same model the same way."""
    from hydra import compose, initialize_config_dir

    import svend.config

    with initialize_config_dir(config_dir=str(svend.config.CONF_DIR), version_base="1.3"):
        return compose(config_name="serve", overrides=list(overrides))


def run_generate(args) -> list[dict]:
    """The reference: the server's prompts through ``model.generate`` in this process."""
    import torch
    from hydra.utils import instantiate

    from svend.inference.loading import load_for_inference
    from svend.tokens import IM_END, render_prompt

    cfg = serve_config(args.override)
    model, tokenizer, _ = load_for_inference(checkpoint=cfg.get("checkpoint"), model_cfg=cfg.model)
    model.eval()
    registry = instantiate(cfg.tools) if cfg.serve.builtin_tools else None
    tokenizer.padding_side = "left"
    stop = tokenizer.convert_tokens_to_ids(IM_END)

    def prompt(question: str) -> str:  # as SvendAPI._prepare renders a request that brings no tools
        messages = [{"role": "user", "content": question}]
        shown = registry.tools_for(question, max_tools=cfg.engine.max_tools) if registry is not None else None
        return render_prompt(messages, shown)

    def generate(questions: list[str]) -> int:
        batch = tokenizer([prompt(q) for q in questions], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=args.max_tokens, do_sample=False, eos_token_id=stop,
                                 pad_token_id=tokenizer.pad_token_id)
        new = out[:, batch["input_ids"].shape[1]:]
        # Tokens up to and including the first stop token (what usage.completion_tokens counts).
        return sum(int((row == stop).nonzero()[0, 0]) + 1 if (row == stop).any() else len(row) for row in new)

    try:
        generate(["Hello"])  # warm-up, as the servers get
        rows = []
        for clients in args.concurrency:
            # Concurrency C: the burst's requests in groups of C, each group one padded batch.
            questions = [q for group in zip(*schedule(clients, args.requests)) for q in group]
            latencies, tokens = [], 0
            t0 = time.perf_counter()
            for start in range(0, len(questions), clients):
                group = questions[start:start + clients]
                t = time.perf_counter()
                tokens += generate(group)
                latencies += [time.perf_counter() - t] * len(group)
            rows.append({"mode": "model.generate in-process", "concurrency": clients,
                         **summary(latencies, tokens, time.perf_counter() - t0, [])})
            print(table(rows[-1:]), flush=True)
    finally:
        if registry is not None:
            registry.close()
    return rows


def table(rows: list[dict]) -> str:
    head = (f"{'mode':<32} {'conc':>4} {'requests':>8} {'errors':>6} {'p50 s':>7} {'p90 s':>7} {'req/s':>7} "
            f"{'tok/s':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['mode']:<32} {r['concurrency']:>4} {r['requests']:>8} {len(r['errors']):>6} "
                     f"{r['p50_s']:>7.2f} {r['p90_s']:>7.2f} {r['req_per_s']:>7.2f} {r['tok_per_s']:>7.1f}")
    return "\n".join(lines)


def ratios(rows: list[dict], batch: int) -> dict[int, dict[str, float]]:
    """Per concurrency level: batched ÷ unbatched requests/s (> 1: batching helps) and the batched
    server's requests/s ÷ the in-process reference's (the cost of HTTP, the queue and the gate)."""
    by = {(r["mode"], r["concurrency"]): r for r in rows}
    out = {}
    for clients in sorted({r["concurrency"] for r in rows}):
        unbatched = by[("svend-serve max_batch_size=1", clients)]
        batched = by[(f"svend-serve max_batch_size={batch}", clients)]
        reference = by[("model.generate in-process", clients)]
        out[clients] = {"batching_gain": batched["req_per_s"] / unbatched["req_per_s"],
                        "vs_generate": batched["req_per_s"] / reference["req_per_s"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svend.benchmarks.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8], help="clients at once, per burst")
    parser.add_argument("--requests", type=int, default=16,
                        help="requests per burst, split evenly over the clients (each sends its share in turn)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8, help="max_batch_size of the batched mode")
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--startup-s", type=float, default=600)
    parser.add_argument("--override", action="append", default=[], help="a svend-serve override, repeatable")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.batch < 2:
        parser.error("--batch must be at least 2 (1 is the unbatched mode, always run)")

    print(f"svend-serve {' '.join(args.override) or '(defaults)'}: concurrency {args.concurrency}, "
          f"{args.requests} requests per burst, max_tokens {args.max_tokens}, greedy", flush=True)
    rows = [*run_server(1, args), *run_server(args.batch, args), *run_generate(args)]
    print()
    print(table(sorted(rows, key=lambda r: (r["concurrency"], r["mode"]))))
    gains = ratios(rows, args.batch)
    for clients, g in gains.items():
        print(f"concurrency {clients}: batched / unbatched req/s x{g['batching_gain']:.2f}; "
              f"batched server / in-process generate x{g['vs_generate']:.2f}")
    errors = [(r["mode"], r["concurrency"], e) for r in rows for e in r["errors"]]
    for mode, clients, e in errors[:5]:
        print(f"  error ({mode}, concurrency {clients}): {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows, "ratios": gains}, f, indent=2)
        print(f"results: {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
