"""What moto cannot show: throttling and its retries, empty pages that carry a nextToken, AWS error codes.

A loopback server speaking JSON 1.1 answers with scripted responses; the real botocore client, its
retry handler and its paginator run unchanged against it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from runbook_synth.errors import SourceError
from runbook_synth.ingest.cloudwatch import (
    CloudWatchConfig,
    CloudWatchSource,
    TimeWindow,
    ingest_alarms,
    ingest_log_group,
    make_clients,
)
from runbook_synth.state import StateStore
from tests.support.moto_cloudwatch import REGION, fake_aws_env
from tests.support.throttle_server import THROTTLED, ScriptedServer, running_scripted_server

GROUP = "/aws/lambda/telegram-api"
WINDOW = TimeWindow(1_795_000_000_000, 1_795_003_600_000)


def _event(n: int) -> dict[str, Any]:
    return {
        "logStreamName": "2026/11/20/[$LATEST]abc",
        "timestamp": WINDOW.start_ms + n * 1000,
        "message": f"ERROR failure number {n}\n",
        "ingestionTime": WINDOW.start_ms + n * 1000 + 50,
        "eventId": f"3{n:055d}",
    }


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    with running_scripted_server() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path) as opened:
        yield opened


def _logs(server: ScriptedServer, attempts: int) -> Any:
    logs, _ = make_clients(CloudWatchConfig(region=REGION, endpoint_url=server.url, max_attempts=attempts))
    return logs


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore backs off up to 1 s, then 2 s, after a throttle; scale its (not our) base down to 50 ms."""
    from botocore.retries import standard

    scale = dict(standard.ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, throttling_base_scale=0.05)
    monkeypatch.setattr(standard.ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", scale)


def test_throttling_slows_down_then_succeeds(
    aws_env: None, scripted_server: ScriptedServer, store: StateStore, fast_backoff: None
) -> None:
    scripted_server.script(THROTTLED, THROTTLED, (200, {"events": [_event(1), _event(2)], "searchedLogStreams": []}))
    began = time.monotonic()
    result = ingest_log_group(store, _logs(scripted_server, attempts=3), GROUP, WINDOW)
    assert time.monotonic() - began < 5
    assert [r.target for r in scripted_server.requests] == ["Logs_20140328.FilterLogEvents"] * 3
    assert (result.events_new, result.pages, result.retries) == (2, 1, 2)
    assert store.count_records(CloudWatchSource.LOGS, GROUP) == 2


def test_throttling_after_every_attempt_is_one_line(
    aws_env: None, scripted_server: ScriptedServer, store: StateStore, fast_backoff: None
) -> None:
    scripted_server.script(THROTTLED, THROTTLED, (200, {"events": [_event(1)]}))
    with pytest.raises(SourceError) as caught:
        ingest_log_group(store, _logs(scripted_server, attempts=2), GROUP, WINDOW)
    assert str(caught.value) == (
        f"CloudWatch Logs {GROUP}: FilterLogEvents still throttled after 2 attempts: run again later,"
        " narrow --since, or raise max_attempts in [tool.runbook-synth.cloudwatch]"
    )
    assert len(scripted_server.requests) == 2
    assert store.cursor(CloudWatchSource.LOGS, GROUP) is None  # nothing skipped next time


def test_empty_pages_with_a_token_are_followed(
    aws_env: None, scripted_server: ScriptedServer, store: StateStore
) -> None:
    scripted_server.script(
        (200, {"events": [], "nextToken": "t1"}),
        (200, {"events": [_event(1), _event(2)], "nextToken": "t2"}),
        (200, {"events": [], "nextToken": "t3"}),
        (200, {"events": [_event(3)]}),
    )
    result = ingest_log_group(store, _logs(scripted_server, attempts=1), GROUP, WINDOW, page_limit=2)
    assert (result.pages, result.events_seen, result.events_new) == (4, 3, 3)
    bodies = [r.body for r in scripted_server.requests]
    assert [b.get("nextToken") for b in bodies] == [None, "t1", "t2", "t3"]
    assert all(
        (b["logGroupName"], b["startTime"], b["endTime"], b["limit"]) == (GROUP, WINDOW.start_ms, WINDOW.end_ms, 2)
        for b in bodies
    )
    cursor = json.loads(store.cursor(CloudWatchSource.LOGS, GROUP) or "{}")
    assert cursor == {"start_ms": WINDOW.start_ms, "end_ms": WINDOW.end_ms}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "__type": "AccessDeniedException",
                "message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: logs:FilterLogEvents",
            },
            "access denied: the credentials need logs:FilterLogEvents (User: arn:aws:iam::123456789012:user/ci is not"
            " authorized to perform: logs:FilterLogEvents)",
        ),
        (
            {"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"},
            "the AWS session token has expired: refresh it (`aws sso login`, or new keys)",
        ),
        (
            {
                "__type": "UnrecognizedClientException",
                "message": "The security token included in the request is invalid.",
            },
            "AWS rejected the credentials (UnrecognizedClientException): check AWS_PROFILE/--profile and the keys",
        ),
    ],
)
def test_aws_errors_are_one_actionable_line(
    aws_env: None, scripted_server: ScriptedServer, store: StateStore, error: dict[str, str], expected: str
) -> None:
    scripted_server.script((400, error))
    with pytest.raises(SourceError) as caught:
        ingest_log_group(store, _logs(scripted_server, attempts=1), GROUP, WINDOW)
    assert str(caught.value) == f"CloudWatch Logs {GROUP}: {expected}"
    assert "\n" not in str(caught.value)


def _alarm(name: str, function: str) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}",
        "AlarmDescription": "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789 in the runbook by mistake",
        "AlarmConfigurationUpdatedTimestamp": datetime(2026, 11, 1, tzinfo=UTC),
        "AlarmActions": [],
        "StateValue": "OK",
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "FunctionName", "Value": function}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }


def test_describe_alarms_is_paginated_and_filtered_by_dimension(aws_env: None, store: StateStore) -> None:
    _, cloudwatch = make_clients(CloudWatchConfig(region=REGION))
    pages = [
        ({"MetricAlarms": [_alarm("a-errors", "telegram-api"), _alarm("b-errors", "other")], "NextToken": "p2"}, None),
        ({"MetricAlarms": [], "NextToken": "p3"}, "p2"),
        ({"MetricAlarms": [_alarm("c-errors", "telegram-api")]}, "p3"),
    ]
    with Stubber(cloudwatch) as stub:
        for response, token in pages:
            expected = {"AlarmTypes": ["MetricAlarm"]} | ({"NextToken": token} if token else {})
            stub.add_response("describe_alarms", response, expected)
        assert ingest_alarms(store, cloudwatch, [GROUP], region=REGION) == (2, 2)
        stub.assert_no_pending_responses()
    payloads = [json.loads(r.payload) for r in store.records(CloudWatchSource.ALARMS, GROUP)]
    assert sorted(p["name"] for p in payloads) == ["a-errors", "c-errors"]
    assert all("ghp_" not in p["description"] for p in payloads)  # descriptions are redacted too
