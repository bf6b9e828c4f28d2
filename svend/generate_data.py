"""``svend-data``: make and check training data.

    svend-data generate [overrides]           # conf/data.yaml + conf/recipe/<recipe>.yaml -> data/<recipe>/
    svend-data generate data.num_examples=12000 recipe=default
    svend-data verify data/default [FILE ...] # re-execute every tool call; exit 1 naming file:line on a mismatch
    svend-data ingest [overrides]             # codebases and chat exports (conf/ingest/default.yaml)
    svend-data samples outputs/eval/<time> --out data/samples/verifier   # best-of-N samples -> verifier data

Wiring only: ``generate`` is ``svend.data.build.run``, ``verify`` is ``svend.data.verify.main``,
``ingest`` is ``svend.data.ingest.run``, ``samples`` is ``svend.data.self_samples.main``. Hydra run folders: outputs/data/<time>/.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

import svend.config  # noqa: F401  (registers the resolvers the configs use)

USAGE = __doc__.split("\n\n")[1]
_COMMAND = {"name": "generate"}


@hydra.main(config_path=str(svend.config.CONF_DIR), config_name="data", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    if _COMMAND["name"] == "ingest":
        from svend.data.ingest import IngestError, run as ingest

        try:
            ingest(cfg)
        except IngestError as e:  # a bad setting or path: say which, no traceback, usage exit status
            print(f"svend-data ingest: {e}", file=sys.stderr)
            sys.exit(2)
    else:
        from svend.data.build import run as build

        build(cfg)


def main(argv: list[str] | None = None) -> int | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(f"usage:\n{USAGE}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "verify":
        from svend.data.verify import main as verify

        return verify(rest)
    if command == "samples":
        from svend.data.self_samples import main as samples

        return samples(rest)
    if command not in ("generate", "ingest"):
        print(f"svend-data: unknown command {command!r}; use generate, verify, ingest or samples\nusage:\n{USAGE}", file=sys.stderr)
        return 2
    _COMMAND["name"] = command
    sys.argv = [f"{sys.argv[0]} {command}", *rest]  # Hydra parses sys.argv
    _hydra_main()
    return None


if __name__ == "__main__":
    sys.exit(main())
