"""CI log lines and workflow files: literal input → literal expected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from runbook_synth.ingest.github_logs import (
    CiLineKind,
    StepWindow,
    errors_by_step,
    group_errors,
    parse_ci_log,
    parse_timestamp,
    parse_workflow,
    run_command,
    step_commands,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "github"


def test_log_lines_lose_their_timestamp_and_keep_their_marker() -> None:
    lines = parse_ci_log((DATA / "job-log-push-denied.txt").read_text(encoding="utf-8"))

    assert [line.kind for line in lines[:4]] == [
        CiLineKind.OUTPUT,
        CiLineKind.GROUP,
        CiLineKind.OUTPUT,
        CiLineKind.ENDGROUP,
    ]
    assert lines[1].text == "Operating System"
    assert lines[0].text == "Current runner version: '2.321.0'"
    assert lines[0].timestamp == datetime(2026, 11, 9, 10, 14, 28, 120000, tzinfo=UTC)
    masked = lines[7]
    assert masked.text == "docker login --username AWS --password *** 123456789012.dkr.ecr.us-east-1.amazonaws.com"
    errors = [line.text for line in lines if line.kind == CiLineKind.ERROR]
    assert errors == [
        "denied: Your authorization token has expired. Reauthenticate and try again.",
        "Process completed with exit code 1.",
    ]
    assert lines[14].kind == CiLineKind.WARNING and lines[14].timestamp == datetime(2026, 11, 9, 10, 15, 47, tzinfo=UTC)
    assert lines[15].text == "no timestamp on this line" and lines[15].timestamp is None
    assert [line.number for line in lines] == list(range(1, 17))


def test_workflow_commands_in_a_log_read_like_markers() -> None:
    lines = parse_ci_log("::error file=app.py,line=3::bad thing\n::group::Install\n")
    assert [(line.kind, line.text) for line in lines] == [
        (CiLineKind.ERROR, "bad thing"),
        (CiLineKind.GROUP, "Install"),
    ]


def test_timestamps_with_and_without_fractions() -> None:
    assert parse_timestamp("2023-01-10T08:24:27.000Z") == datetime(2023, 1, 10, 8, 24, 27, tzinfo=UTC)
    assert parse_timestamp("2023-01-10T08:24:28Z") == datetime(2023, 1, 10, 8, 24, 28, tzinfo=UTC)
    assert parse_timestamp("2026-11-20T14:03:11.1234567Z") == datetime(2026, 11, 20, 14, 3, 11, 123456, tzinfo=UTC)
    assert (
        parse_timestamp("") is None
        and parse_timestamp("yesterday") is None
        and parse_timestamp("2026-11-20T14:03:11") is None
    )


def test_errors_are_grouped_by_template_and_the_exit_code_line_goes_last() -> None:
    groups = group_errors(
        [
            "Process completed with exit code 1.",
            "connection to db-1.internal refused after 3 attempts",
            "connection to db-2.internal refused after 5 attempts",
            "connection to db-3.internal refused after 2 attempts",
            "connection to db-4.internal refused after 9 attempts",
            "image not found",
        ]
    )

    assert [(group.count, group.example) for group in groups] == [
        (4, "connection to db-1.internal refused after 3 attempts"),
        (1, "image not found"),
        (1, "Process completed with exit code 1."),
    ]
    assert "<*>" in groups[0].template
    assert group_errors([]) == ()


def test_an_error_line_belongs_to_the_step_running_at_its_time() -> None:
    def at(second: int) -> datetime:
        return datetime(2026, 11, 9, 10, 15, second, tzinfo=UTC)

    steps = [
        StepWindow(5, "Build image", "success", at(0), at(10)),
        StepWindow(6, "Push image to ECR", "failure", at(10), at(20)),
    ]
    log = (
        "2026-11-09T10:15:05.5000000Z ##[error]warning treated as error\n"
        "2026-11-09T10:15:20.7000000Z ##[error]denied\n"
        "##[error]no time at all\n"
        "2026-11-09T10:16:00.0000000Z ##[error]after every step\n"
    )

    assert errors_by_step(parse_ci_log(log), steps) == {
        5: ("warning treated as error",),
        6: ("denied", "no time at all", "after every step"),
    }


def test_run_scripts_become_commands() -> None:
    script = (
        "# tag with the commit\naws lambda invoke --function-name api \\\n  --payload '{}' out.json\n\ncat out.json\n"
    )
    assert run_command(script) == "aws lambda invoke --function-name api --payload '{}' out.json\ncat out.json"


def test_steps_of_the_workflow_file_are_matched_by_name_and_matrix_jobs_by_prefix() -> None:
    workflow = parse_workflow((DATA / "deploy-lambda.yml").read_text(encoding="utf-8"))
    assert [job.job_id for job in workflow] == ["deploy"]
    assert workflow[0].steps[0].display_name == "Run actions/checkout@v4"

    commands = step_commands(
        "deploy",
        ["Set up job", "Run actions/checkout@v4", "Login to Amazon ECR", "Wait for update", "Complete job"],
        workflow,
    )
    assert commands == {
        "Login to Amazon ECR": "aws ecr get-login-password --region us-east-1 | docker login --username AWS"
        " --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "Wait for update": "aws lambda wait function-updated --function-name telegram-api",
    }

    matrix = parse_workflow(
        "jobs:\n  test:\n    steps:\n      - run: pytest -q\n  lint:\n    steps:\n      - run: ruff check\n"
    )
    assert step_commands("test (3.11)", ["Set up job", "Run pytest -q"], matrix) == {"Run pytest -q": "pytest -q"}
    assert step_commands("other", ["Run pytest -q"], matrix) == {}
    assert parse_workflow("jobs: [unclosed") == () and parse_workflow("just text") == ()
