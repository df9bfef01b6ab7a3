"""Host-side bad input and the locked model (complements tests/test_verify_host.py).

Corrupt run directories (manifest not JSON, another format_version, a missing field, the
model missing or altered), a port that does not exist or is busy: clear error naming the
file/field/port, exit 2 (input: no report folder written) or 3 (link: a failing report).
A verified device's model and preprocessing SHA-256 are recorded in verify.json and equal
the run's.
"""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from bedside.contract.manifest import constants_sha256
from bedside.host_tools.verify import verifier as v
from bedside.cli import main
from bedside.host_tools.link.client import Device
from bedside.host_tools.builder.qemu import HostFirmware


def _verify(url, run_dir, out, *extra) -> int:
    return main(["verify", "--port", url, str(run_dir), "--out", str(out), "--float", "none",
                 "--no-plots", *extra])


def _copy_int8(run_dir, dst):
    shutil.copytree(run_dir / "int8", dst / "int8", ignore=shutil.ignore_patterns("gen"))
    return dst


def _manifest_text(edit):
    def f(dst):
        path = dst / "int8" / "manifest.json"
        path.write_text(edit(path.read_text()))
    return f


def _manifest_json(edit):
    def f(dst):
        path = dst / "int8" / "manifest.json"
        m = json.loads(path.read_text())
        edit(m)
        path.write_text(json.dumps(m))
    return f


CORRUPTIONS = {
    "manifest not JSON": (_manifest_text(lambda t: t[: len(t) // 2]), "manifest.json"),
    "manifest of another format_version": (_manifest_json(lambda m: m.update(format_version=99)),
                                           "format_version"),
    "manifest without its model": (_manifest_json(lambda m: m.pop("model")), "model"),
    "model.tflite missing": (lambda dst: (dst / "int8" / "model.tflite").unlink(), "model.tflite"),
    "model.tflite altered": (lambda dst: (dst / "int8" / "model.tflite").write_bytes(
        (dst / "int8" / "model.tflite").read_bytes()[:-8] + bytes(8)), "sha256"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupt_run_dir_is_a_clear_input_error(name, converted_run_dir, tmp_path, capsys):
    corrupt, needle = CORRUPTIONS[name]
    run = _copy_int8(converted_run_dir, tmp_path / "run")
    corrupt(run)
    rc = _verify("loop://", run, tmp_path / "out", "--simulate", "1")
    err = capsys.readouterr().err
    assert rc == v.EXIT_USAGE, (name, rc, err)
    assert needle in err.replace("\n", ""), (name, err)
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() and not (run / "verify").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]          # no temp folders left


def test_missing_and_busy_ports(host_firmware, converted_run_dir, tmp_path, capsys):
    assert _verify(str(tmp_path / "ttyNOPE"), converted_run_dir, tmp_path / "o",
                   "--simulate", "1") == v.EXIT_LINK
    assert "no such port" in capsys.readouterr().err.replace("\n", " ")
    with HostFirmware(host_firmware.binary) as fw:                 # a pty
        with Device(fw.url, timeout=1.0) as holder:                # another program has it
            holder.hello()
            assert _verify(fw.url, converted_run_dir, tmp_path / "o",
                           "--simulate", "1") == v.EXIT_LINK
            assert "busy" in capsys.readouterr().err
    report = json.loads((tmp_path / "o" / "verify.json").read_text())   # a failing report
    assert not report["passed"] and report["error"]["exit_code"] == v.EXIT_LINK
    with HostFirmware(host_firmware.binary, tcp=True) as fw:       # TCP: one client at a time
        with Device(fw.url, timeout=1.0) as holder:
            holder.hello()
            # the firmware tells the second client it is busy and closes: a link error (3),
            # not a device that stopped answering mid-run (8) (issue 25)
            assert _verify(fw.url, converted_run_dir, tmp_path / "o",
                           "--simulate", "1") == v.EXIT_LINK
            assert "busy" in capsys.readouterr().err


def test_verify_json_records_the_locked_model(host_firmware, converted_run_dir, tmp_path):
    m = json.loads((converted_run_dir / "int8" / "manifest.json").read_text())
    model_sha = hashlib.sha256((converted_run_dir / "int8" / "model.tflite").read_bytes())
    preproc_sha = constants_sha256(m["preprocessing"], m["alarm"], m["window"])
    with HostFirmware(host_firmware.binary, tcp=True) as fw:
        assert _verify(fw.url, converted_run_dir, tmp_path / "o", "--simulate", "1") == 0
    r = json.loads((tmp_path / "o" / "verify.json").read_text())
    assert r["device"]["model_sha256"] == r["manifest_model_sha256"] == model_sha.hexdigest()
    assert r["device"]["preproc_sha256"] == r["manifest_preproc_sha256"] == preproc_sha
    assert m["preprocessing"]["sha256"] == preproc_sha
