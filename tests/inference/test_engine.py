"""The tool loop with tiny models trained to call tools (conftest.py): a call really runs and its
result is appended, max_rounds stops, a malformed call gets the error turn, a client tool goes back
to the caller, batching changes nothing, best-of-N picks by the scorer, streaming tells the same story."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import svend.config
from svend.inference.answers import extract_answer
from svend.inference.engine import Engine, Generation
from svend.models.transformer import SvendDecoder
from svend.tokens import format_tool_call, render_prompt, render_segments

from tests.conftest import one_thread

from .conftest import MALFORMED, WEATHER, dumps, user


def engine(trained, **knobs) -> Engine:
    knobs = {"max_new_tokens": 120, "progress": False, **knobs}
    return Engine(trained.model, trained.tokenizer, trained.registry, **knobs)


def test_tool_call_runs_and_generation_continues(trained):
    gen = engine(trained).chat(user("What is 17 * 23?"), tools=[])
    assert gen.finish_reason == "stop" and gen.rounds == 2
    [record] = gen.tool_calls
    assert (record.name, record.arguments, record.ok, record.round) == ("calculator", {"expression": "17*23"}, True, 1)
    assert record.result["result"] == "391"  # the real calculator ran
    assistant, tool, answer = gen.messages
    assert assistant["tool_calls"][0]["function"] == {"name": "calculator", "arguments": '{"expression": "17*23"}'}
    assert tool["role"] == "tool" and tool["tool_call_id"] == record.id == assistant["tool_calls"][0]["id"]
    assert '"result": "391"' in tool["content"]
    assert answer == {"role": "assistant", "content": "17 * 23 = 391.\nAnswer: 391"}
    assert gen.final == "17 * 23 = 391.\nAnswer: 391" and extract_answer(gen.final) == "391"
    assert gen.text.startswith(format_tool_call("calculator", {"expression": "17*23"}) + "<|im_end|>\n<|im_start|>tool\n")
    assert '<tool_response>\n{"expression": "17*23", "result": "391"}\n</tool_response>' in gen.text
    count = lambda text: len(trained.tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    assert gen.new_tokens == count(format_tool_call("calculator", {"expression": "17*23"})) + count(gen.final) + 1
    rendered = render_prompt(user("What is 17 * 23?") + gen.messages, add_generation_prompt=False)
    assert "<tool_response>" in rendered and rendered.endswith("Answer: 391<|im_end|>\n")


def test_continuing_from_the_cache_equals_encoding_the_transcript(trained):
    """Round 2 decoded after the tool tokens were appended to the KV cache == greedy decoding of the
    whole transcript encoded from scratch."""
    gen = engine(trained).chat(user("What is 17 * 23?"), tools=[])
    segments = render_segments(user("What is 17 * 23?") + gen.messages[:2], add_generation_prompt=True)
    ids = [t for piece in trained.tokenizer([s.text for s in segments], add_special_tokens=False)["input_ids"] for t in piece]
    im_end = trained.tokenizer.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():
        if isinstance(trained.model, SvendDecoder):
            out = trained.model.generate(torch.tensor([ids]), max_new_tokens=30, eos_token_id=im_end)
        else:
            out = trained.model.generate(torch.tensor([ids]), max_new_tokens=30, eos_token_id=im_end,
                                         pad_token_id=im_end, do_sample=False)
    continued = trained.tokenizer.decode(out[0, len(ids):], skip_special_tokens=False).removesuffix("<|im_end|>")
    assert continued == gen.final


@pytest.mark.parametrize("max_rounds", [1, 3])
def test_max_rounds_stops_a_model_that_always_calls(trained, max_rounds):
    gen = engine(trained, max_rounds=max_rounds).chat(user("Keep calling."), tools=[])
    assert gen.finish_reason == "max_rounds" and gen.rounds == max_rounds
    assert [(c.name, c.result["result"], c.round) for c in gen.tool_calls] == \
        [("calculator", "2", r) for r in range(1, max_rounds + 1)]
    assert len({c.id for c in gen.tool_calls}) == max_rounds  # ids are unique within the conversation
    assert [m["role"] for m in gen.messages] == ["assistant", "tool"] * max_rounds
    assert gen.text.endswith("</tool_response><|im_end|>\n") and gen.final == ""


def test_malformed_call_gets_the_error_turn_and_generation_goes_on(trained):
    gen = engine(trained).chat(user("Broken call."), tools=[])
    assert gen.finish_reason == "stop" and gen.rounds == 2
    [record] = gen.tool_calls
    assert not record.ok and record.name is None and record.arguments is None
    assert record.result["error"]["type"] == "invalid_tool_call" and "not valid JSON" in record.result["error"]["message"]
    assistant, tool, answer = gen.messages
    assert assistant == {"role": "assistant", "content": MALFORMED}  # kept as written; nothing parsed to tool_calls
    assert tool["role"] == "tool" and "invalid_tool_call" in tool["content"] and tool["tool_call_id"] == record.id
    assert answer["content"] == "Answer: error" and gen.final == "Answer: error"


def test_client_tool_goes_back_to_the_caller(trained):
    gen = engine(trained).chat(user("Weather in Oslo?"), tools=[WEATHER])
    assert gen.finish_reason == "tool_calls" and gen.rounds == 1
    [record] = gen.tool_calls
    assert (record.name, record.arguments, record.result) == ("get_weather", {"city": "Oslo"}, {})
    assert gen.messages == [{"role": "assistant", "content": None, "tool_calls": [
        {"id": record.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}]
    # The same call to a tool nobody showed or registered is run: the model sees an unknown_tool error.
    lost = engine(trained, max_rounds=1).chat(user("Weather in Oslo?"), tools=[{**WEATHER, "function": {
        **WEATHER["function"], "name": "other"}}])
    assert lost.finish_reason == "max_rounds" and lost.tool_calls[0].result["error"]["type"] == "unknown_tool"


CASES = [(user("What is 17 * 23?"), []), (user("Keep calling."), []), (user("Broken call."), []),
         (user("Weather in Oslo?"), [WEATHER]), (user("Weather in Oslo?"), [WEATHER]),
         (user("What is 17 * 23?"), [WEATHER]), ([{"role": "system", "content": "Be brief."}, *user("Broken call.")], [])]


def test_batched_generate_equals_one_at_a_time(trained):
    """Rows leaving, joining, waiting on tools and sharing prefixes decode exactly like a lone row
    (7 rows through a batch of 3: rows join mid-flight, with holes in the cache)."""
    eng = engine(trained, max_rounds=3, batch_size=3, max_new_tokens=80)
    batched = eng.generate([c for c, _ in CASES], tools=[t for _, t in CASES])
    alone = [eng.chat(c, tools=t) for c, t in CASES]
    for got, want in zip(batched, alone):
        assert dumps(got.__dict__ | {"tool_calls": [c.__dict__ for c in got.tool_calls]}) == \
            dumps(want.__dict__ | {"tool_calls": [c.__dict__ for c in want.tool_calls]})
    assert [g.finish_reason for g in batched[:4]] == ["stop", "max_rounds", "stop", "tool_calls"]


def test_default_tools_come_from_the_registry(trained):
    """tools=None shows registry.tools_for(question): the calculator spec lands in the system turn."""
    eng = engine(trained, max_new_tokens=8)
    assert [t["function"]["name"] for t in eng._shown(user("What is 17 * 23?"), None)] == ["calculator"]
    for tools in (None, [None]):
        [row] = eng._rows([user("What is 17 * 23?")], tools, copies=1)
        prompt = trained.tokenizer.decode(row.prompt)
        assert prompt.startswith("<|im_start|>system\nYou are Svend") and '"name": "calculator"' in prompt
    assert eng.generate([user("What is 17 * 23?")], tools=[None])[0].new_tokens <= 8


def test_best_of_n_picks_by_the_scorer(trained):
    eng = engine(trained, temperature=1.0, best_of=4, seed=1)
    gen = eng.chat(user("What is 17 * 23?"), tools=[])
    assert len(gen.candidates) == 4 and all(c.score is not None for c in gen.candidates)
    assert gen.score == max(c.score for c in gen.candidates)
    answers = [extract_answer(c.final) for c in gen.candidates]
    assert extract_answer(gen.final) == max(set(answers), key=answers.count)
    assert gen.candidates.index(next(c for c in gen.candidates if c.score == gen.score)) == \
        [c.score for c in gen.candidates].index(gen.score)  # ties go to the first
    # A scorer is any callable: the longest candidate wins here.
    longest = engine(trained, temperature=1.0, best_of=3, seed=2, scorer=lambda conv, cands: [c.new_tokens for c in cands])
    picked = longest.chat(user("Keep calling."), tools=[])
    assert picked.new_tokens == max(c.new_tokens for c in picked.candidates)


def test_greedy_candidate_is_the_greedy_answer_among_samples(trained):
    """engine.greedy_candidate: candidate 1 is exactly what greedy decoding writes, the others sample,
    and a scorer that cannot tell them apart keeps the greedy one (ties go to the first)."""
    conv = user("Keep calling.")
    greedy = engine(trained, max_new_tokens=40).chat(conv, tools=[])
    flat = lambda conv, cands: [0.0] * len(cands)  # noqa: E731
    eng = engine(trained, max_new_tokens=40, temperature=2.0, best_of=4, seed=3, greedy_candidate=True, scorer=flat)
    gen = eng.chat(conv, tools=[])
    assert gen.candidates[0].text == greedy.text and gen.text == greedy.text
    assert any(c.text != greedy.text for c in gen.candidates[1:])
    sampled = engine(trained, max_new_tokens=40, temperature=2.0, best_of=4, seed=3, scorer=flat).chat(conv, tools=[])
    assert [c.text for c in sampled.candidates] != [c.text for c in gen.candidates]


def test_stream_tells_the_same_story(trained):
    eng = engine(trained)
    events = list(eng.stream(user("What is 17 * 23?"), tools=[]))
    kinds = [e.type for e in events]
    assert kinds[-1] == "done" and kinds.count("tool_call") == 1 and kinds.count("tool_result") == 1
    assert kinds.index("tool_call") < kinds.index("tool_result") < len(kinds) - 1
    text = "".join(e.text for e in events if e.type == "text")
    assert text == format_tool_call("calculator", {"expression": "17*23"}) + "17 * 23 = 391.\nAnswer: 391"
    assert events[kinds.index("tool_result")].call.result["result"] == "391"
    assert events[-1].generation == eng.chat(user("What is 17 * 23?"), tools=[])


def test_config_group_builds_the_engine(trained):
    cfg = OmegaConf.load(svend.config.CONF_DIR / "engine" / "default.yaml")
    eng = instantiate(cfg)(model=trained.model, tokenizer=trained.tokenizer, registry=trained.registry)
    assert isinstance(eng, Engine) and (eng.max_rounds, eng.best_of, eng.temperature) == (4, 1, 0.0)
    assert isinstance(eng.chat(user("What is 17 * 23?"), tools=[]), Generation)


@pytest.mark.parametrize("trained", ["llama"], indirect=True)
def test_bad_input_names_what_and_where(trained):
    eng = engine(trained)
    assert eng.generate([]) == []
    with pytest.raises(ValueError, match=r"conversations\[1\].*messages\[0\]\.role"):
        eng.generate([user("hi"), [{"role": "bot", "content": "x"}]])
    with pytest.raises(ValueError, match=r"conversations\[0\] ends with an assistant turn"):
        eng.generate([[*user("hi"), {"role": "assistant", "content": "hello"}]])
    with pytest.raises(ValueError, match=r"tools must be a list with one entry"):
        eng.generate([user("hi")], tools=[[], []])
    with pytest.raises(ValueError, match=r"tools\[0\]\[0\]: a tool spec needs function.name"):
        eng.generate([user("hi")], tools=[[{"type": "function", "function": {}}]])
    with pytest.raises(ValueError, match=r"top_p=1.5"):
        engine(trained, top_p=1.5)
    with pytest.raises(ValueError, match=r"best_of=4 with temperature=0"):
        engine(trained, best_of=4)
    with pytest.raises(ValueError, match=r"unknown scorer; known: majority"):
        engine(trained, scorer="oracle")


@pytest.mark.parametrize("trained", ["llama"], indirect=True)
def test_shared_prefixes_are_found(trained):
    """Rows sharing a system turn share its cache; best-of-N candidates share all but the last token."""
    eng = engine(trained)
    rows = eng._rows([c for c, _ in CASES], [t for _, t in CASES], copies=1)
    weather = [r for r in rows if r.conv in (3, 4, 5)]
    system_turn = len(render_prompt([], [WEATHER], add_generation_prompt=False).split("<|im_end|>")[0])
    assert all(r.chain for r in weather) and all(len(r.chain[0]) >= system_turn // 8 for r in weather)
    assert weather[0].chain[-1] == weather[1].chain[-1] == tuple(weather[0].prompt[:-1])  # identical prompts
    assert not [r for r in rows if r.conv in (0, 1, 2)][0].chain  # short prompts: nothing worth sharing
    copies = eng._rows([user("What is 17 * 23?")], [[WEATHER]], copies=3)
    assert all(r.chain[-1] == tuple(r.prompt[:-1]) for r in copies)


def test_a_model_trained_in_its_base_chat_template_calls_tools_in_it(tool_tokenizer, calc_registry):
    """A tokenizer whose chat template is not ChatML (Zephyr-like headers, turns closed by its EOS):
    Svend trains the same records in that template (svend.chat_format) and the engine continues a tool
    call in it — the tool turn under the template's own header, generation stopping at its EOS."""
    from svend import chat_format
    from tests.test_chat_format import HEADERS

    from .conftest import _build, train

    base, examples = tool_tokenizer
    tokenizer = base.__class__(tokenizer_object=base.backend_tokenizer, pad_token=base.pad_token, eos_token="<|end|>")
    tokenizer.chat_template = HEADERS
    assert chat_format.choose(tokenizer, "base") == "template"
    model = _build("llama", len(tokenizer))
    with one_thread():
        loss = train(model, tokenizer, examples, steps=70, lr=6e-3)
        assert loss < 0.05, f"the tiny model did not learn its tool calls in the template (loss {loss:.3f})"
        gen = Engine(model, tokenizer, calc_registry, max_new_tokens=120, progress=False).chat(user("What is 17 * 23?"), tools=[])
    assert gen.finish_reason == "stop" and gen.rounds == 2
    assert [(r.name, r.result["result"]) for r in gen.tool_calls] == [("calculator", "391")]
    assert gen.final == "17 * 23 = 391.\nAnswer: 391"
    assert gen.text.startswith(format_tool_call("calculator", {"expression": "17*23"}) + "<|end|>\n<|tool|>\n<tool_response>")
    assert gen.text.endswith("<|assistant|>\n17 * 23 = 391.\nAnswer: 391") and "<|im_end|>" not in gen.text
