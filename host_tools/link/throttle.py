"""A TCP relay in front of a device that behaves like a real UART (and, if asked, a bad one).

    with UartRelay("socket://127.0.0.1:5555", baudrate=115200) as relay:
        Device(relay.url)          # socket://127.0.0.1:<relay port>

Each direction is paced at baudrate/10 bytes per second (8N1), so a pty or TCP device is
rate-limited like a 115,200-baud cable; `corrupt_every=N` flips one bit in every Nth byte
(host -> device, device -> host, or both) to exercise NAKs, CRC errors and retries on the
real firmware. Threads, sockets and pyserial only.
"""
from __future__ import annotations

import socket
import threading
import time

from bedside.host_tools.link.client import open_serial, read_available


class UartRelay:
    def __init__(self, upstream_url: str, baudrate: int | None = 115200,
                 corrupt_every: int = 0, corrupt: str = "both", seed: int = 1) -> None:
        self.upstream_url = upstream_url
        self.rate = baudrate / 10.0 if baudrate else None
        self.corrupt_every = corrupt_every
        self.corrupt = corrupt
        self.corrupted = 0
        self._count = {"down": 0, "up": 0}
        self._seed = seed
        self._stop = threading.Event()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _mangle(self, data: bytes, direction: str) -> bytes:
        if not self.corrupt_every or self.corrupt not in (direction, "both"):
            return data
        out = bytearray(data)
        for i in range(len(out)):
            self._count[direction] += 1
            if self._count[direction] % self.corrupt_every == 0:
                out[i] ^= 1 << ((self._count[direction] // self.corrupt_every + self._seed) % 8)
                self.corrupted += 1
        return bytes(out)

    def _pump(self, read, write, direction: str) -> None:
        free_at = time.perf_counter()
        try:
            while not self._stop.is_set():
                data = read()
                if data is None:
                    return
                if not data:
                    continue
                data = self._mangle(data, direction)
                # a UART delivers byte by byte: release in small slices at the line rate;
                # the schedule is absolute so sleep overshoot does not add up
                now = time.perf_counter()
                if now > free_at + 0.0005:      # idle line (0.5 ms: sleep-overshoot slack)
                    free_at = now
                for lo in range(0, len(data), 16):
                    part = data[lo:lo + 16]
                    if self.rate:
                        free_at += len(part) / self.rate
                        delay = free_at - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                    write(part)
        except OSError:
            return

    def _serve(self) -> None:
        try:
            client, _ = self._server.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        dev = open_serial(self.upstream_url, timeout=0.02)
        self._client, self._dev = client, dev
        client.settimeout(0.05)

        def read_client():
            try:
                data = client.recv(4096)
                return data if data else None
            except socket.timeout:
                return b""

        def read_dev():
            return read_available(dev, 0.02)

        for args in ((read_client, dev.write, "down"), (read_dev, client.sendall, "up")):
            t = threading.Thread(target=self._pump, args=args, daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        self._stop.set()
        for obj in (self._server, getattr(self, "_client", None)):
            try:
                obj and obj.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=1)
        dev = getattr(self, "_dev", None)
        if dev is not None:
            dev.close()

    def __enter__(self) -> "UartRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
