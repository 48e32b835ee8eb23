"""Serve a stand-in GitHub REST API on 127.0.0.1 with a repository of deploy and rollback runs, for `make demo`.

Prints the base URL and the token it accepts on one line each, then serves until interrupted:

    .venv/bin/python scripts/github_standin.py &
    GITHUB_API_URL=http://127.0.0.1:PORT GH_TOKEN=ghp_standin… runbook ingest github --repo acme/telegram-api

The runs are those of tests/data/github/scenario.json, moved so the newest one finished a few days ago
(inside the default 30-day lookback whenever the demo runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.github_server import TOKEN, GitHubStandIn, load_scenario

SCENARIO_END = datetime(2026, 11, 20, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-dates", action="store_true", help="serve the runs on their recorded dates")
    parser.add_argument("--once", action="store_true", help="print the URL and exit (to check it starts)")
    options = parser.parse_args(argv)
    shift = timedelta(0)
    if not options.keep_dates:
        shift = _days_to_now()
    server = GitHubStandIn([load_scenario(shift=shift)])
    server.start()
    print(server.url, flush=True)
    print(TOKEN, flush=True)
    if options.once:
        server.stop()
        return 0
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _days_to_now() -> timedelta:
    """Whole days, so runs keep their time of day and weekday order stays plausible."""
    gap = datetime.now(UTC) - timedelta(days=3) - SCENARIO_END
    return timedelta(days=gap.days)


if __name__ == "__main__":
    raise SystemExit(main())
