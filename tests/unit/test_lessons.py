"""Lessons written without the heading a template would give them: a fix announced by a label, a cause
answered in a ticked checklist, a heredoc the fix's next command reads."""

from __future__ import annotations

from runbook_synth.ingest import markdown
from runbook_synth.ingest.lessons import failure_detail

FENCE = "```"

PAGED = f"""# orders queue backlog, paged at 3am

## What We DON'T Know Yet

- [x] Root cause (requires investigation) -> the 09-10 infra change set `min_capacity = 1` (was 4)
- [ ] Whether this affects other cases

## Update 04:25

Looked at the queue first:

{FENCE}bash
aws sqs get-queue-attributes --queue-url https://sqs.example/orders --attribute-names All
{FENCE}

Mitigation that worked:

{FENCE}bash
aws ecs update-service --cluster orders-prod --service orders-worker --desired-count 8
{FENCE}
"""

REDRIVE = f"""# poison message

## What fixed it

{FENCE}bash
cat <<'EOF' > redrive.json
{{"RedrivePolicy": "{{}}"}}
EOF
cat notes.txt
aws sqs set-queue-attributes --queue-url https://sqs.example/orders --attributes file://redrive.json
{FENCE}
"""


def test_a_fix_announced_by_a_label_is_read_without_a_fix_heading() -> None:
    detail = failure_detail(markdown.sections(PAGED))
    assert detail.fix_commands == (
        "aws ecs update-service --cluster orders-prod --service orders-worker --desired-count 8",
    )


def test_a_cause_answered_in_a_ticked_checklist_item_is_the_cause() -> None:
    detail = failure_detail(markdown.sections(PAGED))
    assert detail.root_cause == "the 09-10 infra change set `min_capacity = 1` (was 4)"
    unticked = PAGED.replace("- [x] Root cause", "- [ ] Root cause")
    assert failure_detail(markdown.sections(unticked)).root_cause == ""


def test_a_heredoc_the_fix_reads_is_part_of_the_fix() -> None:
    fixes = failure_detail(markdown.sections(REDRIVE)).fix_commands
    assert fixes[0].startswith("cat <<'EOF' > redrive.json\n")
    assert fixes[1].startswith("aws sqs set-queue-attributes")
    assert "cat notes.txt" not in fixes
