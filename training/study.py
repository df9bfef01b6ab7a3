"""Seed study: is the Student's gain from distillation larger than seed noise?

Used by `bedside study RUN_DIR`. On the run's split and Teacher, for each seed it trains
the Student variants below from the same initialisation and data order (the seed's),
on one fixed subsample of the train windows (the deployed recipe's by default), and
scores them on the test split; the run's own KD and scratch Students stand for the run's
seed when they were trained with the same recipe (`reused_from_distill`):

  kd               the run's distillation settings (alpha, T, beta, attention focus)
  kd_no_attention  the same with beta = 0
  kd_map_drop      the same with the attention transfer focused on MAP drops
                   (distill.attention_targets; kd_uniform instead when the run's focus
                   already is map_drop)
  scratch          alpha = beta = 0

Differences are paired: per resample of the training seeds and the test patients (both
with replacement), the mean over the drawn seeds of AUROC(kd) - AUROC(other) (same for
AUPRC); the CI is the 2.5-97.5 percentiles.
Nothing is chosen here, so test labels only score.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside.sources import windows as dataset
from bedside.training import metrics, models, tfutil
from bedside.sources.cohort import Cohort
from .distill import shared_teacher_targets, train_student
from .train import subsample
from bedside.rundir import RunPaths


OTHER_FOCUS = "kd_other_focus"      # --variants name of kd_map_drop / kd_uniform
VARIANTS = ("kd", "kd_no_attention", OTHER_FOCUS, "scratch")
ALIASES = {"kd_map_drop": OTHER_FOCUS, "kd_uniform": OTHER_FOCUS}   # names also accepted


def variants(dcfg: dict, names=VARIANTS) -> dict[str, dict]:
    """The distill settings of each named variant (`kd` always first)."""
    focus = dcfg.get("attention_focus", "uniform")
    other = "uniform" if focus == "map_drop" else "map_drop"
    every = {"kd": dict(dcfg), "kd_no_attention": {**dcfg, "beta": 0.0},
             OTHER_FOCUS: {**dcfg, "attention_focus": other},
             "scratch": {**dcfg, "alpha": 0.0, "beta": 0.0}}
    keep = ["kd"] + [ALIASES.get(n, n) for n in names if ALIASES.get(n, n) != "kd"]
    rename = {OTHER_FOCUS: f"kd_{other}"}
    return {rename.get(k, k): every[k] for k in dict.fromkeys(keep)}


def reusable(run_dir: Path, cfg: dict, scfg: dict, seed: int, name: str, dcfg: dict):
    """The run's own Student for (seed, variant) when `bedside distill` trained exactly it
    (the deployed recipe and distill settings, the run's seed; kd -> student/, scratch ->
    student_scratch/), else None: the study does not train the same Student twice."""
    paths = RunPaths(run_dir)
    path = {"kd": paths.student_model, "scratch": paths.scratch_model}.get(name)
    same = (path is not None and path.is_file() and seed == int(cfg.get("seed", 0))
            and scfg == cfg["student"]
            and dcfg == variants(cfg["distill"], (name,))[name])
    return models.load(path) if same else None


def paired_difference(y, pidx, a: list, b: list, n_boot: int, seed: int) -> dict:
    """mean over seeds of metric(a_s) - metric(b_s), with a CI from a bootstrap over
    seeds and patients together: each resample draws the training seeds with
    replacement and the test patients with replacement (paired: the same seeds and
    patients for a and b), so the interval covers training-seed noise as well as the
    test sample's (issue 23)."""
    out = {}
    ra, rb = [metrics.Ranked(y, p) for p in a], [metrics.Ranked(y, p) for p in b]
    rng = np.random.default_rng([int(seed), 0x5EEDB007])
    n_seeds = len(a)
    for name, fn in (("auroc", metrics.auroc), ("auprc", metrics.auprc)):
        point = float(np.mean([fn(y, p) for p in a]) - np.mean([fn(y, p) for p in b]))
        boots = []
        for w in metrics.patient_weights(pidx, n_boot, seed):
            pick = rng.integers(0, n_seeds, n_seeds)
            boots.append(np.mean([getattr(ra[s], name)(w) - getattr(rb[s], name)(w)
                                  for s in pick]))
        out[name] = point
        out[name + "_ci"] = list(metrics.percentile_ci(boots))
        out[name + "_per_seed"] = [float(fn(y, pa) - fn(y, pb)) for pa, pb in zip(a, b)]
    out["ci_over"] = "seeds and patients"
    return out


def study(run_dir: Path, cfg: dict, seeds: list[int], scfg: dict, n_boot: int,
          verbose: bool = True, names=VARIANTS) -> dict:
    win, horizon, tcfg, dcfg = cfg["window"], int(cfg["horizon_min"]), cfg["teacher"], \
        cfg["distill"]
    pz = dataset.personalization(cfg)
    cohort = Cohort.load(RunPaths(run_dir).cohort)
    teacher = models.load(RunPaths(run_dir).teacher_model)
    x, y, pidx, ends = dataset.split_windows(cohort, "train", win["length"], win["stride"],
                                             horizon, pz)
    sel = subsample(y, scfg["neg_keep"], int(cfg.get("seed", 0)))
    x, y, pidx, ends = x[sel], y[sel], pidx[sel], ends[sel]
    w = np.where(y > 0, 1.0, 1.0 / scfg["neg_keep"]).astype(np.float32)
    steps = win["length"] // tcfg["patch"]
    # one Teacher pass for every seed and arm, shared with `bedside distill` when the
    # windows are the same (the deployed recipe's subsample)
    z_t, a_t = shared_teacher_targets(run_dir, teacher, cohort, pidx, ends, tcfg["context"],
                                      steps, pz)
    xt, yt, pt, _ = dataset.split_windows(cohort, "test", win["length"], win["stride"],
                                          horizon, pz)
    var = variants(dcfg, names)
    probs = {k: [] for k in var}
    reused = []
    for s in seeds:
        for k, d in var.items():
            m = reusable(run_dir, cfg, scfg, s, k, d)
            if m is None:
                m = train_student(x, y, z_t, a_t, scfg, d, s, f"{k} (seed {s})",
                                  verbose=verbose, weights=w)
            else:
                reused.append(f"{k} (seed {s})")
            probs[k].append(tfutil.predict_int8(m, xt)[:, 0])
    res = {"seeds": list(seeds), "split": "test", "bootstrap": n_boot,
           "reused_from_distill": reused,
           "student": {k: scfg[k] for k in ("epochs", "neg_keep", "batch", "lr")},
           "train_windows": int(len(y)),
           "variants": {k: {"distill": var[k],
                            "auroc": [metrics.auroc(yt, p) for p in probs[k]],
                            "auprc": [metrics.auprc(yt, p) for p in probs[k]]} for k in var},
           "differences": {}}
    for k in var:
        if k != "kd":
            res["differences"][f"kd - {k}"] = paired_difference(
                yt, pt, probs["kd"], probs[k], n_boot, seeds[0])
    return res
