"""Issue 13's hostile probes, one test each (bedside/bench/probes.py does the probing).

On the run's host firmware and `bedside` in subprocesses: SIMULATE is bounded, stray
frames never silence stand-alone mode, the TCP port drops idle clients, refuses a second
one and resets its decoder per client; every bad argument or file exits 2 with one line
naming it; `--out` never deletes a folder the kit did not create; a device that dies
mid-run gives exit 8 (verify and monitor).
"""
from __future__ import annotations

import pytest

from bedside.bench.probes import PROBES, run_probe


@pytest.mark.parametrize("name", list(PROBES))
def test_probe(name, converted_run_dir, host_firmware):
    result = run_probe(name, converted_run_dir, host_firmware.binary)
    assert result["passed"], f"{name}: {result['detail']}"
