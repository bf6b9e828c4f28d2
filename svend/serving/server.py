"""Build the LitServe server from the composed ``serve`` config, and run it.

``conf/serve/default.yaml`` targets ``build_server`` (partially); ``svend-serve`` calls it with the
whole config, because the model worker needs the model, adapter, hardware, tools, engine and safety
groups. Those are resolved here into plain data: LitServe starts each inference worker as a fresh
(spawned) process, which rebuilds everything from that data in ``SvendAPI.setup``.

Device and precision come from the hardware profile: ``accelerator`` (``gpu`` → CUDA) and
``devices`` go to LitServer, ``precision`` becomes the weights' dtype (``*bf16*`` → bfloat16,
``16*`` → float16, else float32 — the CPU profile resolves to fp32 unless the CPU has AMX).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("svend.serving")

# The groups the model worker rebuilds itself from (svend.serving.api.SvendAPI.setup).
WORKER_GROUPS = ("model", "adapter", "hardware", "tools", "engine", "safety")


def precision_dtype(precision: str | None) -> str:
    """Lightning precision string (the hardware profile's) → the dtype inference loads weights in."""
    text = str(precision or "32")
    if "bf16" in text:
        return "bfloat16"
    if text.startswith("16"):
        return "float16"
    return "float32"


def accelerator(name: str | None) -> str:
    """Lightning's accelerator names → LitServe's (``gpu`` is ``cuda`` there)."""
    return {"gpu": "cuda", None: "auto"}.get(name, name)


def worker_config(cfg: DictConfig) -> dict:
    """The resolved groups a model worker needs, as plain (picklable) data."""
    out = {g: OmegaConf.to_container(cfg[g], resolve=True) for g in WORKER_GROUPS if cfg.get(g) is not None}
    out["checkpoint"] = cfg.get("checkpoint")
    return out


@dataclass
class Server:
    """A built LitServer and where it will listen; ``run()`` blocks until Ctrl+C."""

    litserver: object
    host: str
    port: int
    model_name: str
    log_level: str = "info"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def banner(self) -> str:
        return (
            f"Svend serves {self.model_name!r} at {self.url}/v1 (OpenAI API; GET /health, GET /v1/models)\n"
            f"  curl {self.url}/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            f"    -d '{{\"model\": \"{self.model_name}\", \"messages\": [{{\"role\": \"user\", "
            f"\"content\": \"What is 17 * 23?\"}}]}}'\n"
            f"  python -c \"from openai import OpenAI; c = OpenAI(base_url='{self.url}/v1', api_key='none'); "
            f"print(c.chat.completions.create(model='{self.model_name}', "
            f"messages=[{{'role': 'user', 'content': 'What is 17 * 23?'}}]).choices[0].message.content)\""
        )

    def run(self) -> None:
        print(self.banner(), flush=True)
        self.litserver.run(host=self.host, port=self.port, generate_client_file=False, num_api_servers=1,
                           log_level=self.log_level)


def build_server(
    cfg: DictConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_name: str = "svend",
    builtin_tools: bool = True,
    max_batch_size: int = 4,
    batch_timeout: float = 0.05,
    workers: int = 1,
    timeout: float = 600,
    max_tokens_limit: int | None = 4096,
    stream_check_chars: int = 32,
    stream_holdback_chars: int = 64,
    log_level: str = "info",
) -> Server:
    """The LitServer for ``cfg`` (the whole composed ``serve`` config); nothing is loaded yet."""
    import litserve as ls

    from svend.serving.api import SvendAPI
    from svend.serving.spec import SvendOpenAISpec

    hardware = cfg.hardware
    api = SvendAPI(
        config=worker_config(cfg),
        dtype=precision_dtype(hardware.get("precision")),
        builtin_tools=builtin_tools,
        stream_check_chars=stream_check_chars,
        stream_holdback_chars=stream_holdback_chars,
        max_batch_size=max_batch_size,
        batch_timeout=batch_timeout,
        spec=SvendOpenAISpec(model_name=model_name, max_tokens_limit=max_tokens_limit),
    )
    devices = hardware.get("devices", 1)
    litserver = ls.LitServer(
        api,
        accelerator=accelerator(hardware.get("accelerator")),
        devices=devices if accelerator(hardware.get("accelerator")) != "cpu" else "auto",
        workers_per_device=workers,
        timeout=timeout if timeout and timeout > 0 else False,
        model_metadata={"model_name": model_name, "checkpoint": cfg.get("checkpoint")},
    )
    return Server(litserver, host, int(port), model_name, log_level)
