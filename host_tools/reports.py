"""Verification reports: verify.json, junit.xml, report.md and PNG plots, written atomically.

Everything goes to a temporary folder next to the destination, which is then renamed
into place, so a crash never leaves a half-written `RUN_DIR/verify/`.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from bedside.fileio import replace_dir


def _plots(tmp: Path, report: dict, traces: list, cycles: list, clock_hz: int) -> list[str]:
    import matplotlib
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
    if cycles:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        if clock_hz:
            ax.hist([c / clock_hz * 1e6 for c in cycles], bins=40, color="C0")
            ax.ticklabel_format(axis="x", useOffset=False)
            ax.set_xlabel(f"inference time, µs (model-runner cycles at {clock_hz / 1e6:g} MHz)")
        else:
            ax.hist(cycles, bins=40, color="C0")
            ax.set_xlabel("cycles per inference")
        ax.set_ylabel("windows")
        ax.set_title("on-device latency")
        fig.tight_layout()
        fig.savefig(tmp / "latency_hist.png", dpi=90)
        plt.close(fig)
        files.append("latency_hist.png")
    return files


def junit_xml(report: dict) -> str:
    c = report["counts"]
    cases = []
    for m in report["first_mismatches"]:
        name = f"{m['patient']}/window{m['window_index']}"
        msg = f"{m['what']}: device {m['device']} reference {m['reference']}"
        cases.append(f'  <testcase classname="bedside.verify" name={quoteattr(name)}>'
                     f"<failure message={quoteattr(m['what'])}>{escape(msg)}</failure>"
                     "</testcase>")
    cases.append(f'  <testcase classname="bedside.verify" name="all_windows" '
                 f'time="{report["throughput"]["link_time_s"]}">'
                 + ("" if report["passed"] else
                    f'<failure message="{c["mismatched"]} of {c["windows_sent"]} windows '
                    f'mismatched"/>') + "</testcase>")
    failures = len(report["first_mismatches"]) + (0 if report["passed"] else 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name="bedside-verify" tests="{len(cases)}" failures="{failures}" '
            f'errors="0" time="{report["throughput"]["link_time_s"]}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")


def markdown(report: dict, plots: list[str]) -> str:
    c, t, d = report["counts"], report["throughput"], report["device"]
    cyc = report.get("cycles") or {}
    lines = [
        "# Device verification", "",
        f"**{'PASSED' if report['passed'] else 'FAILED'}**: {c['verified']} of "
        f"{c['windows_sent']} windows bit-exact ({c['mismatched']} mismatched, "
        f"{c['retried']} link retries), mode `{report['mode']}`.", "",
        f"- device: `{report['port']}`, board `{d['board']}`, backend `{d['backend_name']}`, "
        f"clock {d['core_clock_hz'] / 1e6:g} MHz, arena {d['arena_bytes']} bytes",
        f"- model SHA-256 `{d['model_sha256'][:16]}...`, run `{report['run_dir']}`",
        f"- signals: {report['source']}", "",
        "| measure | value |", "| --- | --- |",
        f"| patients / samples | {c['patients']} / {c['samples_sent']} |",
        f"| windows sent / received / verified | {c['windows_sent']} / "
        f"{c['windows_received']} / {c['verified']} |",
    ]
    if cyc:
        lines.append(f"| cycles per inference min / median / max | {cyc['min']} / "
                     f"{cyc['median']:.0f} / {cyc['max']} |")
    lines += [
        f"| windows per second | {t['windows_per_s']:.1f} |",
        f"| wire bytes per second | {t['wire_bytes_per_s']:.0f} |",
        f"| link utilisation at {t['baudrate']} baud | "
        + (f"{100 * t['link_utilisation']:.1f} % |" if t["link_utilisation"] <= 1.05
           else "n/a (link not rate-limited) |"),
    ]
    fc = report.get("float_comparison") or {}
    if fc.get("n"):
        lines += ["", f"Float Student vs int8 path ({fc['model']}, {fc['n']} windows): max abs "
                  f"error {fc['max_abs_err']:.4f}, RMSE {fc['rmse']:.4f}, cosine "
                  f"{fc['cosine']:.5f} (reported, not asserted)."]
    elif fc.get("skipped"):
        lines += ["", f"Float comparison skipped: {fc['skipped']}."]
    if report["first_mismatches"]:
        lines += ["", "## First mismatches", "", "| patient | window | sample | what | device | "
                  "reference |", "| --- | --- | --- | --- | --- | --- |"]
        for m in report["first_mismatches"]:
            lines.append(f"| {m['patient']} | {m['window_index']} | {m['sample_index']} | "
                         f"{m['what']} | {m['device'].get('output')} a={m['device'].get('alarm')}"
                         f" | {m['reference'].get('output')} a={m['reference'].get('alarm')} |")
    if plots:
        lines += [""] + [f"![{f}]({f})" for f in plots]
    return "\n".join(lines) + "\n"


def html(md: str) -> str:
    """A self-contained HTML view of report.md (tables, bullets, images; no dependencies)."""
    import re
    out, table = [], []

    def flush_table():
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|[\s\-|]+\|", r)]
            cells = [[escape(c.strip()) for c in r.strip("|").split("|")] for r in rows]
            out.append("<table>" + "".join(
                "<tr>" + "".join(f"<t{'h' if i == 0 else 'd'}>{c}</t{'h' if i == 0 else 'd'}>"
                                 for c in row) + "</tr>" for i, row in enumerate(cells))
                       + "</table>")
            table.clear()
    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        text = escape(line)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
        if line.startswith("# "):
            out.append(f"<h1>{text[2:]}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{text[3:]}</h2>")
        elif line.startswith("- "):
            out.append(f"<li>{text[2:]}</li>")
        elif m := re.fullmatch(r"!\[(.*)\]\((.*)\)", line):
            out.append(f'<p><img src="{escape(m.group(2))}" alt="{escape(m.group(1))}"></p>')
        elif line:
            out.append(f"<p>{text}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Device verification"
            f"</title><style>{style}</style></head><body>\n" + "\n".join(out)
            + "\n</body></html>\n")


def write(out_dir: Path, report: dict, traces: list, cycles: list, clock_hz: int,
          plots: bool = True) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        files = _plots(tmp, report, traces, cycles, clock_hz) if plots else []
        report = dict(report, files=["verify.json", "junit.xml", "report.md", "report.html"]
                      + files)
        (tmp / "verify.json").write_text(json.dumps(report, indent=2, default=_jsonable) + "\n")
        (tmp / "junit.xml").write_text(junit_xml(report))
        md = markdown(report, files)
        (tmp / "report.md").write_text(md)
        (tmp / "report.html").write_text(html(md))
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


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
