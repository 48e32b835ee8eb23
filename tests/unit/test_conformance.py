"""Conformance: recent runs replayed against their runbook (followed, skipped, reordered, added) and scored."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from runbook_synth import load_settings
from runbook_synth.conformance import command_matches, conformance, replay
from runbook_synth.errors import RunbookSynthError
from runbook_synth.library import regenerate
from runbook_synth.models import CommandRun, Observation, Provenance, SourceKind
from tests.support.corpus import Call, write_run
from tests.support.scenarios import deployment_run, write_deployment_history

STEPS = [
    {"number": 1, "title": "Test", "commands": ["pytest -q"], "optional": False},
    {"number": 2, "title": "Build", "commands": ["docker build -t api:{git_sha} ."], "optional": False},
    {"number": 3, "title": "Logs", "commands": ["aws logs tail /aws/lambda/x --since 5m"], "optional": True},
    {"number": 4, "title": "Check", "commands": ["curl -s https://api.example.com/health"], "optional": False},
]


def _execution(*commands: str) -> Observation:
    runs = tuple(CommandRun(command, Provenance("run.md", line)) for line, command in enumerate(commands, start=1))
    return Observation("run.md", SourceKind.EXECUTION, commands=runs, day=date(2026, 9, 1))


def test_command_templates_match_their_instances() -> None:
    assert command_matches("docker build -t api:abc1234 .", "docker build -t api:{git_sha} .")
    assert command_matches("docker  build -t api:abc1234 .", "docker build -t api:{git_sha} .")
    assert not command_matches("docker push api:abc1234", "docker build -t api:{git_sha} .")


def test_a_run_that_follows_every_required_step_fits_perfectly() -> None:
    run = replay(
        _execution("pytest -q", "ls", "docker build -t api:1 .", "curl -s https://api.example.com/health"), STEPS
    )
    assert (run.followed, run.skipped, run.reordered, run.added) == ((1, 2, 4), (), (), ())
    assert run.fitness == 1.0  # `ls` is noise, the optional step may be skipped for free


def test_skipped_reordered_and_added_cost_fitness() -> None:
    run = replay(_execution("docker build -t api:1 .", "pytest -q", "make deploy"), STEPS)
    assert run.skipped == (4,)
    assert run.reordered == (1,)
    assert run.added == ("make deploy",)
    # cost: 1 added + 1 skipped + 2 for the reordered step; worst: 3 events + 3 required steps
    assert run.fitness == pytest.approx(1 - 4 / 6)


def test_recent_runs_that_stop_fitting_make_the_runbook_stale(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    settings = load_settings(tmp_path)
    regenerate(tmp_path, settings, today=date(2026, 9, 5))
    fits = conformance(tmp_path, settings, date(2026, 9, 5))
    (item,) = fits.runbooks
    assert len(item.runs) == 4 and item.fitness == 1.0 and not item.stale
    for index in (0, 1):  # the team now deploys with one make target and skips the rest
        run = deployment_run(index)
        calls = (Call("make ship", "shipped", "Ship it", "2m"), run.calls[-1])
        write_run(tmp_path, replace(run, day=f"2026-10-0{index + 1}", calls=calls))
    later = conformance(tmp_path, settings, date(2026, 10, 5), since_days=10)
    (item,) = later.runbooks
    assert [run.source for run in item.runs] == [
        ".claude/observations/2026-10-01/execution-100000-deployed-lambda.md",
        ".claude/observations/2026-10-02/execution-100001-deployed-lambda.md",
    ]
    assert item.stale and item.fitness is not None and item.fitness < 0.5
    assert "`make ship` done in 2 of 2 runs, in no step" in item.differences
    assert any(
        difference.startswith("Step 1 (") and "skipped in 2 of 2 runs" in difference for difference in item.differences
    )


def test_conformance_needs_a_library(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    with pytest.raises(RunbookSynthError, match="run `runbook regenerate` first"):
        conformance(tmp_path, load_settings(tmp_path), date(2026, 9, 5))
