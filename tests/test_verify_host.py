"""`bedside verify` end to end on the host firmware (a real POSIX process on a pty / TCP):
bit-exact verification of thousands of windows, window mode, refusals, retries through a
noisy line, reports and the host-only (no TensorFlow) path."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bedside.contract.manifest import constants_sha256
from bedside.ownership import MARKER as KIT_MARKER
from bedside.host_tools.verify import verifier as v
from bedside.cli import main
from bedside.host_tools.builder.firmware import build_firmware
from bedside.host_tools.link.client import Device
from bedside.host_tools.builder.qemu import HostFirmware
from bedside.host_tools.link.throttle import UartRelay

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def host_binary(converted_run_dir):
    return build_firmware(converted_run_dir, target="host").binary


@pytest.fixture
def fw(host_binary):
    with HostFirmware(host_binary) as dev:          # pty
        yield dev


@pytest.fixture
def fw_tcp(host_binary):
    with HostFirmware(host_binary, tcp=True) as dev:
        yield dev


def _verify(url, run_dir, out, *extra) -> int:
    return main(["verify", "--port", url, str(run_dir), "--out", str(out), "--float", "none",
                 *extra])


def test_stream_verification_bit_exact_over_pty(fw, converted_run_dir, tmp_path):
    out = tmp_path / "verify"
    assert _verify(fw.url, converted_run_dir, out, "--simulate", "20", "--seed", "11") == 0
    report = json.loads((out / "verify.json").read_text())
    c = report["counts"]
    assert c["windows_sent"] >= 2000, c                  # the CI target, host side
    assert c["verified"] == c["windows_sent"] == c["windows_received"]
    assert c["mismatched"] == 0 and report["passed"]
    # the safety floor's record of every sample equals the reference's
    assert report["safety_floor"] == {"enabled": True, "samples_compared": c["samples_sent"],
                                      "samples_mismatched": 0}
    assert report["cycles"]["min"] > 0 and report["device"]["board"] == "host"
    assert report["device"]["held_sha256"] == report["manifest_held_sha256"]["compiled"]
    assert report["throughput"]["windows_per_s"] > 100
    assert {"verify.json", "junit.xml", "report.md", "report.html", "risk_trace.png",
            "latency_hist.png", KIT_MARKER} == {f.name for f in out.iterdir()}
    assert '<img src="data:image/png;base64,' in (out / "report.html").read_text()
    assert 'failures="0"' in (out / "junit.xml").read_text()
    assert "PASSED" in (out / "report.md").read_text()
    assert "safety-floor records compared" in (out / "report.md").read_text()


def test_window_mode_over_tcp(fw_tcp, converted_run_dir, tmp_path):
    out = tmp_path / "w"
    assert _verify(fw_tcp.url, converted_run_dir, out, "--simulate", "1", "--windows-mode",
                   "--warmup", "2", "--no-plots") == 0
    r = json.loads((out / "verify.json").read_text())
    assert r["mode"] == "windows" and r["counts"]["mismatched"] == 0
    assert r["counts"]["inferences"] == r["counts"]["windows_sent"] + 2


def _edited_copy(run_dir: Path, dst: Path, edit) -> Path:
    shutil.copytree(run_dir / "int8", dst / "int8", ignore=shutil.ignore_patterns("gen"))
    path = dst / "int8" / "manifest.json"
    m = json.loads(path.read_text())
    edit(m, dst)
    path.write_text(json.dumps(m, indent=2))
    return dst


def test_refuses_wrong_model_hash(fw, converted_run_dir, tmp_path, capsys):
    def edit(m, dst):
        model = dst / "int8" / "model.tflite"
        model.write_bytes(model.read_bytes() + bytes(16))     # another model file
        import hashlib
        m["model"]["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    run = _edited_copy(converted_run_dir, tmp_path / "other", edit)
    assert _verify(fw.url, run, tmp_path / "o", "--simulate", "1") == v.EXIT_MODEL_HASH
    assert "model mismatch" in capsys.readouterr().err
    assert not json.loads((tmp_path / "o" / "verify.json").read_text())["passed"]  # failing report


def test_refuses_other_alarm_constants(fw, converted_run_dir, tmp_path):
    def edit(m, dst):
        m["alarm"]["min_duration"] += 1
        m["preprocessing"]["sha256"] = constants_sha256(m["preprocessing"], m["alarm"],
                                                        m["window"])
    run = _edited_copy(converted_run_dir, tmp_path / "alarm", edit)
    assert _verify(fw.url, run, tmp_path / "o", "--simulate", "1") == v.EXIT_PREPROC_HASH


def test_refuses_wrong_protocol_version(fw, converted_run_dir, tmp_path, capsys):
    # the host speaks version 1 frames (an older host): the device NAKs BAD_VERSION
    assert _verify(fw.url, converted_run_dir, tmp_path / "o", "--simulate", "1",
                   "--protocol-version", "1") == v.EXIT_PROTOCOL
    assert "protocol version mismatch" in capsys.readouterr().err
    # the manifest expects another protocol than the device reports in INFO
    run = _edited_copy(converted_run_dir, tmp_path / "proto",
                       lambda m, dst: m.update(protocol_version=1))
    assert _verify(fw.url, run, tmp_path / "o", "--simulate", "1") == v.EXIT_PROTOCOL


def test_bad_input_and_missing_port(converted_run_dir, tmp_path, capsys):
    assert _verify("socket://127.0.0.1:1", converted_run_dir, tmp_path / "o",
                   "--simulate", "1") == v.EXIT_LINK
    assert "connection refused" in capsys.readouterr().err
    assert _verify("loop://", tmp_path, tmp_path / "o", "--simulate", "1") == v.EXIT_USAGE
    assert "manifest not found" in capsys.readouterr().err


def test_retries_on_a_noisy_line_keep_verification_exact(fw, converted_run_dir):
    """Bit flips in both directions (the real firmware NAKs bad frames; the host drops
    bad replies): every request is retried with its seq and nothing is processed twice."""
    with UartRelay(fw.url, baudrate=None, corrupt_every=1500) as relay:
        with Device(relay.url, timeout=0.5, retries=8) as dev:
            s = v.verify_device(dev, converted_run_dir, simulate=2, seed=5)
        assert relay.corrupted > 0
    assert s["passed"] and s["counts"]["mismatched"] == 0
    assert s["counts"]["retried"] > 0 and s["link"]["bad_frames"] + s["link"]["naks"] > 0


def test_mismatch_is_detected_and_reported(fw, converted_run_dir, tmp_path):
    """A device answer that differs from the reference in one output byte is caught, with
    context, and the JUnit file fails."""
    from bedside.contract import protocol as p
    from bedside.host_tools.verify import reports
    from bedside.reference.pipeline import Contract
    with Device(fw.url) as dev:
        real = dev.send_samples
        state = {"n": 0}

        def flip_one(samples):           # corrupt the 3rd result the device sent, host side
            total, results = real(samples)
            out = []
            for r in results:
                state["n"] += 1
                if state["n"] == 3:
                    r = p.Result(r.window_index, r.sample_index, r.cycles, r.alarm, r.flags,
                                 bytes([(r.output[0] + 1) & 0xFF]))
                out.append(r)
            return total, out
        dev.send_samples = flip_one
        verifier = v.Verifier(dev, Contract.from_run(converted_run_dir))
        verifier.handshake()
        from bedside.sources.simulator import simulate_patient
        verifier.stream_patient("p", simulate_patient(3, 0).raw)
        s = verifier.summary()
    assert s["counts"]["mismatched"] == 1 and not s["passed"]
    m = s["first_mismatches"][0]
    assert m["window_index"] == 2 and m["what"].startswith("output")
    assert len(m["context"]) == 2
    s.update(mode="stream", port=fw.url, run_dir="r", source="s", float_comparison={},
             device=dev.info.as_dict())
    out = reports.write(tmp_path / "rep", s, verifier.traces, verifier.cycles, 0, plots=False)
    assert 'failures="1"' in (out / "junit.xml").read_text()     # the one patient's case
    assert "FAILED" in (out / "report.md").read_text()


def test_host_only_environment_verifies_without_tensorflow(fw_tcp, converted_run_dir,
                                                           tmp_path):
    """With TensorFlow made unimportable, verify still runs and says the float check was
    skipped; no tensorflow/keras module gets imported on the way."""
    out = tmp_path / "v"
    code = textwrap.dedent(f"""
        import sys
        sys.modules['tensorflow'] = sys.modules['keras'] = None   # "not installed"
        from bedside.cli import main
        rc = main(['verify', '--port', {fw_tcp.url!r}, {str(converted_run_dir)!r},
                   '--simulate', '1', '--out', {str(out)!r}, '--no-plots'])
        bad = [m for m, mod in sys.modules.items()
               if m.split('.')[0] in ('tensorflow', 'keras') and mod is not None]
        assert not bad, bad
        sys.exit(rc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fc = json.loads((out / "verify.json").read_text())["float_comparison"]
    assert fc["n"] == 0 and "TensorFlow is not installed" in fc["skipped"]


def test_paced_streaming_follows_speed(fw_tcp, converted_run_dir, tmp_path):
    """--speed X sends samples at X times real time (one per 60 s / X), still exact."""
    out = tmp_path / "paced"
    assert _verify(fw_tcp.url, converted_run_dir, out, "--simulate", "1", "--speed", "60000",
                   "--no-plots") == 0
    r = json.loads((out / "verify.json").read_text())
    expected = r["counts"]["samples_sent"] * 60 / 60000          # 1 ms per sample
    assert expected * 0.95 <= r["throughput"]["link_time_s"] <= expected * 1.5 + 0.5
    assert r["counts"]["mismatched"] == 0 and r["speed"] == 60000


def test_data_file_and_unknown_format(fw_tcp, converted_run_dir, tmp_path, capsys):
    from bedside.sources.cohort import Cohort
    from bedside.sources.simulator import simulate_patient
    path = tmp_path / "two.npz"
    Cohort.from_patients([simulate_patient(8, i) for i in range(2)], seed=8).save(path)
    out = tmp_path / "d"
    assert _verify(fw_tcp.url, converted_run_dir, out, "--data", str(path), "--no-plots") == 0
    r = json.loads((out / "verify.json").read_text())
    assert r["counts"]["patients"] == 2 and r["counts"]["mismatched"] == 0
    csv = tmp_path / "long.csv"                     # long-format CSV (bedside.sources.loaders)
    rows = ["patient_id,time_min,hr,sbp,dbp,map,spo2,rr,temp"]
    rows += [f"bed{k},{t},{80 + (t * (k + 3)) % 40},{120 - t % 30},70,{85 - t % 20},97,16,"
             + ("37.2" if t % 60 == 0 else "") for k in range(2) for t in range(300)]
    csv.write_text("\n".join(rows) + "\n")
    assert _verify(fw_tcp.url, converted_run_dir, out, "--data", str(csv), "--no-plots") == 0
    r = json.loads((out / "verify.json").read_text())
    assert r["counts"]["patients"] == 2 and r["counts"]["verified"] == 2 * 49
    bad = tmp_path / "x.parquet"
    bad.write_text("?")
    assert _verify(fw_tcp.url, converted_run_dir, out, "--data", str(bad)) == v.EXIT_USAGE
    assert "unknown data format '.parquet'" in capsys.readouterr().err


def test_bench_link_reaches_link_capacity(fw_tcp, converted_run_dir, tmp_path, capsys):
    """bedside bench link: rate-limited to 115,200 baud through the UART relay, the bench
    reports the link utilisation (its >= 90 % target is the bench's own verdict: a speed
    figure, not a unit-test assertion, since a loaded machine lowers it); the relay really
    limits the rate; unthrottled it verifies far more windows per second."""
    out = tmp_path / "bench.json"
    assert main(["bench", "link", "--port", fw_tcp.url, str(converted_run_dir),
                 "--simulate", "1", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    print(capsys.readouterr().out)
    assert 0 < r["rate_limited"]["throughput"]["link_utilisation"] <= 1.05   # timer jitter
    assert r["rate_limited"]["counts"]["mismatched"] == 0
    assert (r["unthrottled"]["throughput"]["windows_per_s"]
            > 5 * r["rate_limited"]["throughput"]["windows_per_s"])


def test_monitor_shows_device_simulator_and_streamed_patient(fw_tcp, capsys):
    assert main(["monitor", "--port", fw_tcp.url, "--samples", "200", "--speed", "1e7"]) == 0
    out = capsys.readouterr().out
    assert "risk" in out and "alarm" in out and "29 windows" in out      # ends 59, 64, ..., 199
    assert main(["monitor", "--port", fw_tcp.url, "--simulate", "1", "--samples", "120",
                 "--speed", "1e7"]) == 0
    out = capsys.readouterr().out
    assert "hr" in out and "bpm" in out and "13 windows" in out


def test_check_info_names_every_identity_field(converted_run_dir):
    """INFO against the manifest and the build record: each differing field is refused with
    exit 5 naming it; firmware older than build_id is read and refused (exit 7)."""
    import dataclasses
    from bedside.contract import protocol as p
    c = v.load_contract(converted_run_dir)
    held = v.expected_held(c, 0)["compiled"]
    from bedside.contract.manifest import GEN_FORMAT
    info = p.Info(p.VERSION, GEN_FORMAT, 0, "host", 10**9, bytes.fromhex(c.model_sha256),
                  bytes.fromhex(c.preproc_sha256), c.n_signals, c.window_length, c.stride,
                  c.input_bytes, c.output_bytes, c.input_scale, c.input_zero_point,
                  c.output_scale, c.output_zero_point, 1024, held, bytes(range(8)), 1)
    build = {"build_id": bytes(range(8)).hex(), "board": "host", "core_clock_hz": 10**9,
             "backend": "compiled", "gen_format": GEN_FORMAT, "model_format": 1}
    v.check_info(info, c, build)
    assert v.expected_held(c, 1)["tflm"] != held      # the backend is part of the identity
    for name, value in (("held_sha256", bytes(32)), ("gen_format", GEN_FORMAT + 1),
                        ("backend", 7)):
        with pytest.raises(v.Refusal, match=name) as e:
            v.check_info(dataclasses.replace(info, **{name: value}), c)
        assert e.value.code == v.EXIT_PREPROC_HASH
    for name, value in (("build_id", bytes(8)), ("board", "mps2-an386"),
                        ("core_clock_hz", 25_000_000), ("backend", 1), ("model_format", 2)):
        changed = dataclasses.replace(info, **{name: value})
        if name == "backend":        # a tflm device holding this run's model: only the build differs
            changed = dataclasses.replace(changed, held_sha256=v.expected_held(c, 1)["tflm"])
        v.check_info(changed, c)                                # the manifest alone accepts it
        with pytest.raises(v.Refusal, match=f"INFO {name} = ") as e:
            v.check_info(changed, c, build)
        assert e.value.code == v.EXIT_PREPROC_HASH
    with pytest.raises(p.OlderInfoError, match="predates"):     # verify: exit 7 (below)
        p.parse_info(p.info_payload(info)[:-9])


def test_verify_refuses_an_older_info_with_exit_7(converted_run_dir, tmp_path, capsys):
    """A device (here a TCP peer answering HELLO) whose INFO ends before build_id: refused
    unread, exit 7, one line saying to rebuild and flash."""
    import socket
    import threading
    from bedside.contract import protocol as p
    from bedside.host_tools.link import protocol_vectors
    old = p.info_payload(protocol_vectors._info())[:-9]
    server = socket.create_server(("127.0.0.1", 0))

    def device():
        conn, _ = server.accept()
        decoder = p.FrameDecoder()
        with conn:
            while data := conn.recv(4096):
                for f in decoder.feed(data):
                    if isinstance(f, p.Frame) and f.type == p.MsgType.HELLO:
                        conn.sendall(p.encode_frame(p.Frame(p.MsgType.INFO, f.seq, old)))
    threading.Thread(target=device, daemon=True).start()
    url = f"socket://127.0.0.1:{server.getsockname()[1]}"
    try:
        assert _verify(url, converted_run_dir, tmp_path / "o") == v.EXIT_PROTOCOL
    finally:
        server.close()
    err = capsys.readouterr().err
    assert "without build_id" in err and "rebuild and flash" in err and "Traceback" not in err


def _weight_mutated(tflite: bytes) -> bytes:
    """The same model with one int8 weight changed by one (same shapes, labels, I/O)."""
    from bedside.converter.engine.tflite_reader import read_model
    for t in read_model(tflite).tensors:
        data = None if t.data is None else t.data.tobytes()
        if t.type == "int8" and data and len(data) >= 16 and tflite.count(data) == 1:
            at = tflite.index(data)
            return tflite[:at] + bytes([(tflite[at] + 1) % 256]) + tflite[at + 1:]
    raise AssertionError("no int8 weight tensor found")


def test_refuses_firmware_holding_other_weights_or_constants(converted_run_dir, host_binary,
                                                             tmp_path, capsys):
    """Real host firmware whose labels (model and preprocessing hashes) say this run but
    whose memory holds another model's weights, other personalization settings or another
    safety floor: `bedside verify` refuses each with exit 5 naming held_sha256; the right
    firmware checked against another build's record is refused naming build_id."""
    import re
    from bedside.converter.engine import codegen
    gen = tmp_path / "gen"
    shutil.copytree(converted_run_dir / "int8" / "gen", gen)
    build = tmp_path / "build"

    def refused(field: str, *extra) -> None:
        binary = build_firmware(None, "host", gen_dir=gen, build_dir=build).binary
        with HostFirmware(binary) as dev:
            capsys.readouterr()
            rc = _verify(dev.url, converted_run_dir, tmp_path / "out", "--simulate", "1",
                         "--no-plots", *extra)
        assert rc == v.EXIT_PREPROC_HASH, capsys.readouterr().err
        assert field in capsys.readouterr().err

    # another model's weights behind this run's labels (model_config.h is the run's)
    tflite = (converted_run_dir / "int8" / "model.tflite").read_bytes()
    codegen.generate(_weight_mutated(tflite), gen, command="test: one weight changed")
    refused("held_sha256")
    shutil.copy(converted_run_dir / "int8" / "gen" / "model_engine.h", gen)
    shutil.copy(converted_run_dir / "int8" / "gen" / "model_engine.cc", gen)
    config = gen / "model_config.h"
    original = config.read_text()
    for pattern in (r"(kPersonalLimitHi\[kNumSignals\] = \{)(-?\d+)",   # personalization
                    r"(kSafetySustain = )(\d+)"):                          # safety floor
        assert re.search(pattern, original), pattern
        config.write_text(re.sub(pattern, lambda m: m.group(1) + str(int(m.group(2)) + 1),
                                 original, count=1))
        refused("held_sha256")
    # the run's own firmware is accepted, but not as the (different) build just made
    config.write_text(original)
    with HostFirmware(host_binary) as dev:
        assert _verify(dev.url, converted_run_dir, tmp_path / "ok", "--simulate", "1",
                       "--no-plots") == 0
        capsys.readouterr()
        assert _verify(dev.url, converted_run_dir, tmp_path / "b", "--simulate", "1",
                       "--no-plots", "--build", str(build)) == v.EXIT_PREPROC_HASH
        assert "INFO build_id = " in capsys.readouterr().err
        assert _verify(dev.url, converted_run_dir, tmp_path / "ok2", "--simulate", "1",
                       "--no-plots", "--build", str(host_binary.parent)) == 0
