"""`bedside study RUN_DIR`: seed study of the Student (KD, KD without attention transfer,
KD with the other attention focus, scratch) on the run's split and Teacher.

    bedside study RUN_DIR [--seeds 5] [--variants kd,kd_no_attention,scratch|all]
                  [--epochs N] [--bootstrap N] [--deployed] [--quick]

The paired CIs come from a bootstrap over training seeds and test patients together.
The default profile trains the deployed Student's recipe (run.json `config.student`; the
kd_over_scratch goal of evaluation.json `goals` passes only on such a study) and reuses
the run's own KD and scratch Students for the run's seed. `--quick` (tests/CI) trains a
shorter recipe unless `--deployed` is given.

Writes the result under "study" in RUN_DIR/evaluation.json (run `bedside evaluate`
first; a later `bedside evaluate` keeps it while the cohort and Teacher are unchanged),
RUN_DIR/study.json and the report's "Seed study" section, and merges a summary into
run.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from bedside.training import profiles
from bedside import runinfo
from bedside.rundir import RunPaths
from bedside import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(p, "after `bedside evaluate`")
    p.add_argument("--seeds", type=int, default=None,
                   help="number of seeds, run seed, +1, ... (default 5; --quick 2)")
    p.add_argument("--variants", default=None, metavar="LIST",
                   help="comma-separated variants (kd is always trained): kd_no_attention, "
                        "kd_other_focus (kd_map_drop or kd_uniform), scratch; 'all' for "
                        "every one (default: the profile's)")
    p.add_argument("--epochs", type=int, default=None,
                   help="Student epochs per training (default: the recipe's)")
    p.add_argument("--bootstrap", type=int, default=None,
                   help="patient bootstrap resamples for the paired CIs")
    p.add_argument("--deployed", action="store_true",
                   help="train the deployed Student's recipe (its epochs and share of "
                        "negative windows, run.json config student) also under --quick; "
                        "the kd_over_scratch goal needs it (issue 23)")
    p.add_argument("--quick", action="store_true", help="tests/CI: 2 seeds, 2 epochs")


def fingerprint(run_dir: Path) -> dict:
    """What the study depends on: the cohort and the Teacher (keyed by path in the run)."""
    paths = RunPaths(run_dir)
    return {p.relative_to(paths.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (paths.cohort, paths.teacher_model)}


def run(args: argparse.Namespace) -> int:
    return command.call(study, args)


def variant_names(text: str | None, default: list[str]) -> list[str]:
    """--variants as a list of names; ValueError naming an unknown one."""
    from .study import ALIASES, VARIANTS
    if text is None:
        return list(default)
    if text.strip() == "all":
        return list(VARIANTS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = set(VARIANTS) | set(ALIASES)
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ValueError(f"--variants: unknown variant {', '.join(bad) or '(none given)'}; "
                         f"choose from {', '.join(VARIANTS)} or 'all'")
    return names


def study(run_dir: Path | None = None, *, seeds: int | None = None, epochs: int | None = None,
          deployed: bool = False, variants: str | None = None,
          bootstrap: int | None = None, quick: bool = False) -> int:
    """The seed study of the Student variants: `bedside study` as a function."""
    args = command.namespace(add_arguments, 'study', **locals())
    t0 = time.monotonic()
    from bedside import rundir
    run_dir = rundir.owned(rundir.resolve(args.run_dir, "study"), "study")
    paths = RunPaths(run_dir)
    for path, stage in ((paths.teacher_model, "train"), (paths.student_model, "distill"),
                        (paths.evaluation, "evaluate")):
        if not path.is_file():
            print(f"error: {path} not found: run `bedside {stage} {run_dir}` first",
                  file=sys.stderr)
            return 2
    try:
        evaluation = json.loads(paths.evaluation.read_text())
        cfg = runinfo.config(run_dir)
    except ValueError as e:
        print(f"error: {run_dir}: {e}", file=sys.stderr)
        return 2
    prof = profiles.profile(args.quick)["study"]
    n_seeds = args.seeds if args.seeds is not None else prof["seeds"]
    if n_seeds < 2:
        print("error: --seeds must be at least 2", file=sys.stderr)
        return 2
    try:
        names = variant_names(args.variants, prof["variants"])
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    seed0 = int(cfg.get("seed", 0))
    scfg = dict(cfg["student"])
    if not args.deployed:          # the profile's shorter recipe, where it has one
        scfg.update({k: prof[k] for k in ("epochs", "neg_keep") if k in prof})
    if args.epochs:
        scfg["epochs"] = args.epochs
    n_boot = args.bootstrap or prof["bootstrap"]
    from . import tfutil
    from .study import study as seed_study
    tfutil.setup(seed0)
    res = seed_study(run_dir, cfg, list(range(seed0, seed0 + n_seeds)), scfg, n_boot,
                     names=names)
    res["recipe_is_deployed"] = all(scfg[k] == cfg["student"][k] for k in ("epochs", "neg_keep"))
    typed = f"bedside study {run_dir} --seeds {n_seeds}" + \
        (f" --variants {args.variants}" if args.variants else "") + \
        (f" --epochs {args.epochs}" if args.epochs else "") + \
        (" --deployed" if args.deployed else "") + (" --quick" if args.quick else "")
    res["generator"] = {"tool": "bedside study", "command": typed,
                        "version": runinfo.versions().get("bedside-kit"),
                        "inputs_sha256": fingerprint(run_dir)}
    res["seconds"] = round(time.monotonic() - t0, 1)
    runinfo.write_json(paths.study, res)
    evaluation["study"] = res
    if "goals" in evaluation:
        from .goals import with_study
        evaluation["goals"] = with_study(evaluation["goals"], res)
    runinfo.write_json(paths.evaluation, evaluation)
    from bedside.fileio import write_text
    from . import report
    plots = sorted(p.name for p in paths.plots.glob("*.png"))
    write_text(paths.report, report.markdown(
        evaluation, plots, evaluation.get("generator", {}).get("command", "bedside evaluate")))
    summary = {k: {"auroc": d["auroc"], "auroc_ci": d["auroc_ci"]}
               for k, d in res["differences"].items()}
    runinfo.merge(run_dir, stage="study", config={"study": {
                      **prof, "seeds": n_seeds, "variants": names, "epochs": scfg["epochs"],
                      "neg_keep": scfg["neg_keep"]}},
                  metrics=summary, stage_info={"command": typed, "seconds": res["seconds"]})
    for k, v in res["variants"].items():
        print(f"  {k:<18} AUROC " + " ".join(f"{a:.3f}" for a in v["auroc"]))
    for k, d in res["differences"].items():
        print(f"  {k:<28} AUROC {d['auroc']:+.4f} [{d['auroc_ci'][0]:+.4f}, "
              f"{d['auroc_ci'][1]:+.4f}]  AUPRC {d['auprc']:+.4f} [{d['auprc_ci'][0]:+.4f}, "
              f"{d['auprc_ci'][1]:+.4f}]")
    print(f"-> {run_dir / 'evaluation.json'} (study)")
    return 0
