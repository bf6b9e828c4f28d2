"""``svend-runs``: the training runs recorded in Svend's state database, and resuming one.

    svend-runs list [--db svend.db] [--status failed]   # id, status, task, stage, started, score, run folder
    svend-runs show 3 [--config]                        # everything about run 3 (or: show outputs/smoke/<time>)
    svend-runs resume 3                                 # svend-train <its overrides> hydra.run.dir=<its folder> resume=last

Every ``svend-train`` run writes its row to ``paths.state_db``, by default ``./svend.db`` — the file this
command reads unless given ``--db``. Exit status 2: the database or the run was not found, or the run
cannot be resumed; ``resume`` otherwise exits with the training's own status.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from svend.state import StateError, StateStore
from svend.state.runs import resume_command
from svend.state.store import RUN_STATUSES


class RunsError(Exception):
    """Something the user asked for is not there; printed as ``svend-runs: …``, exit status 2."""


def _find(store: StateStore, key: str) -> dict:
    run = store.get_run(int(key) if key.isdigit() else key)
    if run is None:
        what = f"run {key}" if key.isdigit() else f"run with folder {Path(key).expanduser().resolve()}"
        raise RunsError(f"no {what} in {store.path.resolve()} (svend-runs list --db {store.path} shows them)")
    return run


def _when(stamp: str | None) -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M") if stamp else "-"


def _where(path: str) -> str:
    """A path relative to the current folder when it lies below it (shorter tables)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _score(run: dict) -> str:
    if run["score"] is not None:
        return f"{run['metric']}={run['score']:.4g}"
    value = run["metrics"].get(run["metric"]) if run["metric"] else None
    return "-" if value is None else f"{run['metric']}={value:.4g}"


def list_runs(store: StateStore, status: str | None) -> None:
    runs = store.list_runs(status=status)
    if not runs:
        print(f"no {status + ' ' if status else ''}runs in {store.path}")
        return
    rows = [("id", "status", "task", "stage", "started", "score", "run folder")]
    rows += [(str(r["id"]), r["status"], r["task_name"], r["stage"] or "-", _when(r["started_at"]), _score(r),
              _where(r["run_dir"])) for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


def show_run(run: dict, config: bool) -> None:
    attempts = f" ({run['attempts']} launches)" if run["attempts"] > 1 else ""
    fields = [
        ("run", f"{run['id']}  {run['status']}{attempts}"),
        ("task", run["task_name"]), ("stage", run["stage"] or "-"), ("run folder", run["run_dir"]),
        ("started", _when(run["started_at"])), ("finished", _when(run["finished_at"])),
        ("launched in", run["cwd"]), ("host, pid", f"{run['host']}, {run['pid']}"),
        ("git", run["git_rev"] or "(not a git checkout)"),
        ("command", shlex.join(["svend-train", *run["overrides"]])), ("score", _score(run)),
    ]
    if run["error"]:
        fields.append(("error", run["error"]))
    for name, value in fields:
        print(f"{name:<12} " + str(value).replace("\n", "\n" + " " * 13))
    for title, table in (("metrics", run["metrics"]), ("checkpoints", run["checkpoints"])):
        print(f"{title}:" + ("" if table else " -"))
        for key in sorted(table):
            value = table[key]
            print(f"  {key:<24} {value:.6g}" if isinstance(value, float) else f"  {key:<24} {value or '-'}")
    if config:
        print("config:\n" + run["config"], end="")


def _alive(run: dict) -> bool:
    """Whether a run marked running still has its process (on this host; elsewhere we cannot tell)."""
    if run["host"] != socket.gethostname() or not run["pid"]:
        return False
    try:
        os.kill(run["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        pass
    return True


def resume_run(run: dict, force: bool) -> int:
    """Run the resume command in the folder the run was launched from, streaming its output."""
    if run["status"] == "running" and _alive(run) and not force:
        raise RunsError(f"run {run['id']} is still running (pid {run['pid']} on {run['host']}); stop it first, "
                        "or pass --force if that pid is another process now")
    for what, folder in (("run folder", run["run_dir"]), ("folder it was launched from", run["cwd"])):
        if not Path(folder).is_dir():
            raise RunsError(f"run {run['id']}: its {what} {folder} no longer exists")
    command = resume_command(run)
    print(f"svend-runs: resuming run {run['id']} in {run['cwd']}:\n  {shlex.join(command)}", flush=True)
    child = subprocess.Popen(command, cwd=run["cwd"])
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the training too: let it save on_exception.ckpt and exit
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svend-runs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", default="svend.db", help="the state database (default: ./svend.db, svend-train's paths.state_db)")
    listing = commands.add_parser("list", parents=[db], help="the recorded runs, newest first")
    listing.add_argument("--status", choices=RUN_STATUSES, help="only runs with this status")
    show = commands.add_parser("show", parents=[db], help="everything recorded about one run")
    show.add_argument("run", help="a run id or its run folder")
    show.add_argument("--config", action="store_true", help="print the resolved config too")
    resume = commands.add_parser("resume", parents=[db], help="continue a run in its folder from its newest checkpoint")
    resume.add_argument("run", help="a run id or its run folder")
    resume.add_argument("--force", action="store_true", help="resume even if the run looks alive")
    args = parser.parse_args(argv)
    try:
        with StateStore(args.db, create=False) as store:
            if args.command == "list":
                list_runs(store, args.status)
                return 0
            run = _find(store, args.run)
        if args.command == "show":
            show_run(run, args.config)
            return 0
        return resume_run(run, args.force)
    except FileNotFoundError as e:
        print(f"svend-runs: {e}; --db PATH reads another file", file=sys.stderr)
        return 2
    except (RunsError, StateError) as e:
        print(f"svend-runs: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
