"""Training switches through the real CLI: MultiWorkerMirroredStrategy from TF_CONFIG
(one local worker) and `bedside distill --no-kd / --no-attention`, recorded in run.json."""
import json
import shutil
import socket

from tests.fixtures.training import run_bedside


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_train_multiworker_from_tf_config(quick_run_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    (run / "teacher" / "model.keras").unlink()
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": [f"localhost:{_free_port()}"]},
        "task": {"type": "worker", "index": 0}}))
    proc = run_bedside("train", str(run), "--quick", "--epochs", "1",
                       "--strategy", "multiworker", timeout=120)
    assert "multiworker" in proc.stdout
    assert (run / "teacher" / "model.keras").is_file()
    info = json.loads((run / "run.json").read_text())
    assert info["stages"]["train"]["strategy"] == "multiworker"
    assert info["metrics"]["train"]["replicas"] == 1
    assert "--strategy multiworker" in info["stages"]["train"]["command"]


def test_distill_switches_recorded(quick_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    base = json.loads((run / "run.json").read_text())["config"]["distill"]
    assert base["alpha"] > 0 and base["beta"] > 0
    for flag, off, kept in (("--no-kd", "alpha", "beta"), ("--no-attention", "beta", "alpha")):
        run_bedside("distill", str(run), "--quick", "--epochs", "1", flag, timeout=120)
        info = json.loads((run / "run.json").read_text())
        d = info["config"]["distill"]
        assert d[off] == 0.0 and d[kept] == base[kept], (flag, d)
        assert flag in info["stages"]["distill"]["command"]
        assert (run / "student" / "model.keras").is_file()
