"""Logs Insights mode: the query strings we send, and the parsing of get_query_results payloads (literal,
since moto ignores Insights semantics); polling against a scripted client; one round trip through moto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbook_synth.errors import SourceError
from runbook_synth.ingest.cloudwatch import TimeWindow
from runbook_synth.ingest.insights import (
    DurationBin,
    InsightsPattern,
    duration_query,
    error_pattern_query,
    insights_evidence,
    parse_duration_bins,
    parse_patterns,
    parse_query_results,
    run_query,
)
from tests.support.moto_cloudwatch import (
    REGION,
    TELEGRAM_API,
    fake_aws_env,
    function_events,
    recent_start_ms,
    seed_log_group,
)

WINDOW = TimeWindow(1_795_000_000_500, 1_795_003_600_500)
GROUP = "/aws/lambda/telegram-api"


def test_duration_query_bins_by_the_given_size() -> None:
    assert duration_query("1h") == (
        'filter @type = "REPORT" or @message like /Task timed out after/\n'
        "| stats count(@duration) as invocations, pct(@duration, 50) as duration_p50,"
        " pct(@duration, 90) as duration_p90, pct(@duration, 99) as duration_p99,"
        " count(@initDuration) as cold_starts, pct(@initDuration, 50) as init_p50,"
        " max(@memorySize / 1000 / 1000) as memory_size_mb, max(@maxMemoryUsed / 1000 / 1000) as max_memory_used_mb,"
        ' sum(strcontains(@message, "Status: timeout")) + sum(strcontains(@message, "Task timed out after"))'
        " as timeouts by bin(1h)\n"
        "| sort bin asc"
    )
    assert "by bin(" not in duration_query(None)
    with pytest.raises(ValueError, match="bin size"):
        duration_query("1 hour")


def test_error_pattern_query_uses_pattern() -> None:
    assert error_pattern_query(20) == (
        r"filter @message like /(?i)(\bERROR\b|\bWARN(ING)?\b|\bFATAL\b|\bCRITICAL\b|Task timed out after"
        r"|Status: timeout|errorType)/"
        "\n| pattern @message\n| sort @sampleCount desc\n| limit 20"
    )


DURATION_ROWS: list[list[dict[str, str]]] = [
    [
        {"field": "bin(1h)", "value": "2026-11-20 11:00:00.000"},
        {"field": "invocations", "value": "700"},
        {"field": "duration_p50", "value": "120.5"},
        {"field": "duration_p90", "value": "310.25"},
        {"field": "duration_p99", "value": "2900"},
        {"field": "cold_starts", "value": "3"},
        {"field": "init_p50", "value": "251.2"},
        {"field": "memory_size_mb", "value": "512"},
        {"field": "max_memory_used_mb", "value": "431"},
        {"field": "timeouts", "value": "1"},
    ],
    [
        {"field": "bin(1h)", "value": "2026-11-20 10:00:00.000"},
        {"field": "invocations", "value": "740"},
        {"field": "duration_p50", "value": "118"},
        {"field": "cold_starts", "value": "0"},
        {"field": "timeouts", "value": "0"},
        {"field": "@ptr", "value": "CmIKKQolMTIzNDU2Nzg5MDEyOi9hd3MvbGFtYmRhL3RlbGVncmFtLWFwaRAA"},
    ],
]
DURATION_PAYLOAD = {
    "status": "Complete",
    "statistics": {"recordsMatched": 1440.0, "recordsScanned": 5760.0, "bytesScanned": 1048576.0},
    "results": DURATION_ROWS,
}


def test_duration_rows_parse_in_time_order() -> None:
    result = parse_query_results(DURATION_PAYLOAD, "q-1")
    assert (result.records_matched, result.bytes_scanned) == (1440.0, 1048576.0)
    assert all(field != "@ptr" for row in result.rows for field, _ in row)
    assert parse_duration_bins(result) == (
        DurationBin("2026-11-20 10:00:00.000", 740, 118.0, None, None, 0, None, None, None, 0),
        DurationBin("2026-11-20 11:00:00.000", 700, 120.5, 310.25, 2900.0, 3, 251.2, 512.0, 431.0, 1),
    )


PATTERN_PAYLOAD = {
    "status": "Complete",
    "statistics": {"recordsMatched": 40.0, "recordsScanned": 5760.0, "bytesScanned": 1048576.0},
    "results": [
        [
            {"field": "@pattern", "value": "[WARNING] <Time-1> <RequestId-2> slow response from upstream: <*> ms"},
            {"field": "@ratio", "value": "0.25"},
            {"field": "@sampleCount", "value": "10"},
            {"field": "@severityLabel", "value": "WARN"},
        ],
        [
            {"field": "@pattern", "value": "[ERROR] <*> <*> Connection refused to <Token-3>:5432 after <*> retries"},
            {"field": "@ratio", "value": "0.75"},
            {"field": "@sampleCount", "value": "30"},
            {"field": "@severityLabel", "value": "ERROR"},
            {"field": "@visualization", "value": "{}"},
        ],
        [{"field": "@sampleCount", "value": "3"}],
    ],
}


def test_patterns_parse_with_tokens_as_wildcards() -> None:
    assert parse_patterns(parse_query_results(PATTERN_PAYLOAD)) == (
        InsightsPattern("[ERROR] <*> Connection refused to <*>:5432 after <*> retries", 30, 0.75, "ERROR"),
        InsightsPattern("[WARNING] <*> slow response from upstream: <*> ms", 10, 0.25, "WARN"),
    )


class ScriptedLogs:
    """A stand-in for the boto3 logs client: get_query_results returns the scripted payloads in order."""

    def __init__(self, *payloads: dict[str, Any]) -> None:
        self.payloads = list(payloads)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def start_query(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("start_query", params))
        return {"queryId": "q-1"}

    def get_query_results(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("get_query_results", params))
        return self.payloads.pop(0)

    def stop_query(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("stop_query", params))
        return {"success": True}

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("filter_log_events", params))
        return {
            "events": [
                {
                    "message": "[ERROR]\tx\tConnection refused to db:5432 after 3 retries\n",
                    "timestamp": 1_795_000_100_000,
                }
            ]
        }


def test_polls_until_complete_with_the_injected_sleep() -> None:
    logs = ScriptedLogs({"status": "Scheduled"}, {"status": "Running"}, DURATION_PAYLOAD)
    sleeps: list[float] = []
    result = run_query(logs, [GROUP], WINDOW, "stats count(*)", sleep=sleeps.append, poll_interval_s=0.5)
    assert result.status == "Complete" and len(result.rows) == 2
    assert sleeps == [0.5, 0.5]
    name, params = logs.calls[0]
    assert (name, params) == (
        "start_query",
        {
            "logGroupNames": [GROUP],
            "startTime": 1_795_000_000,
            "endTime": 1_795_003_601,
            "queryString": "stats count(*)",
            "limit": 1000,
        },
    )


def test_polling_is_bounded_and_stops_the_query() -> None:
    logs = ScriptedLogs(*[{"status": "Running"}] * 3)
    with pytest.raises(SourceError, match="query q-1 still Running after 3 polls: narrow --since"):
        run_query(logs, [GROUP], WINDOW, "stats count(*)", sleep=lambda _: None, max_polls=3)
    assert logs.calls[-1] == ("stop_query", {"queryId": "q-1"})


def test_failed_query_is_one_line() -> None:
    logs = ScriptedLogs({"status": "Failed"})
    with pytest.raises(
        SourceError, match=r"^CloudWatch Logs Insights /aws/lambda/telegram-api: query q-1 ended Failed"
    ):
        run_query(logs, [GROUP], WINDOW, "stats count(*)", sleep=lambda _: None)


def test_insights_evidence_from_literal_payloads() -> None:
    whole = dict(DURATION_PAYLOAD, results=DURATION_ROWS[:1])
    logs = ScriptedLogs(whole, PATTERN_PAYLOAD)
    stats, groups, scanned = insights_evidence(logs, GROUP, WINDOW, sleep=lambda _: None, region=REGION)
    assert (stats.invocations, stats.duration_p99_ms, stats.cold_starts, stats.memory_headroom_pct) == (
        700,
        2900.0,
        3,
        15.8,
    )
    assert (stats.error_invocations, stats.error_rate_pct, stats.source.events) == (30, 4.29, 1440)
    assert scanned == 2 * 1048576.0
    error = groups[0]
    assert (error.count, error.level, error.first_seen, error.last_seen) == (30, "ERROR", "2026-11-18T11:08:20Z", "")
    assert error.sample.endswith("Connection refused to db:5432 after 3 retries")
    assert "--filter-pattern" in error.tail_command
    sample_call = next(params for name, params in logs.calls if name == "filter_log_events")
    assert sample_call["filterPattern"] == '"[ERROR]" "Connection refused to" "retries"' and sample_call["limit"] == 1


@pytest.fixture
def moto_logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        yield boto3.client("logs", region_name=REGION)


def test_round_trip_through_moto(moto_logs: Any) -> None:
    """moto accepts the real call shapes (epoch seconds, limit) and completes; its rows mean nothing."""
    start = recent_start_ms(time.time())
    seed_log_group(moto_logs, TELEGRAM_API.log_group, function_events(TELEGRAM_API, start)[:20])
    window = TimeWindow(start, start + 3_600_000)
    result = run_query(moto_logs, [TELEGRAM_API.log_group], window, "fields @message | limit 5", sleep=lambda _: None)
    assert result.status == "Complete"
    with pytest.raises(SourceError, match="log group not found"):
        run_query(moto_logs, ["/aws/lambda/nope"], window, "fields @message", sleep=lambda _: None)
