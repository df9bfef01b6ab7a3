"""`bedside verify` on the emulated Cortex-M4 (QEMU mps2-an386): the firmware as it runs on
a board, its UART on TCP, every window compared bit for bit with the Python reference."""
from __future__ import annotations

import json

import pytest

from bedside.host_tools.verify import verifier as v
from bedside.cli import main

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def an386(converted_run_dir):
    from bedside.host_tools.builder.firmware import build_firmware
    build_firmware(converted_run_dir, target="mps2-an386")
    from bedside.host_tools.builder.qemu import launch
    with launch(converted_run_dir, target="mps2-an386", tcp_port=0) as dev:
        yield dev


def test_stream_and_window_verification_on_qemu(an386, converted_run_dir, tmp_path):
    out = tmp_path / "verify"
    build = converted_run_dir / "firmware" / "mps2-an386"     # INFO checked against its record
    rc = main(["verify", "--port", an386.url, str(converted_run_dir), "--simulate", "20",
               "--seed", "21", "--out", str(out), "--float", "none", "--build", str(build)])
    r = json.loads((out / "verify.json").read_text())
    assert rc == 0, r["first_mismatches"]
    c = r["counts"]
    assert c["verified"] == c["windows_sent"] >= 2000 and c["mismatched"] == 0
    assert r["device"]["board"] == "mps2-an386"
    assert r["device"]["build_id"] == r["build"]["build_id"]
    assert r["device"]["held_sha256"] == r["manifest_held_sha256"]["compiled, DSP kernels"]
    assert 0 < r["cycles"]["min"] <= r["cycles"]["max"]
    rc = main(["verify", "--port", an386.url, str(converted_run_dir), "--simulate", "2",
               "--windows-mode", "--max-windows", "60", "--out", str(tmp_path / "w"),
               "--float", "none", "--no-plots"])
    assert rc == 0
    w = json.loads((tmp_path / "w" / "verify.json").read_text())
    assert w["counts"]["verified"] == w["counts"]["windows_sent"] == 60


def test_qemu_refuses_a_run_with_another_model(an386, converted_run_dir, tmp_path):
    import hashlib
    import shutil
    other = tmp_path / "other"
    shutil.copytree(converted_run_dir / "int8", other / "int8",
                    ignore=shutil.ignore_patterns("gen"))
    model = other / "int8" / "model.tflite"
    model.write_bytes(model.read_bytes() + bytes(8))
    m = json.loads((other / "int8" / "manifest.json").read_text())
    m["model"]["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    (other / "int8" / "manifest.json").write_text(json.dumps(m))
    assert main(["verify", "--port", an386.url, str(other), "--simulate", "1",
                 "--out", str(tmp_path / "o")]) == v.EXIT_MODEL_HASH
