"""The other runbook shapes (`run-entry`, `service`): golden files, block overrides, and the same facts.

Regenerate the golden files deliberately with `pytest tests/test_shapes.py --update-golden` and review the
diff like code.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from pathlib import Path

import pytest

import runbook_synth
from runbook_synth.models import AlarmSummary, CloudWatchEvidence, EvidenceSource, InvocationStats, Runbook
from runbook_synth.output import slug
from runbook_synth.render import render_markdown

GOLDEN = Path(__file__).parent / "golden" / "shapes"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_observations"
SHAPES = ("run-entry", "service")
CASES = (("deployment", "lambda"), ("incident-response", "API timeout"))
OVERRIDABLE = {
    "run-entry": ("header", "procedure", "monitoring", "escalation", "linked_ids", "matrix"),
    "service": ("header", "snapshot", "monitoring", "procedure", "troubleshooting", "communication", "automation"),
}


@functools.cache
def mined(operation: str, scope: str) -> Runbook:
    request = runbook_synth.GenerateRequest(SAMPLE, operation, scope, date(2026, 11, 23))
    return runbook_synth.generate(request).runbook


def golden_name(shape: str, operation: str, scope: str) -> str:
    return f"{shape}-{operation}-{slug(scope)}.md"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("operation", "scope"), CASES, ids=[f"{op}-{slug(scope)}" for op, scope in CASES])
def test_shape_matches_golden(shape: str, operation: str, scope: str, update_golden: bool) -> None:
    text = render_markdown(mined(operation, scope), name=f"{shape}.md.j2")
    path = GOLDEN / golden_name(shape, operation, scope)
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("operation", "scope"), CASES, ids=[f"{op}-{slug(scope)}" for op, scope in CASES])
def test_every_shape_shows_the_facts_of_the_default_one(shape: str, operation: str, scope: str) -> None:
    runbook = mined(operation, scope)
    text = render_markdown(runbook, name=f"{shape}.md.j2")
    facts = [runbook.last_validated, *runbook.sources, *runbook.prerequisites, *runbook.environments]
    for step in (*runbook.steps, *runbook.rollback.steps):
        facts += [*step.commands, step.title, *(str(source) for source in step.sources[:6])]
        facts += step.expected_output.splitlines()[:15]
    for entry in runbook.troubleshooting:
        facts += [entry.title, *entry.symptoms, *entry.solution, *(str(source) for source in entry.sources)]
    facts += runbook.monitoring
    missing = [fact for fact in facts if " ".join(fact.split()) not in " ".join(text.split())]
    assert not missing


@pytest.mark.parametrize("shape", SHAPES)
def test_overriding_one_block_changes_only_that_block(shape: str, tmp_path: Path) -> None:
    runbook = mined("deployment", "lambda")
    default = render_markdown(runbook, name=f"{shape}.md.j2")
    for block in OVERRIDABLE[shape]:
        user = tmp_path / block
        user.mkdir()
        entry = user / f"{shape}.md.j2"
        entry.write_text(
            f'{{% extends "{shape}-base.md.j2" %}}{{% block {block} %}}<<<{{{{ super() }}}}>>>{{% endblock %}}\n'
        )
        marked = render_markdown(runbook, user, name=f"{shape}.md.j2")
        assert marked.count("<<<") == 1 and marked.count(">>>") == 1, block
        assert marked.replace("<<<", "").replace(">>>", "") == default, block
        before, rest = marked.split("<<<")
        original, after = rest.split(">>>")
        assert original.strip(), f"block {block} renders nothing"

        entry.write_text(
            f'{{% extends "{shape}-base.md.j2" %}}{{% block {block} %}}Our own {block}.\n{{% endblock %}}\n'
        )
        assert render_markdown(runbook, user, name=f"{shape}.md.j2") == before + f"Our own {block}.\n" + after


@pytest.mark.parametrize(
    ("operation", "scope", "expected"),
    [
        ("deployment", "lambda", "RUN-DEP-LAMBDA"),
        ("incident-response", "API timeout", "RUN-INC-API-TIMEOUT"),
        ("rollback", "lambda", "RUN-RBK-LAMBDA"),
        ("migration", "Aurora schema change", "RUN-MIG-AURORA-SCHEMA-CHANGE"),
        ("backup", "../../etc", "RUN-BACKUP-ETC"),
        ("deployment", "", "RUN-DEP-ALL"),
        ("scaling", "Ünïcode  db__1", "RUN-SCL-N-CODE-DB-1"),
    ],
)
def test_run_ids_are_stable_and_follow_the_file_name_slug(
    operation: str, scope: str, expected: str, tmp_path: Path
) -> None:
    (tmp_path / "id.md.j2").write_text(
        '{% import "run-entry-macros.md.j2" as run %}{{ run.run_id(runbook.operation_type, runbook.scope) }}'
    )
    runbook = dataclasses.replace(mined("deployment", "lambda"), operation_type=operation, scope=scope)
    assert render_markdown(runbook, tmp_path, name="id.md.j2") == expected
    assert expected.endswith("-" + (slug(scope).upper() or "ALL"))


def _with_alarm(runbook: Runbook) -> Runbook:
    source = EvidenceSource("/aws/lambda/report_worker", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z", 4200)
    stats = InvocationStats(source, 4000, 812.5, 2400.0, 5900.0, 31, 640.0, 1024, 410, 60.0, 3, 12, 0.3)
    alarm = AlarmSummary(
        name="report-worker-errors",
        log_group=source.log_group,
        namespace="AWS/Lambda",
        metric="Errors",
        statistic="Sum",
        threshold=5,
        comparison=">",
        evaluation_periods=1,
        datapoints_to_alarm=1,
        period_seconds=300,
        actions=("arn:aws:sns:us-east-1:123456789012:oncall",),
        state="OK",
        severity="critical",
        condition="Errors > 5 for 5 minutes",
        rollback_trigger=True,
    )
    evidence = CloudWatchEvidence(
        scope=runbook.scope,
        log_groups=(source.log_group,),
        window_start=source.window_start,
        window_end=source.window_end,
        events=source.events,
        invocations=(stats,),
        alarms=(alarm,),
        rollback_triggers=(alarm.condition,),
        error_groups=(),
    )
    return dataclasses.replace(runbook, cloudwatch=evidence)


def test_known_alarms_fill_slis_routing_and_the_matrix() -> None:
    deployment = _with_alarm(mined("deployment", "lambda"))
    service = render_markdown(deployment, name="service.md.j2")
    assert "| `/aws/lambda/report_worker` | 4000 | 812.5 / 2400.0 / 5900.0 ms |" in service
    assert "- Errors > 5 for 5 minutes (`report-worker-errors`)" in service
    assert (
        "| `report-worker-errors` | Errors > 5 for 5 minutes | AWS/Lambda Errors (Sum) | critical | OK "
        "| `arn:aws:sns:us-east-1:123456789012:oncall` |" in service
    )
    assert "No CloudWatch alarm is known" not in service

    entry = render_markdown(deployment, name="run-entry.md.j2")
    assert (
        "| Errors > 5 for 5 minutes | alarm `report-worker-errors` | RUN-RBK-LAMBDA | Rollback | alarm, OK |" in entry
    )
    assert "Linked IDs: RUN-RBK-LAMBDA (rollback), alarm `report-worker-errors`" in entry

    incident = render_markdown(_with_alarm(mined("incident-response", "API timeout")), name="run-entry.md.j2")
    assert "**Alarms**: `report-worker-errors` (Errors > 5 for 5 minutes)" in incident
    assert "| alarm `report-worker-errors` | RUN-INC-API-TIMEOUT | Procedure, Step 1 |" in incident


def test_missing_evidence_is_a_todo_never_invented() -> None:
    runbook = mined("incident-response", "API timeout")
    entry = render_markdown(runbook, name="run-entry.md.j2")
    service = render_markdown(runbook, name="service.md.j2")
    assert "**Owner**: TODO:" in entry and "**When to escalate**: TODO:" in entry
    assert "Linked IDs: TODO:" in entry
    assert "> TODO: no CloudWatch evidence for this scope" in service
    assert "**Customer Promises**: TODO:" in service


def test_table_cells_cannot_be_split_by_a_pipe_in_observed_text() -> None:
    runbook = mined("deployment", "lambda")
    entry = runbook.troubleshooting[0]
    hostile = dataclasses.replace(entry, title="a | b", symptoms=("x | y",))
    runbook = dataclasses.replace(runbook, troubleshooting=(hostile, *runbook.troubleshooting[1:]))
    for shape in SHAPES:
        text = render_markdown(runbook, name=f"{shape}.md.j2")
        rows = [line for line in text.splitlines() if line.startswith("| a \\| b |")]
        assert rows, shape
        assert all(line.replace("\\|", "").count("|") == rows[0].replace("\\|", "").count("|") for line in rows)
