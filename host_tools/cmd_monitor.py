"""`bedside monitor --port URL`: a live terminal view of vitals, risk and alarm state.

    bedside monitor --port socket://127.0.0.1:5555                 # device's own simulator
    bedside monitor --port /dev/pts/7 --simulate 1 --speed 600     # host streams a patient

Device mode drives the firmware's SIMULATE command (its built-in signal simulator runs the
whole loop; the view shows risk, alarm, cycles). Stream mode sends a simulated or recorded
patient sample by sample and shows the vitals it sent next to the device's results.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

SPARK = " ▁▂▃▄▅▆▇█"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", required=True, help="serial URL of the device")
    parser.add_argument("--simulate", type=int, metavar="N_PATIENTS",
                        help="stream N host-simulated patients (default: device simulator)")
    parser.add_argument("--data", metavar="FILE", help="stream patients from a cohort .npz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=600.0,
                        help="times real time (default 600: ten minutes per second)")
    parser.add_argument("--samples", type=int, default=0,
                        help="stop after this many samples (default: run until Ctrl-C)")
    parser.add_argument("--no-deteriorate", action="store_true",
                        help="device simulator: a stable patient")
    parser.add_argument("--baud", type=int, default=115200)


def sparkline(values: list[float], lo: float = 0.0, hi: float = 1.0) -> str:
    out = []
    for v in values:
        k = int((min(max(v, lo), hi) - lo) / (hi - lo + 1e-12) * (len(SPARK) - 1))
        out.append(SPARK[k])
    return "".join(out)


class View:
    """State shown on screen; `render()` gives a rich renderable."""

    def __init__(self, info, url: str) -> None:
        from training.signals import SIGNALS
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
                shown = "--" if age < 0 else f"{v * s.raw_scale:g} {s.unit}"
                if age > 0:
                    shown += f"  [dim]({age} min ago)[/]"     # a monitor keeps the last value
                t.add_row(s.name, shown)
        risk = self.risk[-1] if self.risk else float("nan")
        t.add_row("risk", f"{risk:.3f}  {sparkline(self.risk)}")
        t.add_row("alarm", "[bold white on red] ALARM [/]" if self.alarm else "[green]quiet[/]")
        clock = self.info.core_clock_hz or 1
        t.add_row("model", f"{self.cycles} cycles ({self.cycles / clock * 1e3:.2f} ms), "
                  f"{self.windows} windows, {self.alarms_raised} alarms raised")
        title = (f"{self.info.board} ({self.info.backend_name}) on {self.url}"
                 + (f" - {self.patient}" if self.patient else "") + f" - sample {self.samples}")
        return Panel(t, title=title)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from . import protocol as p
    from .link import Device, LinkError
    console = Console()
    try:
        dev = Device(args.port, baudrate=args.baud, timeout=5.0)
    except LinkError as e:
        console.print(f"[red]link error:[/] {e}")
        return 3
    with dev:
        try:
            info = dev.hello()
            view = View(info, args.port)
            period = 60.0 / args.speed
            with Live(view.render(), console=console, refresh_per_second=8,
                      transient=False) as live:
                if args.simulate is None and args.data is None:
                    _device_mode(dev, view, live, args, period)
                else:
                    _stream_mode(dev, view, live, args, period, p)
        except LinkError as e:
            console.print(f"[red]link error:[/] {e}")
            return 3
        except KeyboardInterrupt:
            pass
    return 0


def _device_mode(dev, view, live, args, period) -> None:
    dev.reset()
    chunk = max(1, dev.info.stride)
    total = 0
    t0 = time.perf_counter()
    while not args.samples or total < args.samples:
        # the firmware's simulator continues its patient between SIMULATE requests
        _, results = dev.simulate(chunk, args.seed, not args.no_deteriorate)
        total += chunk
        view.samples = total
        view.add_results(results)
        live.update(view.render())
        delay = t0 + total * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def _stream_mode(dev, view, live, args, period, p) -> None:
    from . import sources
    streams, _ = sources.select(Path("."), args.data, args.simulate, args.seed)
    total = 0
    for pid, raw in streams:
        dev.reset()
        view.patient = pid
        t0 = time.perf_counter()
        for i in range(len(raw)):
            if args.samples and total >= args.samples:
                return
            _, results = dev.send_samples(raw[i:i + 1])
            total += 1
            view.samples = i + 1
            view.add_sample(raw[i])
            view.add_results(results)
            live.update(view.render())
            delay = t0 + (i + 1) * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
