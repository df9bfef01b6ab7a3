"""The scale path, shown: `bedside train --strategy multiworker` across two worker processes
on localhost (TF_CONFIG with two loopback ports), as on a cluster of two machines. Both
workers must end with the same Teacher weights (docs/training.md, "Several GPUs or
machines")."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _weights(path: Path) -> list[np.ndarray]:
    from bedside.training import models
    return models.load(path).get_weights()


def test_two_workers_train_the_same_teacher(quick_run_dir, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs, runs = [], []
    for index in range(2):
        run = tmp_path / f"worker{index}"
        shutil.copytree(quick_run_dir, run)
        (run / "teacher" / "model.keras").unlink()
        runs.append(run)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_ENABLE_ONEDNN_OPTS": "0",
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bedside.cli", "train", str(run), "--quick", "--epochs", "1",
             "--strategy", "multiworker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:
            proc.kill()
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:]
        assert "multiworker (2 replicas)" in out, out[-2000:]
    a, b = (_weights(run / "teacher" / "model.keras") for run in runs)
    assert len(a) == len(b) > 0
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    for run in runs:
        info = json.loads((run / "run.json").read_text())
        assert info["metrics"]["train"]["replicas"] == 2
        assert info["stages"]["train"]["strategy"] == "multiworker"
