"""The generational loop: a model earns each stage by passing gates, never silently regresses, and every
generation has a lineage.

    svend-generations                                   # conf/generations.yaml: SmolLM2 + tool_arith, 3 generations
    svend-generations gate=cpu generations.max_generations=2 'generations.train=[experiment=tool_arith,~eval]'
    svend-generations status                            # the lineage table

Generation 0 is the base model as it is: it runs the gates (climbing from the first stage while it
passes) and the regression suite, so generation 1 has something to be compared with. Then, for
N = 1 … ``max_generations`` (stopping early at the last stage):

1. ``train``       ``svend-train`` (a subprocess) with ``generations.train`` overrides, LoRA on the current
                   base: the original model, or the last merged generation. Run folder ``gen<N>/train``.
2. ``gate``        the current stage's gate, and the next ones while they pass (``svend.gates.gate``).
3. ``regression``  the fixed suite (``gate.regression``) compared with the current base's scores.
4. ``rollback`` (it regressed: the base stays; the adapter is kept for inspection, the reasons recorded)
   or ``merge`` (``svend-export``'s merge into ``gen<N>/merged``, the next generation's base).
5. ``collect``     validated corrections (``generations.refinements``) into the knowledge table, and
                   what the gates found into knowledge of low weight (``deep`` retrieval) for review;
                   the corrections with weight ≥ 0.5 become ``gen<N+1>/corrections.jsonl``, added to
                   the next generation's training files.

Crash safety: every step writes its files first (atomically, or into its own folder) and is marked done
in the state store (``svend.state``, ``<dir>/state.db``) in the same transaction as its results. A rerun
of the same command skips done steps and redoes the one that was cut short: training resumes from its
last checkpoint (``resume=last``), an evaluation starts over, a merge is rewritten. So ``kill -9`` at any
point, then the same command, ends with the lineage an uninterrupted run would have had.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from svend.gates.gate import GateResult, run_gate
from svend.gates.ladder import GateLadder
from svend.gates.regression import regression_check, run_regression_suite
from svend.state import StateStore

log = logging.getLogger("svend.generations")


class Lineage:
    """One loop folder (``generations.dir``) and its state database; the steps of the module docstring."""

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.settings = cfg.generations
        self.dir = Path(self.settings.dir).resolve()
        self.ladder: GateLadder = instantiate(cfg.gate)
        self.store = StateStore(self.settings.state_db)

    # -- the loop ------------------------------------------------------------------------------------

    def run(self) -> list[dict]:
        """Run (or continue) the loop; returns the lineage rows."""
        self.dir.mkdir(parents=True, exist_ok=True)
        current = self._generation_zero()
        for number in range(1, int(self.settings.max_generations) + 1):
            if self.ladder.gate_for(current["stage_reached"]) is None:
                log.info("generation %d is at %s, the last stage: the loop stops", current["id"], current["stage_reached"])
                break
            row = self._generation(number, current)
            if row["status"] == "merged":
                current = row
        print(self.status_table())
        print(f"\nlineage: {self.dir}   state: {self.store.path}")
        return self.store.list_generations()

    def _generation_zero(self) -> dict:
        """The base model as it is: its stage and its regression scores, the first comparison point."""
        if self.store.get_generation(0) is None:
            self.store.add_generation(self.base_name(), number=0, status="gating")
        model = None
        if self.store.step_detail(0, "gate") is None or self.store.step_detail(0, "regression") is None:
            model = self._load(None)
        self._gate(0, self.ladder.stages[0], model)
        self._regression(0, None, model)
        return self.store.update_generation(0, status="done")

    def _generation(self, number: int, parent: dict) -> dict:
        row = self.store.get_generation(number)
        if row is None:
            self.store.add_generation(parent.get("merged_path") or self.base_name(), parent=parent["id"], number=number)
        elif row["parent"] != parent["id"]:
            raise RuntimeError(f"{self.store.path}: generation {number} was trained from generation {row['parent']}, but "
                               f"this run's lineage makes its parent {parent['id']}; the state database and "
                               f"{self.dir} disagree — start a new lineage (generations.name=…)")
        run_dir = self._train(number, parent)
        model = None
        if self.store.step_detail(number, "gate") is None or self.store.step_detail(number, "regression") is None:
            model = self._load(run_dir)
            self.store.update_generation(number, status="gating")
        self._gate(number, parent["stage_reached"], model)
        verdict = self._regression(number, parent["id"], model)
        del model
        if verdict["regressed"]:
            self._rollback(number, verdict)
        else:
            self._merge(number, run_dir)
        self._collect(number)
        return self.store.get_generation(number)

    # -- steps ---------------------------------------------------------------------------------------

    def _train(self, number: int, parent: dict) -> Path:
        run_dir = self.dir / f"gen{number}" / "train"
        done = self.store.step_detail(number, "train")
        if done is not None:
            return Path(done["run_dir"])
        command = [sys.executable, "-m", "svend.train", *self.train_overrides(number, parent),
                   f"hydra.run.dir={run_dir}", f"paths.root_dir={self.cfg.paths.root_dir}",
                   f"paths.state_db={self.store.path}"]
        if any((run_dir / "checkpoints").glob("*.ckpt")):
            command.append("resume=last")  # a run cut short: continue it, do not start over
        print(f"generation {number}: training ({run_dir}; its output: {run_dir.parent / 'train.out'})", flush=True)
        log.info("generation %d: %s", number, " ".join(command))
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(run_dir.parent / "train.out", "ab") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=os.getcwd())
        if result.returncode != 0:
            self.store.fail_step(number, "train", f"svend-train exited with {result.returncode}")
            self.store.update_generation(number, status="failed", reason=f"training failed: see {run_dir.parent / 'train.out'}")
            raise RuntimeError(f"generation {number}: svend-train exited with {result.returncode}; its output is in "
                               f"{run_dir.parent / 'train.out'}. Fix the cause and rerun the same command to continue.")
        adapter = run_dir / "adapter"
        if not (adapter / "svend_adapter.json").is_file():
            raise RuntimeError(f"generation {number}: {run_dir} has no adapter/ — the loop merges LoRA adapters; "
                               "train with adapter=lora or adapter=qlora")
        with self.store.transaction():
            self.store.update_generation(number, adapter_path=str(adapter))
            self.store.finish_step(number, "train", {"run_dir": str(run_dir), "adapter": str(adapter)})
        return run_dir

    def _gate(self, number: int, stage: str, model) -> str:
        """Gates from ``stage``'s on, while they pass; returns (and records) the stage reached."""
        done = self.store.step_detail(number, "gate")
        if done is not None:
            return done["stage_reached"]
        results: list[GateResult] = []
        gate = self.ladder.gate_for(stage)
        while gate is not None:
            print(f"generation {number}: gate {gate.number} ({gate.name}) at stage {stage}", flush=True)
            result = run_gate(gate, self._engine(model), self.cfg.task, self.dir / f"gen{number}" / "gates" / gate.name,
                              seed=int(self.settings.seed), label=f"gen{number}", batch_size=int(self.settings.batch_size))
            results.append(result)
            print(f"  {'passed' if result.passed else 'failed: ' + '; '.join(result.failures)}", flush=True)
            if not result.passed or not self.settings.climb:
                break
            stage = self.ladder.stage_after(gate.number)
            gate = self.ladder.gate_for(stage)
        with self.store.transaction():  # the results and "done" together: a crash leaves neither
            for result in results:
                self.store.record_gate(number, result.name, passed=result.passed, scores=result.scores,
                                       thresholds=result.thresholds)
            self.store.update_generation(number, stage_reached=stage)
            self.store.finish_step(number, "gate", {"stage_reached": stage, "gates": [asdict(r) for r in results]})
        return stage

    def _regression(self, number: int, parent: int | None, model) -> dict:
        """The fixed suite's scores, and the verdict against ``parent``'s (none for generation 0)."""
        done = self.store.step_detail(number, "regression")
        if done is not None:
            return done
        suite = self.ladder.regression
        print(f"generation {number}: regression suite ({', '.join(suite.tasks)})", flush=True)
        scores = run_regression_suite(self._engine(model), suite, self.cfg.task, self.dir / f"gen{number}" / "regression",
                                      label=f"gen{number}", batch_size=int(self.settings.batch_size))
        detail: dict[str, Any] = {"scores": scores, "against": parent, "regressed": False, "reasons": [], "deltas": {}}
        if parent is not None:
            previous = self.store.step_detail(parent, "regression")["scores"]
            verdict = regression_check(scores, previous, suite.tolerances, suite.lower_is_better)
            detail.update(regressed=verdict.regressed, reasons=verdict.reasons, deltas=verdict.deltas)
            print(f"  {'REGRESSED: ' + '; '.join(verdict.reasons) if verdict.regressed else 'no regression'}", flush=True)
        self.store.finish_step(number, "regression", detail)
        return detail

    def _rollback(self, number: int, verdict: Mapping[str, Any]) -> None:
        if self.store.step_detail(number, "rollback") is not None:
            return
        reason = "regressed against generation {}: {}".format(verdict["against"], "; ".join(verdict["reasons"]))
        with self.store.transaction():
            self.store.update_generation(number, status="rolled_back", reason=reason)
            self.store.finish_step(number, "rollback", {"reason": reason})
            self.store.log_action("rollback", f"generation {number}: {reason}", author="svend-generations")
        print(f"generation {number}: rolled back (the adapter stays in {self.dir / f'gen{number}' / 'train'})", flush=True)

    def _merge(self, number: int, run_dir: Path) -> None:
        from svend.export import export_merged

        if self.store.step_detail(number, "merge") is not None:
            return
        out = self.dir / f"gen{number}" / "merged"
        print(f"generation {number}: merging the adapter into its base → {out}", flush=True)
        export_merged(run_dir / "adapter", out, force=True)  # written aside and renamed: whole or absent
        with self.store.transaction():
            self.store.update_generation(number, status="merged", merged_path=str(out))
            self.store.finish_step(number, "merge", {"merged": str(out)})
            self.store.log_action("merge", f"generation {number} merged into {out}", author="svend-generations")

    def _collect(self, number: int) -> None:
        """Corrections in (refinements: validated; gate failures: for review), next generation's file out."""
        from svend.data.schema import write_jsonl

        if self.store.step_detail(number, "collect") is not None:
            return
        knowledge = self.store.knowledge
        imported = None
        if self.settings.refinements:
            imported = asdict(knowledge.import_refinements(self.settings.refinements))
        failures = [f"gate {g['gate']}: " + "; ".join(f"{k} = {v:.3f} (needs {g['thresholds'][k]})"
                                                       for k, v in g["scores"].items() if k in g["thresholds"])
                    for g in self.store.list_gate_results(number) if not g["passed"]]
        corrections = knowledge.corrections_for_training()
        out = self.dir / f"gen{number + 1}" / "corrections.jsonl"
        if corrections:
            write_jsonl(out, corrections)
        with self.store.transaction():
            for text in failures:  # what the gates found, unvalidated: deep retrieval only until reviewed
                knowledge.add(f"generation {number}: {text}", kind="gate_failure", source=f"generation {number}",
                              weight=0.25, lineage={"generation": number})
            self.store.finish_step(number, "collect", {"refinements": imported, "gate_failures": len(failures),
                                                       "corrections": len(corrections),
                                                       "corrections_file": str(out) if corrections else None})

    # -- helpers -------------------------------------------------------------------------------------

    def base_name(self) -> str:
        model = self.cfg.model
        return str(model.path or model.source or model.name)

    def train_overrides(self, number: int, parent: dict) -> list[str]:
        """``generations.train`` + this generation's base (+ ``generations.by_generation[N]``, + the
        corrections collected for it)."""
        overrides = [str(o) for o in self.settings.train]
        if parent.get("merged_path"):
            overrides += ["model=hf", f"model.path={parent['merged_path']}"]
        else:
            overrides += [f"model={self.cfg.model.name}"] + ([f"model.path={self.cfg.model.path}"] if self.cfg.model.path else [])
        extra = self.settings.by_generation or {}
        overrides += [str(o) for o in extra.get(number, extra.get(str(number), []))]
        corrections = self.dir / f"gen{number}" / "corrections.jsonl"
        if corrections.is_file():
            overrides.append(f"data.extra_train_files=[{corrections}]")
        return overrides

    def _load(self, run_dir: Path | None):
        from svend.inference.loading import load_for_inference

        if run_dir is None:
            return load_for_inference(model_cfg=self.cfg.model)[:2]
        return load_for_inference(checkpoint=run_dir)[:2]

    def _engine(self, model):
        model, tokenizer = model
        return instantiate(self.cfg.engine)(model=model, tokenizer=tokenizer, registry=self.registry)

    @property
    def registry(self):
        if not hasattr(self, "_registry"):
            self._registry = instantiate(self.cfg.tools)
        return self._registry

    def close(self) -> None:
        if hasattr(self, "_registry"):
            self._registry.close()
        self.store.close()

    # -- the lineage table ---------------------------------------------------------------------------

    def status_table(self) -> str:
        """Generation, parent, stage, gate scores, regression verdict and paths, one row each."""
        head = "| gen | parent | status | stage reached | gates | regression | adapter / merged |"
        lines = [head, "|---|---|---|---|---|---|---|"]
        for row in self.store.list_generations():
            n = row["id"]
            gates = ", ".join(_gate_cell(g) for g in self.store.list_gate_results(n)) or "—"
            reg = self.store.step_detail(n, "regression")
            verdict = ("—" if reg is None else "baseline" if reg["against"] is None
                       else ("REGRESSED: " + "; ".join(reg["reasons"])) if reg["regressed"] else "ok")
            paths = row["merged_path"] or row["adapter_path"] or row["base"]
            lines.append(f"| {n} | {'—' if row['parent'] is None else row['parent']} | {row['status']} | "
                         f"{row['stage_reached'] or '—'} | {gates} | {verdict} | {paths} |")
        return "\n".join(lines)


def _gate_cell(result: Mapping[str, Any]) -> str:
    """``affirm pass (said_yes 1.00)``: a gate's verdict and its thresholded scores."""
    scores = ", ".join(f"{key.split('/')[-1]} {result['scores'][key]:.2f}" for key in result["thresholds"])
    return f"{result['gate']} {'pass' if result['passed'] else 'fail'} ({scores})"


def run_generations(cfg: DictConfig) -> list[dict]:
    lineage = Lineage(cfg)
    try:
        if cfg.command == "status":
            print(lineage.status_table())
            return lineage.store.list_generations()
        if cfg.command != "run":
            raise ValueError(f"command={cfg.command!r}: use run (the default) or status")
        log.info("lineage %s:\n%s", lineage.dir, OmegaConf.to_yaml(cfg.generations))
        return lineage.run()
    finally:
        lineage.close()
