"""The main job end to end, shortened: `svend-data generate recipe=tool_arith`, then
`svend-train experiment=tool_arith` — SmolLM2-135M + LoRA trains, then base and tuned answer the same
held-out problems and the run prints the table, the tuned model and the command that serves it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


@pytest.mark.slow
def test_tool_arith_trains_then_compares_base_and_tuned(tmp_path):
    root = f"paths.root_dir={tmp_path}"
    data = run_cli(["svend-data", "generate", "recipe=tool_arith", "data.num_examples=400", "data.tokenizer=null", root],
                   cwd=tmp_path)
    assert data.returncode == 0, data.stderr[-3000:]
    # Rows stay the cpu profile's 1024 tokens (tool records run ~440); two rows per step keep it short.
    result = run_cli(["svend-train", "experiment=tool_arith", root, *QUIET, "hardware.micro_batch_size=2", "trainer.max_steps=2",
                      "trainer.val_check_interval=2", "callbacks.last.every_n_train_steps=2", "trainer.limit_val_batches=1",
                      "trainer.limit_test_batches=1",
                      # 400 records leave the failures kind no test split: test on the tool traces alone
                      f"data.test_files=[{tmp_path}/data/tool_arith/tool_traces/test.jsonl]", "eval.limit=2", "eval.tasks=[tool_calls,chain_sum]",
                      "engine.max_new_tokens=32", "engine.progress=false"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "tool_arith").iterdir()
    out = result.stdout
    assert "base vs tuned (2 problems per task, same engine, same tools)" in out and "| chain_sum | accuracy |" in out
    assert f"tuned model:     {run / 'adapter'}" in out and f"serve it:        svend-serve checkpoint={run}" in out
    metrics = json.loads((run / "eval" / "metrics.json").read_text())["metrics"]
    assert set(metrics) == {"base", "tuned"}
    for label in ("base", "tuned"):
        assert metrics[label]["tool_calls"]["n"] == 2 and 0 <= metrics[label]["chain_sum"]["accuracy"] <= 1
        assert (run / "eval" / label / "chain_sum.jsonl").is_file()
    assert (run / "eval" / "report.md").read_text().startswith("# Svend report card")
