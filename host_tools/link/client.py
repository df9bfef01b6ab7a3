"""A device on the other end of a serial link: stop-and-wait requests with retries.

Every link opens through `serial.serial_for_url`, so a device path (`/dev/ttyUSB0`), a pty
(`/dev/pts/5`), `socket://host:port` (QEMU, host firmware, a remote bench),
`rfc2217://host:port` and `loop://` differ only by the URL. Per docs/protocol.md a request
is re-sent with the same `seq` after a timeout, a corrupted reply or a NAK for a corrupted
frame; the device answers a repeated `seq` from its reply cache, so nothing runs twice.
"""
from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import serial

from bedside.contract import protocol as p

# SIMULATE_RESULT holds the results of at most this many (the last) windows
SIMULATE_KEEP = 64

# Noisy links: a request that met damage is sent as a burst of up to MAX_COPIES copies
# (each after a 0x00 that ends any garbage before it); the device executes the first copy
# that arrives intact and answers every other one from its reply cache, so one attempt
# gets several chances in each direction without waiting a timeout per chance.
MAX_COPIES = 64
MAX_BURST_BYTES = 2048       # and at most this many bytes per burst (big frames: few copies)
BURST_AFTER = 3              # damaged attempts of one request before bursts start
MIN_WAIT_S = 0.02            # shortest adaptive wait for a reply

# NAKs that mean "your frame was damaged on the way": re-send the same request.
RETRYABLE_NAKS = {p.NakCode.BAD_CRC, p.NakCode.BAD_LENGTH, p.NakCode.TOO_LONG, p.NakCode.BUSY}


class LinkError(RuntimeError):
    """The port cannot be opened, or the device does not answer."""


class DeviceSilent(LinkError):
    """The device sent not a single byte during every attempt of a request: it stopped
    answering (crashed, hung, unplugged), which is not the same as a noisy link."""


class NoValidReply(LinkError):
    """Frames came back, but none was a valid reply to the request (a noisy link)."""


class DeviceGone(DeviceSilent):
    """The link itself failed mid-run (port closed, cable pulled, process killed): the
    device cannot answer any more. Exit 8 like a silent device, with what it last said."""


class NakError(LinkError):
    """The device refused a request with a non-retryable NAK."""

    def __init__(self, request: str, code: int, detail: int) -> None:
        name = code.name if isinstance(code, p.NakCode) else str(code)
        super().__init__(f"device answered {request} with NAK {name} (detail {detail})")
        self.code, self.detail = code, detail


@dataclass
class LinkCounters:
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    naks: int = 0
    bad_frames: int = 0          # replies dropped by our decoder (CRC, length, ...)
    stale_frames: int = 0        # replies with another seq (duplicates after a retry)
    bytes_tx: int = 0
    bytes_rx: int = 0
    payload_tx: int = 0
    payload_rx: int = 0
    started: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "started"}
        d["elapsed_s"] = round(time.perf_counter() - self.started, 6)
        return d


def open_serial(url: str, baudrate: int = 115200, timeout: float = 0.05) -> serial.SerialBase:
    """serial_for_url with errors that say what is wrong (missing, busy, refused)."""
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout,
                                     write_timeout=10, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        text = str(e)
        if getattr(e, "errno", None) == errno.ENOENT or "No such file" in text:
            hint = "no such port (is the device plugged in / the emulator running? `bedside ports`)"
        elif getattr(e, "errno", None) in (errno.EBUSY, errno.EAGAIN) or "busy" in text.lower() \
                or "lock" in text.lower():
            hint = "port is busy (another program has it open)"
        elif "refused" in text.lower():
            hint = "connection refused (nothing listens at that address)"
        else:
            hint = "cannot open"
        raise LinkError(f"{url}: {hint}: {text}") from None


def read_available(port: serial.SerialBase, timeout: float) -> bytes:
    """Wait up to `timeout` for one byte, then take everything already there (one call
    per burst, not per byte: pyserial's socket `in_waiting` only says 0 or 1)."""
    port.timeout = timeout
    data = port.read(1)
    if data:
        port.timeout = 0
        data += port.read(4096)
    return data


class Device:
    """Client for one device. Use as a context manager; `hello()` first."""

    def __init__(self, url: str, baudrate: int = 115200, timeout: float = 2.0,
                 retries: int = 5, version: int = p.VERSION,
                 port: serial.SerialBase | None = None, noisy_retries: int = 60) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries              # attempts that time out, in a row
        # re-sends after a NAK/damaged reply: the device is alive, the link is noisy
        # (1 % bad bytes spoil most frames), so these get a separate, larger budget
        self.noisy_retries = noisy_retries
        self._timed_out = False
        self.version = version              # frame version we send (tests send a wrong one)
        self.port = port if port is not None else open_serial(url, baudrate)
        self.decoder = p.FrameDecoder()
        self.counters = LinkCounters()
        self.info: p.Info | None = None
        self.last_floor = np.zeros((0, p.FLOOR_RECORD_BYTES), np.uint8)  # see send_samples
        self._seq = 0
        self._pending: list[p.Frame | p.FrameError] = []
        self.log: list[tuple[str, str]] = []      # recent (direction, frame summary)
        self.listeners: list[Callable[[str, str], None]] = []   # told every frame summary
        self._rx_tail = b""                       # last raw bytes received (for messages)
        self.copies = 1                           # copies per attempt (see MAX_COPIES)
        self._rtts: list[float] = []              # recent request-to-reply times
        self._last_event = 0.0                    # when a frame or damaged frame last came

    # -- plumbing
    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _note(self, direction: str, text: str) -> None:
        self.log.append((direction, text))
        del self.log[:-50]
        for listen in self.listeners:
            listen(direction, text)

    def _gone(self, e: Exception) -> DeviceGone:
        text = self._rx_tail.split(b"\x00")[-1].decode("ascii", "replace").strip()
        said = f"; its last words: {text!r}" if text.isprintable() and len(text) > 8 else ""
        return DeviceGone(f"{self.url}: device disconnected mid-run ({e}){said}")

    def write_raw(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as e:
            raise self._gone(e) from None
        self.counters.bytes_tx += len(data)

    def read_events(self, deadline: float) -> list[p.Frame | p.FrameError]:
        """Frames/errors decoded before `deadline` (returns as soon as one arrives)."""
        while not self._pending:
            now = time.perf_counter()
            if now >= deadline:
                return []
            try:
                data = read_available(self.port, min(0.05, deadline - now))
            except (serial.SerialException, OSError) as e:
                raise self._gone(e) from None
            if data:
                self._rx_tail = (self._rx_tail + data)[-160:]
                self.counters.bytes_rx += len(data)
                self._pending += self.decoder.feed(data)
                if self._pending:
                    self._last_event = time.perf_counter()
        events, self._pending = self._pending, []
        return events

    def drain(self, quiet_s: float = 0.1) -> None:
        """Discard whatever the device still sends (stale replies), flush a partial frame."""
        self.write_raw(b"\x00")
        end = time.perf_counter() + quiet_s
        while self.read_events(end):
            end = time.perf_counter() + quiet_s

    # -- request/reply
    def _wait_s(self, timeout: float) -> float:
        """How long one attempt on a noisy link waits: `timeout` until replies have been
        timed, then four times the slowest of the last 16 replies (bursts included), never
        longer than `timeout`: a lost reply costs milliseconds, not the timeout."""
        if not self._rtts:
            return timeout
        return min(timeout, max(MIN_WAIT_S, 4 * max(self._rtts)))

    def _more_copies(self, noisy: int) -> None:
        """Bursts only once plain re-sends keep failing (a few damaged attempts in a row):
        on a mildly noisy or slow link extra copies only queue up behind each other."""
        if noisy >= BURST_AFTER:
            self.copies = min(MAX_COPIES, self.copies * 2)

    def request(self, mtype: int, payload: bytes = b"", expect: int | None = None,
                timeout: float | None = None, noisy_retries: int | None = None) -> p.Frame:
        self._seq = (self._seq + 1) & 0xFFFF
        if self._seq == p.UNTRUSTED_SEQ:
            self._seq = 0
        frame = p.Frame(mtype, self._seq, payload, self.version)
        wire = p.encode_frame(frame)
        name = frame.name
        self.counters.requests += 1
        timeout = self.timeout if timeout is None else timeout
        noisy_budget = self.noisy_retries if noisy_retries is None else noisy_retries
        noisy = attempts = quiet = 0
        rx_before = self.counters.bytes_rx
        t_start = time.perf_counter()
        # silent: retries + 1 attempts in a row heard nothing, and nothing was decoded for
        # (retries + 1) x timeout, however short the adaptive waits
        silent_after = (self.retries + 1) * timeout

        def silent() -> bool:
            return quiet > self.retries and time.perf_counter() - max(
                t_start, self._last_event) >= silent_after - 1e-9

        wait = self._wait_s(timeout)
        while not attempts or (noisy <= noisy_budget and not silent()):
            if attempts:
                self.counters.retries += 1
            attempts += 1
            copies = max(1, min(self.copies, MAX_BURST_BYTES // (len(wire) + 1)))
            burst = wire if copies == 1 else (b"\x00" + wire) * copies
            sent_at = time.perf_counter()
            self.write_raw(burst)
            self.counters.payload_tx += len(payload)
            self._note("tx", f"{name} seq={self._seq} len={len(payload)} x{copies}")
            # short adaptive waits only once the link has shown damage: on a clean but slow
            # line (115,200 baud, 1 KB frames) a reply may take longer than small ones did
            noisy_link = copies > 1 or noisy > 0
            reply = self._await(self._seq, sent_at + (wait if noisy_link else timeout), name,
                                burst=copies > 1)
            quiet = quiet + 1 if reply is None and self._timed_out else 0
            if reply is None:
                if self._timed_out:                   # silence: slow, congested or lost
                    wait = min(timeout, 2 * wait)     # back off; more copies would congest
                else:                                 # damage
                    noisy += 1
                    self._more_copies(noisy)
                continue
            if reply.type == p.MsgType.NAK:
                code, detail = p.parse_nak(reply.payload)
                self.counters.naks += 1
                if code in RETRYABLE_NAKS:
                    noisy += 1
                    self._more_copies(noisy)
                    continue
                raise NakError(name, code, detail)
            if expect is not None and reply.type != expect:
                raise LinkError(f"{self.url}: {name} answered with {reply.name}, expected "
                                f"{p.MsgType(expect).name}")
            self._rtts = (self._rtts + [time.perf_counter() - sent_at])[-16:]
            if attempts == 1:
                self.copies = max(1, self.copies // 2)
            self.counters.payload_rx += len(reply.payload)
            return reply
        if self.counters.bytes_rx == rx_before:
            raise DeviceSilent(f"{self.url}: device not answering: not one byte received in "
                               f"{time.perf_counter() - t_start:.1f} s ({attempts} attempts "
                               f"of {name}, timeout {timeout:g} s)")
        raise NoValidReply(f"{self.url}: no valid reply to {name} (seq {self._seq}) after "
                           f"{attempts} attempts (up to {MAX_COPIES} copies each); recent "
                           "traffic: " + "; ".join(f"{d} {t}" for d, t in self.log[-6:]))

    def _await(self, seq: int, deadline: float, name: str,
               burst: bool = False) -> p.Frame | None:
        """The reply to `seq`, a NAK for an untrusted frame, or None (retry now). After a
        burst several answers are on their way, so damaged frames and untrusted NAKs do
        not end the wait: only the reply or the deadline does."""
        self._timed_out = False
        heard = False
        while True:
            events = self.read_events(deadline)
            if not events:
                self._timed_out = not heard
                self.counters.timeouts += 1
                self._note("rx", f"timeout waiting for {name}")
                return None
            heard = True
            for i, ev in enumerate(events):
                if isinstance(ev, p.FrameError):
                    # a damaged reply: ask again (the device replays its cached reply)
                    self.counters.bad_frames += 1
                    self._note("rx", f"bad frame {ev.code.name}")
                    if burst:
                        continue
                    self._pending = events[i + 1:] + self._pending
                    return None
                self._note("rx", f"{ev.name} seq={ev.seq} len={len(ev.payload)}")
                untrusted_nak = ev.type == p.MsgType.NAK and ev.seq == p.UNTRUSTED_SEQ
                if ev.seq == seq or (untrusted_nak and not burst):
                    self._pending = events[i + 1:] + self._pending
                    return ev
                if not untrusted_nak:
                    self.counters.stale_frames += 1

    # -- messages
    def hello(self) -> p.Info:
        """HELLO -> INFO. If the whole INFO frame does not get through a noisy link in a
        few attempts, ask for it in parts of INFO_PART_BYTES (docs/protocol.md)."""
        try:
            reply = self.request(p.MsgType.HELLO, expect=p.MsgType.INFO, noisy_retries=3)
            payload = reply.payload
        except NoValidReply:
            payload = self._info_in_parts()
        self.info = p.parse_info(payload)
        return self.info

    def _info_in_parts(self) -> bytes:
        out, part, parts = b"", 0, 1
        while part < parts:
            reply = self.request(p.MsgType.HELLO, bytes([part]), expect=p.MsgType.INFO)
            got, parts, data = p.parse_info_part(reply.payload)
            if got != part:
                raise p.ProtocolError(f"asked for INFO part {part}, got part {got}")
            out += data
            part += 1
        return out

    def reset(self) -> None:
        self.request(p.MsgType.RESET, expect=p.MsgType.ACK)

    def _output_bytes(self) -> int:
        if self.info is None:
            self.hello()
        return self.info.output_bytes

    def send_samples(self, samples: np.ndarray) -> tuple[int, list[p.Result]]:
        """SAMPLES -> (samples_total, results); the reply's per-sample safety-floor records
        (uint8 [count, 2]: flags, cause) are kept in `last_floor`."""
        reply = self.request(p.MsgType.SAMPLES, p.samples_payload(samples),
                             expect=p.MsgType.SAMPLES_ACK)
        total, self.last_floor, results = p.parse_samples_ack(reply.payload,
                                                              self._output_bytes())
        return total, results

    def infer(self, window: np.ndarray) -> tuple[int, np.ndarray]:
        reply = self.request(p.MsgType.INFER, p.infer_payload(window),
                             expect=p.MsgType.INFER_RESULT)
        cycles, out = p.parse_infer_result(reply.payload, self._output_bytes())
        return cycles, np.frombuffer(out, dtype=np.int8)

    def stats(self) -> dict[str, int]:
        return p.parse_stats(self.request(p.MsgType.STATS, expect=p.MsgType.STATS_RESULT).payload)

    def calibration(self, n_signals: int) -> dict:
        """The device's personalization state (protocol.parse_calib)."""
        return p.parse_calib(self.request(p.MsgType.CALIB, expect=p.MsgType.CALIB_RESULT).payload,
                             n_signals)

    def simulate(self, n_samples: int, seed: int, deteriorate: bool,
                 timeout: float | None = None) -> tuple[int, list[p.Result]]:
        """Feed n_samples of the device's simulator through its loop. The device works at
        most 100 ms per request (firmware/core/app.h kSimulateBudgetMs) and says how far
        it got (samples_total), so this asks again for the rest; returns (samples_total, results of the last
        requests, at most SIMULATE_KEEP windows)."""
        if n_samples == 0:
            reply = self.request(p.MsgType.SIMULATE, p.simulate_payload(0, seed, deteriorate),
                                 expect=p.MsgType.SIMULATE_RESULT, timeout=timeout)
            return p.parse_results(reply.payload, self._output_bytes())
        total = self.stats()["samples_total"]
        left, results = n_samples, []
        while left > 0:
            reply = self.request(p.MsgType.SIMULATE, p.simulate_payload(left, seed, deteriorate),
                                 expect=p.MsgType.SIMULATE_RESULT, timeout=timeout)
            now, got = p.parse_results(reply.payload, self._output_bytes())
            done = (now - total) & 0xFFFFFFFF
            if not 0 < done <= left:
                raise p.ProtocolError(f"SIMULATE of {left} samples moved samples_total from "
                                      f"{total} to {now}")
            left, total = left - done, now
            results = (results + got)[-SIMULATE_KEEP:]
        return total, results
