"""Link faults: `bedside verify` through the fault-injecting proxy against the real host firmware.

Under 1 % corrupted + 1 % dropped bytes in both directions every window is verified, none
is lost, no false mismatch is reported and the retries are printed; a device that stops
answering (proxy stall, or a hung firmware process) exits 8 within a bounded time and
writes no report. docs/reliability.md.
"""
from __future__ import annotations

import json
import os
import random
import signal
import time

import numpy as np
import pytest

from bedside.host_tools.link.faultlink import DirectionCounters, FaultLink, Faults, apply_faults
from bedside.host_tools.builder.qemu import HostFirmware

TIMEOUT = 0.1   # reply timeout for these runs: the host firmware answers within ms


def small_cohort(path, n_patients=2, length=240, seed=2026):
    """A cohort .npz of short simulated streams (`bedside verify --data`)."""
    from bedside.sources.cohort import Cohort
    from bedside.sources.simulator import simulate_patient
    patients = []
    for i in range(n_patients):
        pt = simulate_patient(seed, i)
        pt.raw = pt.raw[:length]
        pt.privileged = pt.privileged[:length]
        patients.append(pt)
    Cohort.from_patients(patients, seed).save(path)
    return path


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return small_cohort(tmp_path_factory.mktemp("rel") / "short.npz")


def run_verify(run_dir, url, data, out, *extra):
    from bedside.cli import main
    return main(["verify", str(run_dir), "--port", url, "--data", str(data), "--timeout",
                 str(TIMEOUT), "--float", "none", "--no-plots", "--out", str(out), *extra])


def test_faults_are_seeded_and_counted():
    data = bytes(range(256)) * 40
    f = Faults(drop=0.01, corrupt=0.01, duplicate=0.01, delay=0.001, delay_s=0.0)
    outs = []
    for _ in range(2):
        c = DirectionCounters()
        chunks = apply_faults(data, f, random.Random("7/to_device"), c)
        outs.append(b"".join(x for x in chunks if isinstance(x, bytes)))
        assert c.bytes_in == len(data)
        assert 50 < c.dropped < 170 and 50 < c.corrupted < 170 and 50 < c.duplicated < 170
        assert len(outs[-1]) == len(data) - c.dropped + c.duplicated
    assert outs[0] == outs[1]
    c = DirectionCounters()
    other = apply_faults(data, f, random.Random("8/to_device"), c)
    assert b"".join(x for x in other if isinstance(x, bytes)) != outs[0]


@pytest.mark.parametrize("name,faults", [
    ("1% corrupt + 1% drop", Faults(drop=0.01, corrupt=0.01)),
    ("duplicates + delays", Faults(duplicate=0.01, delay=0.001, delay_s=0.03)),
])
def test_verify_survives_a_noisy_link(name, faults, host_firmware, converted_run_dir,
                                      data_file, tmp_path, capsys):
    with HostFirmware(host_firmware.binary, tcp=True) as dev, \
            FaultLink(dev.url, faults, faults, seed=11) as link:
        # 10 timeouts in a row (1 s of silence) before giving up: margin for a loaded CI box
        rc = run_verify(converted_run_dir, link.url, data_file, tmp_path / "v", "--retries", "10")
        stats = link.stats()
    out = capsys.readouterr().out
    assert rc == 0, f"{name}: exit {rc}\n{out}"
    report = json.loads((tmp_path / "v" / "verify.json").read_text())
    c = report["counts"]
    assert c["windows_sent"] > 0 and c["verified"] == c["windows_sent"], c
    assert c["mismatched"] == 0 and c["windows_received"] == c["windows_sent"], c
    damaged = sum(stats["counters"]["to_device"][k] + stats["counters"]["to_host"][k]
                  for k in ("dropped", "corrupted", "duplicated", "delayed"))
    assert damaged > 0, stats
    assert c["retried"] > 0
    assert "link retries" in out and str(c["retried"]) in out


def test_device_that_stops_answering_is_reported_as_such(host_firmware, converted_run_dir,
                                                         data_file, tmp_path, capsys):
    retries = 3
    with HostFirmware(host_firmware.binary, tcp=True) as dev, \
            FaultLink(dev.url, stall_after_s=0.5) as link:
        t0 = time.perf_counter()
        rc = run_verify(converted_run_dir, link.url, data_file, tmp_path / "v",
                        "--retries", str(retries), "--speed", "300")
        elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 8, err                       # EXIT_NO_ANSWER, not 1 (mismatch) nor 3
    assert "not answering" in err
    assert elapsed < 0.5 + (retries + 1) * TIMEOUT + 5.0
    report = json.loads((tmp_path / "v" / "verify.json").read_text())   # a failing report
    assert not report["passed"] and report["error"]["kind"] == "no_answer"


def test_hung_firmware_process_is_detected(host_firmware, converted_run_dir, data_file,
                                           tmp_path, capsys):
    """No proxy: the real firmware process is frozen (SIGSTOP) while verify streams."""
    from bedside.host_tools.link.client import Device, DeviceSilent
    with HostFirmware(host_firmware.binary, tcp=True) as dev:
        with Device(dev.url, timeout=TIMEOUT, retries=2) as link:
            link.hello()
            link.reset()
            os.kill(dev.proc.pid, signal.SIGSTOP)
            try:
                t0 = time.perf_counter()
                with pytest.raises(DeviceSilent, match="not answering"):
                    link.send_samples(np.zeros((5, 7), dtype=np.int16))
                assert time.perf_counter() - t0 < 3 * TIMEOUT + 1.0
            finally:
                os.kill(dev.proc.pid, signal.SIGCONT)
            assert link.hello().board == "host"      # it answers again once resumed


def test_verify_survives_5_percent_corrupt_and_dropped_bytes(host_firmware, converted_run_dir,
                                                             tmp_path, capsys):
    """5 % corrupt + 5 % dropped bytes both ways: INFO comes in parts, requests go in bursts
    of copies, waits adapt to the measured reply time; 0 lost, 0 false mismatches."""
    data = small_cohort(tmp_path / "one.npz", n_patients=1, length=90)
    faults = Faults(corrupt=0.05, drop=0.05)
    with HostFirmware(host_firmware.binary, tcp=True) as dev, \
            FaultLink(dev.url, faults, faults, seed=5) as link:
        rc = run_verify(converted_run_dir, link.url, data, tmp_path / "v", "--retries", "10")
        stats = link.stats()["counters"]
    out = capsys.readouterr()
    assert rc == 0, out.out[-2000:] + out.err[-2000:]
    c = json.loads((tmp_path / "v" / "verify.json").read_text())["counts"]
    assert c["windows_sent"] > 0 and c["verified"] == c["windows_sent"], c
    assert c["mismatched"] == 0, c
    assert stats["to_device"]["dropped"] > 0 and stats["to_host"]["corrupted"] > 0


def test_verify_at_10_percent_is_a_clean_link_error(host_firmware, converted_run_dir, data_file,
                                                    tmp_path, capsys):
    faults = Faults(corrupt=0.1, drop=0.1)
    with HostFirmware(host_firmware.binary, tcp=True) as dev, \
            FaultLink(dev.url, faults, faults, seed=5) as link:
        rc = run_verify(converted_run_dir, link.url, data_file, tmp_path / "v")
    err = capsys.readouterr().err
    assert rc == 3, err                       # a link error: never a result, never exit 1
    assert "link error" in err and "Traceback" not in err
    report = json.loads((tmp_path / "v" / "verify.json").read_text())   # a failing report,
    assert not report["passed"] and report["error"]["kind"] == "link"       # never a result
    assert report["error"]["exit_code"] == 3
