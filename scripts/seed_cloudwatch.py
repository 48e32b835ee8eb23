"""Start a local moto server on 127.0.0.1 and seed it with a realistic CloudWatch account, for `make demo`.

Two Lambda functions write what real ones write (START/END/REPORT in the older tab-separated form and the
newer `Status: timeout` form, Init Duration on cold starts, "Task timed out" lines, ERROR/WARN lines plain
and JSON, one leaked password that redaction must catch) and carry alarms (error rate, p99 duration,
throttles). No AWS account is needed: the credentials are fake and nothing leaves loopback.

    python scripts/seed_cloudwatch.py                 # seed, print the endpoint, serve until Ctrl-C
    python scripts/seed_cloudwatch.py --once ROOT     # seed, ingest into ROOT's state store, print, exit

Needs the dev extras (moto[server]).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--once", metavar="ROOT", type=Path, help="seed, ingest into ROOT/.runbook-synth, then exit")
    args = parser.parse_args(argv)

    os.environ.update(FAKE_CREDENTIALS)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)

    from moto.server import ThreadedMotoServer
    from tests.support.moto_cloudwatch import FUNCTIONS, REGION, recent_start_ms, seed_account

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here

    from runbook_synth.errors import RunbookSynthError
    from runbook_synth.ingest.cloudwatch import (
        CloudWatchConfig,
        TimeWindow,
        cloudwatch_evidence,
        ingest_cloudwatch,
        make_clients,
    )
    from runbook_synth.state import StateStore

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    groups = tuple(spec.log_group for spec in FUNCTIONS)
    config = CloudWatchConfig(log_groups=groups, region=REGION, endpoint_url=endpoint, max_attempts=3)
    logs, cloudwatch = make_clients(config)
    start_ms = recent_start_ms(time.time())
    account = seed_account(logs, cloudwatch, start_ms)
    events = sum(account.event_count(g) for g in groups)
    print(f"Seeded {len(groups)} log groups ({events} events) and 5 alarms at {endpoint}", flush=True)

    if args.once is None:
        print(f"export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}")
        print(f"runbook ingest cloudwatch --endpoint-url {endpoint} " + " ".join(f"--log-group {g}" for g in groups))
        print("Serving until interrupted (Ctrl-C).", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0

    window = TimeWindow(start_ms - 3_600_000, start_ms + 3 * 3_600_000)
    try:
        with StateStore.open(args.once) as store:
            summary = ingest_cloudwatch(store, logs, cloudwatch, groups, window, region=REGION)
            evidence = cloudwatch_evidence(store, "lambda", window, region=REGION)
    except RunbookSynthError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    print(
        f"Ingested {summary.events_new} new events and {summary.alarms_new} alarms into"
        f" {args.once / '.runbook-synth' / 'state.sqlite'}"
    )
    for stats in evidence.invocations:
        print(
            f"  {stats.source.log_group}: {stats.invocations} invocations, p50 {stats.duration_median_ms} ms,"
            f" p99 {stats.duration_p99_ms} ms, {stats.cold_starts} cold starts, {stats.timeouts} timeouts,"
            f" error rate {stats.error_rate_pct}%"
        )
    for trigger in evidence.rollback_triggers:
        print(f"  rollback trigger: {trigger}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
