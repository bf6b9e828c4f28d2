"""Inference: generation with the tool loop, best-of-N, and loading a trained model for it.

    from svend.inference.loading import load_for_inference
    from svend.inference.engine import Engine
    model, tokenizer, info = load_for_inference("outputs/train/<run>")   # run, adapter, export, or model_cfg=
    engine = Engine(model, tokenizer, registry)                          # or instantiate(cfg.engine)(model=…, …)
    engine.generate(conversations) / engine.chat(messages) / engine.stream(messages)

- ``engine``: the tool loop (a call is run, its ``<tool_response>`` appended, generation goes on), the
  finish reasons, batching over conversations;
- ``kv``: the tensor side — rows leaving and joining one KV cache, shared prefixes encoded once;
- ``scorers``: best-of-N scorers by name (``majority``; the verifier registers here);
- ``answers``: the final answer in a text (``Answer:`` line, ``<answer>``, ``\\boxed{}``, last number);
- ``loading``: a run folder, an adapter folder, a merged export or a model config → model + tokenizer.
"""
