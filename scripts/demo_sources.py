"""`make demo`, second half: a runbook that merges CI runs and CloudWatch evidence with the notes, with no AWS
account and no GitHub token. A moto server on 127.0.0.1 is seeded with Lambda logs and alarms, a stand-in for
the GitHub REST API serves deploy and rollback workflow runs, and the real `runbook` CLI ingests both into a
copy of sample_observations/ (under .demo/, git-ignored) and generates from it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from moto.server import ThreadedMotoServer  # noqa: E402
from tests.support.github_server import TOKEN, GitHubStandIn, load_scenario  # noqa: E402
from tests.support.moto_cloudwatch import FUNCTIONS, REGION, recent_start_ms, seed_account  # noqa: E402

SCENARIO_END = datetime(2026, 11, 20, tzinfo=UTC)


def runbook(*args: str, env: dict[str, str]) -> str:
    command = [str(Path(sys.executable).parent / "runbook"), *args]
    print("$ runbook " + " ".join(args), flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    sys.stderr.write(result.stderr)
    if result.returncode not in (0, 3):
        raise SystemExit(result.returncode)
    return result.stdout


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    root = REPO / ".demo" / "sources"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "sample_observations", root, ignore=shutil.ignore_patterns("runbooks", ".runbook-synth"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "GH_TOKEN": TOKEN,
    }
    env.pop("AWS_PROFILE", None)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    days = (datetime.now(UTC) - timedelta(days=3) - SCENARIO_END).days
    github = GitHubStandIn([load_scenario(shift=timedelta(days=days))]).start()
    try:
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        import boto3

        logs = boto3.client("logs", endpoint_url=endpoint, region_name=REGION)
        alarms = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=REGION)
        seed_account(logs, alarms, recent_start_ms(time.time()))
        groups = [argument for spec in FUNCTIONS for argument in ("--log-group", spec.log_group)]
        print(runbook("ingest", "cloudwatch", "--root", str(root), "--endpoint-url", endpoint, *groups, env=env))
        print(
            runbook(
                "ingest", "github", "--root", str(root), "--repo", "acme/telegram-api", "--api-url", github.url, env=env
            )
        )
        text = runbook("deployment", "lambda", "--root", str(root), "--stdout", "-q", env=env)
    finally:
        github.stop()
        moto.stop()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Monitoring"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("## ") and "Monitoring" not in line)
    print("----- the Monitoring section, with CloudWatch figures and alarms -----")
    print("\n".join(lines[start:end]))
    ci = [line for line in lines if "github:acme/telegram-api" in line]
    print(f"----- {len(ci)} line(s) of the runbook cite CI runs, e.g. -----")
    print("\n".join(ci[:3]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
