"""`pio test` hook: after PlatformIO has built and flashed the firmware, verify the board
with `bedside verify` (platformio.ini: test_framework = custom).

    BEDSIDE_GEN_DIR=RUN_DIR/int8/gen pio test -e nucleo_f446re --test-port /dev/ttyACM0

The run is the one whose generated model was flashed (BEDSIDE_GEN_DIR = RUN_DIR/int8/gen);
the board is on --test-port (or `test_port` in platformio.ini). The whole verification
(handshake, model and preprocessing hashes, every window bit-exact) is one test case; its
report is in RUN_DIR/verify/. BEDSIDE_VERIFY_ARGS adds options (default: --simulate 2).
"""
import os
import shlex
import subprocess
from pathlib import Path

from platformio.public import TestCase, TestRunnerBase, TestStatus


class CustomTestRunner(TestRunnerBase):
    def stage_testing(self):
        if self.options.without_testing:
            return
        gen = os.environ.get("BEDSIDE_GEN_DIR", "")
        port = self.get_test_port()
        if not gen or not port:
            raise RuntimeError("set BEDSIDE_GEN_DIR=RUN_DIR/int8/gen and --test-port PORT")
        cmd = [os.environ.get("BEDSIDE", "bedside"), "verify", str(Path(gen).resolve().parents[1]),
               "--port", port, "--baud", str(self.get_test_speed()),
               *shlex.split(os.environ.get("BEDSIDE_VERIFY_ARGS", "--simulate 2"))]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd)
        self.test_suite.add_case(TestCase(
            name="bedside verify", message=f"exit code {proc.returncode} (docs/verify.md)",
            status=TestStatus.PASSED if proc.returncode == 0 else TestStatus.FAILED))
