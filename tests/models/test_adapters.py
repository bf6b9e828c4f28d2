"""Adapters on tiny random Llama (untied) and Qwen2 (tied) bases: full, LoRA and QLoRA train through the
training stage's path (decoder hidden states → output embeddings at loss positions), Svend's new token
rows train while the base stays frozen, and an adapter folder reloads to the same logits."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from hydra.utils import instantiate

from svend import tokens
from svend.models import adapters
from svend.models.pretrained import load_causal_lm, load_tokenizer

CONF = __import__("pathlib").Path(__file__).resolve().parents[2] / "conf"
QUANT = {"quant_type": "nf4", "double_quant": True, "compute_dtype": "float32"}


def batch(tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Two packed rows of tool-call text; position_ids restart at each document, no attention mask."""
    docs = [
        tokens.format_tool_call("calculator", {"expression": "17*23"}) + "<think>391</think>" + tokens.IM_END + "\n",
        "<verify>17 * 23 = 391</verify><uncertain>" + tokens.format_tool_response({"result": 391}),
        "<clarify>which dog?</clarify>" + tokens.IM_START + "assistant\nThe quick brown fox.",
        "def add(a, b):\n    return a + b\n<tool_call>x</tool_call>",
    ]
    ids = [tokenizer(d, add_special_tokens=False)["input_ids"] for d in docs]
    filler = tokenizer("The quick brown fox jumps over the lazy dog. " * 4, add_special_tokens=False)["input_ids"]
    rows, pos = [ids[0] + ids[1], ids[2] + ids[3]], []
    n = max(len(r) for r in rows)
    for k, r in enumerate(rows):  # the shorter row gets a third document of plain text
        pad = filler[: n - len(r)]
        rows[k] = r + pad
        first, second = (ids[0], ids[1]) if k == 0 else (ids[2], ids[3])
        pos.append([*range(len(first)), *range(len(second)), *range(len(pad))])
    return torch.tensor(rows), torch.tensor(pos)


def loss_fn(model, input_ids, position_ids) -> torch.Tensor:
    """The training stage's path: decoder hidden states, output embeddings only where loss is taken."""
    hidden = model.get_decoder()(input_ids=input_ids, position_ids=position_ids).last_hidden_state
    keep = position_ids[:, 1:] != 0  # no loss across a document boundary
    logits = model.get_output_embeddings()(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), input_ids[:, 1:][keep])


def train(model, tokenizer, steps: int = 8, lr: float = 1e-2) -> list[float]:
    torch.manual_seed(0)
    ids, pos = batch(tokenizer)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model, ids, pos)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def build(base, kind: str, **kw):
    tokenizer = load_tokenizer(None, base)
    quant = QUANT if kind == "qlora" else None
    model = load_causal_lm(None, base, quantization=quant, vocab_size=len(tokenizer))
    if kind == "full":
        return adapters.full(model, tokenizer), tokenizer
    return getattr(adapters, kind)(model, tokenizer, r=8, alpha=16, dropout=0.0, **kw), tokenizer


def new_rows(model, tokenizer) -> torch.Tensor:
    ids = torch.tensor(adapters.svend_token_ids(tokenizer))
    return model.get_input_embeddings()(ids).detach().clone()


@pytest.mark.parametrize("kind", ["full", "lora", "qlora"])
def test_adapter_trains_loss_falls(tiny_base, kind):
    model, tokenizer = build(tiny_base, kind)
    losses = train(model, tokenizer, steps=8)
    assert losses[-1] < losses[0] - 0.2, losses


def test_lora_trains_new_tokens_and_adapters_only(tiny_base):
    model, tokenizer = build(tiny_base, "lora")
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all("lora_" in n or "trainable_tokens_delta" in n for n in trainable), trainable
    # every linear layer of the blocks is adapted, the head is not
    assert set(model.svend_adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert not any("lm_head.lora" in n for n in trainable)
    rows_before = new_rows(model, tokenizer)
    old_ids = torch.arange(5)
    old_before = model.get_input_embeddings()(old_ids).detach().clone()
    ids, pos = batch(tokenizer)
    with torch.no_grad():
        hidden_before = model.get_decoder()(input_ids=ids, position_ids=pos).last_hidden_state

    train(model, tokenizer, steps=4)

    new = adapters.svend_token_ids(tokenizer)
    inputs = set(ids[:, :-1][pos[:, 1:] != 0].tolist())  # tokens whose hidden state carries loss
    seen = torch.tensor([i in inputs for i in new])
    assert seen.sum() >= 10
    moved = (new_rows(model, tokenizer) - rows_before).abs().amax(-1)
    assert moved[seen].min() > 1e-3, moved  # every new token in the data moved
    assert torch.equal(model.get_input_embeddings()(old_ids), old_before)  # old rows did not
    for n, p in model.named_parameters():
        if not p.requires_grad:
            assert torch.equal(p, frozen[n]), n
    with torch.no_grad():  # LoRA is active in the decoder path, and only there
        hidden = model.get_decoder()(input_ids=ids, position_ids=pos).last_hidden_state
        with model.disable_adapter():
            hidden_off = model.get_decoder()(input_ids=ids, position_ids=pos).last_hidden_state
        logits_full = model(input_ids=ids, position_ids=pos).logits
        logits_path = model.get_output_embeddings()(hidden)
    assert torch.allclose(hidden_off, hidden_before, atol=1e-5)
    assert not torch.allclose(hidden, hidden_before, atol=1e-3)
    assert torch.allclose(logits_path, logits_full, atol=1e-5)
    # the output layer uses the trained rows: tied bases through the shared rows, untied through their own
    if model.get_base_model().config.tie_word_embeddings:
        expect = hidden @ model.get_input_embeddings()(torch.tensor(new)).T
        assert torch.allclose(logits_path[..., new], expect, atol=1e-4)
    else:
        head = model.get_output_embeddings()
        assert head.token_adapter.trainable_tokens_delta["default"].requires_grad


def test_qlora_is_4bit_and_decoder_path_uses_lora(tiny_bases):
    import bitsandbytes as bnb

    model, tokenizer = build(tiny_bases["qwen2"], "qlora")
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    assert model.svend_adapter["kind"] == "qlora"
    ids, pos = batch(tokenizer)
    rows_before = new_rows(model, tokenizer)
    train(model, tokenizer, steps=3)
    with torch.no_grad():
        on = model.get_decoder()(input_ids=ids, position_ids=pos).last_hidden_state
        with model.disable_adapter():
            off = model.get_decoder()(input_ids=ids, position_ids=pos).last_hidden_state
    assert not torch.allclose(on, off, atol=1e-3)
    assert not torch.allclose(new_rows(model, tokenizer), rows_before)


def test_lora_refuses_4bit_and_qlora_refuses_full_precision(tiny_bases):
    tokenizer = load_tokenizer(None, tiny_bases["llama"])
    model = load_causal_lm(None, tiny_bases["llama"], vocab_size=len(tokenizer))
    with pytest.raises(ValueError, match="qlora needs the base loaded in 4 bit"):
        adapters.qlora(model, tokenizer)
    with pytest.raises(ValueError, match="use adapter=qlora"):
        adapters.lora(model, tokenizer, quantization=QUANT)
    small = load_causal_lm(None, tiny_bases["llama"])  # vocab not grown to the tokenizer
    with pytest.raises(ValueError, match="vocab_size=len"):
        adapters.lora(small, tokenizer)


def test_modules_to_save_alternative_trains_new_rows(tiny_bases):
    model, tokenizer = build(tiny_bases["qwen2"], "lora", new_tokens_method="modules_to_save")
    before = new_rows(model, tokenizer)
    train(model, tokenizer, steps=3)
    assert not torch.allclose(new_rows(model, tokenizer), before)


@pytest.mark.parametrize("arch, kind", [("llama", "lora"), ("qwen2", "lora"), ("qwen2", "qlora"), ("llama", "full")])
def test_adapter_folder_roundtrip(tiny_bases, arch, kind, tmp_path):
    tiny_base = tiny_bases[arch]
    model, tokenizer = build(tiny_base, kind)
    train(model, tokenizer, steps=2)
    ids, pos = batch(tokenizer)
    with torch.no_grad():
        expect = model(input_ids=ids, position_ids=pos).logits
    folder = adapters.save_adapter(model, tokenizer, tmp_path / "adapter", extra={"step": 2})
    meta = json.loads((folder / adapters.ADAPTER_FILE).read_text())
    assert meta["model"]["path"] == str(tiny_base) and meta["adapter"]["kind"] == kind
    assert meta["chat_format"]["special_tokens"] == tokens.SPECIAL_TOKENS and meta["extra"] == {"step": 2}
    if kind != "full":  # adapter-only: no embedding matrix, no base weights
        from safetensors.torch import load_file

        saved = load_file(folder / "adapter_model.safetensors")
        assert all("lora_" in k or "trainable_tokens" in k for k in saved), list(saved)
        assert not (folder / "model.safetensors").exists()
    assert not list(tmp_path.glob(".adapter*"))  # no temp folder left behind

    again, tok2 = adapters.load_adapter(folder)
    assert len(tok2) == len(tokenizer) and tok2.convert_tokens_to_ids("<tool_call>") == tokenizer.convert_tokens_to_ids("<tool_call>")
    with torch.no_grad():
        got = again(input_ids=ids, position_ids=pos).logits
    assert torch.allclose(got, expect, atol=1e-5), (got - expect).abs().max()


def test_packed_rows_do_not_attend_across_documents(tiny_base):
    """transformers 5 builds a block-diagonal causal mask from restarting position_ids (attention_mask
    None) — only with no KV cache, which load_causal_lm arranges (config.use_cache=False)."""
    tokenizer = load_tokenizer(None, tiny_base)
    model, _ = build(tiny_base, "lora")
    a = torch.randint(0, len(tokenizer), (1, 6))
    b = torch.randint(0, len(tokenizer), (1, 9))
    packed = torch.cat([a, b], 1)
    pos = torch.cat([torch.arange(6), torch.arange(9)])[None]
    with torch.no_grad():
        h = model.get_decoder()(input_ids=packed, position_ids=pos).last_hidden_state
        hb = model.get_decoder()(input_ids=b, position_ids=torch.arange(9)[None]).last_hidden_state
        ha = model.get_decoder()(input_ids=a, position_ids=torch.arange(6)[None]).last_hidden_state
    assert torch.allclose(h[:, 6:], hb, atol=1e-5)
    assert torch.allclose(h[:, :6], ha, atol=1e-5)


@pytest.mark.parametrize("option", ["full", "lora", "qlora"])
def test_configs_compose_and_build(tiny_bases, option, tmp_path):
    """model=hf model.path=<tiny> adapter=<option>, built the way the training entry point does."""
    cfg = OmegaConf.create(
        {
            "model": OmegaConf.load(CONF / "model" / "hf.yaml"),
            "adapter": OmegaConf.load(CONF / "adapter" / f"{option}.yaml"),
            "hardware": {"gradient_checkpointing": option == "qlora"},
        }
    )
    cfg.model.path = str(tiny_bases["qwen2"])
    if option == "qlora":
        cfg.adapter.quantization.compute_dtype = "float32"
    tokenizer = instantiate(cfg.model.tokenizer)
    model = instantiate(cfg.model.net, vocab_size=len(tokenizer))
    adapted = instantiate(cfg.adapter)(model, tokenizer)
    assert adapted.svend_adapter["kind"] == option
    losses = train(adapted, tokenizer, steps=2)
    assert all(l == l for l in losses)  # finite
    folder = adapters.save_adapter(adapted, tokenizer, tmp_path / "adapter")
    meta = json.loads((folder / adapters.ADAPTER_FILE).read_text())
    if option == "qlora":
        assert meta["model"]["quantization"]["quant_type"] == "nf4"
        assert meta["adapter"]["quantization"]["compute_dtype"] == "float32"


def _saved_bytes(model, input_ids) -> int:
    """Bytes autograd keeps for the backward pass of one forward."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=input_ids, labels=input_ids)
    return total


@pytest.mark.parametrize("option", ["lora", "qlora"])
def test_built_model_is_in_train_mode_so_checkpointing_takes_effect(tiny_bases, option):
    """transformers loads pretrained models in eval mode, where its layers skip gradient checkpointing;
    Lightning keeps modules' modes. build_model must hand back a model in train mode, and
    hardware.gradient_checkpointing=true must cut what the forward keeps (before the fix, a 7B QLoRA
    step on a GPU held 32.9 GiB where ~11 were planned)."""
    from svend.models.build import build_model

    def built(checkpointing: bool):
        cfg = OmegaConf.create({
            "model": OmegaConf.load(CONF / "model" / "hf.yaml"),
            "adapter": OmegaConf.load(CONF / "adapter" / f"{option}.yaml"),
            "hardware": {"gradient_checkpointing": checkpointing},
        })
        cfg.model.path = str(tiny_bases["llama"])
        if option == "qlora":
            cfg.adapter.quantization.compute_dtype = "float32"
        return build_model(cfg.model, cfg.adapter)

    net, tokenizer = built(True)
    assert [name for name, m in net.named_modules() if not m.training] == []
    ids = torch.randint(0, 300, (2, 96))
    with_ckpt = _saved_bytes(net, ids)
    without = _saved_bytes(built(False)[0], ids)
    assert with_ckpt < 0.6 * without, (with_ckpt, without)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_chunked_loss_equals_the_whole_head_at_once(tiny_bases, arch):
    """hardware.loss_chunk_tokens: the LM head and loss over recomputed chunks give the same loss and the
    same gradients (LoRA factors and the new token rows) as the whole head at once."""
    from svend.stages.causal_lm import lm_loss

    model, tokenizer = build(tiny_bases[arch], "lora")
    ids = torch.randint(0, len(tokenizer), (2, 40))
    labels = ids.clone()
    labels[:, :7] = -100  # context positions carry no label
    batch = {"input_ids": ids, "position_ids": torch.arange(40).expand(2, 40), "labels": labels}

    def grads(chunk):
        model.zero_grad()
        loss, n = lm_loss(model, batch, chunk)
        loss.backward()
        return loss.detach(), n, {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}

    whole, n, g_whole = grads(None)
    chunked, n_chunked, g_chunked = grads(16)  # 66 labelled positions: chunks of 16, 16, 16, 16, 2
    assert n == n_chunked == 66
    assert torch.allclose(whole, chunked, atol=1e-5)
    assert any(p.abs().sum() > 0 for p in g_whole.values())
    for k in g_whole:
        assert torch.allclose(g_whole[k], g_chunked[k], atol=1e-5, rtol=1e-4), k


def test_frozen_matrices_follow_16bit_mixed_precision(tiny_bases):
    """Under bf16-mixed a QLoRA model keeps its frozen embedding/head in bf16 (peft upcast them to fp32,
    doubling their memory); under 32-true they stay fp32. Norms and trained parameters stay fp32, and an
    autocast training step still runs."""
    from svend.stages.causal_lm import lm_loss

    def qlora_model():
        return build(tiny_bases["llama"], "qlora")

    model, _ = qlora_model()
    assert adapters.store_frozen_matrices_in(model, "32-true") == 0
    assert model.get_input_embeddings().weight.dtype == torch.float32

    model, tokenizer = qlora_model()
    assert adapters.store_frozen_matrices_in(model, "bf16-mixed") == 2  # untied embedding and head
    frozen = {n: p.dtype for n, p in model.named_parameters() if not p.requires_grad and "4bit" not in type(p).__name__.lower()}
    assert {d for n, d in frozen.items() if "norm" in n} == {torch.float32}
    assert torch.bfloat16 in frozen.values()
    assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
    ids = torch.randint(0, len(tokenizer), (1, 24))
    batch = {"input_ids": ids, "position_ids": torch.arange(24)[None], "labels": ids}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = lm_loss(model, batch)
    loss.backward()
    assert torch.isfinite(loss)
