"""Ingest into the state store (incremental, redacted, conditional) and observations from what was stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from runbook_synth.errors import ConfigError
from runbook_synth.ingest.github import (
    SOURCE,
    GitHubClient,
    GitHubConfig,
    GitHubIngestSummary,
    ingest_github,
    observations_from_store,
    workflow_words,
)
from runbook_synth.models import CommandRun, FailureDetail, Provenance, SourceKind
from runbook_synth.state import StateStore
from tests.support.github_server import TOKEN, GitHubStandIn, StandInRun, load_scenario

NOW = datetime(2026, 11, 23, tzinfo=UTC)
REPO = "acme/telegram-api"
CONFIG = GitHubConfig(repos=(REPO,))


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn([load_scenario()], clock=lambda: NOW.timestamp()) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path) as opened:
        yield opened


def ingest(
    github: GitHubStandIn, store: StateStore, config: GitHubConfig = CONFIG, now: datetime = NOW
) -> GitHubIngestSummary:
    sleeps: list[float] = []
    with httpx.Client(timeout=5) as http:
        client = GitHubClient(
            http, base_url=github.url, token=TOKEN, sleep=sleeps.append, clock=lambda: now.timestamp(), etags=store
        )
        return ingest_github(client, store, config, now=now)


def test_the_first_ingest_stores_runs_jobs_failed_logs_and_workflow_files(
    github: GitHubStandIn, store: StateStore
) -> None:
    summary = ingest(github, store)

    assert summary.runs_listed == 9
    assert summary.runs_stored == 10  # run 7100000103 ran twice
    assert summary.logs_fetched == 3
    assert summary.workflow_files == 7
    kinds = sorted(record.key.split("|")[0] for record in store.records(SOURCE, scope=REPO))
    assert kinds == ["log"] * 3 + ["run"] * 10 + ["workflow"] * 7
    assert "/repos/acme/telegram-api/actions/runs/7100000103/attempts/1" in github.paths()
    assert store.cursor(SOURCE, f"runs|{REPO}|*|") == "2026-11-20T11:02:52Z"


def test_secrets_are_masked_before_they_are_stored(github: GitHubStandIn, store: StateStore) -> None:
    summary = ingest(github, store)

    stored = "\n".join(record.payload for record in store.records(SOURCE))
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" not in stored
    assert "AWS_SECRET_ACCESS_KEY={aws_secret_access_key}" in stored
    assert "--password *** 123456789012" in stored  # GitHub's own mask is kept as it is
    assert summary.redactions >= 1


def test_an_unchanged_nightly_run_costs_only_conditional_requests(github: GitHubStandIn, store: StateStore) -> None:
    ingest(github, store)
    ingest(github, store)  # the cursor moved: one new listing URL, nothing new in it
    github.requests.clear()

    summary = ingest(github, store)

    assert summary.new_records == 0 and summary.runs_stored == 0
    assert [item.status for item in github.requests] == [304]
    assert summary.not_modified == 1


def test_a_later_ingest_fetches_only_new_runs_and_waits_for_runs_in_progress(
    github: GitHubStandIn, store: StateStore
) -> None:
    ingest(github, store)
    repo = github.repositories[REPO]
    template = repo.runs[0]
    created = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    running = StandInRun(
        **{
            **template.__dict__,
            "id": 7100000110,
            "run_number": 47,
            "status": "in_progress",
            "conclusion": None,
            "created": created,
            "started": created,
            "updated": created,
        }
    )
    later = created + timedelta(hours=3)
    finished = StandInRun(
        **{**template.__dict__, "id": 7100000111, "run_number": 48, "created": later, "started": later}
    )
    repo.runs.extend([running, finished])
    github.requests.clear()

    first = ingest(github, store)
    assert first.runs_stored == 1  # the finished one; the one still running is read again next time
    assert store.cursor(SOURCE, f"runs|{REPO}|*|") == "2026-11-22T09:00:00Z"

    running.status, running.conclusion = "completed", "success"
    second = ingest(github, store)
    assert second.runs_stored == 1
    assert not any(
        "/actions/runs/7100000109/jobs" in path for path in github.paths()
    )  # stored runs are not fetched again
    assert "github:acme/telegram-api/actions/runs/7100000110" in {item.path for item in observations_from_store(store)}


def test_no_repositories_is_a_config_error(github: GitHubStandIn, store: StateStore) -> None:
    with pytest.raises(
        ConfigError, match=r"no repositories to read: set repos in \[tool.runbook-synth.github\] or pass --repo"
    ):
        ingest(github, store, GitHubConfig())


def test_a_run_becomes_an_execution_whose_steps_are_the_workflow_run_lines(
    github: GitHubStandIn, store: StateStore
) -> None:
    ingest(github, store)
    observations = {item.path: item for item in observations_from_store(store)}

    run = observations["github:acme/telegram-api/actions/runs/7100000101"]
    assert run.kind == SourceKind.GITHUB_ACTIONS
    assert run.title == "Deploy Lambda: Bump aiogram to 3.4"
    assert (run.context, run.tags) == ("deploy lambda", ("deploy", "lambda"))
    assert run.when == datetime(2026, 11, 2, 14, 0, 5, tzinfo=UTC) and run.day == date(2026, 11, 2)
    assert run.total_duration_seconds == 6 + 2 + 1 + 3 + 4 + 58 + 36 + 5 + 41 + 7
    assert [command.operation for command in run.commands] == [
        "Run actions/checkout@v4",
        "Configure AWS credentials",
        "Login to Amazon ECR",
        "Build image",
        "Push image to ECR",
        "Update function code",
        "Wait for update",
        "Smoke test",
    ]
    assert run.commands[0].command == "Run actions/checkout@v4"  # a `uses:` step has no run line: its name stands in
    assert run.commands[6] == CommandRun(
        command="aws lambda wait function-updated --function-name telegram-api",
        provenance=Provenance("github:acme/telegram-api/actions/runs/7100000101", 8),
        output="",
        exit_code=0,
        duration_seconds=41.0,
        operation="Wait for update",
    )
    assert run.commands[7].command == (
        "aws lambda invoke --function-name telegram-api --payload '{\"ping\": true}'"
        " --cli-binary-format raw-in-base64-out /tmp/out.json\ncat /tmp/out.json"
    )
    rollback = observations["github:acme/telegram-api/actions/runs/7100000104"]
    assert rollback.tags == ("rollback", "lambda") and rollback.title == "Rollback Lambda"


def test_a_failed_step_carries_its_error_lines(github: GitHubStandIn, store: StateStore) -> None:
    ingest(github, store)
    observations = {item.path: item for item in observations_from_store(store)}

    failed = observations["github:acme/telegram-api/actions/runs/7100000103"]
    assert failed.commands[-1].operation == "Push image to ECR"
    assert failed.commands[-1].exit_code == 1
    assert failed.commands[-1].output == (
        "denied: Your authorization token has expired. Reauthenticate and try again.\nProcess completed with exit code 1."
    )
    assert all(command.output == "" for command in failed.commands[:-1])
    assert len(failed.commands) == 5  # the skipped steps after the failure are not commands


def test_a_failed_run_fixed_by_a_rerun_of_its_commit_is_a_failure_with_the_recovery(
    github: GitHubStandIn, store: StateStore
) -> None:
    ingest(github, store)
    observations = {item.path: item for item in observations_from_store(store)}

    rerun = observations["github:acme/telegram-api/actions/runs/7100000103/failure"]
    assert rerun.kind == SourceKind.FAILURE
    assert rerun.tags == ("deploy", "lambda") and rerun.day == date(2026, 11, 9)
    assert rerun.failure == FailureDetail(
        error_messages=(
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "Process completed with exit code 1.",
        ),
        symptoms="Step 'Push image to ECR' failed in run #43",
        failed_command="docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/telegram-api:${{ github.sha }}",
        root_cause="Not the change itself: the same commit (c8c24e7) passed when run again"
        " (github:acme/telegram-api/actions/runs/7100000103/attempts/2)",
        fix_commands=("gh run rerun 7100000103 --failed",),
    )
    new_run = observations["github:acme/telegram-api/actions/runs/7100000105/failure"]
    assert new_run.failure is not None and new_run.failure.fix_commands == (
        "gh workflow run deploy-lambda.yml --ref main",
    )
    assert new_run.failure.headline_error == "Waiter FunctionUpdated failed: Max attempts exceeded"
    assert sum(item.kind == SourceKind.FAILURE for item in observations.values()) == 3
    assert list(observations) == sorted(observations, key=lambda path: observations[path].sort_key)


def test_without_a_readable_workflow_file_the_step_names_are_the_commands(
    github: GitHubStandIn, store: StateStore
) -> None:
    github.repositories[REPO].files.clear()
    ingest(github, store)

    run = next(item for item in observations_from_store(store) if item.path.endswith("/7100000101"))
    assert [command.command for command in run.commands][2:4] == ["Login to Amazon ECR", "Build image"]


def test_observations_can_be_limited_to_some_repositories(github: GitHubStandIn, store: StateStore) -> None:
    ingest(github, store)
    assert observations_from_store(store, repos=["acme/other"]) == ()
    assert len(observations_from_store(store, repos=[REPO])) == 13


def test_one_workflow_and_branch_have_their_own_cursor(github: GitHubStandIn, store: StateStore) -> None:
    summary = ingest(
        github,
        store,
        GitHubConfig(repos=(REPO,), workflows=("rollback-lambda.yml",), branch="main", lookback=timedelta(days=10)),
    )

    assert summary.runs_stored == 2  # the 2026-11-10 rollback is older than 10 days
    assert store.cursor(SOURCE, f"runs|{REPO}|rollback-lambda.yml|main") == "2026-11-16T22:09:02Z"
    assert "created=%3E%3D2026-11-13T00%3A00%3A00Z" in github.paths()[0]


def test_workflow_file_names_say_what_the_run_is() -> None:
    assert workflow_words(".github/workflows/deploy-lambda.yml") == ("deploy", "lambda")
    assert workflow_words(".github/workflows/rollbackFrontend.yaml") == ("rollback",)
    assert workflow_words(".github/workflows/rollback_db.yml") == ("rollback", "db")
