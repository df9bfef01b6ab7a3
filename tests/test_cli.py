"""The command line's shared conventions: --version, the optional RUN_DIR with its default
(the most recent run), `--json [FILE]`, and every command's --help with its docstring."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bedside import rundir
from bedside.cli import COMMANDS, main
from bedside.version import kit_version

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR_COMMANDS = ("data", "train", "distill", "evaluate", "audit", "convert", "build",
                    "emulate", "verify", "demo")


def bedside(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bedside.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"bedside-kit {kit_version()} ")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_help_shows_its_usage(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert f"bedside {command}" in out           # the module docstring closes the help
    if command in RUN_DIR_COMMANDS:
        assert "[RUN_DIR]" in out.split("\n\n")[0]   # optional positional, in the usage line


def test_verify_help_lists_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for code in ("0 all bit-exact", "1 mismatch", "2 bad input", "3 link error",
                 "8 device not answering"):
        assert code in out


def test_latest_run_is_the_last_written(tmp_path):
    assert rundir.latest(tmp_path / "runs") is None
    for i, name in enumerate(("b", "a")):         # "a" written last, though sorted first
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "run.json").write_text("{}")
        os.utime(tmp_path / "runs" / name / "run.json", (time.time() + i, time.time() + i))
    assert rundir.latest(tmp_path / "runs") == tmp_path / "runs" / "a"


def test_train_without_a_run_says_what_to_pass(tmp_path):
    proc = bedside("train", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pass RUN_DIR" in proc.stderr and "bedside data" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stages_without_run_dir_continue_the_latest_run(tmp_path):
    proc = bedside("data", "--quick", "--patients", "6", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "data" / "cohort.npz").is_file()
    # the next stage takes that run; it lacks a Teacher, so evaluate names the command to run
    proc = bedside("evaluate", "--quick", cwd=tmp_path)
    assert f"using the most recent run {Path('runs') / run.name}" in proc.stderr
    assert f"run `bedside train {Path('runs') / run.name}` first" in proc.stderr + proc.stdout
    recorded = json.loads((run / "run.json").read_text())["stages"]["data"]["command"]
    assert recorded.endswith(str(Path("runs") / run.name))


def test_json_option_means_the_same_everywhere(tmp_path, capsys):
    assert main(["ports", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    assert main(["ports", "--json", str(tmp_path / "ports.json")]) == 0
    assert capsys.readouterr().out == ""
    assert isinstance(json.loads((tmp_path / "ports.json").read_text()), list)
    for command in (["verify"], ["bench", "link"], ["bench", "engine"], ["bench", "safety"]):
        with pytest.raises(SystemExit):
            main(command[:1] + ["--help"] if command == ["verify"] else command + ["--help"])
        assert "--json [FILE]" in capsys.readouterr().out, command
