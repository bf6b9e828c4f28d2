"""``svend-data samples``: svend-eval's best-of-N transcripts become verifier records the classification
stage reads, one per distinct candidate, labelled by whether it passed, split by problem."""

from __future__ import annotations

from svend.data.classification import record_label
from svend.data.schema import read_jsonl
from svend.data.self_samples import SAMPLED, main
from svend.evaluation.reasoning_gym import ReasoningGymTask
from svend.evaluation.runner import evaluate, select_problems
from tests.evaluation.completions import ScriptedEngine, best_of


def _eval(tmp_path, scripts) -> tuple[list[dict], object]:
    """Run the real runner on chain_sum problems answered by ``scripts(problems, answers)``."""
    tasks = {"chain_sum": ReasoningGymTask("chain_sum", size=20, name="chain_sum")}
    problems = select_problems(tasks, limit=8, seed=1)["chain_sum"]
    answers = [p["entry"]["answer"] for p in problems]
    engine = ScriptedEngine({p["messages"][-1]["content"]: g for p, g in zip(problems, scripts(answers))})
    evaluate(engine, tasks, tmp_path / "eval", problems={"chain_sum": problems})
    return problems, tmp_path / "eval"


def test_best_of_transcripts_become_labelled_records_split_by_problem(tmp_path, capsys):
    def scripts(answers):  # greedy right, a repeat of it, a wrong sample, a sample with no answer
        return [best_of([f"Answer: {a}", f"Answer: {a}", f"Answer: {int(a) + 1}", "hmm"], [0.5] * 4, pick=0)
                for a in answers]

    problems, eval_dir = _eval(tmp_path, scripts)
    assert main([str(eval_dir), "--out", str(tmp_path / "out"), "--val", "0.5"]) == 0
    assert "24 verifier records (8 right, 16 wrong; 8 duplicate" in capsys.readouterr().out
    splits = {s: read_jsonl(tmp_path / "out" / f"{s}.jsonl") for s in ("train", "val")}
    assert all(splits.values())  # half the problems held out: both splits have some
    by_question: dict[str, set[str]] = {}
    for split, records in splits.items():
        for r in records:
            by_question.setdefault(r["messages"][0]["content"], set()).add(split)
            kind, label, group, steps = record_label(r, "test")  # what the verifier stage reads
            answer = r["messages"][-1]["content"]
            problem = next(p for p in problems if p["messages"][0]["content"] == r["messages"][0]["content"])
            right = answer == f"Answer: {problem['entry']['answer']}"
            assert (kind, label, group, steps) == ("verifier", float(right), "none" if right else SAMPLED, None)
            assert r["messages"] == [*problem["messages"], {"role": "assistant", "content": answer}]
    assert len(by_question) == 8 and all(len(s) == 1 for s in by_question.values())  # a problem in one split


def test_transcripts_without_candidates_or_without_a_wrong_one_are_refused(tmp_path, capsys):
    _, single = _eval(tmp_path / "single", lambda answers: [best_of([f"Answer: {a}"], [1.0], 0) for a in answers])
    assert main([str(single), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "chain_sum.jsonl:1:" in err and "engine.best_of" in err

    _, all_right = _eval(tmp_path / "right", lambda answers: [best_of([f"Answer: {a}", f"{a}"], [1, 1], 0) for a in answers])
    assert main([str(all_right), "--out", str(tmp_path / "out")]) == 2
    assert "all right" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written for a refused run
