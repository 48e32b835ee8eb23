"""No lost work: atomic writes survive SIGKILL, and two concurrent runs cannot both write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app
from runbook_synth.output import atomic_write, run_lock
from tests.support.corpus import write_run
from tests.support.processes import alive, descendants
from tests.support.scenarios import deployment_run, write_deployment_history


def test_second_run_loses_the_lock_with_a_clear_message(runner: CliRunner, tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    with run_lock(tmp_path):
        result = runner.invoke(app, ["deployment", "lambda", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert f"another runbook run (pid {os.getpid()})" in result.stderr and "wait for it to finish" in result.stderr
    assert runner.invoke(app, ["deployment", "lambda", "--root", str(tmp_path)]).exit_code == 0


def test_failed_write_leaves_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "runbook.md"
    target.write_text("previous")

    def crash(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, "new text that never lands")
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runbook.md"]


def test_sigkill_midway_leaves_written_runbooks_intact(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795392000"}
    command = [sys.executable, "-m", "runbook_synth", "deployment", "lambda", "--root", str(tmp_path), "-q"]
    subprocess.run(command, check=True, env=env)
    written = tmp_path / "runbooks" / "2026-11-23-deployment-lambda.md"
    before = written.read_bytes()
    # Make the next run slow (many more runs to mine), then kill it at several points.
    for index in range(400):
        run = deployment_run(index % 4)
        write_run(
            tmp_path,
            type(run)(
                f"2026-10-{1 + index % 28:02d}",
                f"{index // 60:02d}:{index % 60:02d}:00",
                f"bulk{index}",
                run.context,
                run.calls,
                total=run.total,
            ),
        )
    workers: set[int] = set()
    for delay in (0.2, 0.8, 1.6):
        process = subprocess.Popen([*command, "--force"], env=env)
        time.sleep(delay)
        workers |= descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        current = written.read_bytes()
        complete = current.startswith(b"# Runbook: Deployment - lambda\n") and b"## Sources Analyzed" in current
        assert current == before or complete
    leftovers = [p.name for p in written.parent.iterdir() if p.name.endswith(".tmp")]
    subprocess.run([*command, "--force"], check=True, env=env)
    assert b"**Mined from**: 404 recorded runs" in written.read_bytes()
    assert all(name.startswith(".2026-11-23-deployment-lambda.md.") for name in leftovers)
    # The parse pool's workers (and their resource tracker) end with the run that started them.
    assert workers, "the runs were killed before they started their parse pool: nothing was checked"
    deadline = time.monotonic() + 20
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(workers), f"workers outlived their killed parent: {sorted(alive(workers))}"
