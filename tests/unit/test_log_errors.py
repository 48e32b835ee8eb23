"""Error groups from CloudWatch join the troubleshooting entry whose symptom they match, or stand alone."""

from __future__ import annotations

from runbook_synth.failures import with_log_errors
from runbook_synth.models import CloudWatchEvidence, ErrorGroup, EvidenceSource, Provenance, TroubleshootingEntry

SOURCE = EvidenceSource("/aws/lambda/report_worker", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z", 900)
ENTRY = TroubleshootingEntry(
    title="Aurora too many connections",
    symptoms=("FATAL: remaining connection slots are reserved for non-replication superuser connections",),
    cause="The pool was sized for one Lambda concurrency.",
    solution=("aws lambda put-function-concurrency --function-name report_worker --reserved-concurrent-executions 20",),
    prevention="",
    occurrences=2,
    last_seen="2026-10-29",
    sources=(Provenance(".claude/journals/error/2026-09-25-aurora-too-many-connections.md"),),
)


def _group(template: str, sample: str, count: int) -> ErrorGroup:
    tail = f"aws logs tail {SOURCE.log_group} --since 7d"
    return ErrorGroup(
        template, "ERROR", count, "2026-11-20T01:00:00Z", "2026-11-22T03:00:00Z", sample, SOURCE.log_group, tail, SOURCE
    )


def test_a_matching_log_error_joins_the_entry_and_an_unknown_one_stands_alone() -> None:
    same = _group(
        "FATAL: remaining connection slots are reserved <*>",
        "FATAL: remaining connection slots are reserved for non-replication superuser connections",
        14,
    )
    other = _group("payment provider returned <*> for order <*>", "payment provider returned 502 for order 881", 3)
    evidence = CloudWatchEvidence(
        "lambda", (SOURCE.log_group,), SOURCE.window_start, SOURCE.window_end, 900, (), (), (), (same, other)
    )
    merged = [entry for entry, _ in with_log_errors([(ENTRY, {1})], evidence)]
    assert len(merged) == 2
    joined = next(entry for entry in merged if entry.title == ENTRY.title)
    assert Provenance("cloudwatch:/aws/lambda/report_worker") in joined.sources
    assert joined.solution == ENTRY.solution and joined.last_seen == "2026-11-22"
    alone = next(entry for entry in merged if entry.title != ENTRY.title)
    assert alone.occurrences == 3 and alone.solution == (other.tail_command,)
    assert with_log_errors([(ENTRY, set())], None) == [(ENTRY, set())]
