"""Serving benchmark: what LitServe batching buys — N concurrent ``openai`` clients against the real
server, unbatched (``serve.max_batch_size=1``) then batched, in one run.

    python -m svend.benchmarks.serving                              # SmolLM2-135M, 16 clients, batch 8
    python -m svend.benchmarks.serving --clients 8 --batch 4 --max-tokens 16
    python -m svend.benchmarks.serving --override checkpoint=outputs/train/<time> --override safety=off

Each mode starts its own ``svend-serve`` process (``svend.serving.process``), waits for ``/health``,
sends one warm-up request, then every client sends ``--requests`` chat completions one after another
(greedy, ``max_tokens`` fixed, a different question per client). Reported per mode: p50/p90 latency
of a request, requests/s over the whole burst, generated tokens/s (from the ``usage`` blocks), and the
ratios batched ÷ unbatched — compare ratios, not absolutes (BASELINE.md: ±20 % run to run). The
reference is LitServe's own example on this machine (BASELINE.md: 16 clients, ``max_tokens`` 32,
unbatched p90 30.9 s / 0.47 req/s, ``max_batch_size=8`` p90 7.2 s / 2.2 req/s: ×4.3 p90, ×4.7 req/s).
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
    "What season comes after winter?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def burst(base_url: str, clients: int, requests: int, max_tokens: int, model: str) -> dict:
    """Every client sends its requests in turn; all clients at once. Latencies in seconds."""
    import openai

    latencies: list[float] = []
    tokens = [0]
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(i: int) -> None:
        api = openai.OpenAI(base_url=base_url, api_key="none", timeout=900, max_retries=0)
        start_line.wait()
        for r in range(requests):
            question = QUESTIONS[(i + r * clients) % len(QUESTIONS)]
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
    wall = time.perf_counter() - t0
    return {"requests": len(latencies), "errors": errors, "wall_s": wall,
            "p50_s": percentile(latencies, 0.5), "p90_s": percentile(latencies, 0.9),
            "req_per_s": len(latencies) / wall, "tok_per_s": tokens[0] / wall}


def run_mode(batch: int, args) -> dict:
    overrides = [f"serve.max_batch_size={batch}", f"serve.batch_timeout={args.batch_timeout}", *args.override]
    with ServerProcess(overrides, startup_s=args.startup_s) as server:
        import openai

        warm = openai.OpenAI(base_url=server.base_url, api_key="none", timeout=900)
        warm.chat.completions.create(model="svend", messages=[{"role": "user", "content": "Hello"}], max_tokens=4)
        result = burst(server.base_url, args.clients, args.requests, args.max_tokens, "svend")
    result["max_batch_size"] = batch
    return result


def table(rows: list[dict]) -> str:
    head = f"{'max_batch_size':>14} {'requests':>8} {'errors':>6} {'p50 s':>7} {'p90 s':>7} {'req/s':>7} {'tok/s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['max_batch_size']:>14} {r['requests']:>8} {len(r['errors']):>6} {r['p50_s']:>7.2f} "
                     f"{r['p90_s']:>7.2f} {r['req_per_s']:>7.2f} {r['tok_per_s']:>7.1f}")
    return "\n".join(lines)


def ratios(unbatched: dict, batched: dict) -> dict:
    """Batched over unbatched: > 1 is better for all three."""
    return {"p50_speedup": unbatched["p50_s"] / batched["p50_s"], "p90_speedup": unbatched["p90_s"] / batched["p90_s"],
            "throughput_gain": batched["req_per_s"] / unbatched["req_per_s"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svend.benchmarks.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=1, help="requests per client, one after another")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="max_batch_size of the batched mode")
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--startup-s", type=float, default=600)
    parser.add_argument("--override", action="append", default=[], help="a svend-serve override, repeatable")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    rows = [run_mode(1, args), run_mode(args.batch, args)]
    print(f"svend-serve {' '.join(args.override) or '(defaults)'}: {args.clients} concurrent clients x "
          f"{args.requests} requests, max_tokens {args.max_tokens}, greedy")
    print(table(rows))
    gain = ratios(*rows)
    print(f"batched / unbatched: p50 x{gain['p50_speedup']:.2f} faster, p90 x{gain['p90_speedup']:.2f} faster, "
          f"throughput x{gain['throughput_gain']:.2f}  (LitServe's own example, BASELINE.md: p90 x4.3, req/s x4.7)")
    for r in rows:
        for e in r["errors"][:3]:
            print(f"  error (max_batch_size={r['max_batch_size']}): {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "modes": rows, "ratios": gain}, f, indent=2)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
