"""The code sandbox: each containment property is its own test, run against real bubblewrap.

Every test ends by checking that this (the host) process is unharmed and that nothing the snippet
started is still running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from svend.tools import code
from svend.tools.code import SandboxConfig, bwrap_path, run_python
from svend.tools.registry import ToolError
from tests.tools.checks import fails, ok

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed (.ci/run installs it)")

CONFIG = SandboxConfig(timeout_s=5, cpu_s=4, memory_mb=512, max_processes=32, output_bytes=10_000)


def _sandbox_processes() -> list[str]:
    out = subprocess.run(["ps", "-u", str(code.NOBODY), "-o", "pid="], capture_output=True, text=True).stdout
    return out.split()


@pytest.fixture(autouse=True)
def host_unharmed():
    yield
    assert subprocess.run(["true"]).returncode == 0  # this process can still fork and exec
    assert os.getuid() == os.geteuid()
    if os.geteuid() == 0:
        assert _sandbox_processes() == []


def test_round_trip(registry):
    result = ok(registry.call("run_python", {"code": "import sys\nprint(6 * 7)\nprint('oops', file=sys.stderr)\nsys.exit(3)"}))
    assert (result["exit_code"], result["stdout"], result["stderr"]) == (3, "42\n", "oops\n")
    assert result["truncated"] is False and result["duration_ms"] > 0


def test_network_connect_refused():
    with socket.socket() as server:  # a real listener on the host's loopback
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        snippet = f"""
import socket
for address in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection(address, timeout=2)
        print("CONNECTED", address)
    except OSError as exc:
        print("refused", exc.errno)
"""
        result = run_python(snippet, CONFIG)
    assert result.exit_code == 0 and "CONNECTED" not in result.stdout
    assert result.stdout.count("refused") == 3


def test_write_outside_tmp_refused():
    snippet = """
import sys
for path in ["/usr/svend-pwned", "/svend-pwned", sys.prefix + "/svend-pwned", sys.base_prefix + "/svend-pwned"]:
    try:
        open(path, "w").write("x")
        print("WROTE", path)
    except OSError as exc:
        print("refused", type(exc).__name__)
open("/tmp/ok", "w").write("fine")
open("/home/sandbox/ok", "w").write("fine")
print("tmp ok")
"""
    result = run_python(snippet, CONFIG)
    assert "WROTE" not in result.stdout and result.stdout.count("refused") == 4 and "tmp ok" in result.stdout
    assert not Path("/usr/svend-pwned").exists()


def test_host_home_invisible():
    marker = Path.home() / f".svend-sandbox-marker-{uuid.uuid4().hex}"
    marker.write_text("secret")
    try:
        result = run_python(f"import os\nprint(os.path.exists({str(marker)!r}))\nprint(os.environ['HOME'])\n"
                            f"print(sorted(os.listdir({str(Path.home())!r})) if os.path.isdir({str(Path.home())!r}) else [])",
                            CONFIG)
    finally:
        marker.unlink()
    lines = result.stdout.splitlines()
    assert lines[0] == "False" and lines[1] == "/home/sandbox"
    assert marker.name not in lines[2] and ".bashrc" not in lines[2]


def test_tmp_is_fresh_each_run():
    run_python("open('/tmp/left-behind', 'w').write('x')", CONFIG)
    assert run_python("import os; print(os.path.exists('/tmp/left-behind'))", CONFIG).stdout == "False\n"


@pytest.mark.slow
def test_fork_bomb_contained():
    snippet = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    print("fork refused after", children, exc.errno)
"""
    result = run_python(snippet, CONFIG)
    assert "fork refused after" in result.stdout
    assert int(result.stdout.split()[3]) < CONFIG.max_processes
    # The sleeping children belong to the sandbox's PID namespace: gone once it exits.


@pytest.mark.slow
def test_infinite_loop_killed_at_limit(registry):
    result = run_python("while True:\n    pass", CONFIG, timeout_s=1)
    assert result.timed_out and 1.0 <= result.duration_s < 3.0
    error = fails(registry.call("run_python", {"code": "while True: pass", "timeout_s": 1}), "timeout")
    assert "1 s" in error["message"]


@pytest.mark.slow
def test_cpu_limit_kills_busy_loop():
    config = SandboxConfig(timeout_s=8, cpu_s=1)
    result = run_python("x = 0\nwhile True:\n    x += 1", config)
    assert result.signal == signal.SIGXCPU and not result.timed_out


def test_gigabyte_allocation_refused():
    result = run_python("data = bytearray(1024 ** 3)\nprint('allocated')", CONFIG)
    assert result.exit_code != 0 and "MemoryError" in result.stderr and "allocated" not in result.stdout


def test_huge_print_truncated(registry):
    result = ok(registry.call("run_python", {"code": "import sys\nsys.stdout.write('x' * 100_000_000)\nprint('done', file=sys.stderr)"}))
    assert result["truncated"] is True and result["exit_code"] == 0
    assert len(result["stdout"]) == 65_536 and result["stderr"] == "done\n"


def test_big_file_refused():
    result = run_python("open('/tmp/big', 'wb').write(b'x' * 64 * 1024 * 1024)", SandboxConfig(file_size_mb=1))
    assert result.exit_code != 0


def test_refuses_without_bwrap(monkeypatch):
    monkeypatch.setattr(code, "bwrap_path", lambda: None)
    with pytest.raises(ToolError) as info:
        run_python("print(1)")
    assert info.value.type == "sandbox_unavailable" and "allow_unsandboxed" in info.value.message
    (tool,) = code.tools()
    from svend.tools.registry import run_local

    fails(run_local(tool, {"code": "print(1)"}), "sandbox_unavailable")


def test_unsandboxed_when_allowed(monkeypatch):
    monkeypatch.setattr(code, "bwrap_path", lambda: None)
    with pytest.warns(UserWarning, match="rlimits only"):
        result = run_python("print(2 + 2)", SandboxConfig(allow_unsandboxed=True))
    assert result.stdout == "4\n" and result.sandboxed is False


def test_code_size_limit():
    with pytest.raises(ToolError):
        run_python("x = 1\n" * 50_000)
