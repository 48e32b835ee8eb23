"""Sources beyond the files: fetch into the local state store (`runbook ingest …`), and read what is
stored back as observations for generation. The network is touched only by the ingest calls."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from runbook_synth.errors import ParameterError
from runbook_synth.ingest.files import check_root
from runbook_synth.models import CloudWatchEvidence, ErrorGroup, EvidenceSource, InvocationStats, Observation
from runbook_synth.output import run_lock
from runbook_synth.settings import source_table
from runbook_synth.state import SourceRecord, StateStore, store_exists

log = logging.getLogger(__name__)


def ingest_github(
    root: Path,
    *,
    repos: Sequence[str] = (),
    workflows: Sequence[str] = (),
    since: str = "",
    api_url: str = "",
    now: datetime,
    environ: Mapping[str, str] | None = None,
    rebuild_state: bool = False,
) -> str:
    """Fetch GitHub Actions runs into the store, incrementally; returns the one-line summary."""
    import httpx

    from runbook_synth.ingest import github

    root = check_root(root)
    environ = os.environ if environ is None else environ
    table, where = source_table(root, "github")
    config = github.parse_github_config(table, where)
    if repos:
        config = replace(config, repos=tuple(github.validate_repo(repo, "--repo") for repo in repos))
    if workflows:
        config = replace(config, workflows=tuple(github.validate_workflow(item, "--workflow") for item in workflows))
    if since:
        config = replace(config, lookback=github.parse_lookback(since, "--since"))
    if api_url:
        config = replace(config, api_url=api_url)
    with run_lock(root), StateStore.open(root, rebuild=rebuild_state) as store, httpx.Client(timeout=30.0) as http:
        client = github.GitHubClient(
            http,
            base_url=github.resolve_api_url(config, environ),
            token=github.resolve_token(environ),
            sleep=time.sleep,
            clock=time.time,
            etags=store,
        )
        summary = github.ingest_github(client, store, config, now=now)
    return github.describe(summary)


def stored_observations(root: Path) -> tuple[Observation, ...]:
    """What earlier `runbook ingest` runs stored, as observations (nothing when there is no store)."""
    if not store_exists(root):
        return ()
    from runbook_synth.ingest import github

    with StateStore.open(root, readonly=True) as store:
        return github.observations_from_store(store)


def ingest_cloudwatch(
    root: Path,
    *,
    log_groups: Sequence[str] = (),
    since: str = "",
    until: str = "",
    region: str = "",
    profile: str = "",
    endpoint_url: str = "",
    now: datetime,
    rebuild_state: bool = False,
    insights: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Fetch CloudWatch log events and alarms into the store, incrementally; returns the one-line summary.

    With `insights`, durations and error patterns are computed by CloudWatch Logs Insights over the window
    (one sample line per pattern) and only those aggregates are stored, not the raw events."""
    from runbook_synth.ingest import cloudwatch

    root = check_root(root)
    table, where = source_table(root, "cloudwatch")
    config = cloudwatch.parse_cloudwatch_config(table, where)
    config = replace(
        config,
        region=region or config.region,
        profile=profile or config.profile,
        endpoint_url=endpoint_url or config.endpoint_url,
    )
    if log_groups:
        config = replace(config, log_groups=tuple(dict.fromkeys([*config.log_groups, *log_groups])))
    window = cloudwatch.resolve_window(since or None, until or None, now=now, lookback=config.lookback)
    logs, alarms = cloudwatch.make_clients(config)
    with run_lock(root), StateStore.open(root, rebuild=rebuild_state) as store:
        groups = config.log_groups or cloudwatch.known_log_groups(store, config)
        if not groups:
            raise ParameterError("log_groups", "(none)", "name a log group with --log-group or in log_groups")
        region_name = str(logs.meta.region_name or "")
        if insights:
            return _ingest_insights(store, logs, alarms, groups, window, region_name, sleep)
        summary = cloudwatch.ingest_cloudwatch(store, logs, alarms, groups, window, region=region_name)
    return (
        f"CloudWatch: {summary.events_new} new event(s) ({summary.events_seen} seen) from {len(summary.groups)} "
        f"log group(s), {summary.alarms_new} new alarm(s), window {window.start} to {window.end}"
    )


INSIGHTS_SOURCE = "cloudwatch-insights"
"""Store records of Insights aggregates: one per log group and window."""


def _ingest_insights(
    store: StateStore,
    logs: Any,
    alarms: Any,
    groups: Sequence[str],
    window: Any,
    region: str,
    sleep: Callable[[float], None],
) -> str:
    from runbook_synth.ingest import cloudwatch, insights

    scanned_total = 0.0
    records = []
    for group in groups:
        stats, errors, scanned = insights.insights_evidence(logs, group, window, sleep=sleep, region=region)
        scanned_total += scanned
        payload = {"stats": asdict(stats), "error_groups": [asdict(error) for error in errors]}
        records.append(SourceRecord(INSIGHTS_SOURCE, group, group, window.end_ms, json.dumps(payload, sort_keys=True)))
    with store.transaction():
        store.put_records(records)
    new_alarms, _ = cloudwatch.ingest_alarms(store, alarms, groups, region=region)
    return (
        f"CloudWatch Insights: {len(records)} log group(s) aggregated over {window.start} to {window.end} "
        f"({scanned_total / 1e6:.1f} MB scanned), {new_alarms} new alarm(s)"
    )


def _insights_for(store: StateStore, groups: Sequence[str]) -> tuple[list[InvocationStats], list[ErrorGroup]]:
    stats: list[InvocationStats] = []
    errors: list[ErrorGroup] = []
    for group in groups:
        latest = None
        for record in store.records(INSIGHTS_SOURCE, scope=group):
            latest = record
        if latest is None:
            continue
        payload = json.loads(latest.payload)
        raw = payload["stats"]
        stats.append(InvocationStats(**{**raw, "source": EvidenceSource(**raw["source"])}))
        for item in payload["error_groups"]:
            errors.append(ErrorGroup(**{**item, "source": EvidenceSource(**item["source"])}))
    return stats, errors


def cloudwatch_evidence(root: Path, scope: str, today: date) -> CloudWatchEvidence | None:
    """What the store knows from CloudWatch about a scope, over the configured lookback up to `today`."""
    if not store_exists(root) or not scope:
        return None
    from runbook_synth.ingest import cloudwatch

    table, where = source_table(root, "cloudwatch")
    config = cloudwatch.parse_cloudwatch_config(table, where)
    end = datetime.combine(today, time_of_day.max, tzinfo=UTC)
    window = cloudwatch.resolve_window(None, None, now=end, lookback=config.lookback)
    with StateStore.open(root, readonly=True) as store:
        groups = cloudwatch.log_groups_for_scope(scope, cloudwatch.known_log_groups(store, config))
        if not groups:
            return None
        evidence = cloudwatch.cloudwatch_evidence(store, scope, window, log_groups=groups)
        aggregated, patterns = _insights_for(store, groups)
    if aggregated and not evidence.invocations:
        evidence = replace(evidence, invocations=tuple(aggregated), error_groups=tuple(patterns))
    return evidence if evidence.events or evidence.alarms or evidence.invocations else None
