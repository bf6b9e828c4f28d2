"""The evaluation harness: one ``Task`` per benchmark, a runner that feeds them through the inference
engine, and a report card per run.

    svend-eval model=smollm2_135m eval.limit=20
    svend-eval checkpoint=outputs/tool_arith/<time> eval.tasks=[basic_arithmetic,chain_sum] eval.limit=50

task.py           the Task interface, answer matching, problem selection
reasoning_gym.py  basic_arithmetic, chain_sum, gsm_symbolic, simple_equations, propositional_logic
tool_calls.py     tool-call correctness on held-out tool traces
clarification.py  asks when information is missing, answers when it is not
safety.py         refusal recall and over-refusal per category (the safety gate plugs in)
humaneval.py      HumanEval pass@1 in the code sandbox (also task code_suite: Svend's own 16 problems, data/)
syntax.py         the generated code parses (capability gate 0)
runner.py         evaluate / compare: generation, scoring, transcripts
report.py         metrics.json, report.md, TensorBoard scalars, the comparison table
"""
