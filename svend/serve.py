"""Serve a Svend model behind an OpenAI-compatible API: ``svend-serve [group=option ...] [key=value ...]``.

    svend-serve                                          # SmolLM2-135M-Instruct on 127.0.0.1:8000
    svend-serve model=smollm2_135m serve.port=8080
    svend-serve checkpoint=outputs/train/<time>          # a trained run, an adapter folder or a merged export
    svend-serve serve.max_batch_size=1 safety=off        # unbatched, no safety gate

Reads top to bottom: compose → build the LitServer (svend.serving.server) → print the URL → run.
The model is loaded by the server's inference worker; `GET /health` answers 200 once it is ready.
"""

from __future__ import annotations

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

import svend.config  # noqa: F401  (registers the resolvers before Hydra composes)


@hydra.main(version_base="1.3", config_path=str(svend.config.CONF_DIR), config_name="serve")
def main(cfg: DictConfig) -> None:
    server = instantiate(cfg.serve)(cfg)
    server.run()


if __name__ == "__main__":
    main()
