"""A seed ensemble of safety classifiers: several `svend-train experiment=safety_classifier` runs whose
P(refuse) is averaged, with a threshold chosen on validation the way a single run's is.

    svend-train experiment=safety_classifier seed=45 …                # and again with seed=46, seed=47
    python -m svend.safety.ensemble outputs/safety_classifier/<a> <b> <c> --out outputs/safety_ensemble/seeds
    svend-serve safety=ensemble safety.classifier.source=outputs/safety_ensemble/seeds
    python -m svend.safety.evaluate data/safety/safety/test.jsonl --config ensemble --compare \\
           -o safety.classifier.source=outputs/safety_ensemble/seeds

Why: runs that differ only in their seed misjudge different unseen phrasings (one over-refuses a
look-alike another allows), and errors come a whole phrasing at a time; the average moves fewer of
them across the threshold (experiments/safety_classifier). It costs one forward pass per member.

One run is an ensemble of one: its threshold chosen again, with other targets or a newer rule. The
build scores the validation split with every member, averages, and keeps the point of the averaged
curve most likely to meet recall ≥ ``--min-recall`` at over-refusal ≤ ``--max-fpr`` when the intents
are redrawn (`svend.stages.safety_classifier.choose_threshold`, as the stage's export). The folder holds
``ensemble.json`` (members relative to it, threshold and rule) and ``threshold_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from svend.atomic import write_folder

ENSEMBLE_FILE = "ensemble.json"


class SafetyEnsemble:
    """The gate's classifier slot (`svend.safety.gate`) for an ensemble folder: each score the members'
    mean; ``threshold`` from ``ensemble.json`` unless given (``safety.classifier.threshold=…``)."""

    def __init__(self, source: str | os.PathLike, device: str | torch.device = "cpu", batch_size: int = 16,
                 threshold: float | None = None) -> None:
        from svend.stages.safety_classifier import SafetyScorer

        folder = Path(source)
        meta = _read_meta(folder)
        self.members = [SafetyScorer(folder / m, device, batch_size) for m in meta["members"]]
        self.threshold = float(meta["threshold"] if threshold is None else threshold)
        self.categories = self.members[0].categories

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        per_member = [m.scores(texts) for m in self.members]
        return [{k: sum(d[k] for d in rows) / len(rows) for k in rows[0]} for rows in zip(*per_member)]


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / ENSEMBLE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no {ENSEMBLE_FILE}; build the ensemble with "
                                f"python -m svend.safety.ensemble RUN RUN … --out {folder}")
    meta = json.loads(path.read_text())
    if meta.get("kind") != "safety_ensemble" or not meta.get("members"):
        raise ValueError(f"{path}: not a safety ensemble (kind {meta.get('kind')!r}, members {meta.get('members')!r})")
    return meta


def member_scores(runs: Sequence[str | os.PathLike], records: Sequence[dict], device: str = "cpu",
                  batch_size: int = 16) -> torch.Tensor:
    """[members, records] P(refuse) of each run for each record's request (what the stage scores).
    The runs must be safety classifiers with the same categories; errors name the run."""
    from tqdm import tqdm

    from svend.data.classification import request_messages
    from svend.stages.safety_classifier import SafetyScorer

    requests = [request_messages(r["messages"], f"record {i}") for i, r in enumerate(records)]
    rows, categories = [], None
    for run in runs:
        scorer = SafetyScorer(run, device, batch_size)
        if categories is not None and scorer.categories != categories:
            raise ValueError(f"{run}: categories {scorer.categories} differ from the first member's {categories}; "
                             "an ensemble's members are trained on the same safety set")
        categories = scorer.categories
        scores, chunk = [], 16 * batch_size  # the scorer sorts each chunk by length: little padding
        for start in tqdm(range(0, len(requests), chunk), desc=f"scoring with {Path(run).name}", unit="chunk"):
            scores += scorer.score_many(requests[start:start + chunk])
        rows.append(scores)
    return torch.tensor(rows)


def safety_split(path: str | os.PathLike) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
    """A labelled safety file: its records, their labels (1 = refuse) and cluster indices (records of one
    intent share one: `svend.data.classification.record_cluster`); errors name the file and line."""
    from svend.data.classification import record_cluster, record_label
    from svend.data.schema import read_jsonl

    records = list(read_jsonl(path))
    if not records:
        raise ValueError(f"{path}: no records")
    labels, clusters = [], []
    for i, record in enumerate(records):
        where = f"{path}:{i + 1}"
        kind, label, _, _ = record_label(record, where)
        if kind != "safety":
            raise ValueError(f"{where}: a {kind} record; the ensemble is chosen on safety records")
        labels.append(label)
        clusters.append(record_cluster(record, where))
    index = {c: i for i, c in enumerate(sorted(set(clusters)))}
    return records, torch.tensor(labels), torch.tensor([index[c] for c in clusters])


def build(runs: Sequence[str | os.PathLike], val_path: str | os.PathLike, out: str | os.PathLike, min_recall: float | None = 0.95,
          max_fpr: float | None = 0.05, device: str = "cpu", batch_size: int = 16) -> dict[str, Any]:
    """Score ``val_path`` with every run, average, choose the threshold, write ``out``; ``ensemble.json``."""
    from svend.stages.safety_classifier import choose_threshold

    if not runs:
        raise ValueError("an ensemble needs at least one run")
    records, label, cluster = safety_split(val_path)
    p = member_scores(runs, records, device, batch_size).mean(0)
    curve, threshold, rule = choose_threshold(p, label, cluster, min_recall, max_fpr, 0.5)
    folder = Path(out)
    meta = {"kind": "safety_ensemble", "members": [os.path.relpath(Path(r).resolve(), folder.resolve()) for r in runs],
            "combine": "mean P(refuse)", "validation": str(val_path), "threshold": threshold, "threshold_rule": rule}
    curve_file = {"split": "val", "positive_class": "refuse", "chosen": {"threshold": threshold, **rule}, "curve": curve}

    def write(tmp: Path) -> None:
        (tmp / ENSEMBLE_FILE).write_text(json.dumps(meta, indent=2))
        (tmp / "threshold_curve.json").write_text(json.dumps(curve_file, indent=2))

    write_folder(folder, write, replace=True)
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svend.safety.ensemble",
                                     description="Average safety classifier runs and choose the ensemble's threshold on validation.")
    parser.add_argument("runs", nargs="+", help="safety_classifier run folders (one re-chooses that run's threshold)")
    parser.add_argument("--out", required=True, help="the ensemble folder to write (safety.classifier.source=…)")
    parser.add_argument("--val", default="data/safety/safety/val.jsonl", help="validation records (default: %(default)s)")
    parser.add_argument("--min-recall", type=float, default=0.95, help="refusal recall target (default: %(default)s)")
    parser.add_argument("--max-fpr", type=float, default=0.05, help="over-refusal budget (default: %(default)s)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    meta = build(args.runs, args.val, args.out, args.min_recall, args.max_fpr, args.device, args.batch_size)
    rule = meta["threshold_rule"]
    print(f"ensemble of {len(meta['members'])} written to {args.out}: threshold {meta['threshold']:.4f} "
          f"(validation recall {rule.get('recall', float('nan')):.1%}, over-refusal {rule.get('fpr', float('nan')):.1%}, "
          f"meets the target in {rule.get('p_meets', float('nan')):.0%} of redraws)")
    print(f"use it: svend-serve safety=ensemble safety.classifier.source={args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
