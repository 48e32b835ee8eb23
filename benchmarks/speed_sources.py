"""A state store as `runbook ingest cloudwatch` and `runbook ingest github` leave it after a long time:
1,000,000 Lambda log events over a few log groups and 10,000 GitHub Actions runs of a deploy workflow (issue
13's "a state store holding 1,000,000 CloudWatch events and 10,000 CI runs").

Records are written in the shape those commands store (`ingest/cloudwatch.py` `_event_record`, `ingest/github.py`
`_run_records`), already redacted (the synthetic text holds nothing secret), straight into the store, so the
benchmark does not spend an hour in the ingesters. Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runbook_synth.ingest.cloudwatch import CloudWatchSource
from runbook_synth.ingest.github import SOURCE as GITHUB
from runbook_synth.ingest.github import RecordKind, run_key, workflow_key
from runbook_synth.state import STATE_DIR, STATE_FILE, SourceRecord, StateStore

FUNCTIONS = ("report_worker", "alarm_router", "invoice_sync", "thumbnailer")
REPO = "acme/report-service"
WORKFLOW = ".github/workflows/deploy-lambda.yml"
WORKFLOW_TEXT = """name: deploy-lambda
on: {push: {branches: [main]}}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Run tests
        run: pytest -q
      - name: Build image
        run: docker build -t report-worker:${{ github.sha }} .
      - name: Push image
        run: docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:${{ github.sha }}
      - name: Update function
        run: aws lambda update-function-code --function-name report_worker --image-uri report-worker:${{ github.sha }}
      - name: Wait for update
        run: aws lambda wait function-updated --function-name report_worker
"""
STEPS = ("Run tests", "Build image", "Push image", "Update function", "Wait for update")


def _events(count: int, end: datetime, rng: random.Random) -> Iterator[SourceRecord]:
    """Invocations (START, a log line or two, END, REPORT) spread over the 30 days before `end`."""
    start_ms = int((end - timedelta(days=30)).timestamp() * 1000)
    span_ms = 30 * 86_400_000
    written = 0
    invocation = 0
    while written < count:
        function = FUNCTIONS[invocation % len(FUNCTIONS)]
        group = f"/aws/lambda/{function}"
        stream = f"2026/11/{1 + invocation % 28:02d}/[$LATEST]{invocation % 97:032x}"
        request = f"{rng.getrandbits(128):032x}"
        at = start_ms + (invocation * 7919) % span_ms
        duration = rng.uniform(80, 2400)
        lines = [f"START RequestId: {request} Version: $LATEST"]
        if rng.random() < 0.03:
            lines.append(f"[ERROR] TimeoutError: upstream took {duration:.0f} ms RequestId: {request}")
        else:
            lines.append(f"[INFO] processed {rng.randint(1, 400)} items")
        lines += [
            f"END RequestId: {request}",
            f"REPORT RequestId: {request}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms\t"
            f"Memory Size: 512 MB\tMax Memory Used: {rng.randint(90, 480)} MB",
        ]
        for offset, message in enumerate(lines):
            if written == count:
                return
            event_id = f"{invocation:018d}{offset:02d}"
            payload = {"log_group": group, "log_stream": stream, "event_id": event_id, "message": message}
            yield SourceRecord(
                CloudWatchSource.LOGS, f"{group}|{event_id}", group, at + offset, json.dumps(payload, sort_keys=True)
            )
            written += 1
        invocation += 1


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _runs(count: int, end: datetime, rng: random.Random) -> Iterator[SourceRecord]:
    """Deploy runs, one job of five steps each; about one in twenty fails a step and is re-run."""
    shas: list[str] = []
    for number in range(count):
        started = end - timedelta(days=365) + timedelta(minutes=52 * number)
        sha = f"{rng.getrandbits(160):040x}"
        if number % 50 == 0:
            shas.append(sha)
            body = {
                "kind": RecordKind.WORKFLOW.value,
                "repo": REPO,
                "path": WORKFLOW,
                "sha": sha,
                "text": WORKFLOW_TEXT,
            }
            when = int(started.timestamp() * 1000)
            yield SourceRecord(GITHUB, workflow_key(REPO, WORKFLOW, sha), REPO, when, json.dumps(body, sort_keys=True))
        sha = shas[-1]
        failed_step = rng.randrange(len(STEPS)) if rng.random() < 0.05 else -1
        clock = started + timedelta(seconds=20)
        steps = []
        for index, name in enumerate(STEPS):
            took = timedelta(seconds=rng.uniform(5, 90))
            conclusion = "failure" if index == failed_step else ("skipped" if 0 <= failed_step < index else "success")
            steps.append(
                {
                    "number": index + 2,
                    "name": name,
                    "status": "completed",
                    "conclusion": conclusion,
                    "started_at": _iso(clock),
                    "completed_at": _iso(clock + took),
                }
            )
            clock += took
        conclusion = "failure" if failed_step >= 0 else "success"
        run = {
            "id": 7_000_000_000 + number,
            "run_attempt": 1,
            "name": "deploy-lambda",
            "path": WORKFLOW,
            "head_sha": sha,
            "head_branch": "main",
            "event": "push",
            "status": "completed",
            "conclusion": conclusion,
            "created_at": _iso(started),
            "run_started_at": _iso(started),
            "updated_at": _iso(clock),
            "display_title": f"Deploy report_worker #{number}",
        }
        job = {
            "id": 9_000_000_000 + number,
            "name": "deploy",
            "status": "completed",
            "conclusion": conclusion,
            "started_at": _iso(started + timedelta(seconds=20)),
            "completed_at": _iso(clock),
            "steps": steps,
        }
        payload = {"kind": RecordKind.RUN.value, "repo": REPO, "run": run, "jobs": [job]}
        when = int(started.timestamp() * 1000)
        yield SourceRecord(GITHUB, run_key(REPO, run["id"], 1), REPO, when, json.dumps(payload, sort_keys=True))


def write_sources_store(folder: Path, events: int, runs: int, end: datetime, seed: int = 13) -> Path:
    """A store holding only remote records, at `folder/.runbook-synth/state.sqlite`; returns its path."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    with StateStore.open(folder) as store:
        store.put_records(_events(events, end, rng))
        store.put_records(_runs(runs, end, rng))
    return folder / STATE_DIR / STATE_FILE


def place_store(pristine: Path, root: Path) -> None:
    """Make `root`'s state store a copy of the pristine one: the records kept, no parse cache, no snapshot."""
    state = root / STATE_DIR
    if state.exists():
        shutil.rmtree(state)
    state.mkdir()
    shutil.copyfile(pristine, state / STATE_FILE)
    (state / ".gitignore").write_text("*\n", encoding="utf-8")


def default_end() -> datetime:
    return datetime(2026, 12, 1, tzinfo=UTC)
