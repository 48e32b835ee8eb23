"""`runbook ingest cloudwatch --insights`: aggregates computed by Logs Insights are stored (not raw events) and
generation reads them back. moto runs the queries but ignores their semantics, so the figures are empty here;
the query strings and payload parsing are tested on literal payloads in test_cloudwatch_insights.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from runbook_synth import sources
from runbook_synth.state import StateStore
from tests.support.moto_cloudwatch import FUNCTIONS, REGION, recent_start_ms, seed_account


def test_insights_mode_stores_aggregates_and_generation_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    group = FUNCTIONS[0].log_group
    polls: list[float] = []
    with mock_aws():
        seed_account(boto3.client("logs"), boto3.client("cloudwatch"), recent_start_ms(time.time()))
        line = sources.ingest_cloudwatch(
            tmp_path, log_groups=[group], now=datetime.now(UTC), insights=True, sleep=polls.append
        )
    assert line.startswith("CloudWatch Insights: 1 log group(s) aggregated")
    with StateStore.open(tmp_path, readonly=True) as store:
        assert store.count_records(sources.INSIGHTS_SOURCE) == 1
        assert store.count_records("cloudwatch-logs") == 0, "the raw events are not pulled in Insights mode"
    evidence = sources.cloudwatch_evidence(tmp_path, "lambda", datetime.now(UTC).date())
    assert evidence is not None
    assert [stats.source.log_group for stats in evidence.invocations] == [group]
    assert any(alarm.rollback_trigger for alarm in evidence.alarms)
