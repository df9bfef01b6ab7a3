"""RUN_DIR/run.json: the run manifest every stage merges (config, seed, versions, metrics).

Layout (docs/training.md):
  {"format_version": 1, "seed": S,
   "config": {"seed": S, "window": {"length": 60, "stride": 5}, "horizon_min": 60,
              "alarm": {"threshold": p, "off_threshold": p, "min_duration": n, ...},
              "data": {...}, "teacher": {...}, "student": {...}, "distill": {...}},
   "window": ..., "horizon_min": ..., "alarm": ...,   # copies of config's, for readers
   "versions": {...}, "stages": {stage: {"command": ..., "seconds": ...}},
   "metrics": {stage: {...}}}
`config` is authoritative; the top-level copies are rewritten from it on every merge.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from bedside.fileio import write_json
from bedside.ownership import BadInput
from bedside.rundir import RunPaths
from bedside.version import kit_version

FORMAT_VERSION = 1
DEFAULT_WINDOW = {"length": 60, "stride": 5}
DEFAULT_HORIZON_MIN = 60
MIRRORED = ("window", "horizon_min", "alarm")
MAX_BYTES = 16 << 20


class RunInfoError(BadInput):
    """A run.json that cannot be read as one (names the file and field; exit 2)."""


def load(run_dir: str | Path) -> dict:
    path = RunPaths(run_dir).run_json
    if not path.exists():
        return {"format_version": FORMAT_VERSION, "config": {}, "versions": {},
                "stages": {}, "metrics": {}}
    if path.stat().st_size > MAX_BYTES:
        raise RunInfoError(f"{path}: {path.stat().st_size} bytes, more than a run.json's "
                           f"{MAX_BYTES}")
    try:
        run = json.loads(path.read_bytes().decode("utf-8"))
    except json.JSONDecodeError as e:
        raise RunInfoError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): "
                           f"{e.msg}") from None
    except UnicodeDecodeError as e:
        raise RunInfoError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except RecursionError:
        raise RunInfoError(f"{path}: nested too deeply") from None
    if not isinstance(run, dict) or not isinstance(run.get("config", {}), dict):
        raise RunInfoError(f"{path}: field 'config': the top level and its config must be "
                           "objects")
    return run


def config(run_dir: str | Path) -> dict:
    """The run's config with defaults for window and horizon filled in."""
    cfg = dict(load(run_dir).get("config", {}))
    cfg.setdefault("window", dict(DEFAULT_WINDOW))
    cfg.setdefault("horizon_min", DEFAULT_HORIZON_MIN)
    return cfg


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def versions(with_tf: bool = False) -> dict:
    import numpy
    v = {"python": platform.python_version(), "numpy": numpy.__version__}
    v["bedside-kit"] = kit_version()
    if with_tf:
        import keras
        import tensorflow as tf
        v["tensorflow"] = tf.__version__
        v["keras"] = keras.__version__
    return v


def merge(run_dir: str | Path, *, stage: str | None = None, config: dict | None = None,
          metrics: dict | None = None, stage_info: dict | None = None,
          with_tf: bool = False) -> dict:
    """Deep-merge into run.json atomically and return the result."""
    run_dir = Path(run_dir)
    run = load(run_dir)
    run["format_version"] = FORMAT_VERSION
    if config:
        run["config"] = _deep_merge(run.get("config", {}), config)
    cfg = run.setdefault("config", {})
    cfg.setdefault("window", dict(DEFAULT_WINDOW))
    cfg.setdefault("horizon_min", DEFAULT_HORIZON_MIN)
    if "seed" in cfg:
        run["seed"] = cfg["seed"]
    for k in MIRRORED:
        if k in cfg:
            run[k] = cfg[k]
    run["versions"] = _deep_merge(run.get("versions", {}), versions(with_tf))
    if stage and metrics is not None:
        run.setdefault("metrics", {})[stage] = metrics
    if stage:
        info = {"command": "bedside " + " ".join(sys.argv[1:])}
        info.update(stage_info or {})
        run.setdefault("stages", {})[stage] = info
    write_json(RunPaths(run_dir).run_json, run)
    return run
