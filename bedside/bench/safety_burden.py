"""`bedside bench safety RUN_DIR --burden`: the floor's candidate rule sets compared on the
development patients (training and validation splits; `--patients validation`: validation
only), never the test split (no device needed: the floor's Python reference, which the
device matches sample by sample).

Each candidate of training/floor_burden.CANDIDATES (a partial `safety` config over the
run's own) runs over every patient of those splits from admission, and its burden is
counted as `bedside evaluate` counts the test split's (`evaluation.json` `safety_floor`):
false alarms per patient-day with a patient-bootstrap CI, by rule, events alarmed within
the horizon. The rule set is chosen here (docs/safety.md): the fewest false alarms, ties to
more events alarmed, then to the candidate listed first (the smaller change); `chosen`
records it with its burden and whether it is the kit's default. The test figure is
`bedside evaluate`'s. Writes RUN_DIR/safety_burden.json.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

BOOTSTRAP = 200


def write(run_dir: Path, seed: int, patients: str = "development") -> dict:
    from bedside import fileio, runinfo
    from bedside.sources.cohort import Cohort
    from bedside.contract import safety as floor
    from bedside.training import floor_burden
    path = run_dir / "data" / "cohort.npz"
    cfg = runinfo.config(run_dir)
    res = floor_burden.compare(Cohort.load(path), cfg, patients, BOOTSTRAP, seed)
    # fewest false alarms; then more events alarmed; then the first listed (min keeps it)
    best = min(res, key=lambda n: (res[n]["false_alarms"],
                                   -res[n]["events_alarmed_within_horizon"]))
    out = {"generator": {"tool": "bedside bench safety --burden",
                         "command": f"bedside bench safety {run_dir} --burden "
                                    f"--patients {patients}",
                         "cohort_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "version": runinfo.versions().get("bedside-kit")},
           "split": patients, "splits": list(floor_burden.CHOICE_SPLITS[patients]),
           "seed": seed, "bootstrap": BOOTSTRAP,
           "horizon_min": int(cfg["horizon_min"]),
           "fewest_false_alarms": best,
           "chosen": {"name": best, "change": res[best]["change"],
                      "is_default": floor.normalize({**floor.DEFAULT, **res[best]["change"]})
                      == floor.normalize(floor.DEFAULT),
                      **{key: res[best][key] for key in (
                          "false_alarms", "alarm_episodes", "patient_days",
                          "false_alarms_per_patient_day", "false_alarms_per_patient_day_ci",
                          "events", "events_alarmed_within_horizon", "by_rule")}},
           "candidates": res}
    fileio.write_json(run_dir / "safety_burden.json", out)
    return out


def run(run_dir: Path, seed: int, args=None, patients: str = "development") -> int:
    """Compare, print the table to stderr, emit the JSON for `--json`."""
    from bedside import jsonout
    from bedside.contract.safety import SafetyError
    if not (run_dir / "data" / "cohort.npz").is_file():
        print(f"bedside bench safety: {run_dir / 'data' / 'cohort.npz'}: cohort not found "
              f"(run `bedside data {run_dir}` first)", file=sys.stderr)
        return 2
    try:
        res = write(run_dir, seed, patients)
    except (SafetyError, ValueError, KeyError) as e:
        print(f"bedside bench safety: {run_dir}: cannot compare the floor's rules: {e}",
              file=sys.stderr)
        return 2
    for name, c in res["candidates"].items():
        lo, hi = c["false_alarms_per_patient_day_ci"]
        print(f"  {name:<24} {c['false_alarms']:>4} false of {c['alarm_episodes']:>4} "
              f"episodes, {c['false_alarms_per_patient_day']:.3f} [{lo:.3f}, {hi:.3f}] per "
              f"patient-day, {c['events_alarmed_within_horizon']} of {c['events']} events "
              f"alarmed", file=sys.stderr)
    print(f"{patients} patients, {res['candidates'][res['fewest_false_alarms']]['patient_days']} "
          f"patient-days; fewest false alarms: {res['fewest_false_alarms']} -> "
          f"{run_dir / 'safety_burden.json'}", file=sys.stderr)
    if args is not None:
        jsonout.emit(args, res)
    return 0
