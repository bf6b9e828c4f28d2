"""The tool registry: every tool's name, one-line description, JSON-schema and function, and the one
door through which a tool is called.

Other parts of Svend build a registry from config and use four things::

    from hydra.utils import instantiate
    registry = instantiate(cfg.tools)                 # conf/tools/default.yaml -> build_registry(...)
    registry.call("calculator", {"expression": "17*23"})   # -> {"result": "391", ...}
    registry.call("calculator", '{"expression": "1/0"}')   # -> {"error": {"type": ..., "message": ...}}
    registry.openai_tools(families=["math"])          # the OpenAI ``tools`` list
    registry.prompt_block(families=["math"])          # the text a system turn shows (svend.tokens)

``call`` never raises: bad JSON, an unknown tool, a schema violation, a domain error, a timeout or a
resource limit all come back as ``{"error": {"type", "message"}}`` — errors are training data.

Time limits. A Python thread cannot be stopped, and sympy or z3 can run for minutes on a small
input. Tools marked ``isolated`` (math, physics, chemistry, logic) therefore run in a worker process
(``svend.tools.worker``); a call past its limit kills the worker and returns a ``timeout`` error, and
the next call starts a fresh one. Cheap tools with their own bounds (calculator, checklist) and the
code sandbox (its own subprocess and timeout) run in the caller. ``isolation="none"`` runs
everything in the caller: faster to start, used by tests, but time limits are then not enforced.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import jsonschema

from svend.tokens import render_tools

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_STOP = frozenset("the and for with what how its from that this are was into per give find use".split())


def _stems(text: str) -> set[str]:
    """Content words cut to 6 letters, so "differentiate" meets "differentiation"."""
    return {w[:6] for w in _WORD.findall(text.lower()) if w not in _STOP}

FAMILIES = ("calculator", "math", "physics", "chemistry", "logic", "code", "checklist")


class ToolError(Exception):
    """A failure a tool reports on purpose; ``type`` is a short machine tag, ``message`` a sentence a
    model can learn from (what was wrong and what to send instead)."""

    def __init__(self, type: str, message: str):
        super().__init__(message)
        self.type = type
        self.message = message


def error(type: str, message: str) -> dict:
    """The one shape of a failed call."""
    return {"error": {"type": type, "message": message}}


def is_error(result: Mapping[str, Any]) -> bool:
    return isinstance(result, Mapping) and "error" in result


def params(required: Mapping[str, dict] | None = None, optional: Mapping[str, dict] | None = None) -> dict:
    """A JSON-schema ``object`` with the given properties; extra arguments are rejected so that a
    misspelt name is an error, not a silently ignored argument."""
    properties = {**(required or {}), **(optional or {})}
    return {
        "type": "object",
        "properties": properties,
        "required": list(required or {}),
        "additionalProperties": False,
    }


def string(description: str, max_length: int = 1000, **extra: Any) -> dict:
    return {"type": "string", "description": description, "maxLength": max_length, **extra}


def number(description: str, **extra: Any) -> dict:
    return {"type": "number", "description": description, **extra}


@dataclass
class Tool:
    """One callable tool. ``function`` takes the validated arguments as keywords and returns a
    JSON-serialisable dict (or raises ``ToolError``)."""

    name: str
    description: str
    parameters: dict
    function: Callable[..., dict]
    family: str
    isolated: bool = True
    time_limit_s: float | None = None
    # The argument a safety gate reads before the call runs (``Registry.screen_with``): the code
    # sandbox's ``code``. None: the tool's input is not screened.
    screen: str | None = None
    validator: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        jsonschema.Draft202012Validator.check_schema(self.parameters)
        self.validator = jsonschema.Draft202012Validator(self.parameters)

    def spec(self) -> dict:
        """This tool as one entry of the OpenAI ``tools`` list."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not a number JSON allows")


def parse_arguments(arguments: Mapping[str, Any] | str | None) -> dict:
    """Arguments as a dict, from a dict or a JSON string (the OpenAI ``arguments`` field)."""
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        if not arguments.strip():
            return {}
        try:
            arguments = json.loads(arguments, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ToolError("invalid_json", f"arguments are not valid JSON: {exc}") from None
    if not isinstance(arguments, Mapping):
        raise ToolError("invalid_arguments", f"arguments must be a JSON object, got {type(arguments).__name__}")
    return dict(arguments)


_BOUNDS = {"maxLength": "at most {} characters", "minLength": "at least {} characters", "maxItems": "at most {} items",
           "minItems": "at least {} items", "maxProperties": "at most {} entries", "minProperties": "at least {} entries",
           "maximum": "at most {}", "minimum": "at least {}", "exclusiveMinimum": "more than {}",
           "exclusiveMaximum": "less than {}", "enum": "one of {}", "type": "of type {}", "pattern": "matching {}"}


def _schema_message(exc: jsonschema.ValidationError) -> str:
    """A short, model-readable reason; jsonschema's own message echoes the (possibly huge) value."""
    where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
    if exc.validator in _BOUNDS:
        return f"{where} must be {_BOUNDS[exc.validator].format(json.dumps(exc.validator_value))}"
    return f"{where}: {exc.message if len(exc.message) <= 300 else exc.message[:300] + '…'}"


def run_local(tool: Tool, arguments: dict) -> dict:
    """Run a tool in this process and turn every exception into a structured error."""
    try:
        result = tool.function(**arguments)
        if not isinstance(result, dict):
            raise ToolError("internal_error", f"{tool.name} returned {type(result).__name__}, not an object")
        json.dumps(result, allow_nan=False)
        return result
    except ToolError as exc:
        return error(exc.type, exc.message)
    except (RecursionError, MemoryError) as exc:
        return error("resource_limit", f"{tool.name} ran out of {'stack' if isinstance(exc, RecursionError) else 'memory'}; send a smaller input")
    except ZeroDivisionError:
        return error("division_by_zero", f"{tool.name}: a value the answer divides by is zero")
    except OverflowError:
        return error("overflow", f"{tool.name}: a number grew too large; use smaller values")
    except ValueError as exc:
        # Non-finite floats (allow_nan=False) and library domain errors both land here.
        return error("domain_error", f"{tool.name}: {exc}"[:500])
    except Exception as exc:  # a tool bug must not take the caller down; the type says where to look
        return error("internal_error", f"{tool.name} failed with {type(exc).__name__}: {exc}"[:500])


class Registry:
    """Named tools, their specs, and ``call``. Build one with ``build_registry`` (or from config):
    with ``isolation="process"`` the worker rebuilds the same tools from ``worker_spec`` (the
    ``build_registry`` arguments), so hand-assembled registries should use ``isolation="none"``."""

    def __init__(self, tools: Iterable[Tool] = (), isolation: str = "process", router: Any = None,
                 worker_spec: Mapping[str, Any] | None = None, worker_memory_mb: int | None = None):
        if isolation not in ("process", "none"):
            raise ValueError(f"isolation must be 'process' or 'none', got {isolation!r}")
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self.tools:
                raise ValueError(f"duplicate tool name {tool.name!r}")
            self.tools[tool.name] = tool
        self.isolation = isolation
        self.router = router
        self._worker_spec = dict(worker_spec or {})
        self._worker_memory_mb = worker_memory_mb
        self._worker = None
        self.gate = None

    def __len__(self) -> int:
        return len(self.tools)

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def names(self, families: Iterable[str] | None = None) -> list[str]:
        wanted = None if families is None else set(families)
        return [n for n, t in self.tools.items() if wanted is None or t.family in wanted]

    def families(self) -> list[str]:
        return sorted({t.family for t in self.tools.values()})

    def openai_tools(self, families: Iterable[str] | None = None) -> list[dict]:
        """The OpenAI ``tools`` list (all tools, or those of ``families``)."""
        return [self.tools[n].spec() for n in self.names(families)]

    def prompt_block(self, families: Iterable[str] | None = None) -> str:
        """The tools block of a system turn, rendered by ``svend.tokens.render_tools``."""
        return render_tools(self.openai_tools(families))

    def route(self, question: str) -> list[str]:
        """The tool families a question belongs to (the router's "specialists"), best first; all
        families when no router is configured."""
        if self.router is None:
            return self.families()
        return [f for f in self.router.route(question) if f in self.families()]

    def tools_for(self, question: str, max_tools: int = 4) -> list[dict]:
        """The OpenAI ``tools`` list to show a model for ``question``: the router's families, and
        within them the ``max_tools`` tools whose name and description share the most words with the
        question (ties keep family, then registry order). Data generation, evaluation and serving all
        use this one rule, so a model sees at inference the tool lists it was trained with. Specs
        cost 100–300 tokens each; showing all 51 would be ~9 000 tokens."""
        words = _stems(question)
        ranked = []
        for rank, family in enumerate(self.route(question)):
            for order, name in enumerate(self.names([family])):
                tool = self.tools[name]
                overlap = len(words & _stems(f"{name.replace('_', ' ')} {tool.description}"))
                ranked.append((-overlap, rank, order, name))
        return [self.tools[name].spec() for *_, name in sorted(ranked)[:max_tools]]

    def screen_with(self, gate: Any) -> Registry:
        """Pass the input of every screened tool (``Tool.screen``: the code sandbox) through
        ``gate.check_code`` before it runs — the safety gate *in addition to* the sandbox. A refused
        call returns ``{"error": {"type": "refused", "message": <the gate's refusal>, "category",
        "reasons"}}`` and never reaches the sandbox. ``None`` switches screening off."""
        if gate is not None and not callable(getattr(gate, "check_code", None)):
            raise TypeError(f"screen_with: {type(gate).__name__} has no check_code(source) method")
        self.gate = gate
        return self

    def call(self, name: str, arguments: Mapping[str, Any] | str | None = None) -> dict:
        """Validate, screen (``screen_with``) and run one call. Returns the tool's result dict or
        ``{"error": {...}}``; never raises."""
        try:
            tool = self.tools.get(name) if isinstance(name, str) else None
            if tool is None:
                known = ", ".join(sorted(self.tools)) or "none"
                return error("unknown_tool", f"no tool named {str(name)[:80]!r}; available: {known}")
            args = parse_arguments(arguments)
            problem = next(iter(sorted(tool.validator.iter_errors(args), key=lambda e: list(e.path))), None)
            if problem is not None:
                return error("invalid_arguments", f"{name}: {_schema_message(problem)}")
            if tool.screen and self.gate is not None:
                decision = self.gate.check_code(args[tool.screen])
                if decision.refused:
                    refused = error("refused", decision.refusal)
                    refused["error"].update(category=decision.category, reasons=list(decision.reasons))
                    return refused
            if tool.isolated and self.isolation == "process":
                return self._worker_call(tool, args)
            return run_local(tool, args)
        except ToolError as exc:
            return error(exc.type, exc.message)
        except Exception as exc:  # the registry itself must not raise into a generation loop
            return error("internal_error", f"{type(exc).__name__}: {exc}"[:500])

    def _worker_call(self, tool: Tool, args: dict) -> dict:
        from svend.tools.worker import Worker

        if self._worker is None:
            self._worker = Worker(self._worker_spec, memory_mb=self._worker_memory_mb)
        return self._worker.call(tool.name, args, tool.time_limit_s or 10.0)

    def close(self) -> None:
        """Stop the worker process (also done at interpreter exit)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def build_registry(
    families: Mapping[str, bool] | None = None,
    time_limit_s: float = 5.0,
    time_limits: Mapping[str, float] | None = None,
    isolation: str = "process",
    worker_memory_mb: int | None = 4096,
    code: Mapping[str, Any] | None = None,
    checklists: Mapping[str, Any] | None = None,
    router: Any = None,
) -> Registry:
    """Build a registry from plain values (what ``conf/tools/*.yaml`` holds).

    ``families`` switches each family on or off (missing families are on); ``time_limit_s`` is the
    default per-call limit and ``time_limits`` overrides it per tool name; ``code`` configures the
    sandbox (``svend.tools.code.SandboxConfig`` fields); ``checklists`` maps a checklist name to
    ``{description, items: [{id, question}]}``.
    """
    from svend.tools import calculator, chemistry, checklist, code as code_tools, logic, physics, symbolic

    switches = {family: True for family in FAMILIES}
    for family, on in dict(families or {}).items():
        if family not in switches:
            raise ValueError(f"unknown tool family {family!r}; known: {', '.join(FAMILIES)}")
        switches[family] = bool(on)
    code_cfg = _plain(code or {})
    checklist_cfg = _plain(checklists or {})
    makers: dict[str, Callable[[], list[Tool]]] = {
        "calculator": calculator.tools,
        "math": symbolic.tools,
        "physics": physics.tools,
        "chemistry": chemistry.tools,
        "logic": logic.tools,
        "code": lambda: code_tools.tools(**code_cfg),
        "checklist": lambda: checklist.tools(checklist_cfg),
    }
    limits = dict(time_limits or {})
    tools: list[Tool] = []
    for family, make in makers.items():
        if not switches[family]:
            continue
        for tool in make():
            tool.time_limit_s = float(limits.get(tool.name, tool.time_limit_s or time_limit_s))
            tools.append(tool)
    unknown = set(limits) - {t.name for t in tools}
    if unknown:
        raise ValueError(f"time_limits names tools that are not built: {', '.join(sorted(unknown))}")
    # The worker rebuilds the same registry in-process, so it gets the same arguments.
    worker_spec = {"families": switches, "time_limit_s": time_limit_s, "time_limits": limits,
                   "isolation": "none", "code": code_cfg, "checklists": checklist_cfg}
    return Registry(tools, isolation=isolation, router=router, worker_spec=worker_spec,
                    worker_memory_mb=worker_memory_mb)


def _plain(value: Any) -> Any:
    """OmegaConf containers to plain dicts/lists (so they pickle and JSON-encode)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(value, (DictConfig, ListConfig)):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:
        pass
    return value
