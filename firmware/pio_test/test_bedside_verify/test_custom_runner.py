"""`pio test` hook: after PlatformIO has built and flashed the firmware, verify the board
with `bedside verify` (RUN_DIR/pio/platformio.ini: test_framework = custom).

    bedside flash RUN_DIR --env nucleo_f446re --no-upload      # writes RUN_DIR/pio/
    pio test -d RUN_DIR/pio -e nucleo_f446re --test-port /dev/ttyACM0

The run is the one whose generated model was flashed (BEDSIDE_GEN_DIR, or the project's
custom_bedside_gen_dir = ../int8/gen: RUN_DIR/int8/gen);
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
        project = Path(self.project_config.path).parent
        gen = os.environ.get("BEDSIDE_GEN_DIR") or self.project_config.get(
            "env", "custom_bedside_gen_dir", "")
        port = self.get_test_port()
        if not gen or not port:
            raise RuntimeError("run in RUN_DIR/pio (bedside flash writes it) with --test-port PORT")
        gen = project / gen
        cmd = [os.environ.get("BEDSIDE", "bedside"), "verify", str(Path(gen).resolve().parents[1]),
               "--port", port, "--baud", str(self.get_test_speed()),
               *shlex.split(os.environ.get("BEDSIDE_VERIFY_ARGS", "--simulate 2"))]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd)
        self.test_suite.add_case(TestCase(
            name="bedside verify", message=f"exit code {proc.returncode} (docs/verify.md)",
            status=TestStatus.PASSED if proc.returncode == 0 else TestStatus.FAILED))
