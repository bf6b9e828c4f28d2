"""The Svend decoder, from scratch, in one file.

A Llama-architecture decoder-only transformer: token embedding → N pre-norm blocks
(RMSNorm → grouped-query attention with RoPE → residual; RMSNorm → SwiGLU MLP → residual)
→ final RMSNorm → lm_head (optionally tied to the embedding). Attention runs through
``torch.nn.functional.scaled_dot_product_attention``, so the best kernel for the device is
picked by PyTorch (flash / memory-efficient / fused CPU).

Parameter and module names are those of ``transformers.LlamaForCausalLM``
(``model.layers.3.self_attn.q_proj.weight`` …), so:
- a Llama state dict loads with ``load_state_dict`` as is, and the tests check that both
  models give the same logits for the same weights;
- LoRA configs that target ``q_proj``/``k_proj``/``v_proj``/``o_proj``/``gate_proj``/…
  work unchanged for Svend and for hub models.

Three things a reader may not expect:
- **Packing.** Training rows hold several documents; ``position_ids`` restart at 0 at each
  document start. When position ids are given and there is no KV cache, attention is
  block-diagonal causal: document ids are ``cumsum(position_ids == 0)`` and a token attends
  only to earlier tokens of its own document. A row with a single document takes the
  ``is_causal=True`` fast path.
- **Padding.** ``attention_mask`` (1 = real token, 0 = pad, over past + current tokens, the
  Hugging Face convention) serves left-padded batched generation. Every query may always
  attend to itself, so a pad row never has all its keys masked (which would give NaN).
- **The body protocol.** ``model.get_decoder()(input_ids=…, position_ids=…)`` returns the
  final-normed hidden states as ``.last_hidden_state``, exactly like a Hugging Face model,
  so the training stages apply the lm_head only where the loss is (one code path for both).

Build it from a config::

    svend-train model=svend_tiny                           # through Hydra (conf/model/)
    SvendDecoder(SvendConfig(d_model=128, n_layers=4, n_heads=4, n_kv_heads=2, d_ff=384))

Benchmark against ``LlamaForCausalLM`` of the same shape: ``python -m svend.benchmarks.decoder``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

# One (key, value) pair per layer, each [batch, n_kv_heads, seq_so_far, head_dim].
KVCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]


@dataclass
class SvendConfig:
    """Shape and training switches of a Svend decoder. ``num_params()`` needs no weights."""

    vocab_size: int = 32000
    """Rows of the embedding and of the lm_head (the tokenizer's vocabulary size)."""
    d_model: int = 2048
    """Width of the residual stream (Llama's ``hidden_size``)."""
    n_layers: int = 22
    """Number of transformer blocks."""
    n_heads: int = 32
    """Query heads; ``head_dim = d_model // n_heads``."""
    n_kv_heads: int = 4
    """Key/value heads (grouped-query attention); ``n_heads`` gives plain multi-head attention."""
    d_ff: int = 5632
    """Hidden width of the SwiGLU MLP (Llama's ``intermediate_size``)."""
    max_seq_len: int = 2048
    """Context length the model is meant for. RoPE has no hard limit; ``generate`` warns past it."""
    rope_theta: float = 10000.0
    """RoPE base: frequencies are ``rope_theta ** (-2i / head_dim)``."""
    norm_eps: float = 1e-5
    """Epsilon of every RMSNorm."""
    tie_embeddings: bool = False
    """Share the embedding matrix with the lm_head (saves ``vocab_size * d_model`` parameters)."""
    dropout: float = 0.0
    """Dropout on attention probabilities and on both residual branches (training only)."""
    gradient_checkpointing: bool = False
    """Recompute each block in the backward pass instead of storing its activations."""
    init_std: float = 0.02
    """Std of the normal init; the two residual output projections get ``init_std / sqrt(2 n_layers)``."""

    def __post_init__(self) -> None:
        problems = []
        if self.d_model % self.n_heads:
            problems.append(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        elif (self.d_model // self.n_heads) % 2:
            problems.append(f"head_dim={self.d_model // self.n_heads} must be even for RoPE")
        if self.n_heads % self.n_kv_heads:
            problems.append(f"n_heads={self.n_heads} is not divisible by n_kv_heads={self.n_kv_heads}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout={self.dropout} must be in [0, 1)")
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "max_seq_len"):
            if getattr(self, name) <= 0:
                problems.append(f"{name}={getattr(self, name)} must be positive")
        if problems:
            raise ValueError("invalid SvendConfig: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def num_params(self) -> int:
        """Exact parameter count, computed from the shape alone (nothing is allocated)."""
        d, hd = self.d_model, self.head_dim
        attention = d * self.n_heads * hd + 2 * d * self.n_kv_heads * hd + self.n_heads * hd * d
        mlp = 3 * d * self.d_ff
        block = attention + mlp + 2 * d  # + the two RMSNorm weights
        embeddings = self.vocab_size * d * (1 if self.tie_embeddings else 2)
        return embeddings + self.n_layers * block + d  # + the final norm

    def to_llama_kwargs(self) -> dict:
        """Keyword arguments for ``transformers.LlamaConfig`` describing the same architecture."""
        return dict(
            vocab_size=self.vocab_size,
            hidden_size=self.d_model,
            intermediate_size=self.d_ff,
            num_hidden_layers=self.n_layers,
            num_attention_heads=self.n_heads,
            num_key_value_heads=self.n_kv_heads,
            max_position_embeddings=self.max_seq_len,
            rms_norm_eps=self.norm_eps,
            rope_theta=self.rope_theta,
            tie_word_embeddings=self.tie_embeddings,
            attention_bias=False,
            mlp_bias=False,
            hidden_act="silu",
            attention_dropout=self.dropout,
            initializer_range=self.init_std,
        )


@dataclass
class SvendOutput:
    """What ``SvendDecoder.forward`` returns."""

    logits: torch.Tensor
    """[batch, seq, vocab], in the compute dtype."""
    past_key_values: KVCache | None = None
    """The KV cache to pass back for the next tokens (only with ``use_cache=True``)."""


@dataclass
class SvendBodyOutput:
    """What the body (``get_decoder()``) returns; the Hugging Face ``BaseModelOutputWithPast`` fields."""

    last_hidden_state: torch.Tensor
    """[batch, seq, d_model], after the final RMSNorm, before the lm_head."""
    past_key_values: KVCache | None = None


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """``x / rms(x) * weight``, computed in fp32 whatever the input dtype (as Llama does)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written out rather than F.rms_norm: on CPU the composite F.rms_norm measured ~30 % slower.
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """cos and sin, each [batch, seq, head_dim], for the rotate-half RoPE convention of Llama.

    Computed from the positions each call (in fp32): a few trig ops per token, cheaper than a
    device sync to grow a cache, and identical to ``LlamaRotaryEmbedding``.
    """
    exponents = torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float) / head_dim
    inv_freq = 1.0 / (theta**exponents)
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` [batch, heads, seq, head_dim] by its positions' angles (cos/sin: [batch, seq, head_dim])."""
    cos, sin = cos[:, None], sin[:, None]
    return x * cos + rotate_half(x) * sin


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[batch, n_kv_heads, seq, hd] → [batch, n_kv_heads * n_rep, seq, hd]; query head h uses KV head h // n_rep."""
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


class Attention(nn.Module):
    """Grouped-query self-attention: ``n_heads`` query heads share ``n_kv_heads`` key/value heads."""

    def __init__(self, config: SvendConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.dropout = config.dropout
        d = config.d_model
        self.q_proj = nn.Linear(d, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin, mask, is_causal, past_kv=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past_kv is not None:
            k, v = torch.cat((past_kv[0], k), dim=2), torch.cat((past_kv[1], v), dim=2)
        new_kv = (k, v)
        gqa = self.n_kv_heads != self.n_heads
        if gqa and mask is not None and x.device.type != "cpu":
            # SDPA's `enable_gqa` with a mask falls back to the slow math kernel on CUDA, so repeat
            # the KV heads there. On CPU, and without a mask anywhere, `enable_gqa` is the faster
            # path (~20 % measured on CPU against repeating).
            k, v = repeat_kv(k, self.n_heads // self.n_kv_heads), repeat_kv(v, self.n_heads // self.n_kv_heads)
            gqa = False
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal, dropout_p=dropout, enable_gqa=gqa
        )
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1)), new_kv


class MLP(nn.Module):
    """SwiGLU: ``down(silu(gate(x)) * up(x))``."""

    def __init__(self, config: SvendConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.up_proj = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.down_proj = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, config: SvendConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.mlp = MLP(config)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, cos, sin, mask, is_causal, past_kv=None):
        a, new_kv = self.self_attn(self.input_layernorm(x), cos, sin, mask, is_causal, past_kv)
        x = x + self.resid_dropout(a)
        x = x + self.resid_dropout(self.mlp(self.post_attention_layernorm(x)))
        return x, new_kv


# ---------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------


def build_attention_mask(
    q_len: int,
    past_len: int,
    attention_mask: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    device: torch.device,
) -> tuple[torch.Tensor | None, bool]:
    """Return ``(mask, is_causal)`` for SDPA; mask is bool [batch or 1, 1, q_len, past_len + q_len].

    - no padding, no packing, no cache → ``(None, True)``: SDPA's fused causal kernel;
    - one new token against a cache, no padding → ``(None, False)``: it sees everything;
    - otherwise an explicit mask: causal (offset by the cache), AND key is not padding, AND
      key is in the query's document (packed rows, no cache), OR key is the query itself.
    """
    kv_len = past_len + q_len
    if attention_mask is not None and bool(attention_mask.all()):
        attention_mask = None  # no padding after all: keep the fast paths
    packed = None
    if position_ids is not None and past_len == 0 and q_len > 1:
        starts = position_ids == 0
        if bool(starts[:, 1:].any()):  # a document starts after the first token: block-diagonal
            packed = starts.cumsum(-1)  # document id of every token
    if attention_mask is None and packed is None:
        if past_len == 0:
            return None, True
        if q_len == 1:
            return None, False
    q_idx = torch.arange(past_len, kv_len, device=device)[:, None]
    k_idx = torch.arange(kv_len, device=device)[None, :]
    mask = (k_idx <= q_idx)[None, None]  # [1, 1, q, k]
    if attention_mask is not None:
        if attention_mask.shape[-1] != kv_len:
            raise ValueError(
                f"attention_mask covers {attention_mask.shape[-1]} tokens; expected past + new = {kv_len}"
            )
        mask = mask & attention_mask.bool()[:, None, None, :]
    if packed is not None:
        mask = mask & (packed[:, None, :, None] == packed[:, None, None, :])
    return mask | (k_idx == q_idx)[None, None], False


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class SvendModel(nn.Module):
    """The body: embedding, blocks, final norm. What ``SvendDecoder.get_decoder()`` returns."""

    def __init__(self, config: SvendConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: KVCache | None = None,
        use_cache: bool = False,
    ) -> SvendBodyOutput:
        b, t = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values else 0
        mask, is_causal = build_attention_mask(t, past_len, attention_mask, position_ids, input_ids.device)
        if position_ids is None:
            if attention_mask is not None:  # left padding: count real tokens only (pads get 0)
                position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, past_len:]
            else:
                position_ids = torch.arange(past_len, past_len + t, device=input_ids.device)[None]
        x = self.dropout(self.embed_tokens(input_ids))
        cos, sin = rope_cos_sin(position_ids, self.config.head_dim, self.config.rope_theta, x.dtype)

        checkpointing = self.config.gradient_checkpointing and self.training and torch.is_grad_enabled()
        new_cache = []
        for i, layer in enumerate(self.layers):
            past_kv = past_key_values[i] if past_key_values else None
            if checkpointing:
                x, kv = checkpoint(layer, x, cos, sin, mask, is_causal, past_kv, use_reentrant=False)
            else:
                x, kv = layer(x, cos, sin, mask, is_causal, past_kv)
            if use_cache:
                new_cache.append(kv)
        return SvendBodyOutput(self.norm(x), tuple(new_cache) if use_cache else None)


class SvendDecoder(nn.Module):
    """The Svend causal language model: ``SvendModel`` + lm_head. See the module docstring."""

    def __init__(self, config: SvendConfig):
        super().__init__()
        self.config = config
        self.model = SvendModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        residual_std = config.init_std / math.sqrt(2 * config.n_layers)
        for layer in self.model.layers:
            nn.init.normal_(layer.self_attn.o_proj.weight, std=residual_std)
            nn.init.normal_(layer.mlp.down_proj.weight, std=residual_std)
        if config.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.config.init_std)

    def get_decoder(self) -> SvendModel:
        return self.model

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embed_tokens

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def gradient_checkpointing_enable(self, **_ignored) -> None:
        """Same switch name as Hugging Face models; sets ``config.gradient_checkpointing``."""
        self.config.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        self.config.gradient_checkpointing = False

    def num_params(self) -> int:
        """Parameters actually allocated (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: KVCache | None = None,
        use_cache: bool = False,
    ) -> SvendOutput:
        """Logits for every position.

        ``attention_mask``: [batch, past + seq], 1 = real token, 0 = pad (left padding).
        ``position_ids``: [batch, seq]; restarting at 0 inside a row means a new packed document.
        ``past_key_values`` / ``use_cache``: the KV cache, as returned by the previous call.
        """
        out = self.model(input_ids, attention_mask, position_ids, past_key_values, use_cache)
        return SvendOutput(self.lm_head(out.last_hidden_state), out.past_key_values)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int,
        eos_token_id: int | Sequence[int] | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Extend ``input_ids`` [batch, seq] by up to ``max_new_tokens``; returns [batch, seq + generated].

        Greedy when ``temperature == 0``, else nucleus sampling (seed with ``torch.manual_seed``).
        Batched prompts are left-padded, with ``attention_mask`` marking the real tokens. A row
        that emitted an EOS is filled with that EOS id afterwards; generation stops when every
        row has finished.
        """
        if input_ids.shape[1] + max_new_tokens > self.config.max_seq_len:
            warnings.warn(
                f"generating up to {input_ids.shape[1] + max_new_tokens} tokens, past max_seq_len="
                f"{self.config.max_seq_len} the model was configured for",
                stacklevel=2,
            )
        eos = torch.tensor(
            [] if eos_token_id is None else [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id),
            device=input_ids.device,
            dtype=torch.long,
        )
        was_training = self.training
        self.eval()
        tokens, cache, step_ids = input_ids, None, input_ids
        finished = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for _ in range(max_new_tokens):
            out = self(step_ids, attention_mask=attention_mask, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            next_tok = _pick_next(out.logits[:, -1].float(), temperature, top_p)
            if eos.numel():
                next_tok = torch.where(finished, eos[0], next_tok)
                finished |= torch.isin(next_tok, eos)
            tokens = torch.cat((tokens, next_tok[:, None]), dim=1)
            step_ids = next_tok[:, None]
            if attention_mask is not None:
                attention_mask = torch.cat((attention_mask, attention_mask.new_ones(attention_mask.shape[0], 1)), dim=1)
            if eos.numel() and bool(finished.all()):
                break
        self.train(was_training)
        return tokens


def _pick_next(logits: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """Next token per row from last-position logits [batch, vocab]: argmax, or nucleus sampling."""
    if temperature <= 0.0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (the top token is always kept).
        drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1)[:, 0]


__all__ = ["SvendConfig", "SvendDecoder", "SvendModel", "SvendOutput", "SvendBodyOutput", "build_attention_mask"]
