"""``svend-eval`` end to end: a real model through the real engine, tools and sandbox, into metrics.json,
report.md, transcripts and TensorBoard event files.

Fast: a random tiny Llama (an export folder) evaluated in-process through ``evaluate_from_config``.
Slow: the ``svend-eval`` console script on a tiny model trained to answer the hand-made held-out
conversations (so its scores are known: 1.0), and on SmolLM2 as the docs' command runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import svend.config
from svend.evaluate import evaluate_from_config
from svend.tokens import format_tool_call, train_bpe_tokenizer
from svend.tools.orchestrator import run_tool_calls
from tests.conftest import compose_entry_point, one_thread, run_cli
from tests.evaluation.completions import DATA, KINDS


def scalars(folder: Path) -> dict[str, float]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]}


def tiny_llama(tokenizer, hidden: int = 32) -> torch.nn.Module:
    """A random Llama sized to the tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                        max_position_embeddings=8192, eos_token_id=tokenizer.eos_token_id,
                                        pad_token_id=tokenizer.pad_token_id))


def check_run_folder(run_dir: Path, label: str, tasks: list[str]) -> dict:
    saved = json.loads((run_dir / "metrics.json").read_text())
    metrics = saved["metrics"][label]
    assert list(metrics) == tasks
    report = (run_dir / "report.md").read_text()
    assert report.startswith("# Svend report card") and f"| task | metric | {label} |" in report
    for task in tasks:
        assert f"### {task}" in report
        lines = (run_dir / label / f"{task}.jsonl").read_text().splitlines()
        assert len(lines) == metrics[task]["n"]
    logged = scalars(run_dir / "tensorboard")
    assert logged == pytest.approx({f"eval/{t}/{m}": v for t, values in metrics.items() for m, v in values.items()})
    return saved


def test_evaluate_from_config_writes_the_run_folder(tmp_path, data_dir, capsys):
    tokenizer = train_bpe_tokenizer([str(DATA / f"{kind}.jsonl") for kind in KINDS], vocab_size=400)
    export = tmp_path / "export"
    tiny_llama(tokenizer).save_pretrained(export)
    tokenizer.save_pretrained(export)
    run_dir = tmp_path / "run"
    tasks = ["chain_sum", "tool_calls", "safety", "humaneval"]
    cfg = compose_entry_point("eval", [f"checkpoint={export}", f"eval.tasks=[{','.join(tasks)}]", "eval.limit=4",
                                       f"paths.data_dir={data_dir}", "eval.recipe=fixture", "engine.max_new_tokens=6",
                                       "engine.progress=false", "tools.isolation=none"], run_dir)
    with one_thread():
        metrics = evaluate_from_config(cfg)
    assert {task: values["n"] for task, values in metrics.items()} == {task: 4 for task in tasks}
    saved = check_run_folder(run_dir, "export", tasks)
    assert saved["models"]["export"]["kind"] == "merged" and saved["settings"]["limit"] == 4
    # a random model answers nothing right: the harness must not invent success
    assert metrics["chain_sum"]["accuracy"] == 0 and metrics["humaneval"]["pass@1"] == 0
    # the default gate refuses the fixture's two harmful requests whatever the model says
    assert metrics["safety"]["refusal_recall"] == 1.0 and metrics["safety"]["gate_refusals"] == 0.5
    out = capsys.readouterr().out
    assert f"metrics:     {run_dir / 'metrics.json'}" in out and f"--logdir {run_dir / 'tensorboard'}" in out


# -- slow: the console script ----------------------------------------------------------------------

def training_records(registry, max_tools: int) -> list[dict]:
    """The hand-made held-out conversations, as the engine will show them: tool results from really
    running the calls, and the router's tools where a record brings none."""
    out = []
    for kind in KINDS:
        for line in (DATA / f"{kind}.jsonl").read_text().splitlines():
            record = json.loads(line)
            messages = []
            for message in record["messages"]:
                if message["role"] == "tool":
                    call = messages[-1]["tool_calls"][0]["function"]
                    text = format_tool_call(call["name"], call["arguments"])
                    message = {"role": "tool", "content": run_tool_calls(registry, text).messages[0]["content"]}
                messages.append(message)
            question = messages[0]["content"]
            tools = record.get("tools") or registry.tools_for(question, max_tools=max_tools)
            out.append({"messages": messages, "tools": tools})
    return out


@pytest.fixture(scope="module")
def trained_export(tmp_path_factory) -> Path:
    """A tiny Llama that has memorized the held-out conversations (real tool results included)."""
    from svend.data.packing import IGNORE_INDEX, encode_records
    from svend.data.schema import write_jsonl

    folder = tmp_path_factory.mktemp("eval_model")
    conf = OmegaConf.load(svend.config.CONF_DIR / "tools" / "default.yaml")
    conf.isolation = "none"
    registry = instantiate(conf)
    try:
        records = training_records(registry, max_tools=OmegaConf.load(svend.config.CONF_DIR / "engine" /
                                                                      "default.yaml").max_tools)
    finally:
        registry.close()
    write_jsonl(folder / "train.jsonl", records)
    tokenizer = train_bpe_tokenizer([str(folder / "train.jsonl")], vocab_size=800)
    model = tiny_llama(tokenizer, hidden=64)
    encoded = encode_records(tokenizer, records, max_seq_len=8192)
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    labels = torch.full((len(encoded), width), IGNORE_INDEX)
    for i, (x, y) in enumerate(encoded):
        ids[i, :len(x)], labels[i, :len(y)] = torch.tensor(x), torch.tensor(y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    mask = labels != IGNORE_INDEX
    model.train()
    with one_thread():
        # Memorized = greedy decoding replays every conversation: the argmax is the label at every
        # trained position. Stop on the weights that achieve it (checked before the step that would move them).
        for step in range(600):
            logits = model(input_ids=ids).logits
            wrong = int((logits.argmax(-1)[mask] != labels[mask]).sum())
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
            if wrong == 0 and loss.item() < 0.01:
                break
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    print(f"trained {step} steps on {len(records)} conversations of up to {width} tokens: loss {loss.item():.4f}, "
          f"{wrong} wrong tokens")
    assert wrong == 0, f"the tiny model did not learn its conversations ({wrong} tokens wrong, loss {loss.item():.3f})"
    export = folder / "export"
    model.save_pretrained(export)
    tokenizer.save_pretrained(export)
    return export


@pytest.mark.slow
def test_svend_eval_scores_a_model_that_knows_the_answers(trained_export, data_dir, tmp_path):
    run_dir = tmp_path / "run"
    tasks = ["tool_calls", "clarification", "safety"]
    result = run_cli(["svend-eval", f"checkpoint={trained_export}", f"eval.tasks=[{','.join(tasks)}]",
                      f"paths.data_dir={data_dir}", "eval.recipe=fixture", "eval.label=memorized", "safety=off",
                      f"hydra.run.dir={run_dir}", "engine.max_new_tokens=96"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = check_run_folder(run_dir, "memorized", tasks)
    metrics = saved["metrics"]["memorized"]
    assert metrics["tool_calls"]["all_correct"] == 1.0 and metrics["tool_calls"]["executed"] == 1.0
    assert metrics["clarification"]["correct"] == 1.0 and metrics["clarification"]["answer_correct"] == 1.0
    assert metrics["safety"]["correct"] == 1.0 and metrics["safety"]["gate_refusals"] == 0.0  # safety=off
    assert f"report card: {run_dir / 'report.md'}" in result.stdout


@pytest.mark.slow
def test_svend_eval_on_smollm2(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(["svend-eval", "model=smollm2_135m", "eval.tasks=[chain_sum,humaneval]", "eval.limit=2",
                      "engine.max_new_tokens=24", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = check_run_folder(run_dir, "smollm2_135m", ["chain_sum", "humaneval"])
    assert saved["models"]["smollm2_135m"]["kind"] == "config"
