"""CloudWatch source against moto: in-process (mock_aws) and over HTTP (ThreadedMotoServer, endpoint_url)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbook_synth.errors import ConfigError, SourceError
from runbook_synth.ingest.cloudwatch import (
    CloudWatchConfig,
    CloudWatchSource,
    TimeWindow,
    cloudwatch_evidence,
    ingest_alarms,
    ingest_cloudwatch,
    ingest_log_group,
    make_clients,
)
from runbook_synth.state import StateStore
from tests.support.moto_cloudwatch import (
    ORDER_WORKER,
    REGION,
    TELEGRAM_API,
    SeededAccount,
    fake_aws_env,
    function_events,
    recent_start_ms,
    running_moto_server,
    seed_account,
    seed_log_group,
)

GROUPS = [TELEGRAM_API.log_group, ORDER_WORKER.log_group]
HOUR = 3_600_000


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)


@pytest.fixture
def moto_server(aws_env: None) -> Iterator[str]:
    with running_moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path) as opened:
        yield opened


@pytest.fixture
def aws(aws_env: None) -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        yield boto3.client("logs", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def seeded(aws: tuple[Any, Any]) -> SeededAccount:
    logs, cloudwatch = aws
    return seed_account(logs, cloudwatch, recent_start_ms(time.time()))


def _window(account: SeededAccount) -> TimeWindow:
    return TimeWindow(account.start_ms - HOUR, account.start_ms + 3 * HOUR)


def test_ingest_stores_every_event_across_many_pages(
    store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount
) -> None:
    logs, cloudwatch = aws
    summary = ingest_cloudwatch(store, logs, cloudwatch, GROUPS, _window(seeded), region=REGION, page_limit=7)
    telegram = summary.groups[0]
    expected = seeded.event_count(TELEGRAM_API.log_group)
    assert (telegram.events_new, telegram.events_seen) == (expected, expected)
    assert telegram.pages == -(-expected // 7)  # every page of 7 followed to the end
    assert store.count_records(CloudWatchSource.LOGS, TELEGRAM_API.log_group) == expected
    assert summary.events_new == expected + seeded.event_count(ORDER_WORKER.log_group)
    stored = [json.loads(r.payload)["message"] for r in store.records(CloudWatchSource.LOGS, TELEGRAM_API.log_group)]
    seeded_lines = seeded.events[TELEGRAM_API.log_group]
    assert sorted(stored) == sorted(
        e["message"].rstrip("\n").replace("Hunter2Secret!x9", "{password}") for e in seeded_lines
    )


def test_stored_events_are_redacted(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    logs, _ = aws
    ingest_log_group(store, logs, TELEGRAM_API.log_group, _window(seeded))
    payloads = [r.payload for r in store.records(CloudWatchSource.LOGS, TELEGRAM_API.log_group)]
    assert not any("Hunter2Secret" in p for p in payloads)
    assert any("password={password}" in p for p in payloads)


def test_second_run_fetches_only_newer_events(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    logs, _ = aws
    first = ingest_log_group(store, logs, TELEGRAM_API.log_group, _window(seeded))
    later = seeded.start_ms + 3 * HOUR + 10 * 60_000  # after the first run's window
    extra = [{"timestamp": later + i, "message": f"ERROR late failure {i}\n"} for i in range(3)]
    stream = "2026/11/20/[$LATEST]late"
    logs.create_log_stream(logGroupName=TELEGRAM_API.log_group, logStreamName=stream)
    logs.put_log_events(logGroupName=TELEGRAM_API.log_group, logStreamName=stream, logEvents=extra)
    second = ingest_log_group(
        store, logs, TELEGRAM_API.log_group, TimeWindow(seeded.start_ms - HOUR, seeded.start_ms + 4 * HOUR)
    )
    assert second.events_new == 3
    assert second.events_seen == 3  # the old events lie before the cursor's overlap: not fetched again
    assert second.fetched_start == TimeWindow(seeded.start_ms + 3 * HOUR - 5 * 60_000, 0).start
    assert store.count_records(CloudWatchSource.LOGS, TELEGRAM_API.log_group) == first.events_new + 3


def test_overlap_does_not_duplicate(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    logs, _ = aws
    end = seeded.start_ms + 30 * 60_000  # mid-traffic, so the overlap re-reads events already stored
    ingest_log_group(store, logs, TELEGRAM_API.log_group, TimeWindow(seeded.start_ms - 60_000, end))
    before = store.count_records(CloudWatchSource.LOGS, TELEGRAM_API.log_group)
    again = ingest_log_group(store, logs, TELEGRAM_API.log_group, TimeWindow(seeded.start_ms - 60_000, end + 60_000))
    assert again.events_seen > again.events_new  # the overlap saw stored events ...
    assert store.count_records(CloudWatchSource.LOGS, TELEGRAM_API.log_group) == before + again.events_new  # ... once


def test_alarms_on_scoped_functions_only(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    _, cloudwatch = aws
    new, seen = ingest_alarms(store, cloudwatch, GROUPS, region=REGION)
    assert (new, seen) == (4, 4)  # billing-cron's alarm is not on a scoped function
    assert store.scopes(CloudWatchSource.ALARMS) == (ORDER_WORKER.log_group, TELEGRAM_API.log_group)
    assert ingest_alarms(store, cloudwatch, GROUPS, region=REGION) == (0, 4)


def test_deleted_alarm_stops_being_evidence(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    _, cloudwatch = aws
    ingest_alarms(store, cloudwatch, GROUPS, region=REGION)
    cloudwatch.delete_alarms(AlarmNames=["order-worker-throttles"])
    ingest_alarms(store, cloudwatch, GROUPS, region=REGION)
    evidence = cloudwatch_evidence(store, "lambda", _window(seeded))
    assert [a.name for a in evidence.alarms] == [
        "telegram-api-duration-p99-warning",
        "telegram-api-error-rate-critical",
        "telegram-api-no-traffic",
    ]


def test_evidence_figures_from_the_store(store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount) -> None:
    logs, cloudwatch = aws
    window = _window(seeded)
    ingest_cloudwatch(store, logs, cloudwatch, GROUPS, window, region=REGION)
    evidence = cloudwatch_evidence(store, "telegram", window, region=REGION)
    assert evidence.log_groups == (TELEGRAM_API.log_group,)
    (stats,) = evidence.invocations
    assert stats.source.log_group == TELEGRAM_API.log_group
    assert stats.source.events == seeded.event_count(TELEGRAM_API.log_group)
    assert (stats.source.window_start, stats.source.window_end) == (window.start, window.end)
    assert stats.invocations == TELEGRAM_API.invocations
    assert stats.cold_starts == TELEGRAM_API.cold_starts
    assert stats.timeouts == TELEGRAM_API.timeouts  # two old-form, one new-form
    assert stats.memory_size_mb == 512
    assert stats.max_memory_used_mb == max(256 + (i * 13) % 170 for i in range(60))
    assert stats.duration_p99_ms == 6000.0  # timeouts run to the limit
    assert stats.duration_median_ms is not None and 80 <= stats.duration_median_ms <= 200
    failing = {3, 8, 15, 22, 33, 47} | {12, 36} | {17, 41, 29} | {44}
    assert stats.error_invocations == len(failing)
    assert stats.error_rate_pct == round(100 * len(failing) / 60, 2)
    no_traffic = next(a for a in evidence.alarms if a.name == "telegram-api-no-traffic")
    assert (no_traffic.condition, no_traffic.rollback_trigger) == ("Invocations Sum < 1 for 15 minutes", False)
    assert evidence.rollback_triggers == (  # only alarms on errors/latency going up
        "Duration p99 >= 5000 ms in 3 of 5 periods of 1 minute",
        "Error rate > 5% for 5 minutes",
    )


def test_error_groups_are_mined_with_a_tail_command(
    store: StateStore, aws: tuple[Any, Any], seeded: SeededAccount
) -> None:
    logs, cloudwatch = aws
    window = _window(seeded)
    ingest_cloudwatch(store, logs, cloudwatch, GROUPS, window, region=REGION)
    evidence = cloudwatch_evidence(store, "telegram-api", window, region=REGION)
    by_template = {g.template: g for g in evidence.error_groups}
    refused = by_template["Connection refused to <*> after <*> retries"]
    assert refused.count == 6
    assert refused.level == "ERROR"
    assert refused.first_seen < refused.last_seen
    assert "Connection refused to db-0.internal:5432" in refused.sample
    assert refused.tail_command == (
        "aws logs tail /aws/lambda/telegram-api --since 4h --filter-pattern"
        ' \'"Connection refused to" "after" "retries"\' --region us-east-1'
    )
    assert by_template["Task timed out after <*>"].count == 2
    assert by_template["payment provider returned <*> for order <*>"].count == 2
    assert by_template["slow response from upstream: <*>"].level == "WARN"
    secret = next(g for g in evidence.error_groups if "login to db failed" in g.template)
    assert "Hunter2Secret" not in secret.sample
    assert evidence.error_groups[0] is refused  # errors first, most frequent first


def test_unknown_log_group_is_one_actionable_line(store: StateStore, aws: tuple[Any, Any]) -> None:
    logs, _ = aws
    with pytest.raises(SourceError) as caught:
        ingest_log_group(store, logs, "/aws/lambda/nope", TimeWindow(0, 1000))
    assert str(caught.value) == (
        "CloudWatch Logs /aws/lambda/nope: log group not found in this region: check the name and --region"
        " (`aws logs describe-log-groups --log-group-name-prefix /aws/lambda/`)"
    )


def test_no_credentials_is_one_actionable_line(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    logs, _ = make_clients(CloudWatchConfig(region=REGION, endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(
        SourceError, match=r"^CloudWatch Logs /aws/lambda/fn: no AWS credentials found: export AWS_PROFILE"
    ):
        ingest_log_group(store, logs, "/aws/lambda/fn", TimeWindow(0, 1000))


def test_missing_profile_and_region_are_config_errors(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"AWS profile 'nope' is not in ~/\.aws/config"):
        make_clients(CloudWatchConfig(profile="nope"))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(ConfigError, match="no AWS region: set `region`"):
        make_clients(CloudWatchConfig())


def test_no_log_groups_is_a_config_error(store: StateStore, aws: tuple[Any, Any]) -> None:
    logs, cloudwatch = aws
    with pytest.raises(ConfigError, match="no log groups to read: set log_groups"):
        ingest_cloudwatch(store, logs, cloudwatch, [], TimeWindow(0, 1000))


def test_make_clients_uses_standard_retries(aws_env: None) -> None:
    logs, cloudwatch = make_clients(CloudWatchConfig(region=REGION, max_attempts=4))
    for client in (logs, cloudwatch):
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
        assert client.meta.region_name == REGION


# --- over HTTP ---------------------------------------------------------------------------------------------


def test_same_ingestor_against_moto_server(moto_server: str, tmp_path: Path) -> None:
    config = CloudWatchConfig(log_groups=tuple(GROUPS), region=REGION, endpoint_url=moto_server, max_attempts=2)
    logs, cloudwatch = make_clients(config)
    account = seed_account(logs, cloudwatch, recent_start_ms(time.time()))
    window = _window(account)
    with StateStore.open(tmp_path) as store:
        summary = ingest_cloudwatch(store, logs, cloudwatch, config.log_groups, window, region=REGION, page_limit=25)
        assert summary.groups[0].pages == -(-account.event_count(TELEGRAM_API.log_group) // 25)
        assert summary.events_new == sum(account.event_count(g) for g in GROUPS)
        assert summary.alarms_new == 4
        evidence = cloudwatch_evidence(store, "lambda", window, region=REGION)
    assert [s.invocations for s in evidence.invocations] == [ORDER_WORKER.invocations, TELEGRAM_API.invocations]
    assert "Error rate > 5% for 5 minutes" in evidence.rollback_triggers


def test_seed_helpers_write_what_they_say(aws: tuple[Any, Any]) -> None:
    """The fake account is itself checked: its events come back from moto as generated."""
    logs, _ = aws
    start = recent_start_ms(time.time())
    events = function_events(ORDER_WORKER, start)
    seed_log_group(logs, ORDER_WORKER.log_group, events)
    got = logs.filter_log_events(logGroupName=ORDER_WORKER.log_group, startTime=start, endTime=start + 2 * HOUR)
    assert sorted(e["message"] for e in got["events"]) == sorted(e["message"] for e in events)
    reports = [e for e in events if e["message"].startswith("REPORT")]
    assert len(reports) == ORDER_WORKER.invocations
    assert sum("Init Duration" in e["message"] for e in reports) == ORDER_WORKER.cold_starts
    assert sum("Status: timeout" in e["message"] for e in reports) == len(ORDER_WORKER.new_timeouts)
