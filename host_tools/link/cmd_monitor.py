"""`bedside monitor --port URL`: a live terminal view of vitals, risk and alarm state.

    bedside monitor --port socket://127.0.0.1:5555                 # device's own simulator
    bedside monitor --port /dev/pts/7 --simulate 1 --speed 600     # host streams a patient
    bedside monitor --port socket://127.0.0.1:5555 --listen --duration 30   # stand-alone device

Device mode drives the firmware's SIMULATE command (its built-in signal simulator runs the
whole loop; the view shows risk, alarm, cycles). Stream mode sends a simulated or recorded
patient sample by sample and shows the vitals it sent next to the device's results. Listen
mode feeds nothing: a stand-alone device (its own simulator or sensors) sends one EVENT
frame per window, which the view shows; only HELLO and CALIB are asked. Every mode shows
the personalization state (calibrating n/N samples, then calibrated with the baseline).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bedside.host_tools.argtypes import NONNEG_FLOAT, NONNEG_INT, POSITIVE_FLOAT, POSITIVE_INT

SPARK = " ▁▂▃▄▅▆▇█"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", required=True, help="serial URL of the device")
    parser.add_argument("--simulate", type=POSITIVE_INT, metavar="N_PATIENTS",
                        help="stream N host-simulated patients (default: device simulator)")
    parser.add_argument("--data", metavar="FILE", help="stream patients from a cohort .npz")
    parser.add_argument("--seed", type=NONNEG_INT, default=1)
    parser.add_argument("--speed", type=POSITIVE_FLOAT, default=600.0,
                        help="times real time (default 600: ten minutes per second)")
    parser.add_argument("--samples", type=NONNEG_INT, default=0,
                        help="stop after this many samples (default: run until Ctrl-C)")
    parser.add_argument("--no-deteriorate", action="store_true",
                        help="device simulator: a stable patient")
    parser.add_argument("--baud", type=POSITIVE_INT, default=115200)
    parser.add_argument("--listen", action="store_true",
                        help="passive: show the EVENT frames of a stand-alone device")
    parser.add_argument("--duration", type=NONNEG_FLOAT, default=0.0, metavar="S",
                        help="stop after S seconds (default: run until Ctrl-C)")


def sparkline(values: list[float], lo: float = 0.0, hi: float = 1.0) -> str:
    out = []
    for v in values:
        k = int((min(max(v, lo), hi) - lo) / (hi - lo + 1e-12) * (len(SPARK) - 1))
        out.append(SPARK[k])
    return "".join(out)


class View:
    """State shown on screen; `render()` gives a rich renderable."""

    def __init__(self, info, url: str) -> None:
        from bedside.contract.signals import SIGNALS
        self.info, self.url, self.signals = info, url, SIGNALS
        self.vitals: np.ndarray | None = None
        self.age: np.ndarray | None = None
        self.risk: list[float] = []
        self.alarm = 0
        self.alarms_raised = 0
        self.windows = 0
        self.samples = 0
        self.cycles = 0
        self.patient = ""
        self.calib: dict | None = None     # last CALIB_RESULT (protocol.parse_calib)
        self.calib_note = "unknown"        # why there is none (device without CALIB)
        self.floor: tuple[int, int] | None = None   # last floor record (flags, cause)

    def calib_text(self) -> str:
        """Personalization state in words: off / calibrating n/N samples / calibrated."""
        c = self.calib
        if c is None:
            return self.calib_note
        if not c["calib_samples"]:
            return "off (population model)"
        if not c["calibrated"]:
            return f"calibrating {min(c['samples'], c['calib_samples'])}/{c['calib_samples']} samples"
        parts = []
        for s, b in zip(self.signals, c["baseline"]):
            parts.append(f"{s.name} --" if b == -32768 else f"{s.name} {b * s.raw_scale:g}")
        return "calibrated, baseline " + ", ".join(parts)

    def floor_text(self) -> str:
        """The safety floor's last record in words (rule number: the manifest names it)."""
        from bedside.contract.protocol import RESULT_REASON_SHIFT
        from bedside.contract.safety import cause_name
        from bedside.contract.signals import TABLE
        if self.floor is None:
            return "--"
        flags, cause = self.floor
        reason = flags >> RESULT_REASON_SHIFT
        parts = ([f"[bold white on red] rule {reason} [/]"] if reason else []) + \
            ([cause_name(cause, TABLE)] if cause else [])
        return ", ".join(parts) or "[green]quiet[/]"

    def add_sample(self, sample: np.ndarray) -> None:
        if self.vitals is None:
            self.vitals = np.zeros(len(sample), np.int32)
            self.age = np.full(len(sample), -1)
        ok = sample != -32768
        self.vitals = np.where(ok, sample, self.vitals)
        self.age = np.where(ok, 0, np.where(self.age >= 0, self.age + 1, -1))

    def add_results(self, results) -> None:
        for r in results:
            q = int(r.output_q[0])
            self.risk.append((q - self.info.output_zero_point) * self.info.output_scale)
            if r.alarm and not self.alarm:
                self.alarms_raised += 1
            self.alarm, self.cycles = r.alarm, r.cycles
            self.windows += 1
        del self.risk[:-60]

    def render(self):
        from rich.panel import Panel
        from rich.table import Table
        t = Table.grid(padding=(0, 2))
        t.add_column(justify="right")
        t.add_column()
        if self.vitals is not None:
            for s, v, age in zip(self.signals, self.vitals, self.age):
                shown = "--" if age < 0 else f"{v * s.raw_scale:g} {s.physical_unit}"
                if age > 0:
                    shown += f"  [dim]({age} min ago)[/]"     # a monitor keeps the last value
                t.add_row(s.name, shown)
        risk = self.risk[-1] if self.risk else float("nan")
        t.add_row("risk", f"{risk:.3f}  {sparkline(self.risk)}")
        t.add_row("alarm", "[bold white on red] ALARM [/]" if self.alarm else "[green]quiet[/]")
        t.add_row("floor", self.floor_text())
        t.add_row("personal", self.calib_text())
        clock = self.info.core_clock_hz or 1
        t.add_row("model", f"{self.cycles} cycles ({self.cycles / clock * 1e3:.2f} ms), "
                  f"{self.windows} windows, {self.alarms_raised} alarms raised")
        title = (f"{self.info.board} ({self.info.backend_name}) on {self.url}"
                 + (f" - {self.patient}" if self.patient else "") + f" - sample {self.samples}")
        return Panel(t, title=title)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from bedside.contract import protocol as p
    from bedside.sources import streams as sources
    from bedside.host_tools.link.client import Device, DeviceSilent, LinkError
    console = Console()
    err = Console(stderr=True, soft_wrap=True)
    if args.listen and (args.simulate is not None or args.data):
        err.print("[red]error:[/] --listen feeds nothing: drop --simulate/--data")
        return 2
    try:
        dev = Device(args.port, baudrate=args.baud, timeout=5.0)
    except LinkError as e:
        err.print(f"[red]link error:[/] {e}")
        return 3
    view = None
    with dev:
        try:
            if args.listen:      # a stand-alone device is already talking: resync once
                dev.write_raw(b"\x00")
                dev.read_events(time.perf_counter() + 0.1)
            info = dev.hello()
            view = View(info, args.port)
            period = 60.0 / args.speed
            end = time.perf_counter() + args.duration if args.duration > 0 else None
            with Live(view.render(), console=console, refresh_per_second=8,
                      transient=False) as live:
                if args.listen:
                    _listen_mode(dev, view, live, args, end, p)
                elif args.simulate is None and args.data is None:
                    _device_mode(dev, view, live, args, period, end)
                else:
                    _stream_mode(dev, view, live, args, period, p, end)
        except DeviceSilent as e:            # stopped answering or disconnected
            err.print(f"[red]device not answering:[/] {e}")
            return 8
        except (LinkError, p.ProtocolError) as e:
            err.print(f"[red]link error:[/] {e}")
            return 3
        except sources.SourceError as e:
            err.print(f"[red]error:[/] {e}")
            return 2
        except KeyboardInterrupt:
            pass
    if view is None:
        return 0
    from rich.text import Text
    if not console.is_terminal:
        console.print()                  # the last frame of the live view ends no line
    console.print(f"{view.windows} windows, {view.alarms_raised} alarms raised; "
                  f"personalization: {view.calib_text()}; safety floor: "
                  f"{Text.from_markup(view.floor_text()).plain}")
    return 0


def _expired(end: float | None) -> bool:
    return end is not None and time.perf_counter() >= end


class _CalibPoll:
    """Asks CALIB at most every `every` s (a request/reply: never feeds the loop)."""

    def __init__(self, dev, view, every: float = 0.25) -> None:
        self.dev, self.view, self.every, self.next = dev, view, every, 0.0

    def __call__(self, force: bool = False) -> None:
        from bedside.host_tools.link.client import NakError
        if self.view.calib is None and self.view.calib_note != "unknown":
            return                                # the device has no CALIB
        if not force and time.perf_counter() < self.next:
            return
        self.next = time.perf_counter() + self.every
        try:
            self.view.calib = self.dev.calibration(self.view.info.n_signals)
        except NakError:
            self.view.calib_note = "n/a (device has no CALIB)"


def _device_mode(dev, view, live, args, period, end) -> None:
    dev.reset()
    poll = _CalibPoll(dev, view)
    chunk = max(1, dev.info.stride)
    total = 0
    t0 = time.perf_counter()
    while (not args.samples or total < args.samples) and not _expired(end):
        # the firmware's simulator continues its patient between SIMULATE requests
        _, results = dev.simulate(chunk, args.seed, not args.no_deteriorate)
        total += chunk
        view.samples = total
        view.add_results(results)
        poll()
        live.update(view.render())
        delay = t0 + total * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    poll(force=True)
    live.update(view.render())


def _stream_mode(dev, view, live, args, period, p, end) -> None:
    from bedside.sources import streams as sources
    streams, _ = sources.select(Path("."), args.data, args.simulate, args.seed)
    poll = _CalibPoll(dev, view)
    total = 0
    try:
        for pid, raw in streams:
            dev.reset()
            view.patient = pid
            t0 = time.perf_counter()
            for i in range(len(raw)):
                if (args.samples and total >= args.samples) or _expired(end):
                    return
                _, results = dev.send_samples(raw[i:i + 1])
                if len(dev.last_floor):
                    view.floor = tuple(int(x) for x in dev.last_floor[-1])
                total += 1
                view.samples = i + 1
                view.add_sample(raw[i])
                view.add_results(results)
                poll()
                live.update(view.render())
                delay = t0 + (i + 1) * period - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
    finally:
        poll(force=True)
        live.update(view.render())


def _listen_mode(dev, view, live, args, end, p) -> None:
    """Show EVENT frames; ask CALIB now and then without waiting for its reply (EVENTs
    keep arriving meanwhile, so this does not use the stop-and-wait Device.request)."""
    info = view.info
    seq, asked, pending, note = 0x100, 0.0, None, None
    while not _expired(end) and not (args.samples and view.samples >= args.samples):
        now = time.perf_counter()
        if note is None and now - asked >= 0.25:
            seq = seq + 1 if seq < 0xFFFE else 0x100
            pending, asked = seq, now
            dev.write_raw(p.encode_frame(p.Frame(p.MsgType.CALIB, seq)))
        deadline = min(now + 0.1, end) if end is not None else now + 0.1
        for ev in dev.read_events(deadline):
            if isinstance(ev, p.FrameError):
                dev.counters.bad_frames += 1
            elif ev.type == p.MsgType.EVENT:
                result, raw = p.parse_event(ev.payload, info.output_bytes, info.n_signals)
                view.samples = result.sample_index + 1
                view.add_sample(raw)
                view.add_results([result])
            elif ev.type == p.MsgType.FLOOR:
                _, flags, cause, _ = p.parse_floor_event(ev.payload, info.n_signals)
                view.floor = (flags, cause)
            elif ev.type == p.MsgType.CALIB_RESULT and ev.seq == pending:
                view.calib = p.parse_calib(ev.payload, info.n_signals)
            elif ev.type == p.MsgType.NAK and ev.seq == pending:
                note = view.calib_note = "n/a (device has no CALIB)"
        live.update(view.render())
