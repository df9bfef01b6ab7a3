"""`bedside demo --quick` end to end: every stage runs, and the stage times are recorded in
run.json (`stages.demo`, what the README's demo figures are read from)."""
import json
import subprocess
import sys


def test_quick_demo_runs_every_stage_and_records_their_times(tmp_path):
    run = tmp_path / "demo"
    # in a child process: TensorFlow in the pytest process would raise its peak RSS, which
    # the fuzz tests' children inherit across exec and libFuzzer's RSS limit then trips on
    r = subprocess.run([sys.executable, "-m", "bedside.cli", "demo", "--quick", str(run)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rec = json.loads((run / "run.json").read_text())["stages"]["demo"]
    assert rec["command"] == "bedside demo --quick"
    assert set(rec["stage_seconds"]) == {
        "data", "teacher", "student (KD)", "evaluation", "seed study", "personalization bench",
        "int8 conversion", "firmware", "emulated verification", "safety floor"}
    assert all(s >= 0 for s in rec["stage_seconds"].values())
    assert abs(rec["seconds"] - sum(rec["stage_seconds"].values())) < 0.5
    assert (run / "verify" / "verify.json").is_file() and (run / "safety.json").is_file()
