"""A fault-injecting serial link: a seeded TCP proxy that damages bytes between host and device.

    with FaultLink("socket://127.0.0.1:5555", to_device=Faults(corrupt=0.01, drop=0.01),
                   to_host=Faults(corrupt=0.01, drop=0.01), seed=7) as link:
        bedside verify --port link.url RUN_DIR        # link.url = socket://127.0.0.1:PORT

    python -m bedside.host_tools.link.faultlink --device /dev/pts/5 --listen 7000 --corrupt 0.01 --drop 0.01

The proxy listens on 127.0.0.1 (one client at a time) and forwards to the device (any
`socket://` URL or a pty/tty path). Each direction has its own `Faults`: per byte, with
its own seeded generator, a byte is dropped, corrupted (XOR with a random non-zero mask),
duplicated, or delayed (the pump sleeps, so order is kept, like a slow or stalled UART).
`stall()` (or `stall_after_s`) stops forwarding in both directions: a device that stops
answering. The same seed gives the same fault pattern for the same byte stream.
"""
from __future__ import annotations

import argparse
import os
import random
import select
import socket
import sys
import termios
import threading
import time
import tty
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Faults:
    """Per-byte fault probabilities of one direction (independent draws, in this order)."""
    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0          # probability that the pump pauses before this byte
    delay_s: float = 0.05       # length of that pause

    def clean(self) -> bool:
        return not (self.drop or self.corrupt or self.duplicate or self.delay)


@dataclass
class DirectionCounters:
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0
    stalled: int = 0            # bytes swallowed while stalled


def apply_faults(data: bytes, faults: Faults, rng: random.Random,
                 counters: DirectionCounters) -> list[bytes | float]:
    """Damage `data`: returns chunks of bytes and pauses (floats, seconds) in order."""
    out: list[bytes | float] = []
    buf = bytearray()
    for b in data:
        counters.bytes_in += 1
        if faults.delay and rng.random() < faults.delay:
            if buf:
                out.append(bytes(buf))
                buf = bytearray()
            out.append(faults.delay_s)
            counters.delayed += 1
        if faults.drop and rng.random() < faults.drop:
            counters.dropped += 1
            continue
        if faults.corrupt and rng.random() < faults.corrupt:
            b ^= rng.randrange(1, 256)
            counters.corrupted += 1
        buf.append(b)
        if faults.duplicate and rng.random() < faults.duplicate:
            buf.append(b)
            counters.duplicated += 1
    if buf:
        out.append(bytes(buf))
    return out


class _Endpoint:
    """The device side: a TCP socket (socket://host:port) or a tty/pty file descriptor."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.sock: socket.socket | None = None
        self.fd = -1
        if url.startswith("socket://"):
            host, _, port = url[len("socket://"):].rstrip("/").rpartition(":")
            self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.setblocking(False)
        else:
            self.fd = os.open(url, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            if os.isatty(self.fd):
                tty.setraw(self.fd, termios.TCSANOW)

    def fileno(self) -> int:
        return self.sock.fileno() if self.sock else self.fd

    def recv(self) -> bytes:
        try:
            data = self.sock.recv(65536) if self.sock else os.read(self.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return b""
        if not data:
            raise ConnectionError(f"{self.url} closed")
        return data

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view) if self.sock else os.write(self.fd, view)
                view = view[n:]
            except (BlockingIOError, InterruptedError):
                select.select([], [self], [], 0.1)

    def close(self) -> None:
        try:
            if self.sock:
                self.sock.close()
            elif self.fd >= 0:
                os.close(self.fd)
        except OSError:
            pass


class FaultLink:
    """The proxy. Use as a context manager; `url` is what the host opens."""

    def __init__(self, device_url: str, to_device: Faults = Faults(), to_host: Faults = Faults(),
                 seed: int = 0, listen_port: int = 0, stall_after_s: float | None = None,
                 stall_after_bytes: int | None = None) -> None:
        self.device_url = device_url
        self.faults = {"to_device": to_device, "to_host": to_host}
        self.seed = seed
        self.counters = {"to_device": DirectionCounters(), "to_host": DirectionCounters()}
        # separate generators per direction: one direction's traffic does not shift the other's
        self._rng = {"to_device": random.Random(f"{seed}/to_device"),
                     "to_host": random.Random(f"{seed}/to_host")}
        self.stall_after_s = stall_after_s
        self.stall_after_bytes = stall_after_bytes   # device->host bytes before the stall
        self.stalled_at: float | None = None         # time.perf_counter() of the stall
        self._stalled = threading.Event()
        self._stop = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", listen_port))
        self._server.listen(1)
        self.port = self._server.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.clients = 0

    # -- control
    def stall(self) -> None:
        """From now on forward nothing: the device looks dead to the host."""
        if not self._stalled.is_set():
            self.stalled_at = time.perf_counter()
        self._stalled.set()

    def resume(self) -> None:
        self._stalled.clear()

    def start(self) -> "FaultLink":
        self._thread = threading.Thread(target=self._serve, name="faultlink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._server.close()
        except OSError:
            pass
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FaultLink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stats(self) -> dict:
        return {"seed": self.seed, "faults": {k: asdict(v) for k, v in self.faults.items()},
                "counters": {k: asdict(v) for k, v in self.counters.items()},
                "stalled": self._stalled.is_set(), "stalled_at": self.stalled_at,
                "error": self.error}

    # -- pumping
    def _serve(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._server], [], [], 0.1)
            if not r:
                continue
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.clients += 1
            try:
                device = _Endpoint(self.device_url)
            except OSError as e:
                self.error = f"cannot open device {self.device_url}: {e}"
                client.close()
                continue
            try:
                self._pump(client, device)
            finally:
                client.close()
                device.close()

    def _pump(self, client: socket.socket, device: _Endpoint) -> None:
        client.setblocking(False)
        t0 = time.monotonic()
        # one writer thread per direction, so a delay in one does not hold up the other
        queues = {"to_device": _Pacer(device.send), "to_host": _Pacer(client.sendall)}
        try:
            while not self._stop.is_set():
                if self.stall_after_s is not None and time.monotonic() - t0 > self.stall_after_s:
                    self.stall()
                if self.stall_after_bytes is not None and \
                        self.counters["to_host"].bytes_out >= self.stall_after_bytes:
                    self.stall()
                r, _, _ = select.select([client, device], [], [], 0.05)
                for src in r:
                    direction = "to_device" if src is client else "to_host"
                    try:
                        data = src.recv(65536) if src is client else src.recv()
                    except (BlockingIOError, InterruptedError):
                        continue
                    if src is client and not data:
                        return                       # host closed: wait for the next one
                    c = self.counters[direction]
                    if self._stalled.is_set():
                        c.stalled += len(data)
                        continue
                    chunks = apply_faults(data, self.faults[direction], self._rng[direction], c)
                    c.bytes_out += sum(len(x) for x in chunks if isinstance(x, bytes))
                    queues[direction].put(chunks)
        except (ConnectionError, OSError) as e:
            self.error = str(e)
        finally:
            for q in queues.values():
                q.close()


class _Pacer:
    """Writes chunks in order on its own thread, sleeping for the delay markers."""

    def __init__(self, write) -> None:
        self._write = write
        self._items: list = []
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def put(self, chunks: list) -> None:
        with self._cv:
            self._items += chunks
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._items and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                item = self._items.pop(0)
            try:
                if isinstance(item, float):
                    time.sleep(item)
                else:
                    self._write(item)
            except OSError:
                return


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bedside.host_tools.link.faultlink", description=__doc__.split("\n")[0])
    ap.add_argument("--device", required=True, help="device URL: socket://host:port or a pty/tty path")
    ap.add_argument("--listen", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    ap.add_argument("--seed", type=int, default=0)
    for name in ("drop", "corrupt", "duplicate", "delay"):
        ap.add_argument(f"--{name}", type=float, default=0.0, help=f"per-byte {name} probability")
    ap.add_argument("--delay-s", type=float, default=0.05, help="length of one delay (s)")
    ap.add_argument("--stall-after", type=float, help="stop forwarding after this many seconds")
    a = ap.parse_args(argv)
    f = Faults(a.drop, a.corrupt, a.duplicate, a.delay, a.delay_s)
    with FaultLink(a.device, f, f, a.seed, a.listen, a.stall_after) as link:
        print(f"PORT {link.url}", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print(link.stats(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

