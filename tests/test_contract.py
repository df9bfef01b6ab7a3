"""The contract lives in one TensorFlow-free package, and a run's manifest is its only source
once converted: editing the signal table later changes neither what the run is verified
against nor the C sources generated for it."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bedside.contract import manifest as mf
from bedside import protocol_header
from bedside.contract import preprocess
from bedside.cli import main
from bedside.contract.signals import SIGNALS, TABLE, Constants
from bedside.host_tools.verify import verifier as v
from bedside.host_tools.builder.qemu import HostFirmware
from bedside.rundir import RunPaths

ROOT = Path(__file__).resolve().parents[1]


def test_console_script_entry_point_is_bedside_cli():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'bedside = "bedside.cli:main"' in text


def test_protocol_header_is_generated_from_the_python_spec():
    assert protocol_header.main(["--check"]) == 0
    text = protocol_header.render()
    assert f"kResultHeaderBytes = {protocol_header.p.RESULT_HEADER_BYTES};" in text
    for m in protocol_header.p.MsgType:
        assert f"= 0x{m.value:02X}," in text


def _edited_table_verify(run_dir: Path, url: str, out: Path) -> subprocess.CompletedProcess:
    """`bedside verify` in a process whose signal table was edited after conversion
    (every centre moved), as if someone changed bedside/contract/signals.py."""
    code = ("import dataclasses, sys\n"
            "import bedside.contract.signals as s\n"
            "s.SIGNALS = tuple(dataclasses.replace(x, center=x.center + 7) for x in s.SIGNALS)\n"
            "s.TABLE = s.Constants.from_signals(s.SIGNALS)\n"
            "from bedside.cli import main\n"
            f"sys.exit(main(['verify', '--port', {url!r}, {str(run_dir)!r}, '--out', "
            f"{str(out)!r}, '--float', 'none', '--simulate', '2', '--no-plots']))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_verify_uses_the_runs_manifest_not_the_signal_table(host_firmware, converted_run_dir,
                                                            tmp_path):
    m = mf.load_manifest(RunPaths(converted_run_dir).manifest)
    k = mf.constants(m)
    edited = Constants.from_signals(tuple(dataclasses.replace(s, center=s.center + 7)
                                          for s in SIGNALS))
    raw = np.tile(TABLE.center.astype(np.int16), (80, 1))
    # the edit matters: the table's preprocessing would differ from the run's
    assert not np.array_equal(preprocess.preprocess_stream(raw, k=edited),
                              preprocess.preprocess_stream(raw, k=k))
    with HostFirmware(host_firmware.binary) as dev:
        r = _edited_table_verify(converted_run_dir, dev.url, tmp_path / "o")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "o" / "verify.json").read_text())["counts"]["mismatched"] == 0


def test_device_disagreeing_with_the_manifest_is_refused(host_firmware, converted_run_dir,
                                                         tmp_path):
    run = tmp_path / "run"
    shutil.copytree(converted_run_dir / "int8", run / "int8", ignore=shutil.ignore_patterns("gen"))
    path = run / "int8" / "manifest.json"
    m = json.loads(path.read_text())
    m["preprocessing"]["signals"][0]["center"] += 7
    m["preprocessing"]["sha256"] = mf.constants_sha256(m["preprocessing"], m["alarm"], m["window"])
    path.write_text(json.dumps(m))
    assert mf.constants(mf.load_manifest(RunPaths(run).manifest)).center[0] == TABLE.center[0] + 7
    with HostFirmware(host_firmware.binary) as dev:
        rc = main(["verify", "--port", dev.url, str(run), "--out", str(tmp_path / "o"),
                   "--float", "none", "--simulate", "1", "--no-plots"])
    assert rc == v.EXIT_PREPROC_HASH


def test_generated_header_follows_the_manifest(converted_run_dir):
    from bedside.converter import gen_sources
    m = mf.load_manifest(RunPaths(converted_run_dir).manifest)
    m["preprocessing"]["signals"][0]["center"] = 99
    text = gen_sources.model_config_h(m, "// test\n")
    centers = [99] + [int(c) for c in TABLE.center[1:]]
    assert "kCenter[kNumSignals] = {" + ", ".join(map(str, centers)) + "}" in text


def test_bad_preprocessing_fields_are_named(converted_run_dir, tmp_path):
    m = mf.load_manifest(RunPaths(converted_run_dir).manifest)
    for field, value, needle in [("multiplier", "x", "signals[2].multiplier"),
                                 ("center", 1.5, "signals[2].center"),
                                 ("valid_min", 10**6, "signals[2].valid_min")]:
        bad = json.loads(json.dumps(m))
        bad["preprocessing"]["signals"][2][field] = value
        try:
            mf.constants(bad)
        except mf.ManifestError as e:
            assert needle in str(e)
        else:
            raise AssertionError(f"{field}={value!r} accepted")


def test_the_contract_record_is_typed_immutable_and_read_by_the_reference(converted_run_dir):
    """One record from the manifest: keyword-built frozen dataclasses, the reference's
    Contract reads its fields from it, and INFO is compared against its fields."""
    from bedside.contract import record
    from bedside.contract.protocol import Info
    from bedside.reference.pipeline import Contract
    r = record.read(RunPaths(converted_run_dir).manifest)
    m = json.loads(RunPaths(converted_run_dir).manifest.read_text())
    assert r.window == record.Window(length=m["window"]["length"], stride=m["window"]["stride"])
    with pytest.raises(TypeError):                 # keyword-built
        record.Window(60, 5)
    assert r.quantization.output.zero_point == m["model"]["output"]["zero_point"]
    assert r.alarm.on_q == m["alarm"]["on_q"] and r.model.sha256 == m["model"]["sha256"]
    assert r.personalization.as_dict() == m["preprocessing"]["personalization"]
    assert r.safety.as_dict() == m["alarm"]["safety"]
    assert [s.name for s in r.signals] == list(r.preprocessing.constants.names)
    for obj, name in ((r, "window"), (r.window, "length"), (r.alarm, "on_q"),
                      (r.quantization.input, "scale")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 1)
    c = Contract.from_run(converted_run_dir)
    assert c.record.model == r.model and c.record.window == r.window
    assert (c.window_length, c.output_zero_point, c.on_q) == \
        (r.window.length, r.quantization.output.zero_point, r.alarm.on_q)
    assert set(r.info_fields()) <= {f.name for f in dataclasses.fields(Info)}


@pytest.mark.parametrize("edit, field", [
    (lambda m: m["model"]["output"].update(bytes="1"), "model.output.bytes"),
    (lambda m: m["model"]["input"].pop("scale"), "model.input.scale"),
    (lambda m: m["window"].update(stride=0), "window.stride"),
    (lambda m: m["alarm"].update(on_q=True), "alarm.on_q"),
    (lambda m: m.update(model=[]), "model"),
    (lambda m: m["signals"][1].update(name=7), "signals[1].name"),
    (lambda m: m["model"].update(sha256="x" * 64), "model.sha256"),
    (lambda m: m.update(format_version=0), "format_version"),
])
def test_one_validator_names_file_and_field(converted_run_dir, tmp_path, edit, field):
    from bedside.contract import record
    m = json.loads(RunPaths(converted_run_dir).manifest.read_text())
    edit(m)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(m))
    with pytest.raises(record.ManifestError) as e:
        record.read(path)
    assert (e.value.file, e.value.field) == (path, field)
    assert str(path) in str(e.value) and field in str(e.value)
    with pytest.raises(mf.ManifestError):          # the raw loader runs the same validator
        mf.load_manifest(path)


def test_validator_names_personalization_and_safety_fields(converted_run_dir, tmp_path):
    from bedside.contract import record
    m = json.loads(RunPaths(converted_run_dir).manifest.read_text())
    m["preprocessing"]["personalization"]["blocks"] = 0
    m["alarm"]["safety"]["sustain_minutes"] = 0
    m["preprocessing"]["sha256"] = mf.constants_sha256(m["preprocessing"], m["alarm"], m["window"])
    with pytest.raises(record.ManifestError) as e:
        record.validate(m, tmp_path / "m.json")
    assert e.value.field == "preprocessing.personalization.blocks"
    m["preprocessing"]["personalization"]["blocks"] = 8
    m["preprocessing"]["sha256"] = mf.constants_sha256(m["preprocessing"], m["alarm"], m["window"])
    with pytest.raises(record.ManifestError) as e:
        record.validate(m, tmp_path / "m.json")
    assert e.value.field == "alarm.safety.sustain_minutes"
