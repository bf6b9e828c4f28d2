"""The runner and the report card: batching through an engine, transcripts, metrics.json, report.md, real
TensorBoard event files, and the same problems for every model in a comparison."""

from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from svend.evaluation.reasoning_gym import ReasoningGymTask
from svend.evaluation.report import comparison_table, write_report
from svend.evaluation.runner import compare, evaluate, select_problems
from svend.evaluation.safety import SafetyTask
from svend.evaluation.tool_calls import ToolCallTask
from tests.evaluation.completions import ScriptedEngine, best_of, call, generation


@pytest.fixture
def tasks(data_dir):
    return {"chain_sum": ReasoningGymTask("chain_sum", size=20),
            "tool_calls": ToolCallTask(data_dir / "fixture" / "tool_traces" / "test.jsonl"),
            "safety": SafetyTask(data_dir / "fixture" / "safety" / "test.jsonl")}


def script_for(problems: dict, right_sums: int) -> dict:
    """Right answers to the first ``right_sums`` chain_sum problems, a correct calculator trace for
    the first tool problem, refusals for every safety prompt (so half are over-refusals)."""
    script = {}
    for problem in problems["chain_sum"][:right_sums]:
        script[problem["messages"][-1]["content"]] = generation(f"Answer: {problem['entry']['answer']}")
    tool = problems["tool_calls"][0]
    script[tool["messages"][-1]["content"]] = generation("Answer: 391", [call("calculator", {"expression": "17*23"})])
    for problem in problems["safety"]:
        script[problem["messages"][-1]["content"]] = generation("I can't help with that.")
    return script


def scalars(folder) -> dict[str, float]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]}


def test_evaluate_batches_scores_and_saves_transcripts(tasks, tmp_path):
    problems = select_problems(tasks, limit=5, seed=0)
    engine = ScriptedEngine(script_for(problems, right_sums=3))
    writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    metrics = evaluate(engine, tasks, tmp_path, label="tiny", batch_size=2, problems=problems, tb_writer=writer, step=7)
    writer.close()

    assert [size for size, _ in engine.batches] == [2, 2, 1, 2, 2, 2, 2]
    assert engine.batches[0][1] == [None, None]  # reasoning-gym prompts: the router picks the tools
    assert [t["function"]["name"] for t in engine.batches[3][1][0]] == ["calculator", "physics_convert"]
    assert metrics["chain_sum"]["accuracy"] == 0.6 and metrics["chain_sum"]["n"] == 5
    assert metrics["tool_calls"]["all_correct"] == 0.25 and metrics["tool_calls"]["called"] == 0.25
    assert metrics["safety"]["refusal_recall"] == 1.0 and metrics["safety"]["over_refusal"] == 1.0

    lines = (tmp_path / "tiny" / "chain_sum.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [p["id"] for p in problems["chain_sum"]]
    assert [r["passed"] for r in records] == [True, True, True, False, False]
    assert records[0]["prompt"] == problems["chain_sum"][0]["messages"] and records[0]["score"]["score"] == 1.0
    tool_record = json.loads((tmp_path / "tiny" / "tool_calls.jsonl").read_text().splitlines()[0])
    assert tool_record["tool_calls"][0]["name"] == "calculator"
    assert tool_record["tools_offered"] == ["calculator", "physics_convert"]

    logged = scalars(tmp_path / "tb")
    assert logged["eval/chain_sum/accuracy"] == pytest.approx(0.6)
    assert logged["eval/safety/over_refusal/weapons"] == 1.0
    assert set(logged) == {f"eval/{t}/{m}" for t, values in metrics.items() for m in values}


def test_best_of_n_reports_greedy_majority_and_any_candidate_on_the_same_samples(tasks, tmp_path):
    problems = select_problems({"chain_sum": tasks["chain_sum"]}, limit=3, seed=0)["chain_sum"]
    right = [p["entry"]["answer"] for p in problems]
    wrong = [str(int(a) + 1) for a in right]
    script = {
        # the scorer picked a wrong sample; greedy (first) was wrong too; two samples agree on the answer
        problems[0]["messages"][-1]["content"]: best_of(
            [f"Answer: {wrong[0]}", f"Answer: {right[0]}", f"{right[0]}", "no idea"], [0.1, 0.2, 0.3, 0.9], pick=3),
        # the scorer kept greedy's right answer; majority went to two agreeing wrong samples
        problems[1]["messages"][-1]["content"]: best_of(
            [f"Answer: {right[1]}", f"Answer: {wrong[1]}", f"Answer: {wrong[1]}", "x"], [0.9, 0.5, 0.5, 0.0], pick=0),
        # nobody was right
        problems[2]["messages"][-1]["content"]: best_of(
            [f"Answer: {wrong[2]}"] * 2, [0.5, 0.5], pick=0),
    }
    metrics = evaluate(ScriptedEngine(script), {"chain_sum": tasks["chain_sum"]}, tmp_path,
                       problems={"chain_sum": problems})["chain_sum"]
    assert metrics["accuracy"] == pytest.approx(1 / 3)           # what the scorer picked
    assert metrics["accuracy@first"] == pytest.approx(1 / 3)     # greedy's, with engine.greedy_candidate
    assert metrics["accuracy@majority"] == pytest.approx(1 / 3)  # self-consistency on the same candidates
    assert metrics["accuracy@any"] == pytest.approx(2 / 3)       # the ceiling no scorer can pass

    first = json.loads((tmp_path / "model" / "chain_sum.jsonl").read_text().splitlines()[0])
    assert [c["passed"] for c in first["candidates"]] == [False, True, True, False]
    assert [c["score"] for c in first["candidates"]] == [0.1, 0.2, 0.3, 0.9]
    assert first["candidates"][1]["messages"] == [{"role": "assistant", "content": f"Answer: {right[0]}"}]
    assert first["score"]["accuracy@majority"] is True and first["passed"] is False


def test_single_candidates_add_no_best_of_columns(tasks, tmp_path):
    problems = select_problems({"chain_sum": tasks["chain_sum"]}, limit=2, seed=0)
    metrics = evaluate(ScriptedEngine({}), {"chain_sum": tasks["chain_sum"]}, tmp_path, problems=problems)
    assert not [k for k in metrics["chain_sum"] if "@" in k]
    record = json.loads((tmp_path / "model" / "chain_sum.jsonl").read_text().splitlines()[0])
    assert record["candidates"] == []


def test_limit_and_seed_pick_the_same_problems(tasks):
    first = select_problems(tasks, limit=3, seed=5)
    assert first == select_problems(tasks, limit=3, seed=5)
    assert [len(v) for v in first.values()] == [3, 3, 3]


def test_report_card(tasks, tmp_path):
    problems = select_problems(tasks, limit=4, seed=0)
    metrics = evaluate(ScriptedEngine(script_for(problems, right_sums=2)), tasks, tmp_path, label="tiny",
                       problems=problems)
    files = write_report(tmp_path, {"tiny": metrics}, models={"tiny": {"source": "test"}}, settings={"limit": 4})
    saved = json.loads(files["metrics"].read_text())
    assert saved["metrics"]["tiny"]["chain_sum"]["accuracy"] == 0.5
    assert saved["models"] == {"tiny": {"source": "test"}} and saved["settings"] == {"limit": 4}
    report = files["report"].read_text()
    assert "| chain_sum | accuracy | 0.500 |" in report and "| safety | over_refusal/malware | 1.000 |" in report
    assert "### chain_sum" in report and "· right**" in report and "· wrong**" in report
    assert "- tool call `calculator`" in report
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files behind


def test_comparison_table_has_a_ratio_column_for_two_models():
    table = comparison_table({"base": {"chain_sum": {"n": 10, "accuracy": 0.2}, "safety": {"correct": 0.0}},
                              "tuned": {"chain_sum": {"n": 10, "accuracy": 0.5}, "safety": {"correct": 0.9}}})
    lines = table.splitlines()
    assert lines[0] == "| task | metric | base | tuned | tuned / base |"
    assert "| chain_sum | n | 10 | 10 | 1.00× |" in lines
    assert "| chain_sum | accuracy | 0.200 | 0.500 | 2.50× |" in lines
    assert "| safety | correct | 0.000 | 0.900 | — |" in lines
    one = comparison_table({"base": {"chain_sum": {"accuracy": 0.2}}})
    assert one.splitlines()[0] == "| task | metric | base |"
    with pytest.raises(ValueError):
        comparison_table({})


def test_compare_runs_every_model_on_the_same_problems(tasks, tmp_path):
    problems = select_problems(tasks, limit=4, seed=0)
    engines = {"base": ScriptedEngine(script_for(problems, right_sums=1)),
               "tuned": ScriptedEngine(script_for(problems, right_sums=4))}
    built = []

    def engine_factory(model, tokenizer):
        built.append((model, tokenizer))
        return engines[model]

    by_label, table = compare({"base": ("base", "tok"), "tuned": ("tuned", "tok")}, tasks, engine_factory, tmp_path,
                              limit=4)
    assert built == [("base", "tok"), ("tuned", "tok")]
    assert by_label["base"]["chain_sum"]["accuracy"] == 0.25 and by_label["tuned"]["chain_sum"]["accuracy"] == 1.0
    assert "| chain_sum | accuracy | 0.250 | 1.000 | 4.00× |" in table
    ids = {label: [json.loads(line)["id"] for line in (tmp_path / label / "chain_sum.jsonl").read_text().splitlines()]
           for label in engines}
    assert ids["base"] == ids["tuned"]
    assert scalars(tmp_path / "tensorboard" / "tuned")["eval/chain_sum/accuracy"] == 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"]["base"]["chain_sum"]["accuracy"] == 0.25
    assert "| task | metric | base | tuned | tuned / base |" in (tmp_path / "report.md").read_text()


def test_bad_labels_and_engines_are_named(tasks, tmp_path):
    with pytest.raises(ValueError, match="label 'a/b'"):
        evaluate(ScriptedEngine({}), tasks, tmp_path, label="a/b", limit=1)

    class Short(ScriptedEngine):
        def generate(self, conversations, tools=None):
            return super().generate(conversations, tools)[:-1]

    with pytest.raises(RuntimeError, match="returned 1 generations for 2 prompts"):
        evaluate(Short({}), tasks, tmp_path, limit=2, batch_size=2)
