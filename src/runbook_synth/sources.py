"""Sources beyond the files: fetch into the local state store (`runbook ingest …`), and read what is
stored back as observations for generation. The network is touched only by the ingest calls."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from runbook_synth.ingest.files import check_root
from runbook_synth.models import Observation
from runbook_synth.output import run_lock
from runbook_synth.settings import source_table
from runbook_synth.state import StateStore

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
    store_path = root / ".runbook-synth" / "state.sqlite"
    if not store_path.exists():
        return ()
    from runbook_synth.ingest import github

    with StateStore.open(root, readonly=True) as store:
        return github.observations_from_store(store)
