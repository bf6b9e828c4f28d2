"""Read a run's TensorBoard event files back, and draw its curves as a PNG for a README.

    from svend.plots import read_scalars, plot_scalars
    read_scalars(run_dir, "train/loss")            # {step: value}, across every event file of the run
    plot_scalars(run_dir, ["train/loss", "val/loss"], run_dir / "loss.png")

    python -m svend.plots RUN_DIR [OUT.png] [TAG ...]   # defaults: <run>/loss.png, train/loss val/loss

The numbers come from the event files TensorBoard itself reads, so the PNG shows what TensorBoard
shows (a resumed run has several files; later files win for a repeated step).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence


def event_files(run_dir: str | Path) -> list[Path]:
    folder = Path(run_dir) / "tensorboard"
    files = sorted(folder.glob("**/events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"{folder}: no TensorBoard event files (was the run started with logger=none?)")
    return files


def read_scalars(run_dir: str | Path, tag: str) -> dict[int, float]:
    """Every value of one scalar tag across all event files of a run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[int, float] = {}
    for events in event_files(run_dir):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            out.update({e.step: e.value for e in acc.Scalars(tag)})
    return out


def plot_scalars(run_dir: str | Path, tags: Sequence[str], out: str | Path, title: str | None = None) -> Path:
    """One PNG with a line per tag (steps on x); tags the run never logged are named in the error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {tag: read_scalars(run_dir, tag) for tag in tags}
    empty = [tag for tag, values in series.items() if not values]
    if len(empty) == len(tags):
        raise ValueError(f"{run_dir}: none of {', '.join(tags)} was logged")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for tag, values in series.items():
        if values:
            steps = sorted(values)
            ax.plot(steps, [values[s] for s in steps], marker="o" if len(steps) < 20 else None, label=tag)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.set_title(title or Path(run_dir).name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__)
        return 2
    run = Path(args[0])
    out = Path(args[1]) if len(args) > 1 else run / "loss.png"
    tags = args[2:] or ["train/loss", "val/loss"]
    print(plot_scalars(run, tags, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
