"""Synthesis on a literal deployment history: steps, support, placeholders, durations, troubleshooting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from runbook_synth.errors import NotEnoughRunsError
from runbook_synth.generation import generate
from runbook_synth.models import GenerateRequest, Runbook, StepRole
from runbook_synth.roles import is_check
from runbook_synth.settings import Settings
from runbook_synth.stats import robust_durations
from tests.support.scenarios import write_deployment_history


@pytest.fixture
def runbook(tmp_path: Path) -> Runbook:
    write_deployment_history(tmp_path)
    return generate(GenerateRequest(tmp_path, "deployment", "lambda", date(2026, 11, 23))).runbook


def test_steps_follow_the_recorded_order_with_templates(runbook: Runbook) -> None:
    assert [step.commands for step in runbook.steps] == [
        ("pytest -q",),
        ("docker build -t telegram-api:{git_sha} .",),
        ("docker push 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api:{git_sha}",),
        (
            "ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker "
            "--image-uri 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api@{digest}",
        ),
        ("aws lambda wait function-updated --function-name report_worker",),
        ("aws logs tail /aws/lambda/report_worker --since 5m",),
        ("curl -s https://api.example.com/health",),
    ]
    assert [step.title for step in runbook.steps][:3] == ["Run tests", "Build image", "Push image"]


def test_support_and_optional_marking(runbook: Runbook) -> None:
    assert [(s.support.runs, s.support.of, s.optional) for s in runbook.steps] == [
        (4, 4, False),
        (4, 4, False),
        (4, 4, False),
        (4, 4, False),
        (4, 4, False),
        (2, 4, True),
        (4, 4, False),
    ]


def test_durations_and_estimate(runbook: Runbook) -> None:
    build = runbook.steps[1].duration_seconds
    assert build is not None and build.median == 71.5 and build.p90 == 73.0
    assert runbook.estimated_duration_seconds == 241.5
    assert runbook.last_validated == "2026-09-04"


def test_troubleshooting_groups_failure_retry_and_journal(runbook: Runbook) -> None:
    (entry,) = runbook.troubleshooting
    assert entry.title == "ECR authorization token expired"
    assert entry.occurrences == 2
    assert entry.cause.startswith("ECR login tokens are valid for 12 hours")
    assert entry.solution[0].startswith("aws ecr get-login-password")
    assert entry.prevention == "Log in to ECR at the start of every deployment."
    assert entry.last_seen == "2026-09-07"
    assert len(entry.sources) == 3
    push = runbook.steps[2]
    assert push.if_failed and "ECR authorization token expired" in push.if_failed[0]


def test_verification_is_the_check_that_followed(runbook: Runbook) -> None:
    update = runbook.steps[3]
    assert update.verification == "aws lambda wait function-updated --function-name report_worker"


def test_prerequisites_from_commands(runbook: Runbook) -> None:
    assert "Docker (daemon running)" in runbook.prerequisites
    assert "Doppler CLI configured for the environment" in runbook.prerequisites
    assert runbook.environments == ("production",)


def test_too_few_runs_is_refused_with_what_was_found(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    request = GenerateRequest(tmp_path, "deployment", "lambda", date(2026, 11, 23), Settings(min_runs=5))
    with pytest.raises(NotEnoughRunsError, match=r"found 4 recorded executions of deployment lambda .*at least 5"):
        generate(request)


def test_outlier_moves_neither_median_nor_p90() -> None:
    base = robust_durations([60, 62, 58, 61, 59, 63, 60, 60])
    with_outlier = robust_durations([60, 62, 58, 61, 59, 63, 60, 900])
    assert base is not None and with_outlier is not None
    assert with_outlier.median == base.median and with_outlier.p90 <= 63


def test_check_commands() -> None:
    assert is_check("aws lambda get-function --function-name x")
    assert is_check("aws lambda wait function-updated --function-name x")
    assert is_check("curl -s https://x/health")
    assert not is_check("aws lambda update-function-code --function-name x")
    assert not is_check("curl -X POST https://x")
    assert is_check("psql -c '\\d reports'") and not is_check("psql -c 'drop table x'")


def test_similar_waiter_errors_stay_apart() -> None:
    from runbook_synth.cluster import group_by_similarity
    from runbook_synth.normalize import error_key

    snapshot = error_key("Waiter DBClusterSnapshotAvailable failed: Max attempts exceeded")
    instance = error_key("Waiter DBInstanceAvailable failed: Max attempts exceeded")
    expired = error_key("denied: Your authorization token has expired. Reauthenticate and try again.")
    expired_again = error_key("denied: Your authorization token has expired. Please reauthenticate and try again.")
    assert group_by_similarity([snapshot, instance, expired, expired_again]) == [0, 1, 2, 2]


def test_roles_checks_and_verification_live_on_the_records(runbook: Runbook) -> None:
    roles = [step.role for step in runbook.steps]
    assert roles == [
        StepRole.CHANGE,
        StepRole.CHANGE,
        StepRole.CHANGE,
        StepRole.CHANGE,
        StepRole.CHECK,
        StepRole.CHECK,
        StepRole.CHECK,
    ]
    assert runbook.steps[3].verified_by == 5
    assert runbook.steps[3].verification == runbook.steps[4].commands[0]
    assert runbook.pre_checks == ()
    assert runbook.post_checks == (5, 6, 7)
    assert runbook.access == ("AWS permissions for: lambda, logs", "Doppler (read secrets for the environment)")
    assert runbook.review_frequency == "Monthly"
