"""The generational loop: ``svend-generations [status] [group=option ...] [key=value ...]``.

    svend-data generate && svend-data generate recipe=tool_arith   # the gates' data; what generation N trains on
    svend-generations                                       # SmolLM2-135M, 3 generations, the full gates
    svend-generations gate=cpu generations.max_generations=2 generations.name=try1
    svend-generations status generations.name=try1          # the lineage table (generation, stage, gates, verdict)
    svend-generations 'generations.by_generation={2: [optim.lr=0.5]}'   # one generation trained differently

Rerun the same command after a crash or ``kill -9``: done steps are skipped, the interrupted one is
redone (training resumes from its last checkpoint). The loop itself is ``svend/gates/loop.py``; its
settings ``conf/generations.yaml``; the gates ``conf/gate/``.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

import svend.config  # noqa: F401  (registers the resolvers before Hydra composes)


@hydra.main(version_base="1.3", config_path=str(svend.config.CONF_DIR), config_name="generations")
def _main(cfg: DictConfig) -> None:
    from svend.gates.loop import run_generations

    run_generations(cfg)


def main() -> None:
    # `svend-generations status …` reads better than `command=status`; Hydra takes no positional words.
    if len(sys.argv) > 1 and sys.argv[1] in ("run", "status"):
        sys.argv[1:2] = [f"command={sys.argv[1]}"]
    _main()


if __name__ == "__main__":
    main()
