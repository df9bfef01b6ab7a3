"""Verification reports as CI systems read them: JUnit with one testcase per patient and
properties, a failing report (never a stale passing one) on refusal or link error, a valid
standalone HTML page, and timing labelled for what the counter measures."""
from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET

import pytest

from bedside.cli import main
from bedside.version import kit_version
from bedside.host_tools.verify import reports
from bedside.host_tools.verify import verifier as v
from bedside.host_tools.builder.qemu import HostFirmware


@pytest.fixture(scope="module")
def passing(host_firmware, converted_run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "verify"
    with HostFirmware(host_firmware.binary, tcp=True) as dev:
        assert main(["verify", str(converted_run_dir), "--port", dev.url, "--simulate", "3",
                     "--float", "none", "--out", str(out)]) == 0
    return out


def test_junit_has_a_testcase_per_patient_and_properties(passing, converted_run_dir):
    suite = ET.parse(passing / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("tests") == "3" and suite.get("failures") == "0"
    assert {c.get("name") for c in cases} == {p["patient"] for p in json.loads(
        (passing / "verify.json").read_text())["per_patient"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", suite.get("timestamp"))
    for case in cases:       # each patient's own time, and the frames it took as system-out
        assert float(case.get("time")) > 0
        log = case.findtext("system-out", "")
        assert log.startswith("tx ") and "\nrx " in log and len(log.splitlines()) <= 81
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    manifest = json.loads((converted_run_dir / "int8" / "manifest.json").read_text())
    assert props["board"] == "host" and props["backend"] == "compiled"
    assert props["model_sha256"] == manifest["model"]["sha256"]
    assert props["kit_version"] == kit_version()
    device = json.loads((passing / "verify.json").read_text())["device"]
    assert props["build_id"] == device["build_id"] and len(props["build_id"]) == 16
    assert props["held_sha256"] == device["held_sha256"]


def test_html_is_valid_and_stands_alone(passing):
    text = (passing / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    root = ET.fromstring(text.split("\n", 1)[1])         # well-formed: every tag closed
    body = root.find("body")
    assert all(li in ul.findall("li") for ul in body.iter("ul") for li in ul)
    assert not [li for li in body.findall("li")]         # no <li> outside a list
    assert body.find("table/thead") is not None and body.find("table/tbody") is not None
    images = list(body.iter("img"))
    assert {i.get("alt") for i in images} == {"risk_trace.png", "latency_hist.png"}
    for img in images:                                   # embedded, not linked
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_escapes_what_the_data_says():
    md = reports.markdown(reports.failure("link", 3, "<script>alert(1)</script> & co",
                                          port="socket://x"), [])
    page = reports.html(md, folder=__import__("pathlib").Path("/nonexistent"))
    assert "<script>" not in page and "&lt;script&gt;" in page
    ET.fromstring(page.split("\n", 1)[1])


def test_timing_says_what_the_counter_counts():
    ticks = [1000, 1200, 1100]
    emulated = reports.timing(ticks, "mps2-an386", 25_000_000)
    assert emulated["unit"] == "instructions" and emulated["median"] == 1100 * 40
    assert "QEMU -icount" in emulated["label"] and "median_us" not in emulated
    host = reports.timing([52_000], "host", 0)
    assert host["unit"] == "µs" and host["median"] == 52.0
    board = reports.timing(ticks, "nucleo-f446re", 180_000_000)
    assert board["unit"] == "cycles" and "180 MHz" in board["label"]
    assert board["median_us"] == pytest.approx(1100 / 180)


def _stale_passing(out, passing):
    import shutil
    shutil.copytree(passing, out)
    assert 'failures="0"' in (out / "junit.xml").read_text()


def test_refusal_replaces_a_passing_report_with_a_failing_one(host_firmware, converted_run_dir,
                                                              passing, tmp_path):
    out = tmp_path / "verify"
    _stale_passing(out, passing)
    with HostFirmware(host_firmware.binary) as dev:
        code = main(["verify", str(converted_run_dir), "--port", dev.url, "--simulate", "1",
                     "--protocol-version", "1", "--out", str(out)])
    assert code == v.EXIT_PROTOCOL
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "refusal" and suite.get("failures") == "1"
    assert "protocol version mismatch" in case.find("failure").get("message")
    report = json.loads((out / "verify.json").read_text())
    assert not report["passed"] and report["error"]["exit_code"] == v.EXIT_PROTOCOL
    assert "FAILED" in (out / "report.md").read_text()


def test_link_error_gives_a_failing_junit(converted_run_dir, passing, tmp_path, capsys):
    out = tmp_path / "verify"
    _stale_passing(out, passing)
    assert main(["verify", str(converted_run_dir), "--port", "socket://127.0.0.1:1",
                 "--simulate", "1", "--out", str(out), "--json"]) == v.EXIT_LINK
    printed = json.loads(capsys.readouterr().out)        # --json: the failing report
    assert printed["error"]["kind"] == "link"
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1" and suite.find("testcase/error") is not None


def test_failure_never_replaces_a_folder_verify_did_not_write(converted_run_dir, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    # refused before the device is contacted (exit 2), and nothing written there
    assert main(["verify", str(converted_run_dir), "--port", "socket://127.0.0.1:1",
                 "--simulate", "1", "--out", str(out)]) == v.EXIT_USAGE
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_bad_input_fails_an_earlier_report_only(converted_run_dir, passing, tmp_path):
    out = tmp_path / "verify"
    _stale_passing(out, passing)
    assert main(["verify", str(converted_run_dir), "--port", "loop://", "--data",
                 str(tmp_path / "none.npz"), "--out", str(out)]) == v.EXIT_USAGE
    report = json.loads((out / "verify.json").read_text())
    assert not report["passed"] and report["error"]["kind"] == "input"
    assert main(["verify", str(converted_run_dir), "--port", "loop://", "--data",
                 str(tmp_path / "none.npz"), "--out", str(tmp_path / "new")]) == v.EXIT_USAGE
    assert not (tmp_path / "new").exists()


def test_every_report_says_what_a_pass_proves(passing):
    """I/O equivalence plus the identity the device reports, not attestation (issue 25)."""
    assert "## What a pass proves" in (passing / "report.md").read_text()
    assert "not attestation" in (passing / "report.html").read_text()
    suite = ET.parse(passing / "junit.xml").getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["proves"] == reports.PROVES and props["timing_flag"] == ""


def test_zero_time_inferences_are_flagged():
    flagged = reports.timing([0, 0, 0], "host", 0)
    assert "physically impossible" in flagged["implausible"]
    assert "implausible" not in reports.timing([52_000], "host", 0)
    report = {"passed": True, "counts": {"verified": 3, "windows_sent": 3, "mismatched": 0,
                                         "retried": 0}, "mode": "stream", "timing": flagged}
    assert "**Timing flagged**" in reports.markdown(report, [])
    props = {p.get("name"): p.get("value") for p in
             ET.fromstring(reports.junit_xml(report)).iter("property")}
    assert "physically impossible" in props["timing_flag"]
