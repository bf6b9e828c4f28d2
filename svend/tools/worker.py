"""A worker process that runs isolated tools (sympy, pint, z3) so that a call past its time limit can
be stopped: the parent kills the worker and answers ``timeout``; the next call starts a new one.

Protocol: one JSON line per request on the worker's stdin (``{"name", "arguments"}``), one JSON line
per answer on a private copy of its stdout. Anything a library prints goes to stderr, so it cannot
corrupt the protocol. The worker exits when its stdin closes (the parent went away).

    python -m svend.tools.worker '<build_registry kwargs as JSON>' [memory_mb]
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import subprocess
import sys
import threading
from typing import Any, Mapping

from svend.tools.physics import units
from svend.tools.registry import build_registry, error, run_local

STARTUP_TIMEOUT_S = 120.0  # imports sympy, z3 and pint on a busy machine


class Worker:
    """Parent-side handle of one worker process; thread-safe, one call at a time."""

    def __init__(self, spec: Mapping[str, Any], memory_mb: int | None = None):
        self._spec = json.dumps(dict(spec))
        self._memory_mb = memory_mb
        self._proc: subprocess.Popen | None = None
        self._owner = os.getpid()
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _start(self) -> None:
        argv = [sys.executable, "-m", "svend.tools.worker", self._spec, str(self._memory_mb or 0)]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        ready = self._read_line(STARTUP_TIMEOUT_S)
        if ready != {"ready": True}:
            self.close()
            raise RuntimeError(f"tool worker did not start: {ready!r}")

    def _read_line(self, timeout: float) -> Any:
        assert self._proc is not None and self._proc.stdout is not None
        readable, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not readable:
            return None
        line = self._proc.stdout.readline()
        return json.loads(line) if line else None

    def call(self, name: str, arguments: dict, time_limit_s: float) -> dict:
        with self._lock:
            if self._owner != os.getpid():
                # A forked copy of this handle (e.g. a DataLoader worker) must not share the parent's
                # pipes: it starts a worker of its own.
                self._proc, self._owner = None, os.getpid()
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
            except Exception as exc:
                return error("internal_error", f"could not start the tool worker: {exc}")
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.write((json.dumps({"name": name, "arguments": arguments}) + "\n").encode())
                self._proc.stdin.flush()
                answer = self._read_line(time_limit_s)
            except (OSError, ValueError) as exc:
                answer, failure = None, exc
            else:
                failure = None
            if isinstance(answer, dict):
                return answer
            crashed = self._proc.poll() is not None
            self.close()
            if crashed or failure is not None:
                return error("resource_limit", f"{name} crashed the tool worker (memory or stack); send a smaller input")
            return error("timeout", f"{name} did not finish within {time_limit_s:g} s; simplify the input or split the problem")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._owner != os.getpid():
            return
        try:
            os.killpg(proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _serve(spec: dict, memory_mb: int) -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library prints go to stderr, never into the protocol
    if memory_mb:
        # Bounds a runaway expansion to this process instead of the machine.
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    registry = build_registry(**spec)
    if any(tool.family == "physics" for tool in registry.tools.values()):
        units()  # pint's registry takes ~0.2 s to build: pay it at start, not in the first call
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        try:
            request = json.loads(line)
            tool = registry.tools[request["name"]]
            answer = run_local(tool, request["arguments"])
        except Exception as exc:  # a malformed request from the parent is a bug; report, keep serving
            answer = error("internal_error", f"worker: {type(exc).__name__}: {exc}")
        protocol.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
