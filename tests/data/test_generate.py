"""`svend-data generate`: every kind written with its metadata, tool results executed not written,
deterministic by seed, deduped, split by problem without leakage, atomic under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from svend.config import CONF_DIR
from svend.data import build
from svend.data.generators import KINDS, Context, Drop, Example, safety
from svend.data.generators import reasoning_gym as rg_traces
from svend.data.schema import read_jsonl
from svend.data.verify import verify
from svend.tools.cli import load_registry
from tests.data.helpers import FAST, build_dataset, compose_data

KIND_NAMES = ["tool_traces", "failures", "clarification", "verifier", "safety"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    out, gen = build_dataset(["data.num_examples=420", "data.seed=3"], root)
    return out, gen


@pytest.fixture(scope="module")
def registry():
    r = load_registry(isolation="none")
    yield r
    r.close()


def all_records(out: Path) -> list[dict]:
    return [r for f in sorted(out.rglob("*.jsonl")) for r in read_jsonl(f)]


def test_every_kind_is_written_and_described(dataset):
    out, gen = dataset
    meta = json.loads((out / "metadata.json").read_text())
    assert set(meta["kinds"]) == set(KIND_NAMES)
    assert meta["num_examples"]["written"] == gen.count() >= 420  # pairs may overshoot by one per generator
    for kind, info in meta["kinds"].items():
        for split, n in info["splits"].items():
            path = out / kind / f"{split}.jsonl"
            assert (len(read_jsonl(path)) if path.exists() else 0) == n
        assert sum(sum(s.values()) for s in info["generators"].values()) == info["total"]
    calls = defaultdict(int)
    for record in all_records(out):
        m = record["metadata"]
        assert m["source"] == "svend-data" and m["seed"] == 3 and m["kind"] in KIND_NAMES
        assert m["generator"] in KINDS[m["kind"]] and len(m["lineage_id"]) == 16
        names = [c["function"]["name"] for msg in record["messages"] for c in msg.get("tool_calls") or []]
        assert m["tools_used"] == list(dict.fromkeys(names))
        assert set(names) <= {t["function"]["name"] for t in record["tools"]}  # only tools the model was shown
        assert not any(msg["role"] == "system" for msg in record["messages"])
        for name in names:
            calls[name] += 1
        if m["answer"] is not None and m["kind"] in ("tool_traces", "failures"):
            assert record["messages"][-1]["content"].endswith(f"Answer: {m['answer']}")
    assert {t: sum(s.values()) for t, s in meta["tool_calls"].items()} == dict(calls)
    assert meta["config"]["seed"] == 3 and meta["token_lengths"] is None


def test_every_tool_result_reexecutes_to_the_recorded_one(dataset, registry):
    out, _ = dataset
    report = verify([out], registry, progress=False)
    assert report.ok, report.problems[:5]
    assert report.calls > 300 and report.records == sum(1 for _ in all_records(out))


def test_tool_traces_are_multi_step_and_cover_every_family(dataset):
    out, _ = dataset
    records = read_jsonl(out / "tool_traces" / "train.jsonl")
    families = {r["metadata"]["generator"].split(".")[0] for r in records}
    assert families == {"calculator", "math", "physics", "chemistry", "logic", "code", "reasoning_gym"}
    multi = [r for r in records if sum(len(m.get("tool_calls") or []) for m in r["messages"]) >= 2]
    assert len(multi) > 0.15 * len(records)


def test_failure_traces_carry_real_tool_errors(dataset, registry):
    out, _ = dataset
    records = [r for s in ("train", "val", "test") if (out / "failures" / f"{s}.jsonl").exists()
               for r in read_jsonl(out / "failures" / f"{s}.jsonl")]
    assert len(records) > 30
    seen = set()
    for record in records:
        messages = record["messages"]
        errors = [json.loads(m["content"])["error"]["type"] for m in messages if m["role"] == "tool" and "error" in m["content"]]
        assert errors and record["metadata"]["error_types"] == errors[:1]
        seen.update(errors)
        first_call = next(m for m in messages if m.get("tool_calls"))["tool_calls"][0]["function"]
        if errors[0] != "timeout":  # the error is what the tool says for that call, now
            assert registry.call(first_call["name"], first_call["arguments"])["error"]["type"] == errors[0]
        final = messages[-1]["content"]
        assert final and messages[-1]["role"] == "assistant"
    assert {"division_by_zero", "domain_error", "overflow", "invalid_arguments"} <= seen


def test_no_problem_is_in_two_splits(dataset):
    out, _ = dataset
    splits_of, question_split = defaultdict(set), defaultdict(set)
    for record in all_records(out):
        m = record["metadata"]
        splits_of[m["lineage_id"]].add(m["split"])
        question_split[record["messages"][0]["content"].strip().lower()].add(m["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    leaks = {q: s for q, s in question_split.items() if len(s) > 1}
    assert not leaks, list(leaks.items())[:3]
    # and the split is a function of the problem alone
    fractions = [("train", 0.9), ("val", 0.05), ("test", 0.05)]
    assert build.split_of("What is 2 + 2?", fractions) == build.split_of("  what is 2 + 2? ", fractions)


def test_same_seed_same_bytes_other_seed_other_problems(tmp_path):
    small = ["recipe=tool_arith", "data.num_examples=120"]
    a, _ = build_dataset([*small, "data.seed=5"], tmp_path / "a")
    b, _ = build_dataset([*small, "data.seed=5"], tmp_path / "b")
    c, _ = build_dataset([*small, "data.seed=6"], tmp_path / "c")
    files = sorted(p.relative_to(a) for p in a.rglob("*.jsonl"))
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*.jsonl"))
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes()
    problems = lambda d: {r["metadata"]["lineage_id"] for r in all_records(d)}  # noqa: E731
    shared = problems(a) & problems(c)
    assert len(shared) < 0.2 * len(problems(a))  # chance collisions of tiny problems ("1 + 5") only


def test_duplicates_are_dropped_and_the_kind_still_fills(tmp_path, monkeypatch):
    def constant(ctx, rng, index):  # the same conversation every time
        return Example([{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi."}], problem="hi")

    monkeypatch.setitem(KINDS["safety"], "safety.constant", constant)
    cfg = compose_data(["data.num_examples=40", "+data.kinds.safety.generators.safety.constant=1"], tmp_path)
    registry = load_registry(isolation="none")
    try:
        gen = build.generate(cfg.data, registry, progress=False)
    finally:
        registry.close()
    safety_records = [r for s in gen.records["safety"].values() for r in s]
    assert sum(r["metadata"]["generator"] == "safety.constant" for r in safety_records) == 1
    assert gen.dropped["safety.constant"]["duplicate"] > 0 and gen.shortfall["safety.constant"] > 0
    assert len(safety_records) == sum(build.plan(cfg.data)["safety"].values())  # filled by the others
    keys = [build._dedupe_key(r) for kind in gen.records.values() for s in kind.values() for r in s]
    assert len(keys) == len(set(keys))


def test_reasoning_gym_traces_pass_its_scorer_or_are_dropped(registry, monkeypatch):
    ctx = Context(registry, seed=0)
    for name in ["basic_arithmetic", "chain_sum", "prime_factorization", "fraction_simplification"]:
        generate = rg_traces.GENERATORS[f"reasoning_gym.{name}"]
        dataset = ctx.rg_dataset(name)
        assert dataset.seed + ctx.rg_size < 1_000_000  # evaluation draws at or above 1e6
        for index in range(5):
            example = generate(ctx, random.Random(index), index)
            assert example.messages[-1]["content"].endswith(f"Answer: {example.answer}")
            assert dataset.score_answer(example.answer, dataset[index]) == 1.0
    monkeypatch.setattr(type(ctx.rg_dataset("chain_sum")), "score_answer", lambda self, answer, entry: 0.5)
    with pytest.raises(Drop) as drop:
        rg_traces.GENERATORS["reasoning_gym.chain_sum"](ctx, random.Random(0), 0)
    assert drop.value.reason == "scorer"


def test_verifier_chains_are_labelled_per_chain_and_step(dataset):
    out, _ = dataset
    records = all_records(out / "verifier")
    corruptions = set()
    by_problem = defaultdict(list)
    for r in records:
        m = r["metadata"]
        turns = sum(msg["role"] == "assistant" for msg in r["messages"])
        assert len(m["step_labels"]) == turns
        if m["label"] == 1:
            assert m["corruption"] is None and all(m["step_labels"])
        else:
            assert m["corruption"] in ("arithmetic", "tool_copy", "final_answer", "unjustified_leap")
            first_bad = m["step_labels"].index(0)
            assert m["step_labels"] == [1] * first_bad + [0] * (turns - first_bad)
            corruptions.add(m["corruption"])
        by_problem[m["lineage_id"]].append(r)
    assert len(corruptions) >= 3
    pairs = [p for p in by_problem.values() if {r["metadata"]["label"] for r in p} == {0, 1}]
    assert len(pairs) >= len(by_problem) * 0.9
    good, bad = sorted(pairs[0], key=lambda r: -r["metadata"]["label"])
    assert good["metadata"]["answer"] != bad["metadata"]["answer"]


def test_clarification_pairs_ask_one_question_beside_a_direct_answer(dataset):
    out, _ = dataset
    by_problem = defaultdict(list)
    for r in all_records(out / "clarification"):
        by_problem[r["metadata"]["lineage_id"]].append(r)
    complete = [p for p in by_problem.values() if len(p) == 2]
    assert len(complete) >= 0.9 * len(by_problem)
    vat = 0
    for pair in complete:
        ask, answer = sorted(pair, key=lambda r: not r["metadata"]["clarify"])
        final = ask["messages"][-1]["content"]
        assert final.startswith("<clarify>") and final.count("?") == 1 and ask["metadata"]["answer"] is None
        assert not answer["messages"][-1]["content"].startswith("<clarify>") and answer["metadata"]["answer"] is not None
        if ask["metadata"]["generator"] == "clarification.vat":  # the checklist decides what to ask
            vat += 1
            missing = json.loads(ask["messages"][2]["content"])["missing"]
            assert final == f"<clarify>{next(m['question'] for m in missing if m['id'] in ask['metadata']['missing'])}"
            assert json.loads(answer["messages"][2]["content"])["complete"] is True
    assert vat > 0


def test_safety_records_are_labelled_with_the_fixed_categories(dataset):
    out, _ = dataset
    records = all_records(out / "safety")
    labels = defaultdict(set)
    for r in records:
        m = r["metadata"]
        assert m["label"] in ("refuse", "comply") and m["category"] in safety.CATEGORIES
        labels[m["label"]].add(m["category"])
        reply = r["messages"][-1]["content"]
        if m["label"] == "refuse" and m["category"] == "self_harm":
            assert "988" in reply and "116 123" in reply
        if m["label"] == "refuse":
            assert len(reply) < 400
    assert labels["refuse"] == set(safety.CATEGORIES)
    assert len(labels["comply"]) >= 5
    # no operational detail in harmful requests: no digits-with-units, no code
    harmful = [r["messages"][0]["content"] for r in records if r["metadata"]["label"] == "refuse"]
    assert not any("```" in h or " mg" in h or " grams" in h for h in harmful)


def test_safety_split_holds_out_whole_templates():
    """The split key is the template (the phrasing before its slots are filled, without its framing), so
    a held-out request is never a refilled or reframed copy of a training one — while fills and framings vary."""
    ctx, rng = Context(registry=None), random.Random(0)
    texts = defaultdict(set)
    for i in range(5000):  # ~7 draws per template
        for make in (safety.harmful, safety.lookalike):
            example = make(ctx, rng, i)
            texts[example.problem].add(example.messages[0]["content"])
            assert example.problem in example.split_group
    templates = {f"{c}:{t}" for c, intents in safety.HARMFUL.items() for _, phrasings in intents for t in phrasings}
    templates |= {f"benign:{t}" for _, _, phrasings, _ in safety.BENIGN for t in phrasings}
    assert set(texts) <= templates
    assert sum(len(t) > 3 for t in texts.values()) > len(texts) // 2  # one template, many requests
    fractions = [("train", 0.7), ("val", 0.15), ("test", 0.15)]
    for groups in (safety.HARMFUL_GROUPS, safety.BENIGN_GROUPS):  # every category held out, with both labels
        for category, group in groups.items():
            splits = Counter(build.split_of(p, fractions, group) for p in group)
            assert splits["val"] >= 1 and splits["test"] >= 1 and splits["train"] > len(group) // 2, (category, splits)


def test_split_of_a_group_holds_out_every_stratum():
    fractions = [("train", 0.7), ("val", 0.15), ("test", 0.15)]
    group = tuple(f"template {i}" for i in range(8))
    splits = [build.split_of(p, fractions, group) for p in group]
    assert Counter(splits) == {"train": 6, "val": 1, "test": 1}  # round(0.15 × 8) = 1 each, the rest train
    assert splits == [build.split_of(p, fractions, tuple(reversed(group))) for p in group]  # order-free
    assert build.split_of("  TEMPLATE 3 ", fractions, group) == splits[3]  # normalized like the plain hash
    big = tuple(f"t{i}" for i in range(100))
    assert Counter(build.split_of(p, fractions, big) for p in big) == {"train": 70, "val": 15, "test": 15}
    tiny = ("a", "b")  # cannot leave train a problem: the plain hash decides
    assert [build.split_of(p, fractions, tiny) for p in tiny] == [build.split_of(p, fractions) for p in tiny]
    with pytest.raises(ValueError, match="not in its own group"):
        build.split_of("elsewhere", fractions, group)


@pytest.mark.parametrize("recipe", sorted(p.stem for p in (CONF_DIR / "recipe").glob("*.yaml")))
def test_every_recipe_composes_and_plans(recipe, tmp_path):
    cfg = compose_data([f"recipe={recipe}"], tmp_path)
    wanted = build.plan(cfg.data)
    assert sum(n for gens in wanted.values() for n in gens.values()) == cfg.data.num_examples
    assert cfg.data.out_dir == str(tmp_path / "data" / recipe) and cfg.task_name == "data"


def test_bad_configs_fail_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"data.kinds.tool_traces.generators.calculator.multiplyy: unknown generator"):
        build.plan(compose_data(["+data.kinds.tool_traces.generators.calculator.multiplyy=1"], tmp_path).data)
    with pytest.raises(ValueError, match=r"data.kinds.recipes: unknown kind"):
        build.plan(compose_data(["+data.kinds.recipes.weight=1"], tmp_path).data)
    with pytest.raises(ValueError, match="data.splits must be"):
        build._split_fractions({"train": 0.9, "val": 0.2})
    with pytest.raises(ValueError, match="data.num_examples must be positive"):
        build.plan(compose_data(["data.num_examples=0"], tmp_path).data)


# -- the command line -----------------------------------------------------------------------------------------

def svend_data(args: list[str], cwd: Path, **kw) -> subprocess.Popen:
    script = Path(sys.executable).parent / "svend-data"
    return subprocess.Popen([str(script), *args], cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_cli_generate_then_verify_and_a_tampered_result_fails(tmp_path):
    p = svend_data(["generate", "recipe=tool_arith", "data.num_examples=80", f"paths.root_dir={tmp_path}", *FAST], tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    data = tmp_path / "data" / "tool_arith"
    assert "generating" in err and str(data) in out  # a progress bar, and where the outputs went
    p = svend_data(["verify", str(data), "--quiet"], tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0 and "all match" in out, err[-2000:]
    path = data / "tool_traces" / "train.jsonl"
    lines = path.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if '"calculator"' in line)
    record = json.loads(lines[k])
    tool = next(m for m in record["messages"] if m["role"] == "tool")
    tool["content"] = tool["content"].replace('"result": "', '"result": "1')
    lines[k] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")
    p = svend_data(["verify", str(data), "--quiet"], tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 1 and f"{path}:{k + 1}: messages[" in err and "MISMATCH" in out


@pytest.mark.slow
def test_killed_generation_leaves_the_old_dataset_or_the_new_one(tmp_path):
    args = [f"paths.root_dir={tmp_path}", *FAST]
    p = svend_data(["generate", "data.num_examples=60", *args], tmp_path)
    assert p.wait(timeout=300) == 0, p.stderr.read()[-2000:]
    data = tmp_path / "data" / "default"
    old = {f.relative_to(data): f.read_bytes() for f in data.rglob("*") if f.is_file()}

    def generated_at_least(percent: int):
        """Has the progress bar shown ``percent`` % or more? (tqdm may skip any given value on a fast run)"""
        return lambda text: any(int(m) >= percent for m in re.findall(r"generating:\s+(\d+)%", text))

    def killed_after(marker) -> str:
        p = svend_data(["generate", "data.num_examples=1500", "data.seed=9", *args], tmp_path)
        seen = threading.Event()

        def watch(stream):
            buffer = ""
            while chunk := stream.read(64):
                buffer = (buffer + chunk)[-4000:]
                if (marker(buffer) if callable(marker) else marker in buffer):
                    seen.set()

        for stream in (p.stdout, p.stderr):
            threading.Thread(target=watch, args=(stream,), daemon=True).start()
        assert seen.wait(timeout=300), f"never saw {marker!r}"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        assert p.returncode == -signal.SIGKILL
        now = {f.relative_to(data): f.read_bytes() for f in data.rglob("*") if f.is_file()}
        if now != old:  # the kill came after the swap: then it is the whole new dataset
            meta = json.loads(now[Path("metadata.json")])
            assert meta["seed"] == 9
            for kind, info in meta["kinds"].items():
                for split, n in info["splits"].items():
                    assert (now[Path(kind) / f"{split}.jsonl"].count(b"\n") if n else 0) == n
            return "new"
        return "old"

    assert killed_after(generated_at_least(30)) == "old"  # early
    assert killed_after(generated_at_least(80)) == "old"  # late: files are only written after 100 %
    killed_after("writing ")  # while the files are written: old or new, never a mix
    leftovers = [p for p in tmp_path.joinpath("data").iterdir() if p.name != "default"]
    assert all(p.name.startswith(".default.") for p in leftovers)  # only hidden temp folders, never a half dataset
