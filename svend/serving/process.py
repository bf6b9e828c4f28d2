"""Run ``svend-serve`` as a child process and wait until it answers — for the benchmark and the tests.

    with ServerProcess(["model=smollm2_135m", "serve.max_batch_size=8"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="none")

A free port on 127.0.0.1 is picked unless ``serve.port`` is given. Start-up is over when ``GET /health``
returns 200 (LitServe says so only once the inference worker has loaded the model); if the process
dies first, the error carries the tail of its log. Leaving the block stops the whole process group
(LitServe's API server and inference workers are children of the command).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def svend_serve_command() -> list[str]:
    """``svend-serve`` of this environment (the console script beside the interpreter if installed)."""
    script = Path(sys.executable).parent / "svend-serve"
    return [str(script)] if script.exists() else [sys.executable, "-m", "svend.serve"]


class ServerProcess:
    def __init__(self, overrides: list[str] = (), cwd: str | os.PathLike | None = None, startup_s: float = 300,
                 env: dict[str, str] | None = None):
        self.overrides = list(overrides)
        self.port = next((int(o.split("=", 1)[1]) for o in self.overrides if o.startswith("serve.port=")), None)
        if self.port is None:
            self.port = free_port()
            self.overrides.append(f"serve.port={self.port}")
        self.cwd = Path(cwd) if cwd else Path(tempfile.mkdtemp(prefix="svend-serve-"))
        if not any(o.startswith("paths.root_dir=") for o in self.overrides):
            self.overrides.append(f"paths.root_dir={self.cwd}")
        self.startup_s = startup_s
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = self.cwd / f"svend-serve-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> ServerProcess:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*svend_serve_command(), *self.overrides], cwd=self.cwd, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"svend-serve exited with {self.proc.returncode} before it was ready:\n"
                                   f"{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"svend-serve was not ready after {self.startup_s:.0f} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)  # LitServe shuts its workers down on Ctrl+C
            self.proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
