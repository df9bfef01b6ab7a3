"""`bedside bench reliability RUN_DIR`: the evidence file, and the Cortex-M stack budget.

A reduced run (three fault profiles, one short patient, no fuzzing: tests/test_fuzz.py
fuzzes) checks reliability.json's fields and targets; the stack report builds the
Cortex-M4 firmware with -fcallgraph-info and checks the worst case against 4 KB.
"""
from __future__ import annotations

import json
import shutil

import pytest


def test_bench_reliability_writes_the_evidence(converted_run_dir, host_firmware, capsys):
    from bedside.cli import main
    rc = main(["bench", "reliability", str(converted_run_dir), "--profiles",
               "clean,corrupt 1% + drop 1%,device stops answering", "--simulate", "1",
               "--max-samples", "200", "--fuzz-seconds", "0", "--no-stack", "--no-probes",
               "--no-hostile"])
    out = capsys.readouterr().out
    assert rc == 0, out
    report = json.loads((converted_run_dir / "reliability.json").read_text())
    assert report["passed"] is True
    p = report["profiles"]
    for name in ("clean", "corrupt 1% + drop 1%"):
        r = p[name]
        assert {"sent", "verified", "lost", "false_mismatches", "retries"} <= set(r)
        assert r["sent"] == r["verified"] > 0 and r["lost"] == 0 and r["false_mismatches"] == 0
    # a clean link may need a rare retry on a loaded machine (0.2 s reply timeout)
    assert p["clean"]["retries"] < p["corrupt 1% + drop 1%"]["retries"]
    stop = p["device stops answering"]
    assert stop["detected"] and stop["detection_s"] <= stop["bound_s"], stop
    assert "lost" in out and "false" in out
    assert set(report["probes"]) == {f"link: {n}" for n in p}
    assert all(pr["passed"] and pr["detail"] for pr in report["probes"].values())


def test_bench_faults_from_the_command_line(converted_run_dir, host_firmware, capsys):
    """--faults selects the rates; at 10 % + 10 % the verdict is a clean link error or all
    windows verified, never a false mismatch."""
    from bedside.cli import main
    rc = main(["bench", "reliability", str(converted_run_dir), "--faults",
               "corrupt=0.1,drop=0.1", "--simulate", "1", "--max-samples", "80",
               "--fuzz-seconds", "0", "--no-stack", "--no-probes", "--no-hostile", "--timeout", "0.05"])
    out = capsys.readouterr().out
    report = json.loads((converted_run_dir / "reliability.json").read_text())
    assert list(report["profiles"]) == ["corrupt 10% + drop 10%"], out
    r = report["profiles"]["corrupt 10% + drop 10%"]
    assert r["faults"]["corrupt"] == 0.1 and r["faults"]["drop"] == 0.1
    assert r["false_mismatches"] == 0, r
    assert r["outcome"] == "passed" or r["outcome"].startswith("link error"), r
    assert rc == (0 if report["passed"] else 1)
    assert report["probes"]["link: corrupt 10% + drop 10%"]["passed"], report["probes"]


def test_bench_rejects_bad_input(tmp_path, capsys):
    from bedside.cli import main
    with pytest.raises(SystemExit) as e:
        main(["bench", "reliability", "--help"])
    assert e.value.code == 0 and "device stops answering" in capsys.readouterr().out
    assert main(["bench", "reliability", str(tmp_path / "nope")]) == 2
    assert main(["bench", "reliability", str(tmp_path), "--profiles", "gremlins"]) == 2
    assert main(["bench", "reliability", str(tmp_path), "--faults", "gremlins=0.1"]) == 2
    assert main(["bench", "reliability", str(tmp_path), "--faults", "drop=2"]) == 2
    assert not (tmp_path / "reliability.json").exists()


@pytest.mark.qemu
def test_cortex_m_worst_case_stack_within_budget(converted_run_dir, tmp_path):
    from bedside.bench.reliability import stack_report
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    r = stack_report(converted_run_dir, 4096, build_dir=tmp_path / "stack")
    assert r["functions"] > 20 and r["path"][0] == "Reset_Handler", r
    assert any("app_poll" in f for f in r["path"]), r["path"]
    assert not r["recursion"] and not r["dynamic"], r
    assert 0 < r["worst_case_bytes"] <= 4096, r
    assert r["within_budget"]
