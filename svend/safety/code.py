"""Code-interpreter abuse: what a snippet sent to ``run_python`` is *trying* to do.

The sandbox (``svend.tools.code``) is what contains a snippet: no network, no host files, rlimits, a
wall-clock kill. This check runs *before* it, in addition and never instead: it turns away code whose
purpose is abuse — exfiltrating secrets, scanning networks, fork bombs, crypto-mining, reverse
shells, sandbox escape — so that such attempts are refused, logged, and never become training data
that shows the model the attempt "worked" (it fails quietly in the sandbox).

It reads structure where the snippet is Python (``ast``: a ``connect`` whose address uses the loop
variable is a scan, a ``connect`` retried in a loop is not; ``os.fork`` in ``while True`` is a fork
bomb, four pre-forked workers are not) and text everywhere (shell one-liners in strings, or a snippet
that is not Python at all). Each signal has a weight; the weights add up to the score the gate
compares with its threshold, exactly like the text rules. A signal alone is usually below the
threshold (reading ``~/.ssh`` *or* posting to a URL); the combination (read it *and* send it) is not.

Benign code passes: a socket echo server (bind/listen/accept), ``subprocess.run(["ls"])``,
``hashlib.sha256`` of a file, a toy proof-of-work loop without a pool or wallet.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

# id -> (default weight, what it means). Weights are overridable from config (safety.code.weights).
SIGNALS: dict[str, tuple[float, str]] = {
    "secret_file": (0.4, "reads credential files (~/.ssh, /etc/shadow, cloud or browser credentials)"),
    "env_dump": (0.35, "serialises the whole environment"),
    "secret_env": (0.2, "reads environment variables named like secrets"),
    "egress": (0.25, "sends data out (HTTP POST/PUT, SMTP, FTP, raw socket send, curl/wget upload)"),
    "exfil_endpoint": (0.25, "names a drop endpoint (webhook, pastebin, ngrok, requestbin, transfer.sh)"),
    "scan_loop": (0.6, "connects to an address built from a loop variable (port or host sweep)"),
    "local_scan": (0.2, "sweeps ports of the loopback interface (the sandbox itself)"),
    "scan_tool": (0.6, "runs or imports a network scanner (nmap, masscan, zmap, scapy sweeps, nc -z)"),
    "fork_loop": (0.7, "forks or spawns processes in an unbounded loop"),
    "fork_bounded": (0.2, "forks or spawns processes in a bounded loop"),
    "shell_fork_bomb": (0.9, "a shell fork bomb"),
    "self_spawn": (0.4, "re-launches its own script"),
    "miner": (0.8, "a crypto-miner binary, pool or stratum URL"),
    "hash_loop": (0.3, "a nonce-searching hash loop"),
    "mining_terms": (0.3, "mining vocabulary (wallet, pool, hashrate, share submission)"),
    "dup2_socket": (0.5, "redirects stdin/stdout/stderr to a socket"),
    "shell_spawn": (0.25, "starts an interactive shell"),
    "shell_to_socket": (0.5, "runs a process with its standard streams on a socket"),
    "reverse_shell_cmd": (0.9, "a reverse-shell one-liner (/dev/tcp, nc -e, socat exec, mkfifo|nc)"),
    "sandbox_escape": (0.5, "reaches for the host (docker.sock, nsenter, /proc/1/root, sysrq)"),
}

_SECRET_PATH = re.compile(
    r"\.ssh/|\.ssh\b['\"]|\b(id_rsa|id_ed25519|id_ecdsa|id_dsa|authorized_keys)\b|/etc/(g?shadow|sudoers)\b"
    r"|\.aws/credentials|\.netrc\b|\.git-credentials|\.docker/config\.json|\.kube/config|\.gnupg\b|\.pgpass\b"
    r"|Login Data|[Cc]ookies\.sqlite|key4\.db|logins\.json|Keychains/|\.bash_history")
_SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw|credential|auth)")
_ENDPOINT = re.compile(
    r"(?i)(discord(app)?\.com/api/webhooks|hooks\.slack\.com|webhook\.site|pastebin\.com|hastebin|ngrok"
    r"|requestbin|pipedream|burpcollaborator|interact\.sh|oast\.|transfer\.sh|file\.io|api\.telegram\.org/bot)")
_SHELL_EGRESS = re.compile(r"\b(curl\b[^\n]*\s(-d|--data\w*|-F|--form|-T|--upload-file|-X\s*(POST|PUT))\b"
                           r"|wget\b[^\n]*--post-(data|file)|\bscp\s|\brsync\s[^\n]*\w@|\bnc\s+[\w.-]+\s+\d+\s*<)")
_SCAN_TOOL = re.compile(r"\b(nmap|masscan|zmap|unicornscan|rustscan|naabu)\b|\bnc\s+(-\w*z\w*)\b|\barp-scan\b")
_SHELL_FORK_BOMB = re.compile(r"(\w+|:)\s*\(\s*\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}\s*;\s*\1"
                              r"|fork\s+while\s+fork|%0\s*\|\s*%0")
_MINER = re.compile(r"(?i)stratum\+(tcp|ssl|tls)://|\b(xmrig|cpuminer|minerd|ethminer|cgminer|bfgminer|nbminer"
                    r"|t-rex|phoenixminer|lolminer|nicehash|coinhive|cryptonight|randomx)\b"
                    r"|\b(supportxmr|minexmr|nanopool|2miners|f2pool|hashvault|moneroocean)\b")
_MINING_TERMS = re.compile(r"(?i)\b(wallet|mining pool|pool address|hashrate|hash rate|submit(_| )?share"
                           r"|getwork|getblocktemplate|block header|monero|xmr|worker name)\b")
_REVERSE_SHELL = re.compile(r"/dev/(tcp|udp)/[\w.-]+/\d+|\b(nc|ncat|netcat)\b[^\n|;]*\s-(e|c)\s"
                            r"|\bsocat\b[^\n]*\bexec:|mkfifo[^\n]*\|\s*(nc|ncat|netcat)\b"
                            r"|New-Object\s+System\.Net\.Sockets\.TCPClient|\bbash\s+-i\s*>&")
_SHELL = re.compile(r"(/bin/(ba|z|da|k)?sh\b|\b(bash|sh|zsh)\s+-i\b|cmd\.exe|powershell)")
_ESCAPE = re.compile(r"docker\.sock|\bnsenter\b|/proc/1/root|/proc/sysrq-trigger|/sys/fs/cgroup/[^'\"\n]*release_agent"
                     r"|\bmount\s+/dev/(sd|nvme|vd)")



@dataclass(frozen=True)
class CodeFinding:
    signal: str
    weight: float
    line: int | None = None

    def reason(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"code_abuse: {self.signal}{where} +{self.weight:g}: {SIGNALS[self.signal][1]}"


def _name(node: ast.AST) -> str:
    """Dotted name of a call target: ``os.fork``, ``requests.post``, ``s.connect`` → last parts."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_name(node.func))
    return ".".join(reversed(parts))


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _endless(it: ast.AST) -> bool:
    """An iterator that never ends: ``itertools.count()``/``cycle``, one-argument ``repeat``,
    two-argument ``iter(callable, sentinel)``, or a ``range`` bound over 256."""
    if not isinstance(it, ast.Call):
        return False
    name = _name(it.func)
    if name.endswith(("count", "cycle")) or (name.endswith("repeat") and len(it.args) == 1):
        return True
    if name == "iter" and len(it.args) == 2:
        return True
    if name == "range" and it.args:
        bound = it.args[0] if len(it.args) == 1 else it.args[1]
        return isinstance(bound, ast.Constant) and isinstance(bound.value, int) and bound.value > 256
    return False


def _unbounded(loop: ast.AST) -> bool:
    """``while True`` / ``while flag`` (anything but a comparison), or a loop or comprehension over an
    endless iterator."""
    if isinstance(loop, ast.While):
        if isinstance(loop.test, ast.Constant):
            return bool(loop.test.value)
        return not isinstance(loop.test, ast.Compare)
    if isinstance(loop, (ast.For, ast.AsyncFor)):
        return _endless(loop.iter)
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        return any(_endless(g.iter) for g in loop.generators)
    return False


def _calls_in(node: ast.AST) -> set[str]:
    return {_name(n.func).rsplit(".", 1)[-1] for n in ast.walk(node) if isinstance(n, ast.Call)}


def _pow_test(loop: ast.AST) -> bool:
    """A proof-of-work test inside the loop: a run of zeros or a difficulty/target name."""
    for n in ast.walk(loop):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and len(n.value) >= 2 and set(n.value) == {"0"}:
            return True
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and any(
                isinstance(x, ast.Constant) and x.value == "0" for x in (n.left, n.right)):
            return True
        if isinstance(n, (ast.Name, ast.Attribute)) and re.search(r"(?i)difficult|target", _name(n)):
            return True
    return False


_CONNECTS = {"connect", "connect_ex", "create_connection"}
_SENDS = {"post", "put", "patch", "sendall", "sendto", "sendfile", "sendmail", "send_message", "storbinary",
          "storlines"}
_FORKS = {"fork", "forkpty", "Popen", "Process"}
_SPAWNS = {"Thread", "system", "spawnl", "spawnv", "spawnlp", "spawnvp"}
_PROCESS_MODULES = {"os", "threading", "multiprocessing", "subprocess"}
_RUNNERS = {"Popen", "run", "call", "check_call", "check_output", "system", "execl", "execv", "execve", "execvp",
            "spawnv"}
_HASHES = {"sha256", "sha1", "sha512", "sha3_256", "blake2b", "scrypt"}

# Calls that wait for something outside: a loop that spawns once per accepted connection or per queue
# item is a server, not a fork bomb.
_BLOCKING = {"accept", "recv", "recvfrom", "recv_into", "input", "sleep", "wait", "waitpid", "join", "get", "read",
             "readline", "select", "poll", "serve_forever", "handle_request"}


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: dict[str, int | None] = {}
        self.loops: list[tuple[ast.AST, set[str]]] = []  # enclosing loops and the names they bind
        self.connects = False
        self.sends: list[ast.AST] = []

    def hit(self, signal: str, node: ast.AST | None) -> None:
        self.found.setdefault(signal, getattr(node, "lineno", None))

    def _loop(self, node: ast.AST, bound: set[str]) -> None:
        self.loops.append((node, bound))
        self.generic_visit(node)
        self.loops.pop()

    def visit_For(self, node: ast.For) -> None:
        self._loop(node, _names_in(node.target))

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        # names the loop advances (port += 1) play the loop variable's part
        self._loop(node, {t.target.id for t in ast.walk(node)
                          if isinstance(t, ast.AugAssign) and isinstance(t.target, ast.Name)})

    def _comprehension(self, node: ast.AST) -> None:
        self._loop(node, set().union(*(_names_in(g.target) for g in node.generators)))

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        last = name.rsplit(".", 1)[-1]
        args = list(node.args) + [k.value for k in node.keywords]
        arg_names = set().union(*(_names_in(a) for a in args)) if args else set()
        loop_vars = set().union(*(b for _, b in self.loops)) if self.loops else set()
        strings = [n.value for a in args for n in ast.walk(a)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]

        # network: sweeps and sending data out
        if last in _CONNECTS:
            self.connects = True
            if arg_names & loop_vars:
                # the sandbox's loopback is the sandbox itself: sweeping it reaches nothing else
                self.hit("local_scan" if any(_LOOPBACK.match(s) for s in strings) else "scan_loop", node)
        posts_data = last in {"urlopen", "Request"} and (
            len(node.args) > 1 or any(k.arg == "data" for k in node.keywords))
        if last in _SENDS or posts_data:
            self.hit("egress", node)
        if last == "send":
            self.sends.append(node)

        # processes: fork bombs and self-replication
        if last in _FORKS or (last in _SPAWNS and name.split(".")[0] in _PROCESS_MODULES):
            if any(_unbounded(loop) and not (_calls_in(loop) & _BLOCKING) for loop, _ in self.loops):
                self.hit("fork_loop", node)
            elif self.loops and last in _FORKS:
                self.hit("fork_bounded", node)
        mentions_argv = any(isinstance(n, ast.Attribute) and n.attr == "argv" for a in args for n in ast.walk(a))
        if last in _RUNNERS and ("__file__" in arg_names or mentions_argv):
            self.hit("self_spawn", node)

        # shells: reverse shells and interactive shells
        if name == "os.dup2" and node.args and any(
                isinstance(n, ast.Call) and _name(n.func).endswith("fileno") for n in ast.walk(node.args[0])):
            self.hit("dup2_socket", node)
        if last in _RUNNERS and any(k.arg in {"stdin", "stdout", "stderr"} and isinstance(k.value, ast.Call)
                                    and _name(k.value.func).endswith("fileno") for k in node.keywords):
            self.hit("shell_to_socket", node)
        if name == "pty.spawn" or (last in _RUNNERS and any(_SHELL.search(s) for s in strings)):
            self.hit("shell_spawn", node)

        # mining: a nonce search
        if (name.startswith("hashlib.") or last in _HASHES) and self.loops \
                and ("nonce" in {n.lower() for n in arg_names} or arg_names & loop_vars) \
                and any(_pow_test(loop) for loop, _ in self.loops):
            self.hit("hash_loop", node)

        # secrets in the environment
        if name in {"dict", "str", "repr", "json.dumps", "print"} and any(
                _name(a) in {"os.environ", "environ"} for a in node.args):
            self.hit("env_dump", node)
        if name in {"os.environ.copy", "environ.copy", "os.environ.items", "environ.items"}:
            self.hit("env_dump", node)
        first = node.args[0] if node.args else None
        if name in {"os.getenv", "os.environ.get", "environ.get"} and isinstance(first, ast.Constant) \
                and isinstance(first.value, str) and _SECRET_NAME.search(first.value):
            self.hit("secret_env", node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _name(node.value) in {"os.environ", "environ"} and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and _SECRET_NAME.search(node.slice.value):
            self.hit("secret_env", node)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in {"nmap", "masscan"}:
                self.hit("scan_tool", node)
            if top in {"smtplib", "ftplib", "paramiko"}:
                self.hit("egress", node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        top = (node.module or "").split(".")[0]
        if top in {"nmap", "masscan"} or (top == "scapy" and any(a.name in {"sr", "sr1", "srp", "arping", "*"}
                                                                  for a in node.names)):
            self.hit("scan_tool", node)
        if top in {"smtplib", "ftplib", "paramiko"}:
            self.hit("egress", node)

    def finish(self) -> None:
        if self.connects and self.sends:  # sock.send after a connect; a generator's .send has no connect
            self.hit("egress", self.sends[0])


def _line_of(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


def _text_signals(source: str) -> Iterable[tuple[str, int]]:
    """Signals read from the raw text: shell one-liners inside strings, or a non-Python snippet."""
    table = [("secret_file", _SECRET_PATH), ("exfil_endpoint", _ENDPOINT), ("egress", _SHELL_EGRESS),
             ("scan_tool", _SCAN_TOOL), ("shell_fork_bomb", _SHELL_FORK_BOMB), ("miner", _MINER),
             ("mining_terms", _MINING_TERMS), ("reverse_shell_cmd", _REVERSE_SHELL), ("sandbox_escape", _ESCAPE)]
    for signal, pattern in table:
        m = pattern.search(source)
        if m:
            yield signal, _line_of(source, m.start())
    # `env` / `printenv` piped or redirected somewhere, or iterating os.environ
    m = re.search(r"(^|[;&|`$(]\s*)(printenv|env)\s*(\||>|$)|for\s+\w+(\s*,\s*\w+)?\s+in\s+os\.environ", source, re.M)
    if m:
        yield "env_dump", _line_of(source, m.start())


_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1)$")
_FENCE = re.compile(r"```[\w+-]*\n?(.*?)```", re.DOTALL)


def extract_code(text: str) -> list[str]:
    """Code embedded in a chat message: fenced blocks, else what follows the first colon or line
    break when that parses as Python with at least one call or import ("run this: import os; …").
    Prose that happens to parse ("hello") has neither and is not code."""
    blocks = [b for b in _FENCE.findall(text) if b.strip()]
    if blocks:
        return blocks
    cut = min((i for i in (text.find(":"), text.find("\n")) if i >= 0), default=-1)
    tail = text[cut + 1:].strip() if cut >= 0 else ""
    try:
        tree = ast.parse(tail) if tail else None
    except (SyntaxError, ValueError):
        return []
    if tree is not None and any(isinstance(n, (ast.Call, ast.Import, ast.ImportFrom)) for n in ast.walk(tree)):
        return [tail]
    return []


class CodeChecker:
    """Scores a snippet for code-interpreter abuse; ``weights`` overrides entries of ``SIGNALS``."""

    def __init__(self, weights: Mapping[str, float] | None = None):
        self.weights = {k: w for k, (w, _) in SIGNALS.items()}
        for key, value in dict(weights or {}).items():
            if key not in SIGNALS:
                raise ValueError(f"safety.code.weights.{key}: unknown signal; known: {', '.join(SIGNALS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"safety.code.weights.{key}: must be a number >= 0, got {value!r}")
            self.weights[key] = float(value)

    def findings(self, source: str) -> list[CodeFinding]:
        found: dict[str, int | None] = {}
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None  # shell, a fragment, or another language: the text signals still apply
        if tree is not None:
            visitor = _Visitor()
            visitor.visit(tree)
            visitor.finish()
            found.update(visitor.found)
        for signal, line in _text_signals(source):
            found.setdefault(signal, line)
        if "fork_loop" in found:
            found.pop("fork_bounded", None)
        return [CodeFinding(s, self.weights[s], found[s]) for s in SIGNALS if s in found and self.weights[s] > 0]

    def score(self, source: str) -> tuple[float, list[CodeFinding]]:
        """The summed weights (clipped to 1) and the findings that make them."""
        findings = self.findings(source)
        return min(1.0, round(sum(f.weight for f in findings), 6)), findings
