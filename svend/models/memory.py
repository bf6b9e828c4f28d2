"""Peak accelerator memory planner: will this fine-tuning run fit the card, and how long may a sequence be?

    svend-plan model=mistral_7b hardware=rtx4070_12gb     # prints the breakdown; exit 0 fits, 1 does not

`plan()` adds up, in bytes, what a training step holds at its peak (the start of the backward pass):

    weights      frozen base (bf16, or NF4 codes + block constants) + trainable weights
    trainable    gradients + optimizer states of whatever trains (LoRA factors, or every weight)
    activations  what autograd keeps per layer per token (all of it, or only layer inputs under
                 gradient checkpointing) + one layer's recompute/backward working set
    logits       the loss's fp32 buffers over micro_batch × seq_len × vocab
    overhead     CUDA context + caching-allocator slack (outside `torch.cuda.max_memory_allocated`)

Everything is arithmetic on the model's shape (`conf/model/*.yaml: shape`), the adapter, the hardware
profile and the optimizer's `_target_`, so the planner runs in microseconds and needs no GPU. The
constants below are either exact (dtype sizes, bitsandbytes block layouts) or calibrated once, as one
set, against litgpt's published A100 measurements (see tests/models/test_memory.py, which checks every
published row within ±15 %). "GB" in a published table is 1e9 bytes; budgets (`memory_gb`) are GiB,
which is what a "12 GB" or "40 GB" card actually has (nvidia-smi: 12282 MiB, 40960 MiB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

GiB = 2**30

# ---- exact sizes -----------------------------------------------------------------------------
# NF4 stores two 4-bit codes per byte; bitsandbytes keeps one fp32 absmax per 64-weight block.
NF4_BYTES = 0.5
NF4_BLOCK = 64
# Double quantization stores those absmax as 8-bit codes in blocks of 256, each block with an fp32 scale
# (QLoRA paper §3: 0.5 -> 0.127 bits per parameter of constants).
DQ_BLOCK = 256
# bitsandbytes' 8-bit optimizers quantize each state blockwise (256 values per fp32 absmax).
OPT8_BLOCK = 256

# ---- calibrated (one set for all validation points) -------------------------------------------
# Autograd keeps more than the named tensors below (norm statistics and fp32 upcasts, rotary/attention
# layout copies, SDPA's log-sum-exp, allocator block rounding). litgpt's bf16 LoRA rows measure ~44·h
# (Llama-2, SwiGLU) and ~31·h (phi-1.5 / StableLM, GELU) bytes per layer per token; the named tensors
# (with peft's per-module dropout) give ~36·h and ~24·h. 4 extra elements per h (8·h bytes in bf16) puts
# every litgpt row within 10 % (the errors: tests/models/test_memory.py), erring high on GELU models.
SLACK_ACT_ELEMS_PER_H = 4.0  # × hidden_size × activation bytes (4 × 2 B = 8·h bytes in bf16)
# Quantized inference peaks ~1.5 vocab×hidden bf16 matrices above the weights (litgpt's inference rows,
# 1.3 B–70 B, nf4 and nf4-dq alike: the unquantized embedding/head loading and the prefill's dequantized
# working set); bf16 rows show no such excess.
QUANT_LOAD_VOCAB_MATRICES = 1.5
# Bytes per logit (micro_batch × seq × vocab) at the peak, by how the loss is computed:
#   "fp32"    HF's causal-LM loss: upcast to fp32, keep the fp32 log-softmax; the backward then creates two
#             more fp32 buffers of that size before the 16-bit logits' grad: 4 + 4 + 4.
#   "chunked" litgpt's chunked head + chunked cross-entropy (`lm_head_chunk_size=128`): 16-bit logits and
#             16-bit log-softmax stay alive (2 + 2); fp32 work happens one 128-token chunk at a time.
LOGITS_BYTES_PER_ELEM = {"fp32": 12, "chunked": 4}
# Outside max_memory_allocated: the CUDA context with cuBLAS/cuDNN workspaces (~0.5 GiB on Ampere/Ada)
# plus the caching allocator's reserved-but-unallocated slack (torchtune's QLoRA tutorial: reserved runs
# a few % above allocated). Counted against the card's budget only.
CUDA_CONTEXT_BYTES = 0.5 * GiB
ALLOCATOR_SLACK = 0.05

LEVERS = (
    "hardware.micro_batch_size (lower it, raise hardware.accumulate_grad_batches to keep the batch)",
    "hardware.max_seq_len (shorter sequences)",
    "adapter=qlora (4-bit NF4 base weights)",
    "hardware.gradient_checkpointing=true (recompute activations in the backward pass)",
)

_ATTN_IN, _ATTN_OUT, _MLP_IN, _MLP_MID = "attn_in", "attn_out", "mlp_in", "mlp_mid"
# LoRA target name -> the activation it reads (q, k, v share one input; gate and up share another).
_TARGET_INPUT = {"q": _ATTN_IN, "k": _ATTN_IN, "v": _ATTN_IN, "o": _ATTN_OUT,
                 "gate": _MLP_IN, "up": _MLP_IN, "down": _MLP_MID}
_TARGET_ALIASES = {"q_proj": "q", "k_proj": "k", "v_proj": "v", "o_proj": "o", "out_proj": "o",
                   "gate_proj": "gate", "up_proj": "up", "down_proj": "down", "fc1": "up", "fc2": "down"}
ALL_LINEAR = ("q", "k", "v", "o", "gate", "up", "down")


class MemoryPlanError(RuntimeError):
    """The planned peak does not fit the hardware profile's card."""


@dataclass(frozen=True)
class ModelShape:
    """A decoder's shape, as `conf/model/*.yaml: shape` gives it (Llama-style SwiGLU blocks by default).

    `gated_mlp=False` describes a GPT-NeoX/phi-style block (fc -> GELU -> proj), used by validation rows.
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    tie_embeddings: bool = False
    gated_mlp: bool = True

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def linear_dims(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each linear of one block."""
        h, kv, i = self.hidden_size, self.kv_dim, self.intermediate_size
        dims = {"q": (h, h), "k": (h, kv), "v": (h, kv), "o": (h, h), "up": (h, i), "down": (i, h)}
        if self.gated_mlp:
            dims["gate"] = (h, i)
        return dims

    def linear_params(self) -> int:
        """Weights inside the blocks' linears: what bitsandbytes quantizes."""
        return self.num_layers * sum(a * b for a, b in self.linear_dims().values())

    def embedding_params(self) -> int:
        """Token embedding + LM head (one matrix when tied); bitsandbytes leaves these in 16 bit."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_embeddings else 2)

    def norm_params(self) -> int:
        return (2 * self.num_layers + 1) * self.hidden_size

    def num_params(self) -> int:
        """Analytic parameter count (biases ignored): 6.74 B for Llama-2-7B."""
        return self.linear_params() + self.embedding_params() + self.norm_params()

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> "ModelShape":
        keys = cls.__dataclass_fields__
        return cls(**{k: (bool(v) if k in ("tie_embeddings", "gated_mlp") else int(v))
                      for k, v in dict(m).items() if k in keys})


@dataclass
class Row:
    name: str
    bytes: float
    note: str
    allocated: bool = True  # False: CUDA context / allocator slack, invisible to max_memory_allocated


@dataclass
class MemoryPlan:
    """A breakdown of the planned peak; `fits` compares `total_bytes` with the card's budget."""

    rows: list[Row]
    budget_bytes: float | None
    micro_batch_size: int
    seq_len: int
    max_seq_len: int | None = None  # longest seq_len (multiple of 64) that fits at this micro-batch
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> float:
        return sum(r.bytes for r in self.rows)

    @property
    def allocated_bytes(self) -> float:
        """What `torch.cuda.max_memory_allocated()` would report (what published tables measure)."""
        return sum(r.bytes for r in self.rows if r.allocated)

    @property
    def fits(self) -> bool:
        return self.budget_bytes is None or self.total_bytes <= self.budget_bytes

    def max_seq_len_that_fits(self) -> int | None:
        return self.max_seq_len

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    def table(self) -> str:
        s = self.settings
        head = (f"memory plan: micro_batch={self.micro_batch_size} seq_len={self.seq_len} "
                f"weights={s.get('weights')} train={s.get('trainable')} optimizer={s.get('optimizer')} "
                f"checkpointing={s.get('checkpointing')} attention={s.get('attention')}")
        width = max(len(r.name) for r in self.rows)
        lines = [head, f"{'term':<{width}}  {'GiB':>8}  note", f"{'-' * width}  {'-' * 8}  ----"]
        lines += [f"{r.name:<{width}}  {r.bytes / GiB:8.2f}  {r.note}" for r in self.rows]
        lines.append(f"{'-' * width}  {'-' * 8}")
        lines.append(f"{'total':<{width}}  {self.total_bytes / GiB:8.2f}  "
                     f"(allocated peak {self.allocated_bytes / 1e9:.2f} GB = 1e9 B)")
        if self.budget_bytes is None:
            lines.append("budget: none (no accelerator memory to check)")
        else:
            verdict = "FITS" if self.fits else "DOES NOT FIT"
            lines.append(f"{'budget':<{width}}  {self.budget_bytes / GiB:8.2f}  {verdict}; "
                         f"longest seq_len that fits at micro_batch={self.micro_batch_size}: "
                         f"{self.max_seq_len if self.max_seq_len else 'none'}")
        return "\n".join(lines)


# ---- reading the config values ----------------------------------------------------------------

def _dtype_bytes(precision: str | None) -> tuple[int, bool]:
    """(bytes of weights/activations, mixed?) for a Lightning precision string."""
    p = str(precision or "32-true")
    if p.startswith(("bf16", "16")):
        return 2, p.endswith("mixed")
    if p.startswith("64"):
        return 8, False
    return 4, False


def _targets(adapter: Mapping[str, Any], shape: ModelShape) -> tuple[str, ...]:
    tm = adapter.get("target_modules", "all-linear")
    if tm in (None, "all-linear", "all_linear", "all"):
        names = ALL_LINEAR
    else:
        names = tuple(_TARGET_ALIASES.get(str(t), str(t)) for t in ([tm] if isinstance(tm, str) else tm))
    dims = shape.linear_dims()
    unknown = [n for n in names if n not in _TARGET_INPUT]
    if unknown:
        raise ValueError(f"adapter.target_modules: unknown module(s) {unknown}; use {list(ALL_LINEAR)}")
    return tuple(n for n in names if n in dims)


def adapter_kind(adapter: Mapping[str, Any]) -> str:
    """'full', 'lora' or 'qlora' from the adapter's `_target_` (or, without one, from its keys)."""
    target = str(adapter.get("_target_", ""))
    if target.endswith(("full", ".full")) or ("r" not in adapter and not target):
        return "full"
    return "qlora" if adapter.get("quantization") else "lora"


def optimizer_kind(optimizer: str | Mapping[str, Any]) -> str:
    """'adamw', 'adamw8bit', 'paged_adamw8bit', 'paged_adamw' or 'sgd' from an optim `_target_`."""
    t = str(optimizer.get("_target_", "") if isinstance(optimizer, Mapping) else optimizer).lower()
    name = t.rsplit(".", 1)[-1]
    if "sgd" in name:
        return "sgd"
    kind = "adamw8bit" if "8bit" in name else "adamw"
    return ("paged_" + kind) if "paged" in name else kind


# ---- the plan -----------------------------------------------------------------------------------

def _rows(shape: ModelShape, *, adapter, hardware, optimizer, micro_batch_size, seq_len, mode, loss) -> list[Row]:
    act, mixed = _dtype_bytes(hardware.get("precision"))
    kind = adapter_kind(adapter)
    quant = adapter.get("quantization") or None
    world = int(hardware.get("devices") or 1) * int(hardware.get("num_nodes") or 1)
    strategy = str(hardware.get("strategy") or "auto").lower()
    shards = world if ("fsdp" in strategy and world > 1) else 1
    ckpt = bool(hardware.get("gradient_checkpointing")) and mode == "train"
    attention = str(hardware.get("attn_implementation") or "sdpa")
    h, L, V, I, kv = shape.hidden_size, shape.num_layers, shape.vocab_size, shape.intermediate_size, shape.kv_dim
    tokens = micro_batch_size * seq_len
    rows: list[Row] = []

    # -- weights
    lin, emb, norms = shape.linear_params(), shape.embedding_params(), shape.norm_params()
    # Full fine-tuning under *-mixed keeps fp32 master weights (+ autocast's bf16 copies, below).
    w_bytes = 4 if (kind == "full" and mixed) else act
    if quant:
        if quant.get("bits", 4) != 4:  # LLM.int8(): 1 byte + one fp32 scale per row
            per = 1.0
            qnote = "int8 codes"
        elif quant.get("double_quant", False):
            # 4-bit codes + 8-bit absmax per 64 + fp32 scale per 256 absmax blocks.
            per = NF4_BYTES + 1 / NF4_BLOCK + 4 / (NF4_BLOCK * DQ_BLOCK)
            qnote = "NF4 + double-quant constants (0.516 B/param)"
        else:
            per = NF4_BYTES + 4 / NF4_BLOCK  # 4-bit codes + fp32 absmax per 64 weights
            qnote = "NF4 + fp32 absmax per 64 (0.5625 B/param)"
        comp = _dtype_bytes(quant.get("compute_dtype") == "float32" and "32" or "bf16")[0]
        rows.append(Row("weights: quantized linears", lin * per, f"{lin / 1e9:.2f} B params, {qnote}"))
        rows.append(Row("weights: embeddings/head/norms", (emb + norms) * comp,
                        f"{(emb + norms) / 1e9:.2f} B params kept in {comp * 8}-bit (bitsandbytes skips them)"))
    else:
        total_w = (lin + emb + norms) * w_bytes / shards
        note = f"{shape.num_params() / 1e9:.2f} B params × {w_bytes} B"
        if shards > 1:
            note += f", FSDP-sharded over {shards}"
        rows.append(Row("weights", total_w, note))
        if shards > 1:  # FULL_SHARD all-gathers one block (and prefetches the next) at a time
            rows.append(Row("weights: FSDP gathered blocks", 2 * (lin / L) * w_bytes,
                            "two unsharded blocks (current + prefetch)"))
        if kind == "full" and mixed and mode == "train":
            rows.append(Row("weights: autocast copies", lin * act / shards,
                            "autocast caches a 16-bit copy of every linear weight during forward"))

    # -- trainable parameters, grads, optimizer states
    if mode == "train":
        targets: tuple[str, ...] = ()
        if kind == "full":
            trainable, p_bytes = shape.num_params(), w_bytes
            g_bytes = w_bytes
            what = "all weights"
        else:
            r = int(adapter.get("r", 8))
            targets = _targets(adapter, shape)
            dims = shape.linear_dims()
            trainable = L * sum(r * (dims[t][0] + dims[t][1]) for t in targets)
            # peft keeps adapter weights in fp32 (autocast_adapter_dtype=True) under bf16 bases.
            p_bytes = g_bytes = 4
            what = f"LoRA r={r} on {','.join(targets)}"
        if kind != "full":
            rows.append(Row("LoRA weights", trainable * p_bytes, f"{trainable:,} params × {p_bytes} B ({what})"))
        rows.append(Row("gradients", trainable * g_bytes / shards, f"{trainable:,} × {g_bytes} B"))
        ok = optimizer_kind(optimizer)
        if ok == "sgd":
            st, snote = 0.0, "SGD without momentum keeps no state"
        elif "8bit" in ok:
            st = 2 * (1 + 4 / OPT8_BLOCK)
            snote = "2 states × 8-bit + fp32 absmax per 256"
        else:
            st = 2 * p_bytes  # torch AdamW keeps exp_avg, exp_avg_sq in the parameter's dtype
            snote = f"2 states × {p_bytes} B"
        if ok.startswith("paged"):
            snote += "; paged: counted on-device in full, can spill to host RAM under pressure"
        rows.append(Row("optimizer states", trainable * st / shards, f"{ok}: {snote}"))
    else:
        targets = ()

    # -- activations (bytes per layer per token; "elements" × act bytes)
    if mode == "train":
        # What autograd saves in one block with frozen 16-bit linears (PyTorch saves a matmul's input
        # only when the weight needs a grad): norm inputs (2h), roped q,k and v (h + 2kv), attention
        # output (h), the MLP's nonlinearity inputs/outputs (SwiGLU: gate, up, silu = 3I; GELU: fc = I).
        elems = 2 * h + (h + 2 * kv) + h + (3 * I if shape.gated_mlp else I) + SLACK_ACT_ELEMS_PER_H * h
        # Linears whose weight trains or is 4-bit (bitsandbytes' MatMul4Bit always keeps its input)
        # additionally keep their inputs: attention input, attention output, MLP input, MLP middle.
        input_sizes = {_ATTN_IN: h, _ATTN_OUT: h, _MLP_IN: h, _MLP_MID: I}
        kept = set(input_sizes) if (kind == "full" or quant) else {_TARGET_INPUT[t] for t in targets}
        elems += sum(input_sizes[k] for k in kept)
        drop = float(adapter.get("dropout", adapter.get("lora_dropout", 0.0)) or 0.0) if kind != "full" else 0.0
        per_layer = elems * act
        dims = shape.linear_dims()
        if drop > 0:  # peft: every targeted linear has its own nn.Dropout -> output + 1-byte mask
            per_layer += sum(dims[t][0] * (act + 1) for t in targets)
        if attention == "eager":  # softmax probabilities (fp32) + their 16-bit cast, per head, s × s
            per_layer += shape.num_heads * seq_len * (4 + act)
        layer_all = per_layer * tokens
        if ckpt:
            rows.append(Row("activations: checkpoints", L * h * act * tokens,
                            f"{L} layer inputs × {h} × {act} B per token (gradient checkpointing)"))
            rows.append(Row("activations: recomputed layer", layer_all,
                            f"one block's saved tensors, {per_layer / h:.1f}·h B per token"))
        else:
            rows.append(Row("activations", L * layer_all,
                            f"{L} blocks × {per_layer / h:.1f}·h B per token (no checkpointing)"))
        rows.append(Row("backward working set", layer_all,
                        "gradients of one block's intermediates while it back-propagates"))
        lb = LOGITS_BYTES_PER_ELEM[loss]
        chunk = hardware.get("loss_chunk_tokens")
        if chunk and chunk < tokens:  # svend.stages.causal_lm.lm_loss: one recomputed chunk at a time
            rows.append(Row("logits + loss", chunk * V * lb,
                            f"{chunk} tokens (hardware.loss_chunk_tokens) × vocab × {lb} B ({loss} loss)"))
        else:
            rows.append(Row("logits + loss", tokens * V * lb, f"micro_batch × seq × vocab × {lb} B ({loss} loss)"))
        if kind != "full" and adapter.get("train_new_tokens") and \
                adapter.get("new_tokens_method", "trainable_tokens") == "trainable_tokens":
            # peft's TrainableTokens layer index_copies the new rows into a full copy of the LM head
            # (vocab × hidden) at every forward; the head's backward keeps it.
            rows.append(Row("new-token rows: merged head", V * h * act,
                            "peft trainable_tokens: a vocab × hidden copy of the head with the new rows"))
        rows.append(Row("KV cache", 0.0, "none while training (use_cache=False)"))
    else:
        # Generation: KV cache for micro_batch sequences of seq_len, last-token logits in fp32.
        rows.append(Row("KV cache", 2 * L * kv * act * tokens, "2 (K,V) × layers × kv_dim × seq × batch"))
        rows.append(Row("logits", micro_batch_size * V * 4, "last position only, fp32"))
        if quant:
            rows.append(Row("quantized working set", QUANT_LOAD_VOCAB_MATRICES * V * h * act,
                            "1.5 × vocab×hidden 16-bit (calibrated, litgpt inference rows)"))

    # -- outside the allocator's count
    if hardware.get("accelerator", "gpu") != "cpu":
        alloc = sum(r.bytes for r in rows)
        rows.append(Row("allocator slack", ALLOCATOR_SLACK * alloc,
                        f"{ALLOCATOR_SLACK:.0%} reserved-but-unallocated (fragmentation)", allocated=False))
        rows.append(Row("CUDA context", CUDA_CONTEXT_BYTES, "context + cuBLAS workspaces", allocated=False))
    return rows


def plan(shape: ModelShape, *, adapter: Mapping[str, Any], hardware: Mapping[str, Any],
         optimizer: str | Mapping[str, Any], micro_batch_size: int, seq_len: int,
         mode: str = "train", loss: str = "fp32") -> MemoryPlan:
    """Plan the peak memory of one training step (or, mode="generate", of generation with a KV cache).

    adapter: the `conf/adapter` node (`_target_`, `r`, `target_modules`, `dropout`, `quantization`).
    hardware: the `conf/hardware` node (`precision`, `memory_gb`, `gradient_checkpointing`, `devices`,
    `num_nodes`, `strategy`, `accelerator`; optional `attn_implementation`: sdpa (default) or eager).
    optimizer: the optim `_target_` (or its node), e.g. "bitsandbytes.optim.PagedAdamW8bit".
    loss: "fp32" (HF's causal-LM loss, Svend's default) or "chunked" (litgpt's chunked head + loss).
    """
    if mode not in ("train", "generate"):
        raise ValueError(f"mode must be 'train' or 'generate', not {mode!r}")
    if loss not in LOGITS_BYTES_PER_ELEM:
        raise ValueError(f"loss must be one of {sorted(LOGITS_BYTES_PER_ELEM)}, not {loss!r}")
    if micro_batch_size < 1 or seq_len < 1:
        raise ValueError(f"micro_batch_size and seq_len must be >= 1 (got {micro_batch_size}, {seq_len})")
    kw = dict(adapter=adapter, hardware=hardware, optimizer=optimizer, mode=mode, loss=loss)
    rows = _rows(shape, micro_batch_size=micro_batch_size, seq_len=seq_len, **kw)
    gb = hardware.get("memory_gb")
    budget = None if gb in (None, "null") else float(gb) * GiB
    settings = {
        "weights": (adapter.get("quantization") or {}).get("quant_type", "nf4") if adapter.get("quantization")
        else str(hardware.get("precision")),
        "trainable": adapter_kind(adapter),
        "optimizer": optimizer_kind(optimizer),
        "checkpointing": bool(hardware.get("gradient_checkpointing")),
        "attention": str(hardware.get("attn_implementation") or "sdpa"),
    }
    result = MemoryPlan(rows=rows, budget_bytes=budget, micro_batch_size=micro_batch_size,
                        seq_len=seq_len, settings=settings)
    if budget is not None:
        result.max_seq_len = _longest_fitting(shape, budget, micro_batch_size, kw)
    return result


def _longest_fitting(shape, budget, micro_batch_size, kw, step: int = 64, cap: int = 1 << 20) -> int | None:
    """Largest multiple of `step` (<= cap) whose plan fits `budget`; the total grows with seq_len."""
    def total(s: int) -> float:
        return sum(r.bytes for r in _rows(shape, micro_batch_size=micro_batch_size, seq_len=s, **kw))

    if total(step) > budget:
        return None
    lo, hi = 1, cap // step  # in units of step; lo fits
    if total(hi * step) <= budget:
        return hi * step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if total(mid * step) <= budget else (lo, mid)
    return lo * step


def check_fits(p: MemoryPlan) -> None:
    """Raise MemoryPlanError, naming the levers, when the plan exceeds the card."""
    if p.fits:
        return
    longest = (f"at micro_batch={p.micro_batch_size} the longest seq_len that fits is {p.max_seq_len}"
               if p.max_seq_len else f"not even 64 tokens fit at micro_batch={p.micro_batch_size}")
    levers = "\n".join(f"  - {lever}" for lever in LEVERS)
    raise MemoryPlanError(
        f"planned peak {p.total_bytes / GiB:.2f} GiB exceeds the card's {p.budget_bytes / GiB:.2f} GiB "
        f"(micro_batch={p.micro_batch_size}, seq_len={p.seq_len}); {longest}.\n"
        f"Levers, in the hardware profile or on the command line:\n{levers}\n\n{p.table()}")


def _plain(node: Any) -> Any:
    try:
        from omegaconf import DictConfig, OmegaConf
    except ImportError:  # pragma: no cover
        return node
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def plan_from_config(cfg: Any) -> MemoryPlan:
    """Plan from the composed Hydra config: cfg.model.shape, cfg.adapter, cfg.hardware, cfg.optim."""
    hardware = _plain(cfg.hardware)
    shape = _plain(cfg.model.shape)
    if any(v is None for v in shape.values()):  # model=hf: the shape lives in <path>/config.json
        from svend.models.pretrained import shape_from_config

        shape = shape_from_config(cfg.model.get("source"), cfg.model.get("path"))
    return plan(ModelShape.from_mapping(shape), adapter=_plain(cfg.adapter),
                hardware=hardware, optimizer=_plain(cfg.optim),
                micro_batch_size=int(hardware["micro_batch_size"]), seq_len=int(hardware["max_seq_len"]))


def measured_vs_planned(p: MemoryPlan) -> dict[str, float] | None:
    """After a CUDA run: this process's measured peak next to the plan, in GiB (None without CUDA).
    ``train.py`` prints it and records it with the run's metrics, so every GPU run checks the planner."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    allocated = torch.cuda.max_memory_allocated() / GiB
    planned = p.allocated_bytes / GiB
    return {
        "memory/peak_allocated_gib": allocated,
        "memory/peak_reserved_gib": torch.cuda.max_memory_reserved() / GiB,
        "memory/planned_allocated_gib": planned,
        "memory/planned_error": planned / allocated - 1 if allocated else float("nan"),
    }


def report(cfg: Any) -> int:
    """`svend-plan`'s body: print the breakdown, return 0 when it fits the profile's card, 1 when not."""
    p = plan_from_config(cfg)
    print(p.table())
    return 0 if p.fits else 1
