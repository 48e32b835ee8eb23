"""CloudWatch source, pure parts: Lambda lines, configuration, windows, scopes, fetch planning, alarm words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runbook_synth.errors import ConfigError
from runbook_synth.ingest.cloudwatch import (
    CloudWatchConfig,
    CloudWatchSource,
    TimeWindow,
    _alarm_summary,
    cloudwatch_evidence,
    filter_pattern_for,
    log_groups_for_scope,
    parse_cloudwatch_config,
    parse_window,
    percentile,
    plan_fetch,
    relative_span,
    resolve_window,
    tail_command,
)
from runbook_synth.ingest.lambda_logs import (
    AppLogLine,
    LogLevel,
    PlatformLine,
    PlatformReport,
    PlatformTimeout,
    parse_lambda_message,
)
from runbook_synth.state import SourceRecord, StateStore

RID = "3b5c1d2e-aaaa-4bbb-8ccc-1234567890ab"

# --- Lambda lines --------------------------------------------------------------------------------------


def test_old_tab_separated_report_with_init_duration() -> None:
    line = (
        f"REPORT RequestId: {RID}\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 70 MB\tInit Duration: 150.12 ms\t\n"
    )
    assert parse_lambda_message(line) == PlatformReport(RID, 102.25, 103.0, 128, 70, 150.12, False)


def test_new_report_form_says_status_timeout() -> None:
    line = (
        f"REPORT RequestId: {RID} Duration: 3000.00 ms Billed Duration: 3000 ms Memory Size: 128 MB "
        "Max Memory Used: 60 MB Status: timeout"
    )
    assert parse_lambda_message(line) == PlatformReport(RID, 3000.0, 3000.0, 128, 60, None, True)


def test_truncated_report_is_no_evidence() -> None:
    assert parse_lambda_message(f"REPORT RequestId: {RID}\tDuration: 102.25 ms") is None


def test_json_platform_report() -> None:
    line = (
        '{"time":"2026-11-20T10:00:00.000Z","type":"platform.report","record":{"requestId":"'
        + RID
        + '","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":256,"maxMemoryUsedMB":80,'
        '"initDurationMs":300.1},"status":"timeout"}}'
    )
    assert parse_lambda_message(line) == PlatformReport(RID, 12.5, 13.0, 256, 80, 300.1, True)


def test_start_end_and_old_timeout_line() -> None:
    assert parse_lambda_message(f"START RequestId: {RID} Version: $LATEST\n") == PlatformLine("START", RID)
    assert parse_lambda_message(f"END RequestId: {RID}\n") == PlatformLine("END", RID)
    timeout = f"2026-11-20T10:00:03.123Z {RID} Task timed out after 3.00 seconds"
    assert parse_lambda_message(timeout) == PlatformTimeout(RID, 3.0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"[ERROR]\t2026-11-20T10:00:00.123Z\t{RID}\tConnection refused to db:5432\nTraceback (most recent call last):",
            AppLogLine(LogLevel.ERROR, "Connection refused to db:5432", RID),
        ),
        (
            f"[WARNING]\t2026-11-20T10:00:00.123Z\t{RID}\tslow call 1200 ms",
            AppLogLine(LogLevel.WARN, "slow call 1200 ms", RID),
        ),
        (
            f"2026-11-20T10:00:00.123Z\t{RID}\tERROR\tInvoke Error",
            AppLogLine(LogLevel.ERROR, "Invoke Error", RID),
        ),
        (
            '{"level":"ERROR","message":"payment failed","requestId":"abc-12345"}',
            AppLogLine(LogLevel.ERROR, "payment failed", "abc-12345"),
        ),
        ('{"levelname":"WARNING","msg":"retrying"}', AppLogLine(LogLevel.WARN, "retrying", "")),
        (
            '{"errorType":"KeyError","errorMessage":"\'user_id\'","stackTrace":[]}',
            AppLogLine(LogLevel.ERROR, "KeyError: 'user_id'", ""),
        ),
        ("ERROR: cannot reach upstream", AppLogLine(LogLevel.ERROR, "cannot reach upstream", "")),
        ("[ERROR] Runtime.ImportModuleError: x", AppLogLine(LogLevel.ERROR, "Runtime.ImportModuleError: x", "")),
        ('level=error msg="db down" attempt=3', AppLogLine(LogLevel.ERROR, "db down", "")),
    ],
)
def test_application_lines_plain_and_json(line: str, expected: AppLogLine) -> None:
    assert parse_lambda_message(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "INFO all good",
        f"[INFO]\t2026-11-20T10:00:00.123Z\t{RID}\tok",
        '{"level":"INFO","message":"x"}',
        "{not json",
        "",
    ],
)
def test_lines_that_are_no_evidence(line: str) -> None:
    assert parse_lambda_message(line) is None


# --- configuration and windows --------------------------------------------------------------------------


def test_config_table_is_parsed() -> None:
    config = parse_cloudwatch_config(
        {
            "log-groups": ["/aws/lambda/a", "/aws/lambda/a", "/aws/lambda/b"],
            "region": "eu-west-1",
            "profile": "ops",
            "lookback": "3d",
            "endpoint_url": "http://127.0.0.1:5000",
            "max_attempts": 3,
        },
        "pyproject.toml",
    )
    assert config == CloudWatchConfig(
        ("/aws/lambda/a", "/aws/lambda/b"), "eu-west-1", "ops", "3d", "http://127.0.0.1:5000", 3
    )


def test_unknown_key_gets_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml: unknown key 'log_group' .* did you mean 'log_groups'\?"):
        parse_cloudwatch_config({"log_group": ["/aws/lambda/a"]}, "pyproject.toml")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"log_groups": [1]}, "log_groups .* must be a list"),
        ({"lookback": "7x"}, "lookback .* not a duration"),
        ({"endpoint_url": "localhost:5000"}, "must start with http"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"region": ""}, "region .* non-empty"),
    ],
)
def test_bad_values_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_cloudwatch_config(table, "runbook-synth.toml")


def test_parse_window_units() -> None:
    assert parse_window("7d") == timedelta(days=7)
    assert parse_window("1d12h") == timedelta(hours=36)
    assert parse_window("90s") == timedelta(seconds=90)
    assert parse_window("2w") == timedelta(days=14)
    for bad in ("", "7", "d", "7 days", "0h"):
        with pytest.raises(ConfigError):
            parse_window(bad)


def test_resolve_window_relative_and_absolute() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    window = resolve_window(None, None, now=now, lookback="7d")
    assert (window.start, window.end) == ("2026-11-16T12:00:00Z", "2026-11-23T12:00:00Z")
    window = resolve_window("2026-11-20", "1h", now=now)
    assert (window.start, window.end) == ("2026-11-20T00:00:00Z", "2026-11-23T11:00:00Z")
    with pytest.raises(ConfigError, match="--since 2026-11-24T00:00:00Z is not before --until 2026-11-23T12:00:00Z"):
        resolve_window("2026-11-24", None, now=now)
    with pytest.raises(ConfigError, match="--until 'yesterday'"):
        resolve_window(None, "yesterday", now=now)


def test_relative_span_picks_largest_whole_unit() -> None:
    assert relative_span(TimeWindow(0, 7 * 86_400_000)) == "7d"
    assert relative_span(TimeWindow(0, 36 * 3_600_000)) == "36h"
    assert relative_span(TimeWindow(0, 90_000)) == "90s"


# --- scope → groups --------------------------------------------------------------------------------------

GROUPS = ("/aws/lambda/telegram-api", "/aws/lambda/order-worker", "/aws/lambda/OrderAudit", "/ecs/web")


def test_lambda_scope_selects_every_lambda_group() -> None:
    assert log_groups_for_scope("lambda", GROUPS) == (
        "/aws/lambda/OrderAudit",
        "/aws/lambda/order-worker",
        "/aws/lambda/telegram-api",
    )


def test_function_name_and_word_select_its_group() -> None:
    assert log_groups_for_scope("telegram-api", GROUPS) == ("/aws/lambda/telegram-api",)
    assert log_groups_for_scope("/ecs/web", GROUPS) == ("/ecs/web",)
    assert log_groups_for_scope("telegram", GROUPS) == ("/aws/lambda/telegram-api",)
    assert log_groups_for_scope("order", GROUPS) == ("/aws/lambda/OrderAudit", "/aws/lambda/order-worker")
    assert log_groups_for_scope("order worker lambda", GROUPS) == ("/aws/lambda/order-worker",)
    assert log_groups_for_scope("api timeout", GROUPS) == ("/aws/lambda/telegram-api",)
    assert log_groups_for_scope("database", GROUPS) == ()


# --- incremental fetch planning ---------------------------------------------------------------------------

MIN = 60_000


def test_first_fetch_takes_the_whole_window() -> None:
    window = TimeWindow(0, 100 * MIN)
    assert plan_fetch(window, None) == (window, window)


def test_next_fetch_starts_at_the_cursor_less_an_overlap() -> None:
    fetch, covered = plan_fetch(TimeWindow(10 * MIN, 200 * MIN), TimeWindow(0, 100 * MIN))
    assert fetch == TimeWindow(95 * MIN, 200 * MIN)
    assert covered == TimeWindow(0, 200 * MIN)


def test_covered_window_fetches_nothing() -> None:
    assert plan_fetch(TimeWindow(10 * MIN, 100 * MIN), TimeWindow(0, 100 * MIN)) == (None, TimeWindow(0, 100 * MIN))


def test_window_before_the_covered_range_is_fetched_whole() -> None:
    fetch, covered = plan_fetch(TimeWindow(0, 150 * MIN), TimeWindow(50 * MIN, 100 * MIN))
    assert fetch == TimeWindow(0, 150 * MIN)
    assert covered == TimeWindow(0, 150 * MIN)
    fetch, covered = plan_fetch(TimeWindow(200 * MIN, 300 * MIN), TimeWindow(0, 100 * MIN))
    assert fetch == covered == TimeWindow(200 * MIN, 300 * MIN)


# --- figures, alarms, commands -----------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.99)) == (50.0, 90.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def _payload(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "fn-errors",
        "description": "",
        "namespace": "AWS/Lambda",
        "metric": "Errors",
        "statistic": "Sum",
        "threshold": 5.0,
        "comparison": "GreaterThanThreshold",
        "evaluation_periods": 5,
        "datapoints_to_alarm": 5,
        "period": 60,
        "actions": ["arn:aws:sns:us-east-1:123456789012:page"],
        "state": "OK",
        "metrics": [],
        "log_group": "/aws/lambda/fn",
    }
    return base | overrides


def test_alarm_condition_in_the_runbook_form() -> None:
    rate = _payload(
        name="fn-error-rate-critical",
        metric="",
        statistic="",
        namespace="",
        period=0,
        metrics=[
            {"id": "e", "expression": "", "metric": "Errors", "stat": "Sum", "period": 60, "return_data": False},
            {"id": "i", "expression": "", "metric": "Invocations", "stat": "Sum", "period": 60, "return_data": False},
            {"id": "r", "expression": "100 * e / i", "label": "", "metric": "", "period": 0, "return_data": True},
        ],
    )
    summary = _alarm_summary(rate)
    assert (summary.condition, summary.severity, summary.rollback_trigger) == (
        "Error rate > 5% for 5 minutes",
        "critical",
        True,
    )
    p99 = _alarm_summary(
        _payload(
            name="fn-latency-warn",
            metric="Duration",
            statistic="p99",
            threshold=2500.0,
            datapoints_to_alarm=3,
            comparison="GreaterThanOrEqualToThreshold",
        )
    )
    assert (p99.condition, p99.severity) == ("Duration p99 >= 2500 ms in 3 of 5 periods of 1 minute", "warning")


def test_alarms_that_do_not_support_a_rollback_trigger() -> None:
    low_traffic = _alarm_summary(_payload(metric="Invocations", comparison="LessThanThreshold", threshold=1.0))
    assert low_traffic.condition == "Invocations Sum < 1 for 5 minutes"
    assert not low_traffic.rollback_trigger
    concurrency = _alarm_summary(_payload(metric="ConcurrentExecutions", statistic="Maximum"))
    assert not concurrency.rollback_trigger


def test_filter_pattern_quotes_constant_phrases() -> None:
    assert filter_pattern_for("Connection refused to <*> after <*> retries") == (
        '"Connection refused to" "after" "retries"'
    )
    report = (
        "REPORT RequestId: <*> Duration: <*> Billed Duration: <*> Memory Size: <*> Max Memory Used: <*> Status: timeout"
    )
    assert filter_pattern_for(report) == '"REPORT RequestId:" "Billed Duration:" "Status: timeout"'
    assert filter_pattern_for('user "<*>" not found') == '"user" "not found"'
    assert filter_pattern_for("<*>") == ""


def test_tail_command_is_shell_quoted() -> None:
    assert tail_command("/aws/lambda/fn", "7d", '"Task timed out after"', "us-east-1") == (
        "aws logs tail /aws/lambda/fn --since 7d --filter-pattern '\"Task timed out after\"' --region us-east-1"
    )


# --- evidence on literal stored events -----------------------------------------------------------------------


def _stored(group: str, n: int, message: str) -> SourceRecord:
    payload = {"log_group": group, "log_stream": "s", "event_id": str(n), "message": message}
    return SourceRecord(CloudWatchSource.LOGS, f"{group}|{n}", group, 1_795_000_000_000 + n * 1000, json.dumps(payload))


def test_evidence_counts_each_form_of_timeout_once(tmp_path: Path) -> None:
    group = "/aws/lambda/fn"
    a, b, c = (f"{n}b5c1d2e-aaaa-4bbb-8ccc-1234567890ab" for n in (1, 2, 3))
    report = (
        "REPORT RequestId: {}\tDuration: {} ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: {} MB\t"
    )
    messages = [
        report.format(a, "10.0", 60),
        f"2026-11-20T10:00:03.123Z {b} Task timed out after 3.00 seconds",  # old form, with its request id
        report.format(b, "3000.0", 70),
        f"REPORT RequestId: {c} Duration: 3000.00 ms Billed Duration: 3000 ms Memory Size: 128 MB"
        " Max Memory Used: 100 MB Status: timeout",  # new form
        "Task timed out after 3.00 seconds",  # an old-form line whose request id was lost
        "[ERROR]\tno request id here",
    ]
    window = TimeWindow(1_795_000_000_000, 1_795_000_100_000)
    with StateStore.open(tmp_path) as store:
        store.put_records(_stored(group, n, m) for n, m in enumerate(messages))
        evidence = cloudwatch_evidence(store, "fn", window)
    (stats,) = evidence.invocations
    assert (stats.invocations, stats.timeouts, stats.error_invocations) == (3, 3, 4)
    assert (stats.source.events, stats.memory_size_mb, stats.max_memory_used_mb, stats.memory_headroom_pct) == (
        6,
        128,
        100,
        21.9,
    )
    assert stats.cold_starts == 0 and stats.init_median_ms is None
    assert evidence.alarms == () and evidence.rollback_triggers == ()  # no alarm: no trigger is invented
