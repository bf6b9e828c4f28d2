"""``svend-data samples``: verifier data from a generator's own best-of-N samples, labelled by the benchmark.

    svend-eval checkpoint=outputs/tool_arith/<time> 'eval.tasks=[chain_sum,basic_arithmetic]' eval.seed=1 \\
        eval.limit=150 engine.best_of=4 engine.temperature=0.7 engine.scorer=majority
    svend-data samples outputs/eval/<time> --out data/samples/verifier      # train.jsonl + val.jsonl
    svend-train experiment=verifier 'data.train_files=[…/train.jsonl, data/samples/verifier/train.jsonl]' …

Why: the synthetic chains of `svend.data.generators.verifier` teach a verifier what a slip looks like,
but a verifier that ranks one generator's candidates has to judge *that generator's* mistakes, which
look different (a wrong operand read off the question, a tool never called, an answer line that
drops a term). Cobbe et al. (2021) trained their verifier on the generator's own samples, each
labelled by whether its final answer was right; this is that, read off `svend-eval`'s transcripts.
Use an ``eval.seed`` other than the one you will judge the verifier on (reasoning-gym problem sets of
two seeds are disjoint, `svend.evaluation.reasoning_gym.eval_seed`).

Each candidate of each transcript line (``candidates``: its new turns and whether it passed the task's
headline metric) becomes one record: the prompt, then the candidate's turns; ``metadata.label`` 1 if
it passed, 0 if not (``corruption: "sampled"``, so the verifier's per-group report shows these apart
from the synthetic corruptions). Identical candidates of one problem are kept once. A problem's
candidates share its split (a hash of the question, `svend.data.build.split_of`), so validation
AUROC is measured on problems the verifier never trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable

from svend.data.build import split_of
from svend.data.schema import RecordError, iter_jsonl, validate_record, write_jsonl
from svend.data.verify import jsonl_files

SAMPLED = "sampled"
"""``metadata.corruption`` of a wrong sample: the group the verifier's report files it under."""


def _transcript(obj: object) -> None:
    """The check `iter_jsonl` runs on each transcript line: a best-of-N transcript with candidate turns."""
    if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), list) or "candidates" not in obj:
        raise ValueError("not an svend-eval transcript line (needs prompt and candidates)")
    candidates = obj["candidates"]
    if not candidates:
        raise ValueError("no candidates: the eval ran without best-of-N (set engine.best_of=4 or more)")
    if any(not isinstance(c, dict) or "messages" not in c or "passed" not in c for c in candidates):
        raise ValueError("candidates lack their turns (messages): re-run svend-eval with this version")


def records_from(transcripts: Iterable[str | Path], val_fraction: float = 0.15) -> tuple[dict[str, list[dict]], Counter]:
    """``({"train": […], "val": […]}, counts)`` from the transcript files (or folders of them).
    ``counts`` says how many candidates became records, were duplicates or were unusable (no turns a
    record can hold, e.g. a generation cut off before it wrote anything)."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"--val must be a fraction in [0, 1), got {val_fraction}")
    fractions = [("train", 1 - val_fraction), ("val", val_fraction), ("test", 0.0)]
    files = [f for f in jsonl_files(transcripts) if "tensorboard" not in f.parts]
    if not files:
        raise FileNotFoundError(f"no transcript files (*.jsonl) under {', '.join(map(str, transcripts))}")
    splits: dict[str, list[dict]] = {"train": [], "val": []}
    counts: Counter = Counter()
    for path in files:
        for lineno, line in iter_jsonl(path, validate=_transcript, what="transcript file"):
            question = json.dumps(line["prompt"], ensure_ascii=False, sort_keys=True)
            split = split_of(question, fractions)
            seen = set()
            for candidate in line["candidates"]:
                turns = candidate["messages"]
                key = json.dumps(turns, ensure_ascii=False, sort_keys=True)
                if key in seen:
                    counts["duplicate"] += 1
                    continue
                seen.add(key)
                passed = bool(candidate["passed"])
                record = {"messages": [*line["prompt"], *turns],
                          "metadata": {"kind": "verifier", "label": int(passed), "corruption": None if passed else SAMPLED,
                                       "source": f"{path}:{lineno}", "generator": "self_samples", "split": split}}
                try:
                    validate_record(record)
                except ValueError:
                    counts["unusable"] += 1
                    continue
                splits[split].append(record)
                counts["right" if passed else "wrong"] += 1
    return splits, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="svend-data samples", description=__doc__.split("\n\n")[1])
    parser.add_argument("paths", nargs="+", help="svend-eval run folders or transcript files (<run>/<label>/<task>.jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.jsonl and val.jsonl")
    parser.add_argument("--val", type=float, default=0.15, help="share of problems held out for validation (default 0.15)")
    args = parser.parse_args(argv)
    try:
        splits, counts = records_from(args.paths, args.val)
    except (RecordError, FileNotFoundError, ValueError) as e:
        print(f"svend-data samples: {e}", file=sys.stderr)
        return 2
    if not counts["right"] or not counts["wrong"]:
        print(f"svend-data samples: the candidates are all {'right' if counts['right'] else 'wrong'} "
              f"({counts['right'] + counts['wrong']} of them); a verifier needs both", file=sys.stderr)
        return 2
    for split, records in splits.items():
        if records:
            write_jsonl(args.out / f"{split}.jsonl", records)
    sizes = ", ".join(f"{split} {len(records)}" for split, records in splits.items())
    print(f"{counts['right'] + counts['wrong']} verifier records ({counts['right']} right, {counts['wrong']} wrong; "
          f"{counts['duplicate']} duplicate and {counts['unusable']} unusable candidates skipped): {sizes} → {args.out}/")
    return 0
