"""A stand-in for the GitHub REST API on 127.0.0.1: a real HTTP server, so the production client is what is tested.

It serves a repository of workflow runs built from `tests/data/github/scenario.json` in GitHub's exact
response shapes (the field names and nesting of the recorded responses in shared/fixtures/github/):
listings paginated with `link` headers whose `next` points at `/repositories/{id}/…` as GitHub's do,
the `created`/`branch`/`status` filters and the 1,000-result cap, jobs with steps (run times without
milliseconds, step times with them, as GitHub writes them), job logs behind a 302 to a signed URL on the
same server, the contents API, ETags with 304, bearer-token auth (401) and private repositories (404).
Faults (a 403 with `retry-after`, a primary rate limit, a 500) are queued per path by the test.

Also used by `scripts/github_standin.py` for `make demo`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DATA = Path(__file__).resolve().parents[1] / "data" / "github"
TOKEN = "ghp_standin0000000000000000000000000000"


@dataclass
class StandInStep:
    number: int
    name: str
    conclusion: str
    started: datetime
    completed: datetime


@dataclass
class StandInJob:
    id: int
    name: str
    conclusion: str
    steps: list[StandInStep]
    log: str


@dataclass
class StandInRun:
    id: int
    attempt: int
    run_number: int
    workflow_file: str
    workflow_id: int
    workflow_name: str
    title: str
    sha: str
    branch: str
    event: str
    status: str
    conclusion: str | None
    created: datetime
    started: datetime
    updated: datetime
    jobs: list[StandInJob]


@dataclass
class StandInRepository:
    full_name: str
    id: int
    private: bool = True
    runs: list[StandInRun] = field(default_factory=list)
    files: dict[tuple[str, str], str] = field(default_factory=dict)
    """(path, ref) → text, for the contents API."""


@dataclass
class Fault:
    """A canned response for the next `times` requests whose path contains `path`."""

    path: str
    status: int
    headers: dict[str, str]
    body: str = ""
    times: int = 1


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    status: int


def stamp(moment: datetime, millis: bool = False) -> str:
    """GitHub's two timestamp forms: `2026-11-09T10:14:20Z` (runs, jobs) and `…20.000Z` (steps)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond // 1000:03d}Z" if millis else "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


# --- the scenario ---------------------------------------------------------------------------------------------------


def _log_for(run: dict[str, Any], steps: list[StandInStep]) -> str:
    """A job log as the runner writes it: timestamped, each step in a ##[group], errors as ##[error]."""
    lines: list[str] = []

    def at(moment: datetime, text: str) -> None:
        lines.append(f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{moment.microsecond:06d}0Z {text}")

    for step in steps:
        if step.name in ("Set up job", "Complete job") or step.name.startswith("Post "):
            if step.name == "Set up job":
                at(step.started + timedelta(milliseconds=120), "Current runner version: '2.321.0'")
                at(step.started + timedelta(milliseconds=340), "Secret source: Actions")
            continue
        at(step.started + timedelta(milliseconds=50), f"##[group]Run {step.name}")
        at(step.started + timedelta(milliseconds=60), "shell: /usr/bin/bash -e {0}")
        at(step.started + timedelta(milliseconds=70), "##[endgroup]")
        if step.name == "Login to Amazon ECR":
            at(
                step.started + timedelta(milliseconds=900),
                "docker login --username AWS --password *** 123456789012.dkr.ecr.us-east-1.amazonaws.com",
            )
            at(step.started + timedelta(milliseconds=950), "Login Succeeded")
        if step.conclusion == "failure":
            for index, text in enumerate(run.get("output", [])):
                at(step.started + timedelta(milliseconds=200 + index), text)
            for index, text in enumerate(run.get("errors", [])):
                at(step.completed - timedelta(milliseconds=300 - index), f"##[error]{text}")
    return "\n".join(lines) + "\n"


def load_scenario(path: Path = DATA / "scenario.json", shift: timedelta = timedelta(0)) -> StandInRepository:
    """The repository of `scenario.json`, with every time moved by `shift` (the demo moves it to now)."""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    info = scenario["repository"]
    repo = StandInRepository(info["full_name"], int(info["id"]), bool(info.get("private", True)))
    job_ids = iter(range(31_000_000_001, 32_000_000_000))
    for spec in scenario["runs"]:
        workflow = scenario["workflows"][spec["workflow"]]
        created = _parse(spec["created_at"]) + shift
        started = (_parse(spec["started_at"]) + shift) if "started_at" in spec else created
        cursor = started + timedelta(seconds=6)
        steps: list[StandInStep] = []
        durations = list(spec["durations"])
        failed = spec.get("failed_step")
        after_failure = False
        for number, name in enumerate(workflow["steps"], start=1):
            bookkeeping = name in ("Set up job", "Complete job") or name.startswith("Post ")
            if bookkeeping:
                seconds = 2 if name == "Set up job" else 0
                conclusion = "success"
            elif after_failure or not durations:
                seconds, conclusion = 0, "skipped"
            else:
                seconds = durations.pop(0)
                conclusion = "failure" if name == failed else "success"
                after_failure = conclusion == "failure"
            steps.append(StandInStep(number, name, conclusion, cursor, cursor + timedelta(seconds=seconds)))
            cursor += timedelta(seconds=seconds)
        conclusion = str(spec["conclusion"])
        job = StandInJob(next(job_ids), workflow["job"], conclusion, steps, "")
        job.log = _log_for(spec, steps)
        repo.runs.append(
            StandInRun(
                id=int(spec["id"]),
                attempt=int(spec["attempt"]),
                run_number=int(spec["run_number"]),
                workflow_file=workflow["file"],
                workflow_id=int(workflow["id"]),
                workflow_name=workflow["name"],
                title=spec["title"],
                sha=spec["sha"],
                branch=spec["branch"],
                event=spec["event"],
                status="completed",
                conclusion=conclusion,
                created=created,
                started=started,
                updated=cursor + timedelta(seconds=2),
                jobs=[job],
            )
        )
        workflow_path = f".github/workflows/{workflow['file']}"
        repo.files[(workflow_path, spec["sha"])] = (DATA / workflow["file"]).read_text(encoding="utf-8")
    return repo


def many_runs(repo: StandInRepository, count: int, start: datetime, every: timedelta) -> None:
    """Add `count` plain successful runs (no jobs), for the 1,000-result cap."""
    for index in range(count):
        created = start + index * every
        repo.runs.append(
            StandInRun(
                id=8_000_000_000 + index,
                attempt=1,
                run_number=1000 + index,
                workflow_file="ci.yml",
                workflow_id=1,
                workflow_name="CI",
                title=f"Commit {index}",
                sha=f"{index:040x}",
                branch="main",
                event="push",
                status="completed",
                conclusion="success",
                created=created,
                started=created,
                updated=created + timedelta(seconds=30),
                jobs=[],
            )
        )


# --- response shapes ------------------------------------------------------------------------------------------------


def _owner(repo: StandInRepository, base: str) -> dict[str, Any]:
    login = repo.full_name.split("/")[0]
    return {
        "login": login,
        "id": 50770626,
        "node_id": "MDEyOk9yZ2FuaXphdGlvbjUwNzcwNjI2",
        "avatar_url": "https://avatars.githubusercontent.com/u/50770626?v=4",
        "gravatar_id": "",
        "url": f"{base}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "Organization",
        "site_admin": False,
    }


def _repository(repo: StandInRepository, base: str) -> dict[str, Any]:
    return {
        "id": repo.id,
        "node_id": "MDEwOlJlcG9zaXRvcnkxNDYxMzk0MDM=",
        "name": repo.full_name.split("/")[1],
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": _owner(repo, base),
        "html_url": f"https://github.com/{repo.full_name}",
        "description": "Telegram bot API on AWS Lambda",
        "fork": False,
        "url": f"{base}/repos/{repo.full_name}",
    }


def run_json(repo: StandInRepository, run: StandInRun, base: str) -> dict[str, Any]:
    """A workflow-run object with every top-level field GitHub sends (see WorkflowRun.setUp.txt)."""
    api = f"{base}/repos/{repo.full_name}/actions/runs/{run.id}"
    actor = _owner(repo, base) | {"login": "deploy-bot", "type": "User"}
    return {
        "id": run.id,
        "name": run.workflow_name,
        "node_id": f"WFR_kwLOADYVqs{run.id}",
        "head_branch": run.branch,
        "head_sha": run.sha,
        "path": f".github/workflows/{run.workflow_file}",
        "display_title": run.title,
        "run_number": run.run_number,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow_id,
        "check_suite_id": run.id + 3_000_000_000,
        "check_suite_node_id": f"CS_kwDOADYVqs{run.id}",
        "url": api,
        "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": stamp(run.created),
        "updated_at": stamp(run.updated),
        "actor": actor,
        "run_attempt": run.attempt,
        "referenced_workflows": [],
        "run_started_at": stamp(run.started),
        "triggering_actor": actor,
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{base}/repos/{repo.full_name}/check-suites/{run.id + 3_000_000_000}",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": f"{api}/attempts/{run.attempt - 1}" if run.attempt > 1 else None,
        "workflow_url": f"{base}/repos/{repo.full_name}/actions/workflows/{run.workflow_id}",
        "head_commit": {
            "id": run.sha,
            "tree_id": hashlib.sha1(run.sha.encode()).hexdigest(),
            "message": run.title,
            "timestamp": stamp(run.created - timedelta(minutes=3)),
            "author": {"name": "Dana Ops", "email": "dana@example.com"},
            "committer": {"name": "Dana Ops", "email": "dana@example.com"},
        },
        "repository": _repository(repo, base),
        "head_repository": _repository(repo, base),
    }


def job_json(repo: StandInRepository, run: StandInRun, job: StandInJob, base: str) -> dict[str, Any]:
    """A job object with its steps (see WorkflowRun.test_jobs.txt)."""
    return {
        "id": job.id,
        "run_id": run.id,
        "workflow_name": run.workflow_name,
        "head_branch": run.branch,
        "run_url": f"{base}/repos/{repo.full_name}/actions/runs/{run.id}",
        "run_attempt": run.attempt,
        "node_id": f"CR_kwDOADYVqs{job.id}",
        "head_sha": run.sha,
        "url": f"{base}/repos/{repo.full_name}/actions/jobs/{job.id}",
        "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}/job/{job.id}",
        "status": "completed",
        "conclusion": job.conclusion,
        "created_at": stamp(run.started + timedelta(seconds=2)),
        "started_at": stamp(job.steps[0].started if job.steps else run.started),
        "completed_at": stamp(job.steps[-1].completed if job.steps else run.updated),
        "name": job.name,
        "steps": [
            {
                "name": step.name,
                "status": "completed",
                "conclusion": step.conclusion,
                "number": step.number,
                "started_at": stamp(step.started, millis=True),
                "completed_at": stamp(step.completed, millis=True),
            }
            for step in job.steps
        ],
        "check_run_url": f"{base}/repos/{repo.full_name}/check-runs/{job.id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 2,
        "runner_group_name": "GitHub Actions",
    }


def _created_matches(created: datetime, expression: str) -> bool:
    """GitHub's search date syntax as the runs `created` filter takes it: >=, <=, >, <, A..B, or a day."""

    def moment(text: str, end: bool = False) -> datetime:
        if "T" in text:
            return _parse(text)
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1) - timedelta(seconds=1) if end else day

    if ".." in expression:
        low, high = expression.split("..", 1)
        return (low == "*" or created >= moment(low)) and (high == "*" or created <= moment(high, end=True))
    if expression.startswith(">="):
        return created >= moment(expression[2:])
    if expression.startswith("<="):
        return created <= moment(expression[2:], end=True)
    if expression.startswith(">"):
        return created > moment(expression[1:], end=True)
    if expression.startswith("<"):
        return created < moment(expression[1:])
    return moment(expression) <= created <= moment(expression, end=True)


# --- the server -----------------------------------------------------------------------------------------------------


class GitHubStandIn:
    """The server: `with GitHubStandIn([repo]) as github:` then point the client at `github.url`."""

    def __init__(
        self,
        repositories: list[StandInRepository],
        token: str | None = TOKEN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repositories = {repo.full_name: repo for repo in repositories}
        self.token = token
        self.clock = clock
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def fail(
        self, path: str, status: int, headers: dict[str, str] | None = None, message: str = "", times: int = 1
    ) -> None:
        """Answer the next `times` requests whose path contains `path` with this status instead."""
        body = json.dumps({"message": message, "documentation_url": "https://docs.github.com/rest"}) if message else ""
        with self._lock:
            self.faults.append(Fault(path, status, dict(headers or {}), body, times))

    def paths(self, status: int | None = None) -> list[str]:
        """The paths requested so far (with query), optionally only those answered with `status`."""
        return [item.path for item in self.requests if status is None or item.status == status]

    # routing

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes would wait on delayed ACKs

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                status, headers, body = standin._respond(self.path, {k.lower(): v for k, v in self.headers.items()})
                payload = body.encode("utf-8")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _respond(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        status, response_headers, body = self._route(raw_path, headers)
        with self._lock:
            self.requests.append(RecordedRequest(raw_path, headers, status))
        return status, response_headers, body

    def _limits(self) -> dict[str, str]:
        used = len(self.requests) + 1
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(5000 - used, 1)),
            "X-RateLimit-Reset": str(int(self.clock()) + 3600),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _route(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        with self._lock:
            for fault in self.faults:
                if fault.path in raw_path and fault.times > 0:
                    fault.times -= 1
                    merged = self._limits() | {"Content-Type": "application/json; charset=utf-8"}
                    merged = {key.lower(): value for key, value in merged.items()}
                    merged |= {key.lower(): value for key, value in fault.headers.items()}
                    return fault.status, merged, fault.body
        parts = urlsplit(raw_path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments[:1] == ["_signed"]:
            return self._signed_log(segments, query)
        authorized = headers.get("authorization")
        if self.token is not None and authorized is not None and authorized != f"Bearer {self.token}":
            return self._json(
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"},
            )
        repo, rest = self._repository(segments)
        if repo is None or (repo.private and authorized is None):
            return self._not_found()
        base = self.url
        if rest == ["actions", "runs"]:
            return self._listing(repo, None, query, headers)
        if len(rest) == 4 and rest[:2] == ["actions", "workflows"] and rest[3] == "runs":
            return self._listing(repo, rest[2], query, headers)
        if len(rest) >= 3 and rest[:2] == ["actions", "runs"] and rest[2].isdigit():
            return self._run_resource(repo, int(rest[2]), rest[3:], query, headers)
        if len(rest) == 4 and rest[:2] == ["actions", "jobs"] and rest[3] == "logs" and rest[2].isdigit():
            job = self._job(repo, int(rest[2]))
            if job is None:
                return self._not_found()
            location = f"{base}/_signed/jobs/{job.id}/logs?urlExpires=2026-11-23T00%3A00%3A00Z&urlSigningMethod=HMACV1&urlSignature=c2lnbmVk"
            return 302, self._limits() | {"Location": location, "Content-Type": "text/html;charset=utf-8"}, ""
        if rest[:1] == ["contents"]:
            text = repo.files.get(("/".join(rest[1:]), query.get("ref", "main")))
            if text is None:
                return self._not_found()
            name = rest[-1]
            encoded = base64.encodebytes(text.encode("utf-8")).decode("ascii")
            body = {
                "type": "file",
                "encoding": "base64",
                "size": len(text.encode("utf-8")),
                "name": name,
                "path": "/".join(rest[1:]),
                "content": encoded,
                "sha": hashlib.sha1(text.encode()).hexdigest(),
                "url": f"{base}/repos/{repo.full_name}/contents/{'/'.join(rest[1:])}?ref={query.get('ref', 'main')}",
                "html_url": f"https://github.com/{repo.full_name}/blob/{query.get('ref', 'main')}/{'/'.join(rest[1:])}",
                "download_url": None,
            }
            return self._cached(body, headers)
        return self._not_found()

    def _repository(self, segments: list[str]) -> tuple[StandInRepository | None, list[str]]:
        if len(segments) >= 3 and segments[0] == "repos":
            return self.repositories.get(f"{segments[1]}/{segments[2]}"), segments[3:]
        if len(segments) >= 2 and segments[0] == "repositories" and segments[1].isdigit():
            for repo in self.repositories.values():
                if repo.id == int(segments[1]):
                    return repo, segments[2:]
        return None, []

    def _latest(self, repo: StandInRepository) -> list[StandInRun]:
        latest: dict[int, StandInRun] = {}
        for run in repo.runs:
            if run.id not in latest or run.attempt > latest[run.id].attempt:
                latest[run.id] = run
        return sorted(latest.values(), key=lambda run: (run.created, run.id), reverse=True)

    def _listing(
        self, repo: StandInRepository, workflow: str | None, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        runs = self._latest(repo)
        if workflow is not None:
            runs = [run for run in runs if workflow in (run.workflow_file, str(run.workflow_id))]
            if not runs and not any(workflow in (run.workflow_file, str(run.workflow_id)) for run in repo.runs):
                return self._not_found()
        if "branch" in query:
            runs = [run for run in runs if run.branch == query["branch"]]
        if "status" in query:
            runs = [run for run in runs if query["status"] in (run.status, run.conclusion)]
        if "created" in query:
            runs = [run for run in runs if _created_matches(run.created, query["created"])]
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        reachable = runs[:1000]
        chunk = reachable[(page - 1) * per_page : page * per_page]
        body = {"total_count": len(runs), "workflow_runs": [run_json(repo, run, self.url) for run in chunk]}
        extra: dict[str, str] = {}
        last = max((len(reachable) + per_page - 1) // per_page, 1)
        if page < last:
            # GitHub's own next links name the repository by id, whatever path was asked for.
            path = f"/repositories/{repo.id}/actions/" + (f"workflows/{workflow}/runs" if workflow else "runs")
            keep = {key: value for key, value in query.items() if key != "page"}
            links = [f'<{self.url}{path}?{urlencode(keep | {"page": page + 1})}>; rel="next"']
            links.append(f'<{self.url}{path}?{urlencode(keep | {"page": last})}>; rel="last"')
            extra["Link"] = ", ".join(links)
        return self._cached(body, headers, extra)

    def _run_resource(
        self, repo: StandInRepository, run_id: int, rest: list[str], query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        attempts = sorted((run for run in repo.runs if run.id == run_id), key=lambda run: run.attempt)
        if not attempts:
            return self._not_found()
        run = attempts[-1]
        if rest[:1] == ["attempts"] and len(rest) >= 2:
            chosen = [item for item in attempts if str(item.attempt) == rest[1]]
            if not chosen:
                return self._not_found()
            run, rest = chosen[0], rest[2:]
        if not rest:
            return self._cached(run_json(repo, run, self.url), headers)
        if rest == ["jobs"]:
            jobs = [job_json(repo, run, job, self.url) for job in run.jobs]
            return self._cached({"total_count": len(jobs), "jobs": jobs}, headers)
        return self._not_found()

    def _job(self, repo: StandInRepository, job_id: int) -> StandInJob | None:
        for run in repo.runs:
            for job in run.jobs:
                if job.id == job_id:
                    return job
        return None

    def _signed_log(self, segments: list[str], query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if len(segments) == 4 and segments[1] == "jobs" and query.get("urlSignature") == "c2lnbmVk":
            for repo in self.repositories.values():
                job = self._job(repo, int(segments[2]))
                if job is not None:
                    return 200, {"Content-Type": "text/plain; charset=utf-8"}, job.log
        return 403, {"Content-Type": "application/xml"}, "<Error><Code>AuthenticationFailed</Code></Error>"

    def _json(self, status: int, body: Any, extra: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        headers = self._limits() | {"Content-Type": "application/json; charset=utf-8"} | (extra or {})
        return status, headers, json.dumps(body)

    def _not_found(self) -> tuple[int, dict[str, str], str]:
        return self._json(
            404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
        )

    def _cached(
        self, body: Any, headers: dict[str, str], extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        text = json.dumps(body)
        etag = 'W/"' + hashlib.sha256(text.encode()).hexdigest() + '"'
        extra = (extra or {}) | {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
        if headers.get("if-none-match") == etag:
            return 304, self._limits() | extra, ""
        return self._json(200, body, extra)


def standin(repositories: list[StandInRepository] | None = None, **options: Any) -> Iterator[GitHubStandIn]:
    """For fixtures: a started server over the scenario repository (or the given ones), stopped afterwards."""
    with GitHubStandIn(repositories or [load_scenario()], **options) as server:
        yield server
