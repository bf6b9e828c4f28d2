"""Tools the model calls: registry, tool families, sandbox, call parsing and orchestration.

    registry = hydra.utils.instantiate(cfg.tools)        # conf/tools/default.yaml -> registry.build_registry
    registry.call(name, arguments)                       # result dict or {"error": {"type", "message"}}; never raises
    registry.openai_tools(families) / registry.prompt_block(families) / registry.route(question)
    orchestrator.parse_tool_calls(text) / orchestrator.run_tool_calls(registry, text).text
    code.run_python(source, code.SandboxConfig(...))     # the sandbox, also the capability gates' executor

Families, one module each: calculator, symbolic (math_*), physics, chemistry (chem_*), logic, code
(run_python), checklist; router picks families for a question; worker runs sympy/pint/z3 tools in a
separate process so time limits hold; cli is ``svend-tools``.
"""
