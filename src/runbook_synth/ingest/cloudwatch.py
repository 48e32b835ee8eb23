"""CloudWatch as a source: Lambda log events and alarms, fetched incrementally into the state store.

Observation files say what people did; CloudWatch says what the system did. Fetching and reading are
separate so that generation never needs AWS: ``ingest_cloudwatch`` pulls new log events and the alarms on
the scoped functions into the store (redacted before they are written), and ``cloudwatch_evidence`` turns
what the store holds for a scope and a window into figures a runbook can cite (durations, cold starts,
memory headroom, timeouts, error rate, alarm thresholds, error groups), each naming its log group, window
and number of events.

Every AWS client is passed in; ``make_clients`` is the one place that builds them (boto3's default
credential chain, botocore standard retries). Matching and grouping happen here, never in a server-side
filter pattern, so results do not depend on what a service (or moto) implements.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
import shlex
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from runbook_synth.errors import ConfigError, RunbookSynthError, SourceError
from runbook_synth.ingest.lambda_logs import (
    AppLogLine,
    LogLevel,
    PlatformReport,
    PlatformTimeout,
    parse_lambda_message,
)
from runbook_synth.logtemplates import WILDCARD, mine_templates
from runbook_synth.models import AlarmSummary, CloudWatchEvidence, ErrorGroup, EvidenceSource, InvocationStats
from runbook_synth.redact import RedactionRules, redact_text
from runbook_synth.state import SourceRecord, StateStore

__all__ = [
    "AlarmSummary",
    "CloudWatchConfig",
    "CloudWatchEvidence",
    "CloudWatchSource",
    "ErrorGroup",
    "EvidenceSource",
    "GroupIngest",
    "IngestSummary",
    "InvocationStats",
    "TimeWindow",
    "aws_errors",
    "cloudwatch_evidence",
    "ingest_alarms",
    "ingest_cloudwatch",
    "ingest_log_group",
    "known_log_groups",
    "log_groups_for_scope",
    "make_clients",
    "parse_cloudwatch_config",
    "parse_window",
    "resolve_window",
    "tail_command",
]

logger = logging.getLogger(__name__)

LAMBDA_PREFIX = "/aws/lambda/"
DEFAULT_LOOKBACK = "7d"
DEFAULT_MAX_ATTEMPTS = 5
OVERLAP_MS = 5 * 60 * 1000
"""Each incremental fetch starts this far before the last one ended: CloudWatch can deliver an event minutes
after its timestamp, and event ids make the overlap free of duplicates."""
MAX_ERROR_GROUPS = 10
SAMPLE_CHARS = 300
_CURRENT_ALARMS = "current"
DEFAULT_RULES = RedactionRules()


# =========================================================================================================
# Records. Self-contained and JSON-friendly (str, int, float, tuples of them), so they can move to models.py.
# =========================================================================================================


class CloudWatchSource(StrEnum):
    """The state store's source names for what this module writes."""

    LOGS = "cloudwatch-logs"  # scope: the log group; key: "<log group>|<event id>"
    ALARMS = "cloudwatch-alarms"  # scope: the log group of the alarmed function; key: the alarm ARN


@dataclass(frozen=True)
class CloudWatchConfig:
    """``[tool.runbook-synth.cloudwatch]``: where to read from. No secret lives here: credentials come from
    boto3's default chain (environment, profile, SSO, instance role)."""

    log_groups: tuple[str, ...] = ()  # e.g. "/aws/lambda/telegram-api"; more can be given on the command line
    region: str | None = None  # None: boto3's default (AWS_REGION, the profile's region)
    profile: str | None = None  # a named profile from ~/.aws/config; None: the default chain
    lookback: str = DEFAULT_LOOKBACK  # how far back a first fetch and the evidence window reach ("7d", "12h")
    endpoint_url: str | None = None  # a local endpoint (moto server) instead of AWS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # botocore standard retry mode: attempts per call, first included


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval [start_ms, end_ms) in epoch milliseconds, the unit CloudWatch Logs uses."""

    start_ms: int
    end_ms: int

    @property
    def start(self) -> str:
        return iso_ms(self.start_ms)

    @property
    def end(self) -> str:
        return iso_ms(self.end_ms)


@dataclass(frozen=True)
class GroupIngest:
    """What one log group's fetch did: events new to the store, events seen (new + already stored), pages,
    and the retries botocore made (throttling slows a run down instead of failing it)."""

    log_group: str
    events_new: int
    events_seen: int
    pages: int
    retries: int
    fetched_start: str  # ISO 8601, the range actually asked for (the cursor narrows the requested window)
    fetched_end: str


@dataclass(frozen=True)
class IngestSummary:
    """One ``runbook ingest cloudwatch`` run."""

    region: str
    window_start: str
    window_end: str
    groups: tuple[GroupIngest, ...]
    alarms_new: int
    alarms_seen: int

    @property
    def events_new(self) -> int:
        return sum(group.events_new for group in self.groups)

    @property
    def events_seen(self) -> int:
        return sum(group.events_seen for group in self.groups)

    @property
    def retries(self) -> int:
        return sum(group.retries for group in self.groups)


# =========================================================================================================
# Configuration and windows
# =========================================================================================================

_CONFIG_TABLE = "[tool.runbook-synth.cloudwatch]"
_CONFIG_KEYS = ("log_groups", "region", "profile", "lookback", "endpoint_url", "max_attempts")
_WINDOW = re.compile(r"(\d+)\s*([wdhms])", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_cloudwatch_config(table: Mapping[str, Any], source: str) -> CloudWatchConfig:
    """The ``[tool.runbook-synth.cloudwatch]`` table (``source`` names the file for error messages)."""
    known = {key: key for key in _CONFIG_KEYS} | {key.replace("_", "-"): key for key in _CONFIG_KEYS}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = known.get(key)
        if name is None:
            listing = f"; known keys: {', '.join(_CONFIG_KEYS)}"
            raise ConfigError.unknown_key(source, key, _CONFIG_TABLE, known, listing)
        values[name] = value
    config = CloudWatchConfig()
    groups = values.get("log_groups", [])
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list) or not all(isinstance(g, str) and g.strip() for g in groups):
        raise ConfigError(f'{source}: log_groups in {_CONFIG_TABLE} must be a list of names like "/aws/lambda/my-fn"')
    strings: dict[str, str | None] = {}
    for name in ("region", "profile", "endpoint_url"):
        value = values.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{source}: {name} in {_CONFIG_TABLE} must be a non-empty string, got {value!r}")
        strings[name] = value.strip() if isinstance(value, str) else None
    endpoint = strings["endpoint_url"]
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: endpoint_url in {_CONFIG_TABLE} must start with http:// or https://")
    lookback = values.get("lookback", config.lookback)
    if not isinstance(lookback, str):
        raise ConfigError(f'{source}: lookback in {_CONFIG_TABLE} must be a string like "7d", got {lookback!r}')
    try:
        parse_window(lookback)
    except ConfigError as error:
        raise ConfigError(f"{source}: lookback in {_CONFIG_TABLE}: {error}") from None
    attempts = values.get("max_attempts", config.max_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
        raise ConfigError(f"{source}: max_attempts in {_CONFIG_TABLE} must be a whole number from 1 to 20")
    return CloudWatchConfig(
        log_groups=tuple(dict.fromkeys(g.strip() for g in groups)),
        region=strings["region"],
        profile=strings["profile"],
        lookback=lookback.strip(),
        endpoint_url=endpoint,
        max_attempts=attempts,
    )


def parse_window(text: str) -> timedelta:
    """A relative duration for --since/--until/lookback: "7d", "12h", "30m", "90s", "2w", "1d12h"."""
    compact = text.strip().replace(" ", "")
    if not compact or _WINDOW.sub("", compact):
        raise ConfigError(f"'{text}' is not a duration: use a number and a unit, like 7d, 12h, 30m or 1d12h")
    seconds = sum(int(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _WINDOW.findall(compact))
    if seconds <= 0:
        raise ConfigError(f"'{text}' is an empty duration: use one longer than zero, like 7d")
    return timedelta(seconds=seconds)


def _point_in_time(text: str, now: datetime, option: str) -> datetime:
    """A duration ago ("7d") or a date/time ("2026-11-20", "2026-11-20T10:00:00Z"); naive times are UTC."""
    value = text.strip()
    try:
        return now - parse_window(value)
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option} '{text}': use a duration ago (7d, 12h, 30m) or a UTC date/time (2026-11-20T10:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve_window(
    since: str | None, until: str | None, *, now: datetime, lookback: str = DEFAULT_LOOKBACK
) -> TimeWindow:
    """The window --since/--until name, defaulting to the last ``lookback`` up to ``now`` (passed in)."""
    end = _point_in_time(until, now, "--until") if until else now
    start = _point_in_time(since, now, "--since") if since else end - parse_window(lookback)
    window = TimeWindow(_epoch_ms(start), _epoch_ms(end))
    if window.start_ms >= window.end_ms:
        raise ConfigError(f"--since {window.start} is not before --until {window.end}: swap them or widen the window")
    return window


def iso_ms(epoch_ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC, to the second: what a runbook shows and what sorts as text."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def relative_span(window: TimeWindow) -> str:
    """The window's length in the largest whole unit (7d, 36h, 90m): what `aws logs tail --since` takes."""
    seconds = max(1, (window.end_ms - window.start_ms) // 1000)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# =========================================================================================================
# Clients and errors
# =========================================================================================================

# The IAM action each API operation needs, for "access denied" messages that say what to grant.
IAM_ACTIONS = {
    "FilterLogEvents": "logs:FilterLogEvents",
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "StartQuery": "logs:StartQuery",
    "GetQueryResults": "logs:GetQueryResults",
    "StopQuery": "logs:StopQuery",
    "DescribeAlarms": "cloudwatch:DescribeAlarms",
}
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}


def make_clients(config: CloudWatchConfig) -> tuple[Any, Any]:
    """(logs, cloudwatch) clients from boto3's default credential chain, with bounded standard-mode retries."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError, ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
    except ProfileNotFound:
        raise ConfigError(
            f"AWS profile '{config.profile}' is not in ~/.aws/config: fix `profile` in {_CONFIG_TABLE} or --profile,"
            " or create it with `aws configure --profile NAME`"
        ) from None
    # total_max_attempts counts the first try too (botocore's max_attempts would count retries only).
    retry = Config(
        retries={"mode": "standard", "total_max_attempts": config.max_attempts}, user_agent_extra="runbook-synth"
    )
    try:
        logs = session.client("logs", endpoint_url=config.endpoint_url, config=retry)
        cloudwatch = session.client("cloudwatch", endpoint_url=config.endpoint_url, config=retry)
    except NoRegionError:
        raise ConfigError(
            f"no AWS region: set `region` in {_CONFIG_TABLE}, pass --region, or export AWS_REGION"
        ) from None
    return logs, cloudwatch


def _attempts(client: Any) -> int:
    retries = getattr(getattr(getattr(client, "meta", None), "config", None), "retries", None)
    if isinstance(retries, dict):
        if isinstance(retries.get("total_max_attempts"), int):
            return int(retries["total_max_attempts"])
        if isinstance(retries.get("max_attempts"), int):
            return int(retries["max_attempts"]) + 1  # botocore's max_attempts counts retries
    return DEFAULT_MAX_ATTEMPTS


@contextlib.contextmanager
def aws_errors(source: str, operation: str, client: Any) -> Iterator[None]:
    """botocore's exceptions become one-line SourceErrors that say what to do; nothing else is caught."""
    from botocore import exceptions as bx

    action = IAM_ACTIONS.get(operation, operation)
    try:
        yield
    except RunbookSynthError:
        raise
    except (bx.NoCredentialsError, bx.PartialCredentialsError):
        raise SourceError(
            source,
            "no AWS credentials found: export AWS_PROFILE (or pass --profile), run `aws configure` or"
            " `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ) from None
    except (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError):
        raise SourceError(
            source, "the SSO session has expired: run `aws sso login` (with --profile if you use one)"
        ) from None
    except bx.CredentialRetrievalError as error:
        raise SourceError(
            source, f"cannot load AWS credentials ({error}): check the profile's credential_process"
        ) from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError) as error:
        raise SourceError(
            source,
            f"cannot reach {getattr(error, 'kwargs', {}).get('endpoint_url', 'the endpoint')}: check the"
            " network, --region and --endpoint-url",
        ) from None
    except bx.ReadTimeoutError:
        raise SourceError(source, f"{operation} timed out: retry, or narrow the window with --since") from None
    except bx.ClientError as error:
        raise _client_error(source, operation, action, error, _attempts(client)) from None


def _client_error(source: str, operation: str, action: str, error: Any, attempts: int) -> SourceError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")).strip().rstrip(".")
    if code in _THROTTLED:
        return SourceError(
            source,
            f"{operation} still throttled after {attempts} attempts: run again later, narrow --since, or raise"
            f" max_attempts in {_CONFIG_TABLE}",
        )
    if code in _EXPIRED:
        return SourceError(source, "the AWS session token has expired: refresh it (`aws sso login`, or new keys)")
    if code in _INVALID:
        return SourceError(source, f"AWS rejected the credentials ({code}): check AWS_PROFILE/--profile and the keys")
    if code in _DENIED:
        return SourceError(source, f"access denied: the credentials need {action} ({message or code})")
    if code == "ResourceNotFoundException":
        return SourceError(
            source,
            "log group not found in this region: check the name and --region"
            " (`aws logs describe-log-groups --log-group-name-prefix /aws/lambda/`)",
        )
    return SourceError(source, f"{operation} failed: {code}: {message}")


# =========================================================================================================
# Scope → log groups
# =========================================================================================================

_GENERIC_WORDS = frozenset({"lambda", "lambdas", "function", "functions", "aws"})
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)  # camelCase: "OrderWorker" -> "Order Worker"
    return set(_WORD.findall(spaced.lower()))


def log_groups_for_scope(scope: str, known_groups: Iterable[str]) -> tuple[str, ...]:
    """The log groups a runbook scope means: ``lambda`` is every /aws/lambda/ group; a group or function name
    selects its group; otherwise a group whose function name holds all the scope's words, else any of them."""
    groups = sorted(set(known_groups))
    wanted = scope.strip()
    lambda_groups = [g for g in groups if g.startswith(LAMBDA_PREFIX)]
    if wanted.lower() in ("", "lambda", "lambdas", "aws lambda"):
        return tuple(lambda_groups)
    exact = [g for g in groups if g == wanted or g.removeprefix(LAMBDA_PREFIX).lower() == wanted.lower()]
    if exact:
        return tuple(exact)
    words = _words(wanted) - _GENERIC_WORDS
    if not words:
        return tuple(lambda_groups)
    named = {g: _words(g.removeprefix(LAMBDA_PREFIX).rsplit("/", 1)[-1]) for g in groups}
    every = tuple(g for g in groups if words <= named[g])
    return every or tuple(g for g in groups if words & named[g])


def known_log_groups(store: StateStore, config: CloudWatchConfig | None = None) -> tuple[str, ...]:
    """Groups named in configuration and groups the store holds events or alarms for."""
    configured = config.log_groups if config else ()
    stored = set(store.scopes(CloudWatchSource.LOGS)) | set(store.scopes(CloudWatchSource.ALARMS))
    return tuple(sorted(set(configured) | stored))


def _function_name(log_group: str) -> str:
    return log_group.removeprefix(LAMBDA_PREFIX) if log_group.startswith(LAMBDA_PREFIX) else ""


# =========================================================================================================
# Ingest: log events and alarms into the store
# =========================================================================================================


def ingest_cloudwatch(
    store: StateStore,
    logs: Any,
    cloudwatch: Any | None,
    log_groups: Sequence[str],
    window: TimeWindow,
    *,
    region: str = "",
    rules: RedactionRules = DEFAULT_RULES,
    page_limit: int | None = None,
) -> IngestSummary:
    """Fetch what is new in each log group over ``window``, then the alarms on their functions (unless
    ``cloudwatch`` is None). The store is left consistent if a call fails: records before cursors."""
    if not log_groups:
        raise ConfigError(
            f"no log groups to read: set log_groups in {_CONFIG_TABLE} or pass --log-group /aws/lambda/<function>"
        )
    groups = tuple(ingest_log_group(store, logs, g, window, rules=rules, page_limit=page_limit) for g in log_groups)
    alarms_new = alarms_seen = 0
    if cloudwatch is not None:
        alarms_new, alarms_seen = ingest_alarms(store, cloudwatch, log_groups, region=region, rules=rules)
    return IngestSummary(region, window.start, window.end, groups, alarms_new, alarms_seen)


def _covered(store: StateStore, log_group: str) -> TimeWindow | None:
    raw = store.cursor(CloudWatchSource.LOGS, log_group)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return TimeWindow(int(data["start_ms"]), int(data["end_ms"]))
    except (ValueError, KeyError, TypeError):
        logger.warning("cursor for %s is unreadable (%r); fetching the whole window", log_group, raw)
        return None


def plan_fetch(window: TimeWindow, covered: TimeWindow | None) -> tuple[TimeWindow | None, TimeWindow]:
    """(what to fetch, what the store covers afterwards). Already-covered time is skipped but for an overlap
    that catches late events; a window reaching before the covered range is fetched whole."""
    if covered is None or window.start_ms < covered.start_ms or window.start_ms > covered.end_ms:
        fetch: TimeWindow | None = window
    else:
        start = max(window.start_ms, covered.end_ms - OVERLAP_MS)
        fetch = TimeWindow(start, window.end_ms) if start < window.end_ms and window.end_ms > covered.end_ms else None
    if fetch is None:
        return None, covered or window
    if covered is not None and fetch.start_ms <= covered.end_ms and fetch.end_ms >= covered.start_ms:
        return fetch, TimeWindow(min(fetch.start_ms, covered.start_ms), max(fetch.end_ms, covered.end_ms))
    return fetch, fetch


def ingest_log_group(
    store: StateStore,
    logs: Any,
    log_group: str,
    window: TimeWindow,
    *,
    rules: RedactionRules = DEFAULT_RULES,
    page_limit: int | None = None,
) -> GroupIngest:
    """Page through ``filter_log_events`` for the part of ``window`` the store does not cover yet."""
    fetch, covered_after = plan_fetch(window, _covered(store, log_group))
    if fetch is None:
        return GroupIngest(log_group, 0, 0, 0, 0, window.end, window.end)
    params: dict[str, Any] = {"logGroupName": log_group, "startTime": fetch.start_ms, "endTime": fetch.end_ms}
    if page_limit:
        params["limit"] = page_limit
    new = seen = pages = retries = 0
    source = f"CloudWatch Logs {log_group}"
    with aws_errors(source, "FilterLogEvents", logs):
        # The paginator follows nextToken until it is absent, through empty pages that still carry one.
        for page in logs.get_paginator("filter_log_events").paginate(**params):
            pages += 1
            retries += int(page.get("ResponseMetadata", {}).get("RetryAttempts", 0))
            events = page.get("events", [])
            seen += len(events)
            if events:
                new += store.put_records(_event_record(log_group, event, rules) for event in events)
    store.set_cursor(
        CloudWatchSource.LOGS,
        log_group,
        json.dumps({"start_ms": covered_after.start_ms, "end_ms": covered_after.end_ms}, sort_keys=True),
    )
    logger.info("%s: %d events (%d new) in %d pages", log_group, seen, new, pages)
    return GroupIngest(log_group, new, seen, pages, retries, fetch.start, fetch.end)


def _event_record(log_group: str, event: Mapping[str, Any], rules: RedactionRules) -> SourceRecord:
    stream = str(event.get("logStreamName", ""))
    message = str(event.get("message", "")).rstrip("\r\n")
    # CloudWatch always sends eventId; a stand-in without one still gets a stable key.
    digest = hashlib.sha256(f"{stream}\0{event.get('timestamp')}\0{message}".encode()).hexdigest()[:32]
    event_id = str(event.get("eventId") or digest)
    redacted = redact_text(message, f"cloudwatch:{log_group}/{stream}", rules).text
    payload = {"log_group": log_group, "log_stream": stream, "event_id": event_id, "message": redacted}
    return SourceRecord(
        source=CloudWatchSource.LOGS,
        key=f"{log_group}|{event_id}",
        scope=log_group,
        timestamp_ms=int(event.get("timestamp", 0)),
        payload=json.dumps(payload, sort_keys=True, ensure_ascii=False),
    )


def _alarm_dimensions(alarm: Mapping[str, Any]) -> list[tuple[str, str]]:
    dims = [(str(d.get("Name")), str(d.get("Value"))) for d in alarm.get("Dimensions", [])]
    for query in alarm.get("Metrics", []) or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        dims += [(str(d.get("Name")), str(d.get("Value"))) for d in metric.get("Dimensions", [])]
    return dims


def _alarm_log_group(alarm: Mapping[str, Any], by_function: Mapping[str, str]) -> str | None:
    for name, value in _alarm_dimensions(alarm):
        if name == "FunctionName" and value in by_function:
            return by_function[value]
        if name == "Resource" and value.split(":", 1)[0] in by_function:  # "fn:alias" or "fn:version"
            return by_function[value.split(":", 1)[0]]
    return None


def ingest_alarms(
    store: StateStore,
    cloudwatch: Any,
    log_groups: Sequence[str],
    *,
    region: str = "",
    rules: RedactionRules = DEFAULT_RULES,
) -> tuple[int, int]:
    """Store the metric alarms whose FunctionName dimension is a scoped function; returns (new, seen).

    Alarms are replaced by ARN, so a changed threshold wins; the set current in this region is kept as a
    cursor, so deleted alarms stop counting as evidence."""
    by_function = {_function_name(g): g for g in log_groups if _function_name(g)}
    records: list[SourceRecord] = []
    with aws_errors("CloudWatch alarms", "DescribeAlarms", cloudwatch):
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                log_group = _alarm_log_group(alarm, by_function)
                if log_group is not None:
                    records.append(_alarm_record(alarm, log_group, rules))
    with store.transaction():
        new = store.put_records(records) if records else 0
        current = _current_alarms(store)
        current[region] = sorted(r.key for r in records)
        store.set_cursor(CloudWatchSource.ALARMS, _CURRENT_ALARMS, json.dumps(current, sort_keys=True))
    return new, len(records)


def _alarm_record(alarm: Mapping[str, Any], log_group: str, rules: RedactionRules) -> SourceRecord:
    arn = str(alarm.get("AlarmArn") or alarm.get("AlarmName"))
    updated = alarm.get("AlarmConfigurationUpdatedTimestamp") or alarm.get("StateUpdatedTimestamp")
    timestamp_ms = _epoch_ms(updated) if isinstance(updated, datetime) else 0
    metrics = []
    for query in alarm.get("Metrics", []) or []:
        stat = query.get("MetricStat") or {}
        metric = stat.get("Metric") or {}
        metrics.append(
            {
                "id": str(query.get("Id", "")),
                "expression": str(query.get("Expression", "")),
                "label": str(query.get("Label", "")),
                "metric": str(metric.get("MetricName", "")),
                "stat": str(stat.get("Stat", "")),
                "period": int(stat.get("Period", query.get("Period", 0)) or 0),
                "return_data": bool(query.get("ReturnData", False)),
            }
        )
    description = str(alarm.get("AlarmDescription", ""))
    payload = {
        "name": str(alarm.get("AlarmName", "")),
        "arn": arn,
        "description": redact_text(description, f"cloudwatch:alarm/{arn}", rules).text if description else "",
        "namespace": str(alarm.get("Namespace", "")),
        "metric": str(alarm.get("MetricName", "")),
        "statistic": str(alarm.get("Statistic") or alarm.get("ExtendedStatistic") or ""),
        "threshold": float(alarm.get("Threshold", 0.0)),
        "comparison": str(alarm.get("ComparisonOperator", "")),
        "evaluation_periods": int(alarm.get("EvaluationPeriods", 1)),
        "datapoints_to_alarm": int(alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods", 1)),
        "period": int(alarm.get("Period") or 0),
        "actions": sorted(str(a) for a in alarm.get("AlarmActions", [])),
        "state": str(alarm.get("StateValue", "")),
        "dimensions": sorted(f"{k}={v}" for k, v in _alarm_dimensions(alarm)),
        "metrics": metrics,
        "log_group": log_group,
    }
    return SourceRecord(
        CloudWatchSource.ALARMS, arn, log_group, timestamp_ms, json.dumps(payload, sort_keys=True, ensure_ascii=False)
    )


# =========================================================================================================
# Evidence: what the store says about a scope over a window
# =========================================================================================================

_COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
_ROLLBACK_METRICS = frozenset(
    {"Errors", "Throttles", "Duration", "5XXError", "Latency", "IntegrationLatency", "DeadLetterErrors", "Timeouts"}
)
_CRITICAL = re.compile(r"\b(?:critical|crit|sev-?[12]|p[12]|page|paging)\b", re.IGNORECASE)
_WARNING = re.compile(r"\b(?:warn|warning|sev-?[34]|p[34])\b", re.IGNORECASE)
_SPLIT_NAME = re.compile(r"[-_./:]+")


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(p*n)), as CloudWatch's pNN statistics roughly are."""
    if not values:
        return None
    data = sorted(values)
    rank = max(1, math.ceil(fraction * len(data)))
    return data[min(rank, len(data)) - 1]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _format_number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _format_seconds(seconds: int) -> str:
    for size, unit in ((3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _severity(name: str, description: str) -> str:
    text = " ".join(_SPLIT_NAME.split(f"{name} {description}"))
    if _CRITICAL.search(text):
        return "critical"
    if _WARNING.search(text):
        return "warning"
    return ""


def _alarm_summary(payload: Mapping[str, Any]) -> AlarmSummary:
    metric, statistic, period, unit = str(payload["metric"]), str(payload["statistic"]), int(payload["period"]), ""
    rollback_metric = metric in _ROLLBACK_METRICS
    returned = [m for m in payload.get("metrics", []) if m.get("return_data")]
    if not metric and returned:  # metric math: the expression that decides
        expression = str(returned[0].get("expression", ""))
        period = period or max((int(m.get("period", 0)) for m in payload["metrics"]), default=0)
        names = {str(m.get("metric")) for m in payload["metrics"]}
        if {"Errors", "Invocations"} <= names and "100" in expression:
            metric, unit, rollback_metric = "Error rate", "%", True
        else:
            metric = str(returned[0].get("label") or expression or "expression")
            rollback_metric = bool(names & _ROLLBACK_METRICS)
        statistic = ""
    elif metric == "Duration":
        unit = " ms"
    comparison = _COMPARISONS.get(str(payload["comparison"]), str(payload["comparison"]))
    periods, needed = int(payload["evaluation_periods"]), int(payload["datapoints_to_alarm"])
    label = f"{metric} {statistic}" if statistic and metric not in ("Error rate",) else metric
    span = (
        f"for {_format_seconds(period * periods)}"
        if needed >= periods
        else f"in {needed} of {periods} periods of {_format_seconds(period)}"
    )
    condition = f"{label} {comparison} {_format_number(float(payload['threshold']))}{unit} {span}"
    return AlarmSummary(
        name=str(payload["name"]),
        log_group=str(payload["log_group"]),
        namespace=str(payload["namespace"]),
        metric=metric,
        statistic=statistic,
        threshold=float(payload["threshold"]),
        comparison=comparison,
        evaluation_periods=periods,
        datapoints_to_alarm=needed,
        period_seconds=period,
        actions=tuple(str(a) for a in payload["actions"]),
        state=str(payload["state"]),
        severity=_severity(str(payload["name"]), str(payload.get("description", ""))),
        condition=condition,
        rollback_trigger=rollback_metric and comparison in (">", ">=") and period > 0,
    )


def _current_alarms(store: StateStore) -> dict[str, list[str]]:
    """The alarm ARNs the last ingest saw, per region (one region's run must not drop another's alarms)."""
    raw = store.cursor(CloudWatchSource.ALARMS, _CURRENT_ALARMS)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): [str(a) for a in v] for k, v in data.items()} if isinstance(data, dict) else {}


def stored_alarms(store: StateStore, log_groups: Sequence[str]) -> tuple[AlarmSummary, ...]:
    """The current alarms on these groups' functions, as last ingested, sorted by group then name."""
    current = {arn for arns in _current_alarms(store).values() for arn in arns}
    summaries = []
    for group in sorted(set(log_groups)):
        for record in store.records(CloudWatchSource.ALARMS, scope=group):
            if record.key in current:
                summaries.append(_alarm_summary(json.loads(record.payload)))
    return tuple(sorted(summaries, key=lambda a: (a.log_group, a.name)))


@dataclass
class _GroupLines:
    """What one log group's events say, gathered in one pass over the store (mutable while gathering)."""

    events: int = 0
    reports: list[PlatformReport] = field(default_factory=list)
    timeout_ids: set[str] = field(default_factory=set)
    unattributed_timeouts: int = 0  # timeout lines without a request id: one invocation each
    error_ids: set[str] = field(default_factory=set)
    unattributed_errors: int = 0
    # (level, message to mine, sample line, timestamp_ms)
    problems: list[tuple[str, str, str, int]] = field(default_factory=list)


def _gather(store: StateStore, log_group: str, window: TimeWindow) -> _GroupLines:
    lines = _GroupLines()
    for record in store.records(CloudWatchSource.LOGS, log_group, window.start_ms, window.end_ms):
        lines.events += 1
        message = str(json.loads(record.payload).get("message", ""))
        parsed = parse_lambda_message(message)
        first = message.strip().splitlines()[0] if message.strip() else ""
        if isinstance(parsed, PlatformReport):
            lines.reports.append(parsed)
            if parsed.timed_out:
                lines.timeout_ids.add(parsed.request_id)
                lines.problems.append((LogLevel.ERROR, first, first, record.timestamp_ms))
        elif isinstance(parsed, PlatformTimeout):
            if parsed.request_id:
                lines.timeout_ids.add(parsed.request_id)
            else:
                lines.unattributed_timeouts += 1
            lines.problems.append((LogLevel.ERROR, _strip_prefix(first), first, record.timestamp_ms))
        elif isinstance(parsed, AppLogLine):
            if parsed.level is LogLevel.ERROR:
                if parsed.request_id:
                    lines.error_ids.add(parsed.request_id)
                else:
                    lines.unattributed_errors += 1
            lines.problems.append((parsed.level, parsed.message or first, first, record.timestamp_ms))
    return lines


_LINE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+(?:[0-9a-fA-F-]{36}\s+)?")


def _strip_prefix(line: str) -> str:
    """The timestamp and request id before "Task timed out" are not part of what the line says."""
    return _LINE_PREFIX.sub("", line)


def _invocation_stats(log_group: str, window: TimeWindow, lines: _GroupLines) -> InvocationStats:
    source = EvidenceSource(log_group, window.start, window.end, lines.events)
    reports = lines.reports
    durations = [r.duration_ms for r in reports]
    inits = [r.init_duration_ms for r in reports if r.init_duration_ms is not None]
    size = reports[-1].memory_size_mb if reports else None
    used = max((r.max_memory_used_mb for r in reports if r.memory_size_mb == size), default=None)
    headroom = round(100 * (size - used) / size, 1) if size and used is not None else None
    timeouts = len(lines.timeout_ids) + lines.unattributed_timeouts
    failing = len(lines.error_ids | lines.timeout_ids) + lines.unattributed_errors + lines.unattributed_timeouts
    return InvocationStats(
        source=source,
        invocations=len(reports),
        duration_median_ms=_round(statistics.median(durations)) if durations else None,
        duration_p90_ms=_round(percentile(durations, 0.90)),
        duration_p99_ms=_round(percentile(durations, 0.99)),
        cold_starts=len(inits),
        init_median_ms=_round(statistics.median(inits)) if inits else None,
        memory_size_mb=size,
        max_memory_used_mb=used,
        memory_headroom_pct=headroom,
        timeouts=timeouts,
        error_invocations=failing,
        error_rate_pct=round(100 * min(failing, len(reports)) / len(reports), 2) if reports else None,
    )


def filter_pattern_for(template: str, *, max_terms: int = 3) -> str:
    """A CloudWatch filter pattern matching a template's lines: its longest constant phrases, quoted, ANDed.

    Quoted terms match literally, so punctuation needs no escaping; a phrase holding a double quote is
    split at it, since filter patterns cannot escape one."""
    pieces: list[str] = []
    for piece in template.split(WILDCARD):
        pieces += [p.strip() for p in piece.split('"')]
    useful = list(dict.fromkeys(p for p in pieces if re.search(r"[A-Za-z]{2,}", p)))
    if len(useful) <= max_terms:
        return " ".join(f'"{p}"' for p in useful)
    # The first and last phrases tell lines apart best ("REPORT ... Status: timeout"); then the longest.
    middle = sorted(useful[1:-1], key=lambda p: (-len(p), useful.index(p)))[: max(0, max_terms - 2)]
    chosen = {useful[0], useful[-1], *middle}
    return " ".join(f'"{p}"' for p in useful if p in chosen)


def tail_command(log_group: str, since: str, filter_pattern: str, region: str = "") -> str:
    """The `aws logs tail` command that shows these lines, quoted for a POSIX shell."""
    parts = ["aws", "logs", "tail", log_group, "--since", since]
    if filter_pattern:
        parts += ["--filter-pattern", filter_pattern]
    if region:
        parts += ["--region", region]
    return shlex.join(parts)


def _error_groups(
    log_group: str, window: TimeWindow, lines: _GroupLines, region: str, rules: RedactionRules
) -> list[ErrorGroup]:
    if not lines.problems:
        return []
    ids, templates = mine_templates([message for _, message, _, _ in lines.problems])
    source = EvidenceSource(log_group, window.start, window.end, lines.events)
    since = relative_span(window)
    members: dict[int, list[tuple[str, str, str, int]]] = {}
    for template_id, problem in zip(ids, lines.problems, strict=True):
        members.setdefault(template_id, []).append(problem)
    out = []
    for template in templates:
        group = members[template.template_id]
        levels = {level for level, _, _, _ in group}
        sample = group[0][2][:SAMPLE_CHARS]
        out.append(
            ErrorGroup(
                template=template.template,
                level=LogLevel.ERROR if LogLevel.ERROR in levels else LogLevel.WARN,
                count=len(group),
                first_seen=iso_ms(min(ts for *_, ts in group)),
                last_seen=iso_ms(max(ts for *_, ts in group)),
                # Stored text is already redacted; once more costs little and guards records from older versions.
                sample=redact_text(sample, f"cloudwatch:{log_group}", rules).text,
                log_group=log_group,
                tail_command=tail_command(log_group, since, filter_pattern_for(template.template), region),
                source=source,
            )
        )
    return out


def cloudwatch_evidence(
    store: StateStore,
    scope: str,
    window: TimeWindow,
    *,
    log_groups: Sequence[str] | None = None,
    region: str = "",
    rules: RedactionRules = DEFAULT_RULES,
    max_error_groups: int = MAX_ERROR_GROUPS,
) -> CloudWatchEvidence:
    """What the store holds for ``scope`` over ``window``; no AWS call. ``log_groups`` None: the groups
    :func:`log_groups_for_scope` picks from the store."""
    groups = tuple(log_groups) if log_groups is not None else log_groups_for_scope(scope, known_log_groups(store))
    stats: list[InvocationStats] = []
    errors: list[ErrorGroup] = []
    events = 0
    for group in sorted(set(groups)):
        lines = _gather(store, group, window)
        events += lines.events
        stats.append(_invocation_stats(group, window, lines))
        errors += _error_groups(group, window, lines, region, rules)
    errors.sort(key=lambda e: (e.level != LogLevel.ERROR, -e.count, e.log_group, e.template))
    alarms = stored_alarms(store, groups)
    triggers = tuple(dict.fromkeys(a.condition for a in alarms if a.rollback_trigger))
    return CloudWatchEvidence(
        scope=scope,
        log_groups=tuple(sorted(set(groups))),
        window_start=window.start,
        window_end=window.end,
        events=events,
        invocations=tuple(stats),
        alarms=alarms,
        rollback_triggers=triggers,
        error_groups=tuple(errors[:max_error_groups]),
    )
