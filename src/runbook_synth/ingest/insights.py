"""CloudWatch Logs Insights: aggregation pushed down to CloudWatch, for functions too busy to pull raw.

A busy function writes millions of lines a day; fetching them all is slow and hits FilterLogEvents rate
limits. Insights computes the percentiles and the error patterns server-side and returns a few rows, at
a price per GB scanned (see the README). The raw path is then used only for one sample line per pattern.

moto does not implement Insights semantics, so the query strings and the parsing of ``get_query_results``
payloads are kept as pure functions and tested on literal payloads; only ``run_query`` talks to AWS.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runbook_synth.errors import SourceError
from runbook_synth.ingest.cloudwatch import (
    DEFAULT_RULES,
    SAMPLE_CHARS,
    ErrorGroup,
    EvidenceSource,
    InvocationStats,
    TimeWindow,
    aws_errors,
    filter_pattern_for,
    iso_ms,
    relative_span,
    tail_command,
)
from runbook_synth.ingest.lambda_logs import LogLevel
from runbook_synth.logtemplates import WILDCARD
from runbook_synth.redact import RedactionRules, redact_text

__all__ = [
    "DurationBin",
    "InsightsPattern",
    "InsightsResult",
    "QueryStatus",
    "duration_query",
    "error_pattern_query",
    "fetch_sample",
    "insights_evidence",
    "invocation_stats_from",
    "parse_duration_bins",
    "parse_patterns",
    "parse_query_results",
    "run_query",
]

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 1.0
DEFAULT_MAX_POLLS = 120
MAX_LOG_GROUPS_PER_QUERY = 50  # the StartQuery limit
_PROBLEM_REGEX = (
    r"/(?i)(\bERROR\b|\bWARN(ING)?\b|\bFATAL\b|\bCRITICAL\b|Task timed out after|Status: timeout|errorType)/"
)


class QueryStatus(StrEnum):
    """``get_query_results`` statuses; every one but SCHEDULED and RUNNING is final."""

    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMEOUT = "Timeout"
    UNKNOWN = "Unknown"


_PENDING = frozenset({QueryStatus.SCHEDULED, QueryStatus.RUNNING})


@dataclass(frozen=True)
class InsightsResult:
    """A finished query: its rows as (field, value) pairs, and what it scanned (what it cost)."""

    query_id: str
    status: str
    rows: tuple[tuple[tuple[str, str], ...], ...]
    records_matched: float
    records_scanned: float
    bytes_scanned: float


@dataclass(frozen=True)
class DurationBin:
    """One ``bin()`` of the duration query: a point of the trend over the window."""

    start: str  # ISO 8601 as Insights prints it, e.g. "2026-11-20 10:00:00.000"
    invocations: int
    duration_p50_ms: float | None
    duration_p90_ms: float | None
    duration_p99_ms: float | None
    cold_starts: int
    init_p50_ms: float | None
    memory_size_mb: float | None
    max_memory_used_mb: float | None
    timeouts: int


@dataclass(frozen=True)
class InsightsPattern:
    """One row of ``pattern @message``: the template (variables as ``<*>``), how many lines, their share."""

    template: str
    count: int
    ratio: float
    level: str  # "ERROR" | "WARN"


# ---------------------------------------------------------------------------------------------------------
# Query strings


def duration_query(bin_size: str | None = "1h") -> str:
    """Durations, cold starts, memory and timeouts from REPORT lines (and the older timeout line); with
    ``bin_size`` one row per bin, without it one row for the whole window. @memorySize and @maxMemoryUsed
    are in bytes; the division gives MB as the REPORT line prints them."""
    stats = (
        "stats count(@duration) as invocations,"
        " pct(@duration, 50) as duration_p50, pct(@duration, 90) as duration_p90, pct(@duration, 99) as duration_p99,"
        " count(@initDuration) as cold_starts, pct(@initDuration, 50) as init_p50,"
        " max(@memorySize / 1000 / 1000) as memory_size_mb, max(@maxMemoryUsed / 1000 / 1000) as max_memory_used_mb,"
        ' sum(strcontains(@message, "Status: timeout")) + sum(strcontains(@message, "Task timed out after"))'
        " as timeouts"
    )
    if bin_size:
        if not re.fullmatch(r"\d+[smhd]", bin_size):
            raise ValueError(f"bin size {bin_size!r}: use a number and s, m, h or d, like 1h")
        stats += f" by bin({bin_size})"
    query = f'filter @type = "REPORT" or @message like /Task timed out after/\n| {stats}'
    return query + ("\n| sort bin asc" if bin_size else "")


def error_pattern_query(limit: int = 50) -> str:
    """Error and warning lines clustered by Insights' own miner, most frequent first."""
    return f"filter @message like {_PROBLEM_REGEX}\n| pattern @message\n| sort @sampleCount desc\n| limit {int(limit)}"


# ---------------------------------------------------------------------------------------------------------
# Running a query


def run_query(
    logs: Any,
    log_groups: Sequence[str],
    window: TimeWindow,
    query: str,
    *,
    sleep: Callable[[float], None],
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    max_polls: int = DEFAULT_MAX_POLLS,
    limit: int = 1000,
) -> InsightsResult:
    """start_query, then get_query_results every ``poll_interval_s`` (``sleep`` is passed in) until a final
    status, at most ``max_polls`` times; a query still running then is stopped and reported."""
    groups = list(dict.fromkeys(log_groups))
    source = f"CloudWatch Logs Insights {', '.join(groups)}"
    if not groups or len(groups) > MAX_LOG_GROUPS_PER_QUERY:
        raise SourceError(source, f"a query reads 1 to {MAX_LOG_GROUPS_PER_QUERY} log groups; got {len(groups)}")
    with aws_errors(source, "StartQuery", logs):
        started = logs.start_query(
            logGroupNames=groups,
            startTime=window.start_ms // 1000,  # Insights takes epoch seconds, not milliseconds
            endTime=math.ceil(window.end_ms / 1000),
            queryString=query,
            limit=limit,
        )
    query_id = str(started["queryId"])
    status = QueryStatus.SCHEDULED.value
    payload: Mapping[str, Any] = {}
    for poll in range(max_polls):
        if poll:
            sleep(poll_interval_s)
        with aws_errors(source, "GetQueryResults", logs):
            payload = logs.get_query_results(queryId=query_id)
        status = str(payload.get("status", QueryStatus.UNKNOWN))
        if status not in _PENDING:
            break
    else:
        try:
            logs.stop_query(queryId=query_id)  # so it stops scanning (and billing); it ends on its own anyway
        except Exception as error:  # best effort: the error that matters is the one raised below
            logger.info("could not stop query %s: %s", query_id, error)
        raise SourceError(
            source,
            f"query {query_id} still {status} after {max_polls} polls: narrow --since, or use the raw path"
            " (without --insights)",
        )
    if status != QueryStatus.COMPLETE:
        raise SourceError(source, f"query {query_id} ended {status}: run again, or narrow --since")
    return parse_query_results(payload, query_id)


def parse_query_results(payload: Mapping[str, Any], query_id: str = "") -> InsightsResult:
    """A ``get_query_results`` payload as a record; @ptr (a pointer to the event, not data) is dropped."""
    rows = tuple(
        tuple(
            (str(cell.get("field", "")), str(cell.get("value", "")))
            for cell in row
            if isinstance(cell, Mapping) and cell.get("field") != "@ptr"
        )
        for row in payload.get("results", []) or []
    )
    stats = payload.get("statistics") or {}
    return InsightsResult(
        query_id=query_id,
        status=str(payload.get("status", "")),
        rows=rows,
        records_matched=float(stats.get("recordsMatched", 0.0)),
        records_scanned=float(stats.get("recordsScanned", 0.0)),
        bytes_scanned=float(stats.get("bytesScanned", 0.0)),
    )


# ---------------------------------------------------------------------------------------------------------
# Parsing rows


def _number(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _count(value: str | None) -> int:
    number = _number(value)
    return int(number) if number is not None else 0


def parse_duration_bins(result: InsightsResult) -> tuple[DurationBin, ...]:
    """The rows of :func:`duration_query`, in time order (without ``bin`` the one row has start "")."""
    bins = []
    for row in result.rows:
        cells = dict(row)
        start = next((v for f, v in row if f.startswith("bin(")), cells.get("bin", ""))
        bins.append(
            DurationBin(
                start=start,
                invocations=_count(cells.get("invocations")),
                duration_p50_ms=_number(cells.get("duration_p50")),
                duration_p90_ms=_number(cells.get("duration_p90")),
                duration_p99_ms=_number(cells.get("duration_p99")),
                cold_starts=_count(cells.get("cold_starts")),
                init_p50_ms=_number(cells.get("init_p50")),
                memory_size_mb=_number(cells.get("memory_size_mb")),
                max_memory_used_mb=_number(cells.get("max_memory_used_mb")),
                timeouts=_count(cells.get("timeouts")),
            )
        )
    return tuple(sorted(bins, key=lambda b: b.start))


# Insights names its variables "<*>" or, in newer output, "<Time-1>", "<IPAddress-3>", "<Token-2>".
_TOKEN = re.compile(r"<(?:\*|[A-Za-z][\w]*-\d+)>")
_LEVEL_IN_TEXT = re.compile(r"\b(ERROR|FATAL|CRITICAL|WARN(?:ING)?)\b")


def parse_patterns(result: InsightsResult) -> tuple[InsightsPattern, ...]:
    """The rows of :func:`error_pattern_query`, most frequent first; tokens become ``<*>`` like logtemplates'."""
    patterns = []
    for row in result.rows:
        cells = dict(row)
        raw = cells.get("@pattern", "")
        if not raw:
            continue
        template = re.sub(r"(?:<\*>\s*){2,}", f"{WILDCARD} ", _TOKEN.sub(WILDCARD, raw)).strip()
        label = cells.get("@severityLabel", "").upper()
        in_text = _LEVEL_IN_TEXT.search(template)
        word = label if label and label != "UNKNOWN" else (in_text.group(1) if in_text else "ERROR")
        level = LogLevel.WARN if word.startswith("WARN") else LogLevel.ERROR
        patterns.append(
            InsightsPattern(template, _count(cells.get("@sampleCount")), _number(cells.get("@ratio")) or 0.0, level)
        )
    return tuple(sorted(patterns, key=lambda p: (-p.count, p.template)))


def invocation_stats_from(
    log_group: str, window: TimeWindow, durations: InsightsResult, patterns: Sequence[InsightsPattern]
) -> InvocationStats:
    """InvocationStats from the whole-window duration query. In this mode the error count is the number of
    ERROR lines (Insights cannot tie application lines to request ids), capped at the invocations."""
    row = parse_duration_bins(durations)
    figures = row[0] if row else None
    invocations = figures.invocations if figures else 0
    size = figures.memory_size_mb if figures else None
    used = figures.max_memory_used_mb if figures else None
    headroom = round(100 * (size - used) / size, 1) if size and used is not None else None
    error_lines = sum(p.count for p in patterns if p.level == LogLevel.ERROR)
    timeouts = figures.timeouts if figures else 0
    failing = min(max(error_lines, timeouts), invocations) if invocations else error_lines
    return InvocationStats(
        source=EvidenceSource(log_group, window.start, window.end, int(durations.records_matched)),
        invocations=invocations,
        duration_median_ms=_rounded(figures.duration_p50_ms if figures else None),
        duration_p90_ms=_rounded(figures.duration_p90_ms if figures else None),
        duration_p99_ms=_rounded(figures.duration_p99_ms if figures else None),
        cold_starts=figures.cold_starts if figures else 0,
        init_median_ms=_rounded(figures.init_p50_ms if figures else None),
        memory_size_mb=round(size) if size is not None else None,
        max_memory_used_mb=round(used) if used is not None else None,
        memory_headroom_pct=headroom,
        timeouts=timeouts,
        error_invocations=failing,
        error_rate_pct=round(100 * failing / invocations, 2) if invocations else None,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---------------------------------------------------------------------------------------------------------
# Samples from the raw path, and the evidence


def fetch_sample(
    logs: Any, log_group: str, window: TimeWindow, filter_pattern: str, *, max_pages: int = 5
) -> tuple[str, int] | None:
    """The earliest line matching ``filter_pattern`` (message, epoch ms), reading at most ``max_pages``
    pages: a sample is a courtesy, never worth a scan of the whole group."""
    params: dict[str, Any] = {
        "logGroupName": log_group,
        "startTime": window.start_ms,
        "endTime": window.end_ms,
        "filterPattern": filter_pattern,
        "limit": 1,
    }
    with aws_errors(f"CloudWatch Logs {log_group}", "FilterLogEvents", logs):
        for _ in range(max_pages):
            page = logs.filter_log_events(**params)
            events = page.get("events", [])
            if events:
                return str(events[0].get("message", "")).rstrip("\r\n"), int(events[0].get("timestamp", 0))
            token = page.get("nextToken")
            if not token:
                return None
            params["nextToken"] = token
    return None


def insights_evidence(
    logs: Any,
    log_group: str,
    window: TimeWindow,
    *,
    sleep: Callable[[float], None],
    region: str = "",
    rules: RedactionRules = DEFAULT_RULES,
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    max_polls: int = DEFAULT_MAX_POLLS,
    max_error_groups: int = 10,
) -> tuple[InvocationStats, tuple[ErrorGroup, ...], float]:
    """(stats, error groups, bytes scanned) for one group via two Insights queries and one sample per pattern.

    First and last seen are the sample's time and "" (patterns carry no times); the bytes scanned are what
    the two queries are billed on."""
    durations = run_query(
        logs,
        [log_group],
        window,
        duration_query(None),
        sleep=sleep,
        poll_interval_s=poll_interval_s,
        max_polls=max_polls,
    )
    found = run_query(
        logs,
        [log_group],
        window,
        error_pattern_query(max_error_groups),
        sleep=sleep,
        poll_interval_s=poll_interval_s,
        max_polls=max_polls,
    )
    patterns = parse_patterns(found)
    stats = invocation_stats_from(log_group, window, durations, patterns)
    source = EvidenceSource(log_group, window.start, window.end, int(found.records_matched))
    since = relative_span(window)
    groups = []
    for pattern in patterns[:max_error_groups]:
        filter_pattern = filter_pattern_for(pattern.template)
        sample = fetch_sample(logs, log_group, window, filter_pattern) if filter_pattern else None
        text, first_seen = (sample[0][:SAMPLE_CHARS], iso_ms(sample[1])) if sample else (pattern.template, "")
        groups.append(
            ErrorGroup(
                template=pattern.template,
                level=pattern.level,
                count=pattern.count,
                first_seen=first_seen,
                last_seen="",
                sample=redact_text(text, f"cloudwatch:{log_group}", rules).text,
                log_group=log_group,
                tail_command=tail_command(log_group, since, filter_pattern, region),
                source=source,
            )
        )
    return stats, tuple(groups), durations.bytes_scanned + found.bytes_scanned
