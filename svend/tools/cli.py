"""``svend-tools``: look at and call the tools by hand while debugging a trace.

    svend-tools list                      # names, descriptions, argument schemas
    svend-tools list --json               # the OpenAI ``tools`` list
    svend-tools call calculator '{"expression": "987654321 * 123456789"}'
    svend-tools route 'How many moles are in 10 g of NaCl?'

``call`` prints the result or the structured error as JSON; exit status 0 for a result, 1 for a tool
error, 2 for bad usage (unknown tool, arguments that are not a JSON object). The registry is
``conf/tools/default.yaml`` when run from a checkout, else every family with built-in defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from svend.tools.registry import Registry, build_registry, error, parse_arguments, ToolError

CONFIG = Path(__file__).resolve().parents[2] / "conf" / "tools" / "default.yaml"


def load_registry(config: Path | None = None, isolation: str = "none") -> Registry:
    """The registry of a tools config file (``_target_`` is honoured), or of built-in defaults."""
    path = config or CONFIG
    if path.is_file():
        from hydra.utils import instantiate
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(path)
        cfg.isolation = isolation
        return instantiate(cfg)
    return build_registry(isolation=isolation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svend-tools", description="List and call Svend's tools.")
    parser.add_argument("--config", type=Path, help=f"a tools config (default: {CONFIG.name} of the checkout)")
    parser.add_argument("--isolation", choices=["none", "process"], default="process",
                        help="run sympy/z3 tools in a worker process with time limits (default) or in this one")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="names, descriptions and schemas")
    listing.add_argument("--json", action="store_true", help="print the OpenAI tools list")
    listing.add_argument("--family", action="append", help="only these families (repeatable)")
    calling = commands.add_parser("call", help="call one tool")
    calling.add_argument("name")
    calling.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments")
    routing = commands.add_parser("route", help="the tool families a question is routed to")
    routing.add_argument("question")
    args = parser.parse_args(argv)

    registry = load_registry(args.config, args.isolation if args.command == "call" else "none")
    try:
        if args.command == "list":
            if args.json:
                print(json.dumps(registry.openai_tools(args.family), indent=2, ensure_ascii=False))
            else:
                for spec in registry.openai_tools(args.family):
                    function = spec["function"]
                    print(f"{function['name']}: {function['description']}")
                    print(f"    {json.dumps(function['parameters']['properties'], ensure_ascii=False)}")
            return 0
        if args.command == "route":
            print(json.dumps(registry.route(args.question)))
            return 0
        if args.name not in registry:
            print(json.dumps(error("unknown_tool", f"no tool named {args.name!r}; see `svend-tools list`")))
            return 2
        try:
            arguments = parse_arguments(args.arguments)
        except ToolError as exc:
            print(json.dumps(error(exc.type, exc.message)))
            return 2
        result = registry.call(args.name, arguments)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 1 if "error" in result else 0
    finally:
        registry.close()


if __name__ == "__main__":
    sys.exit(main())
