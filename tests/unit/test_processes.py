"""Pool workers end with the process that started them, however it ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import alive, descendants

PROBE = """
import time
from runbook_synth.processes import allow_process_pools, forked_map

allow_process_pools()
print("started", flush=True)
forked_map(time.sleep, [60.0, 60.0], 2)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_forked_workers_end_when_their_parent_is_killed() -> None:
    """`regenerate` mines big patterns in forked workers; a SIGKILL of the run (a CI timeout) left them
    mining for ever."""
    process = subprocess.Popen([sys.executable, "-c", PROBE], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "started\n"
    deadline = time.monotonic() + 20
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = descendants(process.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the pool never started"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers), f"workers outlived their killed parent: {sorted(alive(workers))}"
