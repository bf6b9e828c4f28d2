"""Will this run fit? ``svend-plan`` composes the same config as ``svend-train`` and prints the peak
memory breakdown; exit status 0 when it fits the hardware profile's card, 1 when it does not.

    svend-plan model=qwen2_5_7b hardware=rtx4070_12gb
    svend-plan model=svend_7b hardware=a100_40gb adapter=full hardware.micro_batch_size=4
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

import svend.config
from svend.models.memory import report


@hydra.main(version_base="1.3", config_path=str(svend.config.CONF_DIR), config_name="train")
def _plan(cfg: DictConfig) -> None:
    sys.exit(report(cfg))


def main() -> None:
    # Planning writes nothing: no run folder, no log file.
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=disabled", "hydra/hydra_logging=disabled"]
    _plan()


if __name__ == "__main__":
    main()
