"""Golden runbooks that merge other sources with the notes: GitHub Actions runs from the loopback stand-in,
ingested by the production client into a copy of sample_observations/."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

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
