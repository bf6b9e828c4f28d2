"""The code sandbox: run a Python snippet under bubblewrap with resource limits and get back its exit
code, output and duration. It is the ``run_python`` tool and the executor of the capability gates::

    from svend.tools.code import SandboxConfig, run_python
    result = run_python("print(1)", SandboxConfig(timeout_s=5))   # SandboxResult(exit_code=0, stdout="1\\n", ...)

Containment, layer by layer:
- ``bwrap``: new network namespace (no interfaces but a down loopback: nothing to connect to), new
  PID/IPC/UTS namespaces, read-only binds of only /usr, /lib*, /bin and the Python installation, a
  fresh tmpfs for /tmp and for HOME (size-capped), no host home, no /work, ``--die-with-parent``.
- rlimits set by a tiny launcher inside the sandbox before the snippet runs: CPU seconds, address
  space, file size, no core files, and a process count. RLIMIT_NPROC does not bind uid 0, so when
  bwrap runs as root the launcher drops to ``nobody`` first.
- a wall-clock timeout that SIGKILLs the whole process group (and with it the PID namespace);
  stdout/stderr are read incrementally and capped, the rest is discarded, so a 100 MB print costs
  neither memory nor a hang.

Without ``bwrap`` the tool refuses unless ``allow_unsandboxed`` (then rlimits only, with a warning).
"""

from __future__ import annotations

import dataclasses
import os
import selectors
import shutil
import signal
import site
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

from svend.tools.registry import Tool, ToolError, params, string

MAX_CODE = 100_000  # bytes; a single argv entry may not exceed 128 KiB
NOBODY = 65534

# Runs inside the sandbox: apply limits, drop root, then run the snippet as __main__.
_LAUNCHER = r"""
import os, resource, sys
cpu, memory, fsize, nproc, drop = (int(x) for x in sys.argv[1:6])
sys.path.extend(p for p in sys.argv[6].split(os.pathsep) if p)
code = sys.argv[7]
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if drop and os.getuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
sys.argv = ["<snippet>"]
del cpu, memory, fsize, nproc, drop
exec(compile(code, "<snippet>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class SandboxConfig:
    """Limits of one run (``conf/tools/default.yaml`` ``code:`` node)."""

    allow_unsandboxed: bool = False
    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 512
    file_size_mb: int = 16
    tmpfs_mb: int = 64
    max_processes: int = 32
    output_bytes: int = 65_536
    python: str | None = None  # default: this interpreter, its venv's packages importable (bound read-only);
    # another interpreter gets its standard library only


@dataclass
class SandboxResult:
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    signal: int | None = None  # the signal that ended the snippet, if any
    sandboxed: bool = True


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _bwrap_argv(config: SandboxConfig, python: str) -> list[str]:
    tmpfs = str(config.tmpfs_mb * 1024 * 1024)
    # No --unshare-user: as root a user namespace would forbid the launcher's setgroups/setuid drop;
    # as another user bwrap creates one on its own.
    argv = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--hostname", "sandbox", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/home/sandbox", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONIOENCODING", "utf-8",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", tmpfs, "--tmpfs", "/tmp",
            "--perms", "1777", "--size", tmpfs, "--tmpfs", "/home/sandbox", "--chdir", "/home/sandbox"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    # The interpreter's installation and venv, and nothing else of the host's /work or $HOME.
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(python)))}
    roots = sorted(r for r in roots if not r.startswith("/usr/"))
    # bwrap creates missing parents as 0700 root dirs, which `nobody` could not traverse.
    parents = set()
    for root in roots:
        parent = os.path.dirname(root)
        while parent != "/":
            parents.add(parent)
            parent = os.path.dirname(parent)
    for parent in sorted(parents, key=lambda d: d.count("/")):
        argv += ["--perms", "0755", "--dir", parent]
    for root in roots:
        argv += ["--ro-bind", root, root]
    return argv


def run_python(code: str, config: SandboxConfig | None = None, timeout_s: float | None = None) -> SandboxResult:
    """Run ``code`` as ``__main__`` in the sandbox. Raises ``ToolError`` only when it cannot run at all
    (no bwrap and unsandboxed runs not allowed, or bwrap cannot create its namespaces)."""
    config = config or SandboxConfig()
    if len(code.encode()) > MAX_CODE or "\x00" in code:
        raise ToolError("too_large", f"code is limited to {MAX_CODE} bytes without NUL characters")
    python = config.python or sys.executable
    # -S skips site processing (the venv's .pth files cost 40-100 ms per run); the launcher adds this
    # interpreter's site-packages to sys.path directly, so installed packages (numpy, …) still import.
    site_dirs = os.pathsep.join(site.getsitepackages()) if config.python is None else ""
    limits = [str(config.cpu_s), str(config.memory_mb * 1024 * 1024), str(config.file_size_mb * 1024 * 1024),
              str(config.max_processes)]
    sandboxed = bwrap_path() is not None
    if sandboxed:
        argv = [*_bwrap_argv(config, python), python, "-I", "-S", "-c", _LAUNCHER, *limits, "1", site_dirs, code]
    elif config.allow_unsandboxed:
        warnings.warn("bwrap not found: running code with rlimits only (tools.code.allow_unsandboxed=true)", stacklevel=2)
        argv = [python, "-I", "-S", "-c", _LAUNCHER, *limits, "0", site_dirs, code]
    else:
        raise ToolError("sandbox_unavailable", "bubblewrap (bwrap) is not installed, so code cannot run safely; install "
                        "it (apt-get install bubblewrap) or set tools.code.allow_unsandboxed=true")
    timeout = min(timeout_s or config.timeout_s, config.timeout_s)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd="/" if sandboxed else None,
                            env=None if sandboxed else {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    out, err, truncated, timed_out = _collect(proc, timeout, config.output_bytes)
    duration = time.perf_counter() - started
    status = proc.returncode
    if sandboxed and status == 1 and err.startswith(b"bwrap:"):
        raise ToolError("sandbox_unavailable", f"bubblewrap could not start: {err.decode(errors='replace').strip()[:300]}")
    # bwrap reports a child killed by signal N as exit status 128 + N.
    died_by = -status if status < 0 else (status - 128 if sandboxed and status > 128 else None)
    return SandboxResult(exit_code=status, stdout=out.decode(errors="replace"), stderr=err.decode(errors="replace"),
                         duration_s=duration, timed_out=timed_out, truncated=truncated, signal=died_by,
                         sandboxed=sandboxed)


def _collect(proc: subprocess.Popen, timeout: float, cap: int) -> tuple[bytes, bytes, bool, bool]:
    """Read both pipes until EOF or the deadline, keeping the first ``cap`` bytes of each."""
    kept = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    truncated = timed_out = False
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for stream in kept:
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = kept[key.fileobj]
                room = cap - len(buffer)
                if len(chunk) > room:
                    truncated = True
                buffer += chunk[:max(room, 0)]
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    for stream in kept:
        stream.close()
    return bytes(kept[proc.stdout]), bytes(kept[proc.stderr]), truncated, timed_out


def tools(**config: object) -> list[Tool]:
    fields = {f.name for f in dataclasses.fields(SandboxConfig)}
    unknown = set(config) - fields
    if unknown:
        raise ValueError(f"unknown code sandbox settings: {', '.join(sorted(unknown))}; known: {', '.join(sorted(fields))}")
    settings = SandboxConfig(**config)  # type: ignore[arg-type]

    def run(code: str, timeout_s: float | None = None) -> dict:
        result = run_python(code, settings, timeout_s)
        limit = min(timeout_s or settings.timeout_s, settings.timeout_s)
        if result.timed_out:
            raise ToolError("timeout", f"the code ran past its {limit:g} s wall-clock limit and was killed")
        if result.signal in (signal.SIGXCPU, signal.SIGKILL):
            raise ToolError("resource_limit", f"the code used more than its {settings.cpu_s} s of CPU time and was killed")
        return {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
                "duration_ms": round(result.duration_s * 1000, 1), "truncated": result.truncated}

    return [Tool(
        "run_python",
        "Run a Python 3 snippet in a sandbox (no network, no files kept) and get its exit code, stdout and stderr.",
        params({"code": string("Python source; print what you want to see", MAX_CODE)},
               {"timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": settings.timeout_s}}),
        run, family="code", isolated=False, time_limit_s=settings.timeout_s + 5, screen="code")]
