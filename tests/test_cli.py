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


def test_run_paths_own_the_layout_and_the_docs_show_it(tmp_path):
    """Each LAYOUT row is where RunPaths puts it; docs/architecture.md renders the table."""
    paths = rundir.RunPaths(tmp_path)
    for attr, rel, _, _ in rundir.LAYOUT:
        got = (paths.firmware_dir("host") if attr == "firmware_dir(target)" else
               paths.safety_of("host") if attr == "safety_of(target)" else getattr(paths, attr))
        want = tmp_path / rel.rstrip("/").replace("<target>[-<backend>]", "host").replace(
            "<target>", "host")
        assert got == want, attr
    assert paths.firmware_dir("host", "tflm") == tmp_path / "firmware" / "host-tflm"
    assert rundir.Int8Paths(tmp_path / "x").manifest == tmp_path / "x" / "manifest.json"
    assert rundir.layout_table() in (ROOT / "docs" / "architecture.md").read_text()


def test_training_stages_take_run_dir_only(tmp_path, capsys):
    """`--out`, the former spelling of RUN_DIR, is gone: bad input (exit 2)."""
    for stage in ("data", "train", "distill", "evaluate"):
        with pytest.raises(SystemExit) as e:
            main([stage, "--out", str(tmp_path)])
        assert e.value.code == 2
        assert "unrecognized arguments: --out" in capsys.readouterr().err


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


def test_one_exit_code_table_names_every_command():
    doc = (ROOT / "docs" / "reliability.md").read_text()
    table = doc[doc.index("**Exit codes of every command**"):]
    table = table[:table.index("\n\n", table.index("| command |"))]
    assert "| command | 0 | 1 | 2 | 3 | 4–7 | 8 |" in table
    for name in COMMANDS:
        assert f"`{name}" in table, name


def test_json_option_means_the_same_everywhere(tmp_path, capsys):
    assert main(["ports", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    assert main(["ports", "--json", str(tmp_path / "ports.json")]) == 0
    assert capsys.readouterr().out == ""
    assert isinstance(json.loads((tmp_path / "ports.json").read_text()), list)
    for command in (["verify"], ["build"], ["convert"], ["flash"], ["bench", "link"],
                    ["bench", "engine"], ["bench", "safety"]):
        with pytest.raises(SystemExit):
            main(command + ["--help"])
        assert "--json [FILE]" in capsys.readouterr().out, command


STAGE_FUNCTIONS = {
    "bedside.training.cmd_data": "data", "bedside.training.cmd_train": "train",
    "bedside.training.cmd_distill": "distill", "bedside.training.cmd_evaluate": "evaluate",
    "bedside.training.cmd_study": "study", "bedside.converter.cmd_convert": "convert",
    "bedside.host_tools.builder.cmd_build": "build",
    "bedside.host_tools.verify.cmd_verify": "verify",
    "bedside.bench.safety": "safety", "bedside.bench.personalization": "personalization",
    "bedside.training.cmd_audit": "audit", "bedside.docs": "docs"}


def test_commands_are_functions_and_nothing_re_enters_the_cli(tmp_path):
    """Each stage is a function taking RUN_DIR and keyword options, which the CLI, the demo
    and the benches call; no module outside the tests calls `bedside.cli.main` again."""
    import importlib
    import inspect
    for module, name in STAGE_FUNCTIONS.items():
        mod = importlib.import_module(module)
        fn = getattr(mod, name)
        params = inspect.signature(fn).parameters
        assert next(iter(params)) == "run_dir", module
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):   # every option taken
            from bedside import command
            assert set(command.defaults(mod.add_arguments)) <= set(params), module
    from bedside.training.cmd_data import data
    run = tmp_path / "r"
    assert data(run, quick=True, patients=6, seed=3) == 0
    assert rundir.RunPaths(run).cohort.is_file()
    recorded = json.loads(rundir.RunPaths(run).run_json.read_text())
    assert recorded["config"]["seed"] == 3 and "--patients 6" in recorded["stages"]["data"]["command"]
    from bedside.host_tools.verify.cmd_verify import verify
    with pytest.raises(TypeError, match="no option no_such_option"):
        verify(run, port="loop://", no_such_option=1)
    found = subprocess.run(["git", "grep", "-n", "cli import main", "--", ".", ":!tests"],
                           cwd=ROOT, capture_output=True, text=True).stdout
    assert found == "", found
