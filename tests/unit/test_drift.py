"""Drift: semantic changes between runbooks, each with its evidence; the library against the sources."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from runbook_synth import load_settings
from runbook_synth.drift import (
    ChangeKind,
    diff_paths,
    diff_runbooks,
    library_drift,
    render_drift_json,
    render_drift_markdown,
)
from runbook_synth.library import regenerate
from tests.support.corpus import Call, write_run
from tests.support.scenarios import deployment_run, write_deployment_history


def _step(number: int, command: str, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "number": number,
        "title": f"do {number}",
        "commands": [command],
        "parameters": [],
        "support": {"runs": 4, "of": 4},
        "optional": False,
        "duration_seconds": {"median": 100.0, "p90": 120.0},
        "sources": [f"a.md:{number}"],
    }
    step.update(extra)
    return step


def _runbook(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    runbook: dict[str, Any] = {
        "operation_type": "deployment",
        "scope": "lambda",
        "generated": "2026-11-01",
        "last_validated": "2026-10-30",
        "review_frequency": "Monthly",
        "run_count": 4,
        "sources": ["a.md"],
        "steps": steps,
        "troubleshooting": [],
        "rollback": {"sources": []},
    }
    runbook.update(extra)
    return runbook


OLD = _runbook(
    [
        _step(1, "pytest -q"),
        _step(2, "docker build -t api:{git_sha} ."),
        _step(3, "kubectl scale deploy/api --replicas 3"),
        _step(4, "aws s3 sync dist/ s3://bucket"),
        _step(5, "curl -s https://api.example.com/health"),
    ],
    troubleshooting=[{"title": "Token expired", "occurrences": 2, "last_seen": "2026-10-01", "sources": ["j.md"]}],
)


def _kinds(report: Any) -> list[tuple[str, str]]:
    return [(str(c.kind), c.subject) for item in report.runbooks for c in item.changes]


def test_the_same_runbook_on_another_day_is_no_drift() -> None:
    report = diff_runbooks(OLD, {**copy.deepcopy(OLD), "generated": "2026-12-01"})
    assert not report.has_drift and report.runbooks == ()


def test_every_kind_of_change_is_named_with_its_evidence() -> None:
    new = copy.deepcopy(OLD)
    steps = new["steps"]
    steps[1]["commands"] = ["docker build --pull -t api:{git_sha} ."]  # template changed
    steps[2]["commands"] = ["kubectl scale deploy/api --replicas 5"]  # a value changed, same skeleton
    steps[2]["duration_seconds"] = {"median": 110.0, "p90": 200.0}  # median +10 %: noise; p90 +67 %: drift
    steps[4]["optional"], steps[4]["support"] = True, {"runs": 2, "of": 6}
    steps[4]["sources"] = ["a.md:5", "new.md:9"]
    steps[0], steps[3] = steps[3], steps[0]  # the sync now comes first ...
    del steps[3]  # ... and pytest is gone
    steps.append(_step(6, "aws cloudfront create-invalidation --paths /*", sources=["new.md:12", "new2.md:4"]))
    for number, step in enumerate(steps, start=1):
        step["number"] = number
    new["troubleshooting"] = [
        {"title": "Throttled", "occurrences": 1, "last_seen": "2026-11-02", "sources": ["f.md:3"]}
    ]
    new["sources"] = ["a.md", "new.md", "new2.md"]
    report = diff_runbooks(OLD, new)
    changes = {(str(c.kind), c.subject): c for item in report.runbooks for c in item.changes}
    assert sorted(changes) == sorted(
        [
            ("step added", "Step 5: do 6"),
            ("step removed", "Step 1: do 1"),
            ("step reordered", "Step 1: do 4"),
            ("command changed", "Step 2: do 2"),
            ("parameters changed", "Step 3: do 3"),
            ("duration moved", "Step 3: do 3"),
            ("support fell", "Step 4: do 5"),
            ("troubleshooting appeared", "Throttled"),
            ("troubleshooting went quiet", "Token expired"),
            ("sources added", "sources"),
        ]
    )
    assert changes[("step added", "Step 5: do 6")].evidence == ("new.md:12", "new2.md:4")
    assert changes[("parameters changed", "Step 3: do 3")].detail == (
        "`kubectl scale deploy/api --replicas 3` → `kubectl scale deploy/api --replicas 5`"
    )
    assert changes[("duration moved", "Step 3: do 3")].detail == "p90 2m → 3m 20s (+67%)"
    assert changes[("support fell", "Step 4: do 5")].detail == (
        "now optional: seen in 2 of 6 runs (optional) (was seen in 4 of 4 runs)"
    )
    assert changes[("support fell", "Step 4: do 5")].evidence == ("new.md:9",)
    assert changes[("sources added", "sources")].evidence == ("new.md", "new2.md")


def test_a_moved_step_is_reordered_and_the_rest_are_not() -> None:
    new = copy.deepcopy(OLD)
    steps = new["steps"]
    steps.insert(0, steps.pop(3))  # the sync now comes first
    for number, step in enumerate(steps, start=1):
        step["number"] = number
    assert _kinds(diff_runbooks(OLD, new)) == [("step reordered", "Step 1: do 4")]


def _new_step_runs(root: Path) -> None:
    """Three more deployments that publish a version before the health check: a new recurring step."""
    for index in (0, 1, 2):
        run = deployment_run(index)
        publish = Call(
            "aws lambda publish-version --function-name report_worker",
            f'{{"Version": "{12 + index}"}}',
            "Publish a version",
            "3s",
        )
        calls = (*run.calls[:-1], publish, run.calls[-1])
        write_run(root, replace(run, day=f"2026-09-1{index}", calls=calls))


def test_library_drift_names_a_new_recurring_step_its_support_and_sources(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    settings = load_settings(tmp_path)
    regenerate(tmp_path, settings, today=date(2026, 9, 10))
    assert not library_drift(tmp_path, settings, date(2026, 9, 10)).has_drift
    _new_step_runs(tmp_path)
    report = library_drift(tmp_path, settings, date(2026, 9, 20))
    assert report.has_drift
    (item,) = report.runbooks
    assert (item.runs_before, item.runs_after) == (4, 7)
    added = [c for c in item.changes if c.kind == ChangeKind.STEP_ADDED]
    assert [(c.subject, c.detail) for c in added] == [("Step 6: Publish a version", "seen in 3 of 7 runs (optional)")]
    assert added[0].evidence == tuple(
        f".claude/observations/2026-09-1{i}/execution-10000{i}-deployed-lambda.md:79" for i in range(3)
    )
    markdown = render_drift_markdown(report)
    assert "| step added | Step 6: Publish a version | seen in 3 of 7 runs (optional) |" in markdown
    assert "`.claude/observations/2026-09-10/execution-100000-deployed-lambda.md:79`" in markdown
    assert json.loads(render_drift_json(report))["runbooks"][0]["changes"][0]["kind"] == "step added"


def test_a_stale_runbook_is_drift(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    settings = load_settings(tmp_path)
    regenerate(tmp_path, settings, today=date(2026, 9, 10))
    report = library_drift(tmp_path, settings, date(2026, 11, 23))
    assert [(str(c.kind), c.detail) for c in report.runbooks[0].changes] == [
        ("stale", "last validated 2026-09-04, reviewed monthly: overdue since 2026-10-05; record a fresh run")
    ]


def test_two_library_folders_compare_by_name(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    (after / ".data").mkdir(parents=True)
    (before / "deployment-lambda.json").write_text(json.dumps(OLD))
    (before / "scaling-db.json").write_text(json.dumps(_runbook([], operation_type="scaling", scope="db")))
    (after / ".data" / "deployment-lambda.json").write_text(json.dumps(OLD))
    (after / ".data" / "rollback-lambda.json").write_text(json.dumps(_runbook([], operation_type="rollback")))
    report = diff_paths(before, after)
    assert _kinds(report) == [("runbook added", "rollback-lambda"), ("runbook removed", "scaling-db")]
    assert report.compared == 3
    no_drift = render_drift_markdown(
        diff_paths(before / "deployment-lambda.json", after / ".data/deployment-lambda.json")
    )
    assert "No drift: the 1 runbook(s) say what the sources say." in no_drift
