"""A seeded CloudWatch account for tests and `make demo`: Lambda log groups that write what real ones write
(START/END/REPORT in both forms, Init Duration, timeouts old and new, ERROR/WARN plain and JSON) and alarms.

Everything is deterministic given a start time. moto accepts only events from the last 14 days (by the real
clock), so callers pass a start near the real now; counts and texts never depend on it.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall-page"


@dataclass(frozen=True)
class FunctionSpec:
    """One function's traffic: which invocations are cold, time out (old or new form), or log problems."""

    name: str
    memory_mb: int
    invocations: int
    interval_ms: int = 60_000
    cold_every: int = 10  # invocation 0, 10, 20, ... are cold starts
    old_timeouts: tuple[int, ...] = ()  # "Task timed out after N seconds" + tab-separated REPORT
    new_timeouts: tuple[int, ...] = ()  # REPORT ... Status: timeout
    timeout_s: int = 6
    runtime: str = "python"  # "python" writes [ERROR]\t...; "node" writes <time>\t<id>\tERROR\t...
    db_errors: tuple[int, ...] = ()  # plain runtime-format ERROR lines, same statement, varying values
    json_errors: tuple[int, ...] = ()  # {"level": "ERROR", ...}
    warnings: tuple[int, ...] = ()  # WARN lines
    leaked_secret_at: int | None = None  # one ERROR line carrying a password, to show it is redacted

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def cold_starts(self) -> int:
        return len(range(0, self.invocations, self.cold_every))

    @property
    def timeouts(self) -> int:
        return len(self.old_timeouts) + len(self.new_timeouts)


def request_id(function: str, index: int) -> str:
    tag = sum(ord(c) for c in function) % 0xFFFF
    return f"{index:08x}-{tag:04x}-4000-8000-{index * 7919:012x}"


def duration_ms(index: int) -> float:
    """Mostly 80-200 ms, with every 25th invocation slow, so p99 and the median differ visibly."""
    return 1850.5 if index % 25 == 24 else 80.0 + (index * 37) % 120 + 0.25


def iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _app_line(spec: FunctionSpec, level: str, ts: int, rid: str, message: str) -> str:
    if spec.runtime == "node":
        return f"{iso(ts)}\t{rid}\t{level}\t{message}"
    return f"[{'WARNING' if level == 'WARN' else level}]\t{iso(ts)}\t{rid}\t{message}"


def function_events(spec: FunctionSpec, start_ms: int) -> list[dict[str, Any]]:
    """The function's log events in time order, as put_log_events takes them."""
    events: list[dict[str, Any]] = []
    for i in range(spec.invocations):
        t = start_ms + i * spec.interval_ms
        rid = request_id(spec.name, i)
        lines = [f"START RequestId: {rid} Version: $LATEST"]
        if i in spec.db_errors:
            host = f"db-{i % 3}.internal"
            lines.append(
                _app_line(spec, "ERROR", t + 5, rid, f"Connection refused to {host}:5432 after {i % 4 + 2} retries")
            )
        if i in spec.json_errors:
            body = {
                "level": "ERROR",
                "message": f"payment provider returned 502 for order ord-{1000 + i}",
                "requestId": rid,
            }
            lines.append(json.dumps(body))
        if i in spec.warnings:
            lines.append(_app_line(spec, "WARN", t + 6, rid, f"slow response from upstream: {900 + i} ms"))
        if spec.leaked_secret_at == i:
            lines.append(_app_line(spec, "ERROR", t + 7, rid, "login to db failed: password=Hunter2Secret!x9"))
        used = spec.memory_mb // 2 + (i * 13) % (spec.memory_mb // 3)
        init = f"\tInit Duration: {250.0 + i:.2f} ms" if i % spec.cold_every == 0 else ""
        if i in spec.old_timeouts:
            full = spec.timeout_s * 1000
            lines.append(f"{iso(t + full)} {rid} Task timed out after {spec.timeout_s}.00 seconds")
            lines.append(f"END RequestId: {rid}")
            lines.append(
                f"REPORT RequestId: {rid}\tDuration: {full:.2f} ms\tBilled Duration: {full} ms\t"
                f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: {used} MB{init}\t"
            )
        elif i in spec.new_timeouts:
            full = spec.timeout_s * 1000
            lines.append(f"END RequestId: {rid}")
            lines.append(
                f"REPORT RequestId: {rid} Duration: {full:.2f} ms Billed Duration: {full} ms Memory Size: {spec.memory_mb} MB"
                f" Max Memory Used: {used} MB{init.replace(chr(9), ' ')} Status: timeout"
            )
        else:
            d = duration_ms(i)
            lines.append(f"END RequestId: {rid}")
            lines.append(
                f"REPORT RequestId: {rid}\tDuration: {d:.2f} ms\tBilled Duration: {int(d) + 1} ms\t"
                f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: {used} MB{init}\t"
            )
        events += [{"timestamp": t + k, "message": line + "\n"} for k, line in enumerate(lines)]
    return events


# The account `make demo` and the integration tests see.
TELEGRAM_API = FunctionSpec(
    name="telegram-api",
    memory_mb=512,
    invocations=60,
    old_timeouts=(17, 41),
    new_timeouts=(29,),
    db_errors=(3, 8, 15, 22, 33, 47),
    json_errors=(12, 36),
    warnings=(5, 26, 52),
    leaked_secret_at=44,
)
ORDER_WORKER = FunctionSpec(
    name="order-worker",
    memory_mb=256,
    invocations=30,
    interval_ms=120_000,
    cold_every=15,
    runtime="node",
    new_timeouts=(20,),
    db_errors=(4, 9),
    warnings=(11,),
)
FUNCTIONS = (TELEGRAM_API, ORDER_WORKER)


@dataclass(frozen=True)
class SeededAccount:
    """What was written, for assertions: each spec and its events."""

    start_ms: int
    functions: tuple[FunctionSpec, ...]
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def event_count(self, log_group: str) -> int:
        return len(self.events[log_group])


def seed_log_group(logs: Any, log_group: str, events: Sequence[dict[str, Any]], *, streams: int = 2) -> None:
    """Create the group and spread the events over ``streams`` streams (as concurrent containers do)."""
    logs.create_log_group(logGroupName=log_group)
    for s in range(streams):
        stream = f"2026/11/20/[$LATEST]{s:032x}"
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        mine = [e for n, e in enumerate(events) if (n // 8) % streams == s]
        for begin in range(0, len(mine), 500):
            response = logs.put_log_events(
                logGroupName=log_group, logStreamName=stream, logEvents=mine[begin : begin + 500]
            )
            assert not response.get("rejectedLogEventsInfo"), response  # a start too far from the real now


def seed_alarms(cloudwatch: Any) -> None:
    """Alarms on the seeded functions (metric math error rate, p99 duration, no traffic, throttles) and one
    on a function that is not seeded (billing-cron), which must not count."""
    cloudwatch.put_metric_alarm(
        AlarmName="telegram-api-error-rate-critical",
        AlarmDescription="Page: error rate above 5%",
        ActionsEnabled=True,
        AlarmActions=[TOPIC],
        EvaluationPeriods=5,
        DatapointsToAlarm=5,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": "telegram-api"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": "telegram-api"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "rate", "Expression": "100 * errors / invocations", "Label": "Error rate", "ReturnData": True},
        ],
    )
    cloudwatch.put_metric_alarm(
        AlarmName="telegram-api-duration-p99-warning",
        AlarmActions=[TOPIC],
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": "telegram-api"}],
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        Threshold=5000.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.put_metric_alarm(
        AlarmName="telegram-api-no-traffic",
        AlarmDescription="Nobody is calling the API: check the webhook, not the code",
        AlarmActions=[TOPIC],
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": "telegram-api"}],
        Statistic="Sum",
        Period=900,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
    )
    cloudwatch.put_metric_alarm(
        AlarmName="order-worker-throttles",
        AlarmActions=[TOPIC],
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": "order-worker"}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.put_metric_alarm(
        AlarmName="billing-cron-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "billing-cron"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def seed_account(
    logs: Any, cloudwatch: Any, start_ms: int, functions: Sequence[FunctionSpec] = FUNCTIONS
) -> SeededAccount:
    """Every function's group and events, and the alarms."""
    events = {spec.log_group: function_events(spec, start_ms) for spec in functions}
    for spec in functions:
        seed_log_group(logs, spec.log_group, events[spec.log_group])
    seed_alarms(cloudwatch)
    return SeededAccount(start_ms, tuple(functions), events)


def recent_start_ms(now_s: float, hours_ago: int = 6) -> int:
    """A start on a whole minute ``hours_ago`` before the real now (moto rejects events older than 14 days)."""
    return (int(now_s) // 60 - hours_ago * 60) * 60_000


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Fake credentials and no config files, so nothing can reach (or be signed for) a real account."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@contextlib.contextmanager
def running_moto_server() -> Iterator[str]:
    """moto's server on a free loopback port; yields its endpoint URL, and resets moto's state afterwards."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        # The server shares moto's in-process backends: reset them so the next test starts empty.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=5).close()
        server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For a test module to import: fake credentials (see fake_aws_env)."""
    fake_aws_env(monkeypatch, tmp_path)


@pytest.fixture
def moto_server(aws_credentials: None) -> Iterator[str]:
    """For a test module to import: a running moto server's endpoint URL."""
    with running_moto_server() as endpoint:
        yield endpoint
