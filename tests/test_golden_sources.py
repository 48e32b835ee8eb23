"""Golden runbooks that merge other sources with the notes: GitHub Actions runs from the loopback stand-in,
ingested by the production client into a copy of sample_observations/."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from runbook_synth import GenerateRequest, generate, ingest_github
from tests.support.github_server import TOKEN, GitHubStandIn, load_scenario

GOLDEN = Path(__file__).parent / "golden" / "sources"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_ci_runs_merge_with_observation_files(sample_root: Path, tmp_path: Path, update_golden: bool) -> None:
    root = tmp_path / "repo"
    shutil.copytree(sample_root, root, ignore=shutil.ignore_patterns("runbooks", ".runbook-synth"))
    with GitHubStandIn([load_scenario()]) as github:
        line = ingest_github(
            root, repos=["acme/telegram-api"], since="60d", api_url=github.url, now=NOW, environ={"GH_TOKEN": TOKEN}
        )
    assert line.startswith("GitHub: ") and " new run(s) from 1 repository" in line
    text = generate(GenerateRequest(root, "deployment", "lambda", date(2026, 11, 23))).text
    assert "github:acme/telegram-api/actions/runs/" in text, "the CI runs are among the sources"
    path = GOLDEN / "deployment-lambda-with-ci.md"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_cloudwatch_section_from_a_seeded_account(
    sample_root: Path, tmp_path: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alarms come from a seeded moto account through `describe_alarms`; log events are the seeded account's
    events stored by the ingestor's own record builder at fixed times (moto refuses events older than 14
    days, so events fetched through it would move the golden with the calendar)."""
    import boto3
    from moto import mock_aws

    from runbook_synth.ingest import cloudwatch
    from runbook_synth.state import StateStore
    from tests.support.moto_cloudwatch import FUNCTIONS, REGION, function_events, seed_alarms

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "repo"
    shutil.copytree(sample_root, root, ignore=shutil.ignore_patterns("runbooks", ".runbook-synth"))
    start_ms = int(datetime(2026, 11, 21, 8, 0, tzinfo=UTC).timestamp() * 1000)
    groups = [spec.log_group for spec in FUNCTIONS]
    with mock_aws(), StateStore.open(root) as store:
        alarms = boto3.client("cloudwatch", region_name=REGION)
        boto3.client("lambda", region_name=REGION)
        seed_alarms(alarms)
        cloudwatch.ingest_alarms(store, alarms, groups, region=REGION)
        for spec in FUNCTIONS:
            events = [
                {**event, "logStreamName": "2026/11/21/[$LATEST]abc"} for event in function_events(spec, start_ms)
            ]
            store.put_records(
                cloudwatch._event_record(spec.log_group, event, cloudwatch.DEFAULT_RULES) for event in events
            )
    text = generate(GenerateRequest(root, "deployment", "lambda", date(2026, 11, 23))).text
    assert "### CloudWatch (" in text and "### Alert Thresholds" in text and "**Roll back when**" in text
    incident = generate(GenerateRequest(root, "incident-response", "API timeout", date(2026, 11, 23))).text
    detect = incident.split("### Detect", 1)[1].split("### Triage", 1)[0]
    assert "Alarm `telegram-api-error-rate-critical` fires when Error rate > 5% for 5 minutes" in detect
    assert "Log pattern seen" in detect and "aws logs tail /aws/lambda/telegram-api" in detect
    for name, rendered in (("deployment-lambda", text), ("incident-response-api-timeout", incident)):
        path = GOLDEN / f"{name}-with-cloudwatch.md"
        if update_golden:
            path.write_text(rendered, encoding="utf-8")
        assert rendered == path.read_text(encoding="utf-8")
