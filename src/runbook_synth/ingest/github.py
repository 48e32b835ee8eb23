"""GitHub Actions as a source: workflow runs, their jobs and steps, and failed jobs' logs, via the REST API.

Three parts, used in order:

1. `GitHubClient`: a small layer over an injected `httpx.Client` that speaks the REST API the way GitHub
   asks clients to (the `link` header's `rel="next"` followed verbatim, `retry-after` and
   `x-ratelimit-reset` honoured with an injected sleep and a bounded total wait, `If-None-Match` with the
   ETag cache of the state store, the 302 of a job log followed without the token).
2. `ingest_github`: fetches what is new since the cursor of each repository and workflow and stores it,
   redacted, as `SourceRecord`s in the state store; an unchanged nightly run costs a few 304s.
3. `observations_from_store`: turns the stored records into `Observation`s (one execution per run
   attempt, one failure per failed run that a rerun of the same commit fixed). It never touches the
   network, so generation works offline from what was ingested.

Why httpx and not githubkit or PyGithub: both sleep with `time.sleep` inside their retry loops (so the
wait can neither be injected nor bounded), retry a rate limit once at most, and treat a 304 as an error;
the ETag cache must outlive the process, so the request layer is ours either way.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import logging
import math
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from runbook_synth.errors import ConfigError, SourceError
from runbook_synth.ingest.github_logs import (
    StepWindow,
    WorkflowJob,
    errors_by_step,
    group_errors,
    is_bookkeeping,
    parse_ci_log,
    parse_timestamp,
    parse_workflow,
    step_commands,
)
from runbook_synth.models import CommandRun, FailureDetail, Observation, Provenance, SourceKind
from runbook_synth.redact import RedactionRules, redact_text
from runbook_synth.state import SourceRecord, StateStore

__all__ = [
    "DEFAULT_API_URL",
    "SOURCE",
    "EtagCache",
    "GitHubClient",
    "GitHubConfig",
    "GitHubIngestSummary",
    "RecordKind",
    "describe",
    "documented_github_keys",
    "ingest_github",
    "observations_from_store",
    "parse_github_config",
    "parse_lookback",
    "resolve_api_url",
    "resolve_token",
    "run_gh",
    "run_path",
    "workflow_words",
]

log = logging.getLogger(__name__)

SOURCE = "github"
"""The `source` of every record this module stores."""

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
LISTING_CAP = 1000
"""GitHub returns at most this many results of a filtered listing, whatever `total_count` says."""
LOG_TAIL_LINES = 5000
"""Lines kept of a failed job's log: the error is at the end, and logs can be hundreds of megabytes."""
CONFIG_TABLE = "[tool.runbook-synth.github]"


# --- configuration --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitHubConfig:
    """`[tool.runbook-synth.github]`: which runs to read. Command-line options replace these (`replace`)."""

    repos: tuple[str, ...] = field(default=(), metadata={"doc": "Repositories to read, as OWNER/NAME."})
    workflows: tuple[str, ...] = field(
        default=(), metadata={"doc": "Workflow files (deploy-lambda.yml) or ids to read; empty reads every workflow."}
    )
    branch: str = field(default="", metadata={"doc": "Only runs of this branch; empty reads every branch."})
    lookback: timedelta = field(
        default=timedelta(days=30),
        metadata={
            "doc": "How far back the first ingest reads (30d, 12h, 2w); later ingests continue from their cursor."
        },
    )
    api_url: str = field(
        default="",
        metadata={
            "doc": "REST API base URL for GitHub Enterprise; empty uses GITHUB_API_URL, then https://api.github.com."
        },
    )


def documented_github_keys() -> dict[str, str]:
    """Every `[tool.runbook-synth.github]` key with its documentation, for the README check."""
    return {item.name: str(item.metadata.get("doc", "")) for item in fields(GitHubConfig)}


_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_WORKFLOW = re.compile(r"^(?:\d+|[A-Za-z0-9._-]+\.ya?ml)$")
_LOOKBACK = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")


def parse_lookback(text: str, source: str = CONFIG_TABLE) -> timedelta:
    """`30d`, `12h` or `2w` as a timedelta; ConfigError naming the source otherwise."""
    match = _LOOKBACK.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{source}: lookback must be a positive number of hours, days or weeks (12h, 30d, 2w), got {text!r}"
        )
    unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}[match.group(2)]
    return int(match.group(1)) * unit


def validate_repo(repo: str, source: str = CONFIG_TABLE) -> str:
    """OWNER/NAME as GitHub allows it; a URL or a bare name is a ConfigError that shows the expected form."""
    if not _REPO.match(repo):
        raise ConfigError(f"{source}: repository {repo!r} must be OWNER/NAME, e.g. acme/telegram-api")
    return repo


def validate_workflow(workflow: str, source: str = CONFIG_TABLE) -> str:
    """A workflow file name (`deploy-lambda.yml`, not its path) or numeric id."""
    name = workflow.rsplit("/", 1)[-1] if workflow.startswith(".github/workflows/") else workflow
    if not _WORKFLOW.match(name):
        raise ConfigError(
            f"{source}: workflow {workflow!r} must be a file name like deploy-lambda.yml or a workflow id"
        )
    return name


def parse_github_config(table: Mapping[str, Any], source: str = CONFIG_TABLE) -> GitHubConfig:
    """The `[tool.runbook-synth.github]` table; an unknown key or a wrong value is a ConfigError with the fix."""
    known = {item.name: item.name for item in fields(GitHubConfig)}
    known.update({name.replace("_", "-"): name for name in list(known)})
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = known.get(key)
        if name is None:
            raise ConfigError.unknown_key(source, key, CONFIG_TABLE, known)
        values[name] = _coerce(name, value, source)
    return GitHubConfig(**values)


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in ("repos", "workflows"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f'{source}: {name} must be a list of strings, e.g. {name} = ["{_EXAMPLES[name]}"]')
        check = validate_repo if name == "repos" else validate_workflow
        return tuple(check(item, source) for item in value)
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string, got {value!r}")
    if name == "lookback":
        return parse_lookback(value, source)
    if name == "api_url" and value and not value.startswith(("https://", "http://")):
        raise ConfigError(f"{source}: api_url must start with https://, e.g. https://github.example.com/api/v3")
    return value


_EXAMPLES = {"repos": "acme/telegram-api", "workflows": "deploy-lambda.yml"}


def resolve_api_url(config: GitHubConfig, environ: Mapping[str, str]) -> str:
    """The REST base URL: configuration, then GITHUB_API_URL (set inside Actions and on GHES), then github.com."""
    return (config.api_url or environ.get("GITHUB_API_URL", "") or DEFAULT_API_URL).rstrip("/")


CommandRunner = Callable[[Sequence[str]], str]
"""Runs a command and returns its stdout; raises OSError when it is missing, CalledProcessError when it fails."""


def run_gh(argv: Sequence[str]) -> str:
    """The production CommandRunner for `gh auth token`: no shell, a timeout, stdout only."""
    if shutil.which(argv[0]) is None:
        raise FileNotFoundError(argv[0])
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, timeout=15).stdout


def resolve_token(environ: Mapping[str, str], run: CommandRunner | None = run_gh) -> str | None:
    """GH_TOKEN, then GITHUB_TOKEN, then `gh auth token` when gh is installed; None when there is none.

    Never read from a file in the repository: a token there would be committed sooner or later. Without
    a token, public repositories still work (at 60 requests an hour); private ones answer 404.
    """
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        token = environ.get(name, "").strip()
        if token:
            return token
    if run is None:
        return None
    try:
        token = run(["gh", "auth", "token"]).strip()
    except (OSError, subprocess.SubprocessError) as error:
        log.debug("no token from gh auth token: %s", error)
        return None
    return token or None


# --- the HTTP layer -------------------------------------------------------------------------------------------------


class EtagCache(Protocol):
    """Where conditional requests keep what they saw; the state store is one."""

    def etag(self, url: str) -> tuple[str, str] | None: ...

    def set_etag(self, url: str, etag: str, body: str) -> None: ...


@dataclass(frozen=True)
class _Page:
    """A JSON response reduced to what we keep (slimmed, redacted), with the URL of the next page."""

    data: Any
    next_url: str | None


def _redacted_json(data: Any, url: str, rules: RedactionRules) -> tuple[Any, int]:
    """`data` with secrets masked in its JSON text; unchanged if masking would break the JSON."""
    text = json.dumps(data, sort_keys=True)
    redacted = redact_text(text, url, rules)
    if not redacted.findings:
        return data, 0
    try:
        return json.loads(redacted.text), len(redacted.findings)
    except ValueError:
        log.warning("%s: redaction broke the JSON; dropping the whole response", url)
        return None, len(redacted.findings)


class GitHubClient:
    """The GitHub REST API over an injected httpx.Client, with sleep and clock injected for rate limits.

    `max_wait_seconds` bounds the total time spent waiting for rate limits in one ingest: past it, the
    error says at what time (UTC) to retry. Counters (`requests`, `not_modified`, `waited_seconds`,
    `redactions`) feed the ingest summary.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        token: str | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        etags: EtagCache | None = None,
        rules: RedactionRules | None = None,
        max_wait_seconds: float = 900.0,
        backoff_seconds: float = 60.0,
        server_error_retries: int = 3,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._origin = httpx.URL(self.base_url).copy_with(path="/", query=None)
        self._token = token
        self._sleep = sleep
        self._clock = clock
        self._etags = etags
        self._rules = rules or RedactionRules()
        self.max_wait_seconds = max_wait_seconds
        self._backoff = backoff_seconds
        self._server_retries = server_error_retries
        self._blocked_until = 0.0
        self.requests = 0
        self.not_modified = 0
        self.waited_seconds = 0.0
        self.redactions = 0

    # requests

    def _headers(self, url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self._token and self._same_origin(url):
            headers["Authorization"] = f"Bearer {self._token}"
        headers.update(extra or {})
        return headers

    def _same_origin(self, url: str) -> bool:
        """The token goes only to the API host: a `next` link or redirect elsewhere must not receive it."""
        target = httpx.URL(url)
        return (target.scheme, target.host, target.port) == (self._origin.scheme, self._origin.host, self._origin.port)

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """An API path as the absolute URL that is requested (and that keys the ETag cache)."""
        return str(httpx.URL(self.base_url + path, params=dict(params or {})))

    def _send(
        self, url: str, source: str, extra: Mapping[str, str] | None = None, *, signed: bool = False
    ) -> httpx.Response:
        """One GET, retried through rate limits (bounded) and server errors; other statuses are returned.

        A `signed` URL (where a log redirect points) carries its own credentials and never gets the token.
        """
        backoffs = 0
        server_errors = 0
        while True:
            ahead = self._blocked_until - self._clock()
            if ahead > 0:
                self._wait(ahead, source)
            try:
                headers = self._headers(url, extra)
                if signed:
                    headers.pop("Authorization", None)
                response = self._http.get(url, headers=headers, follow_redirects=False)
            except httpx.HTTPError as error:
                if server_errors < self._server_retries:
                    server_errors += 1
                    self._sleep(float(2**server_errors))
                    continue
                host = httpx.URL(url).host
                raise SourceError(source, f"cannot reach {host} ({error}); check api_url and the network") from None
            self.requests += 1
            self._note_limits(response)
            if response.status_code in (403, 429) and _is_rate_limited(response):
                self._wait(self._rate_limit_wait(response, backoffs), source)
                backoffs += 1
                continue
            if response.status_code >= 500 and server_errors < self._server_retries:
                server_errors += 1
                self._sleep(float(2**server_errors))
                continue
            return response

    def _note_limits(self, response: httpx.Response) -> None:
        """The last request spent the budget: wait for the reset before the next one rather than be refused."""
        if response.headers.get("x-ratelimit-remaining") == "0" and response.status_code < 400:
            reset = _number(response.headers.get("x-ratelimit-reset"))
            if reset is not None:
                self._blocked_until = reset + 1

    def _rate_limit_wait(self, response: httpx.Response, backoffs: int) -> float:
        """retry-after, else the reset time, else exponential backoff from a minute (GitHub's own advice)."""
        retry_after = _number(response.headers.get("retry-after"))
        if retry_after is not None:
            return max(retry_after, 0.0)
        reset = _number(response.headers.get("x-ratelimit-reset"))
        if response.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            return max(reset - self._clock(), 0.0) + 1.0
        return float(self._backoff * 2.0**backoffs)

    def _wait(self, seconds: float, source: str) -> None:
        if self.waited_seconds + seconds > self.max_wait_seconds:
            resume = datetime.fromtimestamp(math.ceil((self._clock() + seconds) / 60) * 60, UTC)
            raise SourceError(
                source,
                f"GitHub rate limit exceeded; retry after {resume:%H:%M} UTC"
                f" (waiting {seconds:.0f}s would pass the {self.max_wait_seconds:.0f}s limit)",
            )
        log.info("%s: rate limited; waiting %.0fs", source, seconds)
        self._sleep(seconds)
        self.waited_seconds += seconds
        self._blocked_until = 0.0

    def _page(
        self, url: str, source: str, what: str, slim: Callable[[Any], Any], missing_ok: bool = False
    ) -> _Page | None:
        """GET a JSON resource with If-None-Match; a 304 returns the cached (slimmed, redacted) body."""
        cached = self._etags.etag(url) if self._etags is not None else None
        extra = {"If-None-Match": cached[0]} if cached else None
        response = self._send(url, source, extra)
        if response.status_code == 304 and cached is not None:
            self.not_modified += 1
            envelope = json.loads(cached[1])
            return _Page(envelope["data"], envelope["next"])
        if missing_ok and response.status_code in (404, 410):
            return None
        _raise_for_status(response, source, what)
        try:
            body = response.json()
        except ValueError:
            raise SourceError(source, f"GitHub answered {url} with something that is not JSON; check api_url") from None
        data, found = _redacted_json(slim(body), url, self._rules)
        self.redactions += found
        next_link = response.links.get("next", {}).get("url")
        page = _Page(data, next_link)
        etag = response.headers.get("etag")
        if etag and self._etags is not None and data is not None:
            self._etags.set_etag(url, etag, json.dumps({"data": data, "next": next_link}, sort_keys=True))
        return page

    def _pages(self, url: str, source: str, what: str, slim: Callable[[Any], Any]) -> Iterator[Any]:
        """Every page of a listing: the `rel="next"` URL is followed as given (it may be /repositories/{id}/…)."""
        next_url: str | None = url
        while next_url is not None:
            page = self._page(next_url, source, what, slim)
            if page is None:
                return
            yield page.data
            next_url = page.next_url

    # endpoints

    def workflow_runs(
        self,
        repo: str,
        *,
        since: datetime,
        workflow: str | None = None,
        branch: str = "",
        until: datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Runs created at or after `since` (newest first), split into shorter windows past 1,000 results."""
        source = f"github:{repo}"
        path = f"/repos/{repo}/actions/workflows/{workflow}/runs" if workflow else f"/repos/{repo}/actions/runs"
        what = f"workflow {workflow} in {repo}" if workflow else f"repository {repo}"
        seen: set[int] = set()
        for run in self._runs_window(path, source, what, branch, since, until):
            if run["id"] not in seen:
                seen.add(run["id"])
                yield run

    def _runs_window(
        self, path: str, source: str, what: str, branch: str, start: datetime, end: datetime | None
    ) -> Iterator[dict[str, Any]]:
        created = f">={_iso(start)}" if end is None else f"{_iso(start)}..{_iso(end)}"
        params: dict[str, str | int] = {"per_page": PER_PAGE, "created": created}
        if branch:
            params["branch"] = branch
        pages = self._pages(self.url(path, params), source, what, _slim_runs_page)
        first = next(pages, None)
        if first is None:
            return
        stop = end or datetime.fromtimestamp(self._clock(), UTC).replace(microsecond=0)
        if first["total_count"] > LISTING_CAP and stop - start > timedelta(minutes=2):
            middle = (start + (stop - start) / 2).replace(microsecond=0)
            log.info("%s: %d runs in %s; splitting the window", source, first["total_count"], created)
            yield from self._runs_window(path, source, what, branch, middle + timedelta(seconds=1), stop)
            yield from self._runs_window(path, source, what, branch, start, middle)
            return
        if first["total_count"] > LISTING_CAP:
            log.warning("%s: more than %d runs in %s; reading the first %d", source, LISTING_CAP, created, LISTING_CAP)
        yield from first["workflow_runs"]
        for page in pages:
            yield from page["workflow_runs"]

    def run_attempt(self, repo: str, run_id: int, attempt: int) -> dict[str, Any]:
        """One earlier attempt of a run (the listing shows only the latest)."""
        url = self.url(f"/repos/{repo}/actions/runs/{run_id}/attempts/{attempt}")
        page = self._page(url, f"github:{repo}", f"run {run_id} attempt {attempt} in {repo}", _slim_run)
        assert page is not None  # missing_ok is False: a 404 raised
        return dict(page.data)

    def run_jobs(self, repo: str, run_id: int, attempt: int | None = None) -> list[dict[str, Any]]:
        """The jobs (with steps) of a run's latest attempt, or of one attempt."""
        path = f"/repos/{repo}/actions/runs/{run_id}" + (f"/attempts/{attempt}" if attempt else "") + "/jobs"
        jobs: list[dict[str, Any]] = []
        for page in self._pages(
            self.url(path, {"per_page": PER_PAGE}), f"github:{repo}", f"run {run_id} in {repo}", _slim_jobs_page
        ):
            jobs.extend(page["jobs"])
        return jobs

    def job_log(self, repo: str, job_id: int) -> str | None:
        """A job's log text, or None when GitHub no longer has it (logs expire after 90 days by default).

        The API answers 302 with a short-lived signed URL; that URL is fetched without the token.
        """
        source = f"github:{repo}"
        response = self._send(self.url(f"/repos/{repo}/actions/jobs/{job_id}/logs"), source)
        if response.status_code in (404, 410):
            return None
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            if not location:
                raise SourceError(source, f"GitHub redirected the log of job {job_id} nowhere; retry later")
            response = self._send(str(response.url.join(location)), source, signed=True)
            if response.status_code in (403, 404, 410):  # the signed URL expired between the two requests
                return None
        _raise_for_status(response, source, f"job {job_id} in {repo}")
        return response.text

    def file_at(self, repo: str, path: str, ref: str) -> str | None:
        """A file's text at a commit (contents API), or None when it is not there or not readable as text."""
        url = self.url(f"/repos/{repo}/contents/{path}", {"ref": ref})
        page = self._page(url, f"github:{repo}", f"{path} in {repo}", _slim_contents, missing_ok=True)
        if page is None or not isinstance(page.data, dict):
            return None
        return str(page.data["text"]) if page.data.get("text") is not None else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_rate_limited(response: httpx.Response) -> bool:
    """Primary (remaining 0), secondary (retry-after, or the message says so) or a 429; not a missing permission."""
    if response.status_code == 429 or "retry-after" in response.headers:
        return True
    if response.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in _message(response).lower()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _raise_for_status(response: httpx.Response, source: str, what: str) -> None:
    """The statuses a user can act on, as one line that says what to do."""
    status = response.status_code
    if status < 300:
        return
    if status == 401:
        raise SourceError(
            source,
            "GitHub answered 401: the token is missing or expired;"
            " set GH_TOKEN or GITHUB_TOKEN (or run `gh auth login`)",
        )
    if status == 403:
        raise SourceError(
            source,
            f"GitHub answered 403 for {what}: the token lacks the actions:read permission"
            " (fine-grained token: Actions read-only and Contents read-only; classic token: repo scope)",
        )
    if status == 404:
        raise SourceError(
            source,
            f"GitHub answered 404: {what} not found, or the token cannot see it;"
            " check the name and the token's repository access",
        )
    message = _message(response) or response.reason_phrase
    raise SourceError(source, f"GitHub answered {status} for {response.url.path} ({message}); retry later")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What we keep of each response: enough to build observations, nothing about people or other repositories.
_RUN_FIELDS = (
    "id",
    "name",
    "display_title",
    "path",
    "head_sha",
    "head_branch",
    "run_number",
    "run_attempt",
    "event",
    "status",
    "conclusion",
    "workflow_id",
    "created_at",
    "updated_at",
    "run_started_at",
    "html_url",
)
_JOB_FIELDS = ("id", "run_id", "run_attempt", "name", "status", "conclusion", "started_at", "completed_at", "html_url")
_STEP_FIELDS = ("number", "name", "status", "conclusion", "started_at", "completed_at")


def _pick(item: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: item.get(name) for name in names}


def _slim_run(body: Any) -> dict[str, Any]:
    return _pick(body, _RUN_FIELDS)


def _slim_runs_page(body: Any) -> dict[str, Any]:
    return {
        "total_count": int(body.get("total_count", 0)),
        "workflow_runs": [_slim_run(run) for run in body.get("workflow_runs", [])],
    }


def _slim_jobs_page(body: Any) -> dict[str, Any]:
    jobs = []
    for job in body.get("jobs", []):
        slim = _pick(job, _JOB_FIELDS)
        slim["steps"] = [_pick(step, _STEP_FIELDS) for step in job.get("steps") or []]
        jobs.append(slim)
    return {"total_count": int(body.get("total_count", 0)), "jobs": jobs}


def _slim_contents(body: Any) -> dict[str, Any]:
    """A contents-API file as its text; None for folders, binary files and files over the 1 MB inline limit."""
    if not isinstance(body, dict) or body.get("type") != "file" or body.get("encoding") != "base64":
        return {"text": None}
    try:
        return {"text": base64.b64decode(str(body.get("content", ""))).decode("utf-8")}
    except (binascii.Error, UnicodeDecodeError):
        return {"text": None}


# --- ingest into the state store ------------------------------------------------------------------------------------


class RecordKind(enum.StrEnum):
    """What a stored GitHub record holds; the first part of its key."""

    RUN = "run"
    LOG = "log"
    WORKFLOW = "workflow"


@dataclass(frozen=True)
class GitHubIngestSummary:
    """What one ingest did, for the CLI's one-line report and for tests."""

    repos: tuple[str, ...]
    runs_listed: int
    runs_stored: int
    """Completed run attempts fetched and stored this time (with their jobs and steps)."""
    new_records: int
    logs_fetched: int
    logs_missing: int
    workflow_files: int
    requests: int
    not_modified: int
    """Requests GitHub answered 304 (nothing changed; they cost no rate limit)."""
    waited_seconds: float
    redactions: int


def run_key(repo: str, run_id: int, attempt: int) -> str:
    return f"{RecordKind.RUN}|{repo}|{run_id}|{attempt}"


def log_key(repo: str, job_id: int) -> str:
    return f"{RecordKind.LOG}|{repo}|{job_id}"


def workflow_key(repo: str, path: str, sha: str) -> str:
    return f"{RecordKind.WORKFLOW}|{repo}|{sha}|{path}"


def _cursor_name(repo: str, workflow: str | None, branch: str) -> str:
    return f"runs|{repo}|{workflow or '*'}|{branch}"


def _ms(value: str | None) -> int:
    moment = parse_timestamp(value or "")
    return int(moment.timestamp() * 1000) if moment else 0


@dataclass
class _Tally:
    listed: int = 0
    stored: int = 0
    new: int = 0
    logs: int = 0
    logs_missing: int = 0
    files: int = 0
    redactions: int = 0


def ingest_github(
    client: GitHubClient,
    store: StateStore,
    config: GitHubConfig,
    *,
    now: datetime,
    rules: RedactionRules | None = None,
) -> GitHubIngestSummary:
    """Fetch what is new for each repository and workflow of `config` into `store`, redacted.

    Incremental: each (repository, workflow, branch) has a cursor, the creation time of the oldest run
    that was still in progress (or of the newest run) when it was last read; run attempts already stored
    are not fetched again, and listings are conditional requests. Records and the cursor of one listing
    are written in one transaction, so an interrupted ingest never skips runs.
    """
    if not config.repos:
        raise ConfigError(f"no repositories to read: set repos in {CONFIG_TABLE} or pass --repo OWNER/NAME")
    rules = rules or RedactionRules()
    tally = _Tally()
    for repo in config.repos:
        known = {record.key for record in store.records(SOURCE, scope=repo)}
        for workflow in config.workflows or (None,):
            _ingest_listing(client, store, repo, workflow, config, now, rules, known, tally)
    return GitHubIngestSummary(
        repos=config.repos,
        runs_listed=tally.listed,
        runs_stored=tally.stored,
        new_records=tally.new,
        logs_fetched=tally.logs,
        logs_missing=tally.logs_missing,
        workflow_files=tally.files,
        requests=client.requests,
        not_modified=client.not_modified,
        waited_seconds=client.waited_seconds,
        redactions=tally.redactions + client.redactions,
    )


def _ingest_listing(
    client: GitHubClient,
    store: StateStore,
    repo: str,
    workflow: str | None,
    config: GitHubConfig,
    now: datetime,
    rules: RedactionRules,
    known: set[str],
    tally: _Tally,
) -> None:
    cursor_name = _cursor_name(repo, workflow, config.branch)
    stored_cursor = store.cursor(SOURCE, cursor_name)
    since = parse_timestamp(stored_cursor or "") or (now - config.lookback)
    records: list[SourceRecord] = []
    newest: datetime | None = None
    oldest_open: datetime | None = None
    for run in client.workflow_runs(repo, since=since, workflow=workflow, branch=config.branch):
        tally.listed += 1
        created = parse_timestamp(run.get("created_at") or "")
        if created is not None:
            newest = max(newest, created) if newest else created
        if run.get("status") != "completed":
            if created is not None:
                oldest_open = min(oldest_open, created) if oldest_open else created
            continue
        attempts = [(run["run_attempt"] or 1, run)]
        for earlier in range(1, int(run["run_attempt"] or 1)):
            if run_key(repo, run["id"], earlier) not in known:
                attempts.append((earlier, client.run_attempt(repo, run["id"], earlier)))
        for attempt, attempt_run in attempts:
            key = run_key(repo, run["id"], attempt)
            if key in known:
                continue
            latest = attempt == (run["run_attempt"] or 1)
            jobs = client.run_jobs(repo, run["id"], None if latest else attempt)
            records.extend(_run_records(client, repo, attempt_run, jobs, rules, known, tally))
            known.add(key)
            tally.stored += 1
    cursor = oldest_open or newest
    with store.transaction():
        tally.new += store.put_records(records)
        if cursor is not None:
            store.set_cursor(SOURCE, cursor_name, _iso(cursor))


def _run_records(
    client: GitHubClient,
    repo: str,
    run: Mapping[str, Any],
    jobs: Sequence[Mapping[str, Any]],
    rules: RedactionRules,
    known: set[str],
    tally: _Tally,
) -> list[SourceRecord]:
    """The run attempt with its jobs, the logs of its failed jobs, and its workflow file at that commit."""
    when = _ms(run.get("run_started_at") or run.get("created_at"))
    attempt = int(run.get("run_attempt") or 1)
    payload = {"kind": RecordKind.RUN.value, "repo": repo, "run": dict(run), "jobs": [dict(job) for job in jobs]}
    records = [SourceRecord(SOURCE, run_key(repo, run["id"], attempt), repo, when, json.dumps(payload, sort_keys=True))]
    for job in jobs:
        if job.get("conclusion") not in ("failure", "timed_out") or log_key(repo, job["id"]) in known:
            continue
        text = client.job_log(repo, job["id"])
        if text is None:
            tally.logs_missing += 1
            continue
        tally.logs += 1
        tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
        redacted = redact_text(tail, f"github:{repo}/actions/jobs/{job['id']}/logs", rules)
        tally.redactions += len(redacted.findings)
        body = {
            "kind": RecordKind.LOG.value,
            "repo": repo,
            "job_id": job["id"],
            "run_id": run["id"],
            "text": redacted.text,
        }
        records.append(SourceRecord(SOURCE, log_key(repo, job["id"]), repo, when, json.dumps(body, sort_keys=True)))
        known.add(log_key(repo, job["id"]))
    path, sha = run.get("path") or "", run.get("head_sha") or ""
    if path.startswith(".github/workflows/") and sha and workflow_key(repo, path, sha) not in known:
        text = client.file_at(repo, path, sha)
        if text is not None:
            redacted_file = redact_text(text, f"github:{repo}/{path}", rules)
            tally.redactions += len(redacted_file.findings)
            text = redacted_file.text
            tally.files += 1
        body = {"kind": RecordKind.WORKFLOW.value, "repo": repo, "path": path, "sha": sha, "text": text}
        records.append(
            SourceRecord(SOURCE, workflow_key(repo, path, sha), repo, when, json.dumps(body, sort_keys=True))
        )
        known.add(workflow_key(repo, path, sha))
    return records


# --- stored records to observations ---------------------------------------------------------------------------------


def run_path(repo: str, run_id: int, attempt: int) -> str:
    """The stable pseudo-path of a run attempt; attempt 1 is the run itself, as on github.com."""
    base = f"github:{repo}/actions/runs/{run_id}"
    return base if attempt <= 1 else f"{base}/attempts/{attempt}"


def workflow_words(path: str) -> tuple[str, ...]:
    """`.github/workflows/deploy-lambda.yml` → (`deploy`, `lambda`); a `rollback*` file leads with `rollback`."""
    stem = path.rsplit("/", 1)[-1]
    stem = re.sub(r"\.ya?ml$", "", stem.lower())
    words = tuple(word for word in re.split(r"[^a-z0-9]+", stem) if word)
    if stem.startswith("rollback") and (not words or words[0] != "rollback"):
        words = ("rollback", *(word for word in words if not word.startswith("rollback")))
    return words


@dataclass(frozen=True)
class _StoredRun:
    repo: str
    run: Mapping[str, Any]
    jobs: tuple[Mapping[str, Any], ...]

    @property
    def attempt(self) -> int:
        return int(self.run.get("run_attempt") or 1)

    @property
    def path(self) -> str:
        return run_path(self.repo, int(self.run["id"]), self.attempt)

    @property
    def started(self) -> datetime | None:
        return parse_timestamp(self.run.get("run_started_at") or self.run.get("created_at") or "")


def observations_from_store(store: StateStore, repos: Iterable[str] | None = None) -> tuple[Observation, ...]:
    """Every stored run attempt as an execution, plus a failure for each failed run a rerun of its commit fixed.

    Sorted by (day, path), like every other source. Reads only the store.
    """
    observations: list[Observation] = []
    for repo in sorted(repos) if repos is not None else store.scopes(SOURCE):
        runs: list[_StoredRun] = []
        logs: dict[int, str] = {}
        files: dict[tuple[str, str], tuple[WorkflowJob, ...]] = {}
        parsed: dict[str, tuple[WorkflowJob, ...]] = {}  # a workflow file is stored once per commit, mostly unchanged
        for record in store.records(SOURCE, scope=repo):
            try:
                payload = json.loads(record.payload)
            except ValueError:
                log.warning("github: record %s is not JSON; skipped (re-run ingest to fetch it again)", record.key)
                continue
            kind = payload.get("kind")
            if kind == RecordKind.RUN:
                runs.append(_StoredRun(repo, payload["run"], tuple(payload.get("jobs") or ())))
            elif kind == RecordKind.LOG:
                logs[int(payload["job_id"])] = str(payload.get("text") or "")
            elif kind == RecordKind.WORKFLOW and payload.get("text"):
                text = str(payload["text"])
                if text not in parsed:
                    parsed[text] = parse_workflow(text)
                files[(payload["path"], payload["sha"])] = parsed[text]
        executions = {run.path: _execution(run, logs, files) for run in runs}
        observations.extend(executions.values())
        observations.extend(_recoveries(runs, executions))
    return tuple(sorted(observations, key=lambda item: item.sort_key))


def _execution(
    stored: _StoredRun, logs: Mapping[int, str], files: Mapping[tuple[str, str], tuple[WorkflowJob, ...]]
) -> Observation:
    run = stored.run
    workflow = files.get((run.get("path") or "", run.get("head_sha") or ""), ())
    words = workflow_words(run.get("path") or "")
    commands: list[CommandRun] = []
    last_end: datetime | None = None
    jobs = sorted(stored.jobs, key=lambda job: (job.get("started_at") or "", int(job.get("id") or 0)))
    for job in jobs:
        steps = sorted(job.get("steps") or (), key=lambda step: int(step.get("number") or 0))
        windows = [
            StepWindow(
                int(step.get("number") or 0),
                str(step.get("name") or ""),
                str(step.get("conclusion") or ""),
                parse_timestamp(step.get("started_at") or ""),
                parse_timestamp(step.get("completed_at") or ""),
            )
            for step in steps
        ]
        job_log = logs.get(int(job.get("id") or 0))
        errors = errors_by_step(parse_ci_log(job_log), windows) if job_log else {}
        scripts = step_commands(str(job.get("name") or ""), [window.name for window in windows], workflow)
        for window in windows:
            if window.completed is not None:
                last_end = max(last_end, window.completed) if last_end else window.completed
            if is_bookkeeping(window.name) or window.conclusion == "skipped" or not window.name:
                continue
            messages = tuple(group.example for group in group_errors(errors.get(window.number, ())))
            commands.append(
                CommandRun(
                    command=scripts.get(window.name, window.name),
                    provenance=Provenance(stored.path, window.number),
                    output="\n".join(messages),
                    exit_code=_exit_code(window.conclusion),
                    duration_seconds=_seconds(window.started, window.completed),
                    operation=window.name,
                )
            )
    started = stored.started
    end = last_end or parse_timestamp(run.get("updated_at") or "")
    return Observation(
        path=stored.path,
        kind=SourceKind.GITHUB_ACTIONS,
        title=_title(run),
        context=" ".join(words),
        tags=words,
        when=started,
        day=started.date() if started else None,
        commands=tuple(commands),
        total_duration_seconds=_seconds(started, end),
    )


def _title(run: Mapping[str, Any]) -> str:
    name, display = str(run.get("name") or ""), str(run.get("display_title") or "")
    return f"{name}: {display}" if name and display and display != name else name or display


def _exit_code(conclusion: str) -> int | None:
    if conclusion == "success":
        return 0
    if conclusion in ("failure", "timed_out"):
        return 1
    return None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def _recoveries(runs: Sequence[_StoredRun], executions: Mapping[str, Observation]) -> list[Observation]:
    """A failed run, then a green run of the same workflow and commit: the failure, and the rerun that fixed it."""
    by_commit: dict[tuple[str, str], list[_StoredRun]] = {}
    for stored in runs:
        key = (str(stored.run.get("path") or ""), str(stored.run.get("head_sha") or ""))
        by_commit.setdefault(key, []).append(stored)
    failures: list[Observation] = []
    for group in by_commit.values():
        group.sort(key=lambda item: (item.started or datetime.min.replace(tzinfo=UTC), item.path))
        for index, failed in enumerate(group):
            if failed.run.get("conclusion") not in ("failure", "timed_out"):
                continue
            fixed = next((later for later in group[index + 1 :] if later.run.get("conclusion") == "success"), None)
            if fixed is not None:
                failures.append(_failure(failed, fixed, executions[failed.path]))
    return failures


def _failure(failed: _StoredRun, fixed: _StoredRun, execution: Observation) -> Observation:
    step = next((command for command in execution.commands if command.failed), None)
    messages = tuple(step.output.splitlines()) if step and step.output else ()
    sha = str(failed.run.get("head_sha") or "")[:7]
    if fixed.run.get("id") == failed.run.get("id"):
        fix = f"gh run rerun {failed.run['id']} --failed"
    else:
        workflow_file = str(failed.run.get("path") or "").rsplit("/", 1)[-1]
        fix = f"gh workflow run {workflow_file} --ref {failed.run.get('head_branch') or 'main'}"
    step_name = step.operation if step else "a step"
    return Observation(
        path=failed.path + "/failure",
        kind=SourceKind.FAILURE,
        title=f"{failed.run.get('name') or 'Workflow'} failed at {step_name}",
        context=execution.context,
        tags=execution.tags,
        when=execution.when,
        day=execution.day,
        commands=(step,) if step else (),
        failure=FailureDetail(
            error_messages=messages,
            symptoms=f"Step '{step_name}' failed in run #{failed.run.get('run_number')}",
            failed_command=step.command if step else "",
            root_cause=f"Not the change itself: the same commit ({sha}) passed when run again ({fixed.path})",
            fix_commands=(fix,),
        ),
    )


def describe(summary: GitHubIngestSummary) -> str:
    """The one line the CLI prints after an ingest."""
    return (
        f"GitHub: {summary.runs_stored} new run(s) from {len(summary.repos)} repositor"
        f"{'y' if len(summary.repos) == 1 else 'ies'} ({summary.runs_listed} listed, {summary.logs_fetched} log(s),"
        f" {summary.requests} request(s), {summary.not_modified} unchanged)"
    )
