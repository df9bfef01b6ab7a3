"""`bedside data`: simulate a cohort (or load PhysioNet 2019 / long CSV) into RUN_DIR/data.

    bedside data [RUN_DIR] [--seed 0] [--quick] [--patients 400]
    bedside data runs/p --source physionet --input training_setA/
    bedside data runs/m --source csv --input extraction.csv

Writes RUN_DIR/data/cohort.npz and merges config/metrics into RUN_DIR/run.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


from bedside.training import cmdutil
from bedside import runinfo
from bedside.rundir import RunPaths
from bedside import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    cmdutil.add_common(p, "data")
    p.add_argument("--source", choices=("simulate", "physionet", "csv"), default="simulate",
                   help="simulate (default), physionet (folder of 2019 .psv files) or csv "
                        "(long-format file, docs/training.md)")
    p.add_argument("--input", type=Path, help="folder (physionet) or file (csv)")
    p.add_argument("--patients", type=int, default=None,
                   help="simulated patients (default 400; --quick 40)")
    p.add_argument("--hourly", choices=("hold", "sparse"), default="hold",
                   help="physionet: hold each hourly value for its hour, or one sample per hour")
    p.add_argument("--horizon", type=int, default=None,
                   help="label horizon H in minutes: event starts within the next H (default 60)")
    p.add_argument("--personalization", choices=("on", "off"), default=None,
                   help="on-device re-centring on the patient's baseline, applied by every "
                        "later stage (default: on; docs/personalization.md)")


def _simulate(n: int, seed: int, dcfg: dict):
    from rich.progress import Progress
    from bedside.sources.simulator import SimConfig, simulate_cohort
    sim = SimConfig.from_dict(dcfg.get("sim", {}))
    patients = []
    with Progress(transient=False) as progress:
        task = progress.add_task("simulating patients", total=n)
        for chunk in simulate_cohort(n, seed, sim, chunk_size=dcfg["chunk_size"]):
            patients += chunk
            progress.advance(task, len(chunk))
    return patients, sim.to_dict()


def run(args: argparse.Namespace) -> int:
    return command.call(data, args)


def data(run_dir: Path | None = None, *, seed: int | None = None, quick: bool = False,
         source: str = "simulate", input: Path | None = None, patients: int | None = None,
         hourly: str = "hold", horizon: int | None = None,
         personalization: str | None = None) -> int:
    """Simulate (or load) a cohort into RUN_DIR: `bedside data` as a function."""
    args = command.namespace(add_arguments, 'data', **locals())
    from bedside.sources.cohort import Cohort
    from bedside.sources.loaders import DataError, load_long_csv, load_psv_dir
    from bedside.contract.preprocess import valid_mask
    t0 = time.monotonic()
    run_dir = cmdutil.run_dir(args, "data")
    seed = cmdutil.seed_of(args, run_dir)
    cfg = cmdutil.stage_config(run_dir, args.quick, ("data", "personalization"))
    if args.personalization is not None:
        cfg["personalization"]["enabled"] = args.personalization == "on"
    dcfg = cfg["data"]
    if args.patients is not None:
        dcfg["patients"] = args.patients
    try:
        if args.source == "simulate":
            patients, sim = _simulate(int(dcfg["patients"]), seed, dcfg)
            dcfg["sim"] = sim
        else:
            if args.input is None:
                print(f"error: --source {args.source} needs --input", file=sys.stderr)
                return 2
            patients = (load_psv_dir(args.input, args.hourly) if args.source == "physionet"
                        else load_long_csv(args.input))
            dcfg = {**dcfg, "patients": len(patients), "input": str(args.input),
                    "hourly": args.hourly}
    except (DataError, FileNotFoundError) as e:      # bad input: exit 2, like every command
        print(f"error: {e}", file=sys.stderr)
        return 2
    dcfg["source"] = args.source
    cohort = Cohort.from_patients(patients, seed, tuple(dcfg["split_fractions"]),
                                  source=args.source)
    cohort.save(RunPaths(run_dir).cohort)
    miss = 1.0 - valid_mask(cohort.raw).mean(0)
    from bedside.contract.signals import SIGNAL_NAMES
    metrics = {"patients": cohort.n_patients, "patient_hours": float(len(cohort.raw) / 60),
               "events": int((cohort.onset >= 0).sum()),
               "rapid_map_drop": int(cohort.rapid_map_drop.sum()),
               "atypical_baseline": int(cohort.atypical_baseline.sum()),
               "hard": int((cohort.hard != 0).sum()),
               "missing_fraction": {n: round(float(m), 4) for n, m in zip(SIGNAL_NAMES, miss)},
               "split_patients": {s: int((cohort.split == v).sum())
                                  for s, v in (("train", 0), ("val", 1), ("test", 2))}}
    conf = {"seed": seed, "data": dcfg, "personalization": cfg["personalization"]}
    if args.horizon is not None:
        conf["horizon_min"] = int(args.horizon)
    runinfo.merge(run_dir, stage="data", config=conf, metrics=metrics,
                  stage_info={"command": cmdutil.command_line(args),
                              "seconds": round(time.monotonic() - t0, 2),
                              "profile": "quick" if args.quick else "default"})
    print(f"cohort: {metrics['patients']} patients, {metrics['patient_hours']:.0f} patient-hours, "
          f"{metrics['events']} events -> {RunPaths(run_dir).cohort}")
    return 0
