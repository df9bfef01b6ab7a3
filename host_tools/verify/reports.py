"""Verification reports: verify.json, junit.xml, report.md, report.html and PNG plots.

Everything goes to a temporary folder next to the destination, which is then renamed
into place, so a crash never leaves a half-written `RUN_DIR/verify/`. A run that fails
before or while talking to the device (refusal, link error, silent device) still gets a
report, a failing one, so CI never publishes the previous run's passing `junit.xml`.
JUnit: one testcase per patient (with its time and the frames exchanged as system-out),
one per refusal or link error, `<properties>` naming the board, backend, model and kit. HTML: report.md rendered by markdown-it-py, plots embedded.
"""
from __future__ import annotations

import base64
import json
import shutil
import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from bedside.ownership import replace_dir
from bedside.version import kit_version

# How each kind of board's cycle counter reads (docs/verify.md, "Timing").
EMULATED = "emulated"     # QEMU -icount shift=0: SysTick ticks stand for instructions
HOST = "host"             # the host port counts nanoseconds of wall time
BOARD = "board"           # a real board: core cycles at its clock


def board_kind(board: str) -> str:
    from bedside.boards import TARGETS
    if board == "host":
        return HOST
    return EMULATED if board in TARGETS else BOARD


def timing(cycles: list[int], board: str, clock_hz: int) -> dict:
    """Per-inference timing in the unit the counter really measures on this board."""
    if not cycles:
        return {}
    import numpy as np
    c = np.asarray(cycles, dtype=np.float64)
    kind = board_kind(board)
    if kind == EMULATED and clock_hz:
        # -icount shift=0 runs one instruction per virtual ns; SysTick ticks at clock_hz
        per_count, unit = 1e9 / clock_hz, "instructions"
        label = ("emulated instructions per inference (QEMU -icount shift=0: SysTick ticks "
                 f"x {per_count:g}; not time on a real core)")
    elif kind == HOST:
        per_count, unit = 1e-3, "µs"
        label = "host wall time per inference, µs (the host port counts nanoseconds)"
    else:
        per_count, unit = 1.0, "cycles"
        label = (f"core cycles per inference at {clock_hz / 1e6:g} MHz" if clock_hz
                 else "core cycles per inference")
    values = c * per_count
    t = {"kind": kind, "unit": unit, "label": label, "per_count": per_count, "n": int(len(c)),
         "min": float(values.min()), "median": float(np.median(values)),
         "max": float(values.max())}
    if kind == BOARD and clock_hz:
        t["median_us"] = float(np.median(c) / clock_hz * 1e6)
    zero = int((c <= 0).sum())
    if zero:
        # no core runs an inference in no time: the counter is not read, or INFO/RESULT
        # come from something that does not run the model (reported, not a mismatch)
        t["implausible"] = (f"{zero} of {len(c)} inferences reported 0 {unit}: physically "
                            "impossible; the device's timing cannot be trusted")
    return t


# Every file a report folder may hold (checked against a user's files before a run).
FILES = ("verify.json", "junit.xml", "report.md", "report.html", "risk_trace.png",
         "latency_hist.png")


# What a pass proves, in every report (md, html, JUnit property): equivalence, not attestation.
PROVES = ("A pass proves input/output equivalence: for these signals every window's int8 "
          "output, alarm state and safety flags from the device equal the Python reference "
          "(TFLite Micro), and the device reported (INFO) the run's model and constants "
          "hashes and build identity. It is not attestation: the identity is what the device "
          "says, so a device that answers with a forged INFO built from the run folder's "
          "files would pass too (docs/verify.md).")


def _plots(tmp: Path, traces: list, cycles: list, t: dict) -> tuple[list[str], str]:
    """PNG plots and why there are none (matplotlib is the optional `plots` extra)."""
    try:
        import matplotlib
    except ImportError:
        return [], "plots skipped: matplotlib not installed (pip install 'bedside-kit[plots]')"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = []
    if traces:
        # the patient with the most alarm windows (else the first) shows the most
        tr = max(traces, key=lambda t: (sum(t.ref_alarm), len(t.ends)))
        fig, ax = plt.subplots(2, 1, figsize=(9, 5), sharex=True,
                               gridspec_kw={"height_ratios": [3, 1]})
        hours = [e / 60 for e in tr.ends]
        ax[0].plot(hours, tr.ref_q, lw=2.5, color="0.7", label="reference (TFLM, Python)")
        dev = [float("nan") if q is None else q for q in tr.dev_q]
        ax[0].plot(hours, dev, lw=1, color="C3", label="device")
        ax[0].set_ylabel("risk (int8 output)")
        ax[0].legend(loc="upper left")
        ax[0].set_title(f"patient {tr.patient}: device vs reference")
        ax[1].step(hours, tr.ref_alarm, where="post", lw=2.5, color="0.7", label="reference")
        ax[1].step(hours, [float("nan") if a is None else a for a in tr.dev_alarm],
                   where="post", lw=1, color="C3", label="device")
        ax[1].set_ylabel("alarm")
        ax[1].set_xlabel("hours since reset")
        fig.tight_layout()
        fig.savefig(tmp / "risk_trace.png", dpi=90)
        plt.close(fig)
        files.append("risk_trace.png")
    if cycles and t:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist([c * t["per_count"] for c in cycles], bins=40, color="C0")
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set_xlabel(t["label"], wrap=True)
        ax.set_ylabel("windows")
        ax.set_title("on-device inference")
        fig.tight_layout()
        fig.savefig(tmp / "latency_hist.png", dpi=90)
        plt.close(fig)
        files.append("latency_hist.png")
    return files, ""


# --- JUnit ----------------------------------------------------------------------------

def _properties(report: dict) -> dict:
    d = report.get("device") or {}
    return {"board": d.get("board", "unknown"), "backend": d.get("backend_name", "unknown"),
            "model_sha256": report.get("manifest_model_sha256") or d.get("model_sha256", ""),
            "build_id": d.get("build_id") or "unknown", "held_sha256": d.get("held_sha256") or "",
            "kit_version": kit_version(), "port": report.get("port", ""),
            "run_dir": report.get("run_dir", ""), "proves": PROVES,
            "timing_flag": (report.get("timing") or {}).get("implausible", "")}


def junit_xml(report: dict, device_logs: dict | None = None) -> str:
    """One testcase per patient (its time, and the frames exchanged as system-out); one per
    refusal or link error; one if nothing was compared."""
    by_patient: dict[str, list] = {}
    for m in report.get("first_mismatches", []):
        by_patient.setdefault(m["patient"], []).append(m)
    board = (report.get("device") or {}).get("board", "device")
    cls = quoteattr(f"bedside.verify.{board}")
    cases, failures, errors = [], 0, 0
    for pat in report.get("per_patient", []):
        body = ""
        if pat["mismatched"]:
            failures += 1
            lines = [f"window {m['window_index']} (sample {m['sample_index']}): {m['what']}: "
                     f"device {m['device']} reference {m['reference']}"
                     for m in by_patient.get(pat["patient"], [])]
            what = f"{pat['mismatched']} of {pat['windows']} windows mismatched"
            body = (f"<failure message={quoteattr(what)}>" + escape("\n".join(lines))
                    + "</failure>")
        log = (device_logs or {}).get(pat["patient"])
        if log:
            body += f"<system-out>{escape(chr(10).join(log))}</system-out>"
        cases.append(f"  <testcase classname={cls} name={quoteattr(str(pat['patient']))} "
                     f"time=\"{pat.get('time_s', 0)}\">{body}</testcase>")
    err = report.get("error")
    if err:
        tag = "failure" if err["kind"] == "refusal" else "error"
        failures += tag == "failure"
        errors += tag == "error"
        cases.append(f"  <testcase classname={cls} name={quoteattr(err['kind'])}>"
                     f"<{tag} type={quoteattr(err['kind'])} message={quoteattr(err['message'])}>"
                     f"exit code {err['exit_code']}: {escape(err['message'])}</{tag}></testcase>")
    elif not report.get("per_patient"):
        failures += 1
        cases.append(f"  <testcase classname={cls} name=\"windows\"><failure message=\"no "
                     "window was compared\"/></testcase>")
    props = "".join(f"    <property name={quoteattr(k)} value={quoteattr(str(v))}/>\n"
                    for k, v in _properties(report).items())
    t = (report.get("throughput") or {}).get("link_time_s", 0)
    stamp = report.get("timestamp") or _now()
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'
            f'<testsuite name="bedside-verify" tests="{len(cases)}" failures="{failures}" '
            f'errors="{errors}" skipped="0" time="{t}" timestamp="{stamp}" '
            f'hostname={quoteattr(socket.gethostname())}>\n'
            f"  <properties>\n{props}  </properties>\n"
            + "\n".join(cases) + "\n</testsuite>\n</testsuites>\n")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --- Markdown and HTML ----------------------------------------------------------------

def markdown(report: dict, plots: list[str], note: str = "") -> str:
    d = report.get("device") or {}
    err = report.get("error")
    c = report.get("counts") or {}
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines = ["# Device verification", ""]
    if err:
        lines += [f"**{verdict}** ({err['kind']}, exit code {err['exit_code']}): "
                  f"{err['message']}", ""]
    else:
        lines += [f"**{verdict}**: {c['verified']} of {c['windows_sent']} windows bit-exact "
                  f"({c['mismatched']} mismatched, {c['retried']} link retries), mode "
                  f"`{report['mode']}`.", ""]
    if (report.get("timing") or {}).get("implausible"):
        lines += [f"**Timing flagged**: {report['timing']['implausible']}.", ""]
    where = [f"device: `{report.get('port', '')}`"]
    if d:
        where += [f"board `{d['board']}`, backend `{d['backend_name']}`, clock "
                  f"{d['core_clock_hz'] / 1e6:g} MHz, arena {d['arena_bytes']} bytes, build "
                  f"`{d.get('build_id') or 'unknown'}`"]
    lines += ["- " + ", ".join(where),
              f"- model SHA-256 `{(report.get('manifest_model_sha256') or '')[:16]}...`, "
              f"run `{report.get('run_dir', '')}`, kit {kit_version()}, {report.get('timestamp', '')}"]
    if report.get("source"):
        lines.append(f"- signals: {report['source']}")
    if c and "throughput" in report:
        t, tm = report["throughput"], report.get("timing") or {}
        lines += ["", "| measure | value |", "| --- | --- |",
                  f"| patients / samples | {c['patients']} / {c['samples_sent']} |",
                  f"| windows sent / received / verified | {c['windows_sent']} / "
                  f"{c['windows_received']} / {c['verified']} |"]
        sf = report.get("safety_floor") or {}
        if sf.get("enabled"):
            lines.append(f"| safety-floor records compared / differing (every sample) | "
                         f"{sf['samples_compared']} / {sf['samples_mismatched']} |")
        if tm:
            us = f" ({tm['median_us']:.0f} µs)" if "median_us" in tm else ""
            lines.append(f"| {tm['label']}: min / median / max | {tm['min']:.0f} / "
                         f"{tm['median']:.0f}{us} / {tm['max']:.0f} |")
        lines += [f"| windows per second | {t['windows_per_s']:.1f} |",
                  f"| wire bytes per second | {t['wire_bytes_per_s']:.0f} |",
                  f"| link utilisation at {t['baudrate']} baud | "
                  + (f"{100 * t['link_utilisation']:.1f} % |" if t["link_utilisation"] <= 1.05
                     else "n/a (link not rate-limited) |")]
    fc = report.get("float_comparison") or {}
    if fc.get("n"):
        lines += ["", f"Float Student vs int8 path ({fc['model']}, {fc['n']} windows): max abs "
                  f"error {fc['max_abs_err']:.4f}, RMSE {fc['rmse']:.4f}, cosine "
                  f"{fc['cosine']:.5f} (reported, not asserted)."]
    elif fc.get("skipped"):
        lines += ["", f"Float comparison skipped: {fc['skipped']}."]
    if report.get("per_patient"):
        lines += ["", "## Patients", "", "| patient | windows | verified | mismatched |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {pt['patient']} | {pt['windows']} | {pt['verified']} | {pt['mismatched']} |"
                  for pt in report["per_patient"]]
    if report.get("first_mismatches"):
        lines += ["", "## First mismatches", "", "| patient | window | sample | what | device | "
                  "reference |", "| --- | --- | --- | --- | --- | --- |"]
        for m in report["first_mismatches"]:
            lines.append(f"| {m['patient']} | {m['window_index']} | {m['sample_index']} | "
                         f"{m['what']} | {m['device'].get('output')} a={m['device'].get('alarm')}"
                         f" | {m['reference'].get('output')} a={m['reference'].get('alarm')} |")
    if note:
        lines += ["", note + "."]
    lines += ["", "## What a pass proves", "", PROVES]
    if plots:
        lines += [""] + [f"![{f}]({f})" for f in plots]
    return "\n".join(lines) + "\n"


def html(md: str, folder: Path) -> str:
    """report.md as one standalone HTML page: markdown-it-py (raw HTML off), the PNGs it
    links embedded as data: URIs."""
    from markdown_it import MarkdownIt
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(md)
    for tok in tokens:
        for child in tok.children or []:
            src = child.attrGet("src") if child.type == "image" else None
            if src and (folder / src).is_file():
                data = base64.b64encode((folder / src).read_bytes()).decode("ascii")
                child.attrSet("src", f"data:image/png;base64,{data}")
    body = parser.renderer.render(tokens, parser.options, {})
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
             "img{max-width:100%}")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8" />'
            f"<title>Device verification</title><style>{style}</style></head>\n<body>\n"
            f"{body}</body></html>\n")


# --- writing --------------------------------------------------------------------------

def write(out_dir: Path, report: dict, traces: list, cycles: list, clock_hz: int,
          plots: bool = True, device_logs: dict | None = None) -> Path:
    """The report folder for `report` (a summary, or a failure with an "error" entry);
    `device_logs`: the frames exchanged per patient (Verifier.device_logs), for JUnit."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        board = (report.get("device") or {}).get("board", "")
        report = dict(report, timestamp=report.get("timestamp") or _now(),
                      kit_version=kit_version())
        report.setdefault("timing", timing(cycles, board, clock_hz))
        files, note = _plots(tmp, traces, cycles, report["timing"]) if plots else ([], "")
        report["files"] = ["verify.json", "junit.xml", "report.md", "report.html"] + files
        (tmp / "verify.json").write_text(json.dumps(report, indent=2, default=_jsonable) + "\n")
        (tmp / "junit.xml").write_text(junit_xml(report, device_logs))
        md = markdown(report, files, note)
        (tmp / "report.md").write_text(md)
        (tmp / "report.html").write_text(html(md, tmp))
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def failure(kind: str, exit_code: int, message: str, **known) -> dict:
    """A failing report for a run that ended with a refusal, link error or silent device;
    `known`: what was learnt before (device, counts, per_patient, ...)."""
    return {"passed": False, "error": {"kind": kind, "exit_code": exit_code,
                                       "message": message}, **known}


def _jsonable(x):
    import numpy as np
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, (np.ndarray,)):
        return x.tolist()
    if isinstance(x, bytes):
        return x.hex()
    raise TypeError(f"not JSON serialisable: {type(x)}")
