"""Files and folders written all at once: built in a temporary sibling, then renamed into place, so a
killed process leaves the old version or the new one, never half of one (data files, reports, caches,
adapters, exports)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(target: str | os.PathLike, write: Callable[[IO[str]], object]) -> Path:
    """Run ``write(f)`` on a text file that becomes ``target`` only once it is complete and on disk.
    The file gets the permissions a plain ``open`` would give (``mkstemp`` alone makes it 0600)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def replace_dir(tmp: Path, folder: Path) -> None:
    """Move ``tmp`` to ``folder``, replacing an existing folder with at most a moment without one."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.rename(folder, old)
    os.rename(tmp, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_folder(target: str | os.PathLike, write: Callable[[Path], None], *, replace: bool) -> Path:
    """Run ``write(tmp)`` on an empty temporary sibling of ``target``, then rename it to ``target``.

    ``replace=True`` swaps out an existing ``target``; ``replace=False`` is for caches: when another
    process got there first, its folder (complete, since folders only appear by rename) is kept.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        write(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700
        if replace:
            replace_dir(tmp, target)
        else:
            try:
                os.rename(tmp, target)
            except OSError:
                if not target.is_dir():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
