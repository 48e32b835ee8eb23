"""The production GitHub client against the loopback stand-in: headers, pagination, rate limits, errors, ETags."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbook_synth.errors import SourceError
from runbook_synth.ingest.github import GitHubClient
from runbook_synth.state import StateStore
from tests.support.github_server import TOKEN, GitHubStandIn, job_json, load_scenario, many_runs, run_json

NOW = datetime(2026, 11, 23, tzinfo=UTC)
REPO = "acme/telegram-api"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github"


class FakeTime:
    """A clock that only moves when the client sleeps, so rate-limit waits are instant and measurable."""

    def __init__(self) -> None:
        self.now = NOW.timestamp()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def github(fake_time: FakeTime) -> Iterator[GitHubStandIn]:
    with GitHubStandIn([load_scenario()], clock=fake_time.clock) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def make_client(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime, token: str | None = TOKEN, **options: Any
) -> GitHubClient:
    return GitHubClient(
        http,
        base_url=github.url,
        token=token,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **options,
    )


def test_every_request_carries_the_api_headers(http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime) -> None:
    client = make_client(http, github, fake_time)
    list(client.workflow_runs(REPO, since=NOW - timedelta(days=30)))

    headers = github.requests[0].headers
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert github.paths()[0] == f"/repos/{REPO}/actions/runs?per_page=100&created=%3E%3D2026-10-24T00%3A00%3A00Z"


def test_pages_follow_the_next_link_verbatim_even_to_repositories_by_id(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    repo = github.repositories[REPO]
    many_runs(repo, 230, NOW - timedelta(days=3), timedelta(minutes=5))
    client = make_client(http, github, fake_time)

    runs = list(client.workflow_runs(REPO, since=NOW - timedelta(days=30)))

    assert len(runs) == 230 + 9
    assert len({run["id"] for run in runs}) == len(runs)
    assert github.paths() == [
        f"/repos/{REPO}/actions/runs?per_page=100&created=%3E%3D2026-10-24T00%3A00%3A00Z",
        "/repositories/146139403/actions/runs?per_page=100&created=%3E%3D2026-10-24T00%3A00%3A00Z&page=2",
        "/repositories/146139403/actions/runs?per_page=100&created=%3E%3D2026-10-24T00%3A00%3A00Z&page=3",
    ]


def test_a_listing_past_1000_results_is_split_into_windows(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    repo = github.repositories[REPO]
    repo.runs.clear()
    many_runs(repo, 1500, NOW - timedelta(days=6), timedelta(minutes=5))
    client = make_client(http, github, fake_time)

    runs = list(client.workflow_runs(REPO, since=NOW - timedelta(days=7)))

    assert sorted(run["id"] for run in runs) == list(range(8_000_000_000, 8_000_001_500))
    windows = [path for path in github.paths() if "&page=" not in path]
    assert len(windows) > 1 and any("..2026-11-23T00%3A00%3A00Z" in path for path in windows)


def test_one_workflow_is_listed_through_its_own_endpoint(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    client = make_client(http, github, fake_time)
    runs = list(
        client.workflow_runs(REPO, since=NOW - timedelta(days=30), workflow="rollback-lambda.yml", branch="main")
    )

    assert [run["id"] for run in runs] == [7100000108, 7100000107, 7100000104]
    assert github.paths()[0].startswith(f"/repos/{REPO}/actions/workflows/rollback-lambda.yml/runs?")
    assert "branch=main" in github.paths()[0]


def test_jobs_come_with_their_steps(http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime) -> None:
    client = make_client(http, github, fake_time)
    jobs = client.run_jobs(REPO, 7100000103)
    first_attempt = client.run_jobs(REPO, 7100000103, attempt=1)

    assert [job["conclusion"] for job in jobs] == ["success"] and [job["conclusion"] for job in first_attempt] == [
        "failure"
    ]
    push = next(step for step in first_attempt[0]["steps"] if step["name"] == "Push image to ECR")
    assert push == {
        "number": 6,
        "name": "Push image to ECR",
        "status": "completed",
        "conclusion": "failure",
        "started_at": "2026-11-09T10:15:31.000Z",
        "completed_at": "2026-11-09T10:15:43.000Z",
    }
    assert first_attempt[0]["started_at"] == "2026-11-09T10:14:26Z"


def test_a_job_log_is_fetched_through_its_redirect_without_the_token(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    client = make_client(http, github, fake_time)
    job_id = github.repositories[REPO].runs[2].jobs[0].id

    text = client.job_log(REPO, job_id)

    assert text is not None and "##[error]denied: Your authorization token has expired." in text
    redirect, signed = github.requests[-2:]
    assert redirect.status == 302 and signed.path.startswith(f"/_signed/jobs/{job_id}/logs?")
    assert "authorization" not in signed.headers
    assert client.job_log(REPO, 99) is None


def test_a_secondary_rate_limit_waits_for_retry_after(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    github.fail(
        "/actions/runs/7100000101/jobs",
        403,
        {"retry-after": "30"},
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    )
    client = make_client(http, github, fake_time)

    jobs = client.run_jobs(REPO, 7100000101)

    assert len(jobs) == 1 and fake_time.sleeps == [30.0] and client.waited_seconds == 30.0
    assert [item.status for item in github.requests] == [403, 200]


def test_a_primary_rate_limit_waits_for_the_reset(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    reset = int(fake_time.now) + 1
    github.fail(
        "/actions/runs/7100000101/jobs",
        403,
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        "API rate limit exceeded for user ID 1.",
    )
    client = make_client(http, github, fake_time)

    assert len(client.run_jobs(REPO, 7100000101)) == 1
    assert fake_time.sleeps == [2.0]  # one second to the reset, one of margin for clock skew


def test_429_without_headers_backs_off_exponentially_from_a_minute(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    github.fail("/jobs", 429, {}, "Too many requests", times=2)
    client = make_client(http, github, fake_time)

    client.run_jobs(REPO, 7100000101)

    assert fake_time.sleeps == [60.0, 120.0]


def test_a_rate_limit_past_the_bounded_wait_says_when_to_retry(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    reset = int(fake_time.now) + 3 * 3600 + 14 * 60  # 03:14 UTC
    github.fail(
        "/jobs", 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}, "API rate limit exceeded"
    )
    client = make_client(http, github, fake_time, max_wait_seconds=600.0)

    with pytest.raises(SourceError) as caught:
        client.run_jobs(REPO, 7100000101)

    assert str(caught.value).startswith(f"github:{REPO}: GitHub rate limit exceeded; retry after 03:15 UTC")
    assert "\n" not in str(caught.value) and fake_time.sleeps == []


def test_a_bad_token_is_a_401_that_says_what_to_do(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    client = make_client(http, github, fake_time, token="ghp_expired")

    with pytest.raises(SourceError, match=r"401: the token is missing or expired; set GH_TOKEN or GITHUB_TOKEN"):
        list(client.workflow_runs(REPO, since=NOW))


def test_a_missing_repository_or_workflow_is_a_404_that_names_it(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    client = make_client(http, github, fake_time)
    with pytest.raises(SourceError, match=r"404: repository acme/nope not found, or the token cannot see it"):
        list(client.workflow_runs("acme/nope", since=NOW))
    with pytest.raises(SourceError, match=r"404: workflow deploy\.yaml in acme/telegram-api not found"):
        list(client.workflow_runs(REPO, since=NOW, workflow="deploy.yaml"))
    anonymous = make_client(http, github, fake_time, token=None)
    with pytest.raises(SourceError, match="404"):  # GitHub hides private repositories from anonymous callers
        list(anonymous.workflow_runs(REPO, since=NOW))


def test_a_403_without_rate_limit_headers_names_the_permission(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    github.fail("/actions/runs?", 403, {}, "Resource not accessible by personal access token")
    client = make_client(http, github, fake_time)

    with pytest.raises(
        SourceError, match=r"403 for repository acme/telegram-api: the token lacks the actions:read permission"
    ):
        list(client.workflow_runs(REPO, since=NOW))
    assert fake_time.sleeps == []


def test_server_errors_are_retried_a_few_times(http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime) -> None:
    github.fail("/jobs", 502, {}, "Server Error", times=2)
    client = make_client(http, github, fake_time)
    assert len(client.run_jobs(REPO, 7100000101)) == 1
    github.fail("/jobs", 500, {}, "Server Error", times=9)
    with pytest.raises(SourceError, match=r"GitHub answered 500 for .*/jobs \(Server Error\); retry later"):
        client.run_jobs(REPO, 7100000101)


def test_an_unchanged_resource_is_a_304_served_from_the_etag_cache(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime, tmp_path: Path
) -> None:
    with StateStore.open(tmp_path) as store:
        first = make_client(http, github, fake_time, etags=store)
        before = list(first.workflow_runs(REPO, since=NOW - timedelta(days=30)))
        second = make_client(http, github, fake_time, etags=store)
        after = list(second.workflow_runs(REPO, since=NOW - timedelta(days=30)))

    assert after == before and len(after) == 9
    assert [item.status for item in github.requests] == [200, 304]
    assert github.requests[1].headers["if-none-match"].startswith('W/"')
    assert second.not_modified == 1 and first.not_modified == 0


def test_the_contents_api_gives_a_workflow_file_at_a_commit(
    http: httpx.Client, github: GitHubStandIn, fake_time: FakeTime
) -> None:
    client = make_client(http, github, fake_time)
    text = client.file_at(REPO, ".github/workflows/deploy-lambda.yml", "3f9adcc7cbab5f9f2f84d2c3502deb088030dcf6")
    assert text is not None and text.startswith("name: Deploy Lambda\n")
    assert client.file_at(REPO, ".github/workflows/deploy-lambda.yml", "0000000") is None


def _recorded(name: str) -> list[tuple[str, object]]:
    """(path, parsed body) of each request in a recorded PyGithub replay file."""
    lines = (SHARED / name).read_text(encoding="utf-8").split("\n")
    blocks = []
    index = 0
    while index + 9 < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        block = lines[index : index + 10]
        body = json.loads(block[9]) if block[9].startswith(("{", "[")) else None
        ast.literal_eval(block[8])  # headers parse as recorded
        blocks.append((block[4], body))
        index += 11
    return blocks


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/fixtures/github is not beside this checkout")
def test_the_stand_in_speaks_the_recorded_shapes() -> None:
    """Every field GitHub sends in a run, a job and a step, nested the same way, is in ours."""
    repo = load_scenario()
    run = repo.runs[2]
    recorded_run = dict(_recorded("WorkflowRun.setUp.txt"))["/repos/PyGithub/PyGithub/actions/runs/3881497935"]
    recorded_jobs = dict(_recorded("WorkflowRun.test_jobs.txt"))[
        "/repos/PyGithub/PyGithub/actions/runs/3881497935/jobs"
    ]
    assert isinstance(recorded_run, dict) and isinstance(recorded_jobs, dict)
    ours_run = run_json(repo, run, "http://127.0.0.1:1")
    ours_job = job_json(repo, run, run.jobs[0], "http://127.0.0.1:1")
    assert set(recorded_run) <= set(ours_run)
    assert set(recorded_run["head_commit"]) == set(ours_run["head_commit"])
    assert set(recorded_jobs) == {"total_count", "jobs"}
    assert set(recorded_jobs["jobs"][0]) <= set(ours_job)
    assert set(recorded_jobs["jobs"][0]["steps"][0]) == set(ours_job["steps"][0])
    assert recorded_jobs["jobs"][0]["steps"][0]["started_at"].endswith(".000Z") and ours_job["steps"][0][
        "started_at"
    ].endswith(".000Z")
    assert recorded_run["run_started_at"].endswith(":19Z") and ours_run["run_started_at"].endswith("Z")
