"""The lint rules as data, so the checker, the docs table and `--disable` all read one definition.

Ids are stable (RB001…); slugs are what people type. Severities follow what a missing piece costs an
on-call engineer at 3 AM: no steps, rollback or escalation is an error; a weaker section is a warning.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from runbook_synth.errors import ConfigError


class Severity(StrEnum):
    """How bad a finding is; `exit_code(fail_on=...)` compares by `rank`."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Rule:
    """One check: `description` says what it finds, `fix` is the one-line remedy printed with each finding."""

    id: str
    slug: str
    severity: Severity
    description: str
    fix: str


RULES: tuple[Rule, ...] = (
    # Structure: seed 000 step 4 and 9, seed 001 quality table, seed 004 AC3.
    Rule(
        "RB001",
        "missing-title",
        Severity.ERROR,
        "The runbook has no title heading.",
        "Start the file with `# <action-oriented title>`.",
    ),
    Rule(
        "RB002",
        "missing-owner",
        Severity.ERROR,
        "No owner is named (or it is Unassigned/TBD).",
        "Add `**Owner**: <team or person>`.",
    ),
    Rule(
        "RB003",
        "missing-last-updated",
        Severity.ERROR,
        "No readable Last Updated / Last Validated date.",
        "Add `**Last Updated**: YYYY-MM-DD`.",
    ),
    Rule(
        "RB004",
        "missing-risk-level",
        Severity.WARNING,
        "No risk level (Low, Medium, High or Critical).",
        "Add `**Risk Level**: Low|Medium|High|Critical`.",
    ),
    Rule(
        "RB005",
        "missing-scope",
        Severity.WARNING,
        "No scope or use case: the reader cannot tell when to use it.",
        "Add a `## Scope` (or Use Case / When to use) section.",
    ),
    Rule(
        "RB006",
        "missing-out-of-scope",
        Severity.WARNING,
        "The scope does not say what the runbook does NOT cover.",
        "Add a line `**Does not cover**: …` or an `Out of scope` section.",
    ),
    Rule(
        "RB007",
        "missing-prerequisites",
        Severity.WARNING,
        "No prerequisites (access, tools, who to notify).",
        "Add a `## Prerequisites` checklist.",
    ),
    Rule(
        "RB008",
        "missing-preflight",
        Severity.WARNING,
        "No pre-flight checks before the first change.",
        "Add a `## Pre-flight checks` section (health, backups, rollback capability).",
    ),
    Rule(
        "RB009",
        "missing-procedure",
        Severity.ERROR,
        "No numbered steps.",
        "Write the procedure as `1.` `2.` … items or `### Step N:` headings.",
    ),
    Rule(
        "RB010",
        "missing-verification",
        Severity.ERROR,
        "No verification section: nothing says how to confirm success.",
        "Add a `## Verification` section with checks and their expected results.",
    ),
    Rule(
        "RB011",
        "missing-rollback",
        Severity.ERROR,
        "No rollback procedure.",
        "Add a `## Rollback` section, or state why rollback is not applicable.",
    ),
    Rule(
        "RB012",
        "missing-troubleshooting",
        Severity.WARNING,
        "No troubleshooting section.",
        "Add a `## Troubleshooting` section with known errors and their fixes.",
    ),
    Rule(
        "RB013",
        "missing-escalation",
        Severity.ERROR,
        "No escalation path: a failed step is a dead end.",
        "Add a `## Escalation` section: when to escalate, who, and what to provide.",
    ),
    Rule(
        "RB014",
        "incomplete-escalation",
        Severity.WARNING,
        "The escalation path lacks when to escalate, who to contact, or what to provide.",
        "Say when to escalate, who to contact (team, @handle, pager) and what to send.",
    ),
    Rule(
        "RB015",
        "missing-post-execution",
        Severity.WARNING,
        "No post-execution tasks (notifications, logs, docs to update).",
        "Add a `## Post-execution` section.",
    ),
    Rule(
        "RB016",
        "missing-approval-gate",
        Severity.ERROR,
        "Risk is High or Critical but no approval is required.",
        "Add `**Approved By**: …` or an `## Approval` gate before the first change.",
    ),
    # Steps: seed 000 step 5, seed 001 anti-patterns.
    Rule(
        "RB020",
        "step-without-command",
        Severity.INFO,
        "A step has no command (human actions such as notify or announce are exempt).",
        "Add the copy-pasteable command in a `bash` or `console` block.",
    ),
    Rule(
        "RB021",
        "step-without-expected-output",
        Severity.WARNING,
        "A step runs a command but shows no expected output.",
        "Add `Expected output:` with what the command prints.",
    ),
    Rule(
        "RB022",
        "step-without-verification",
        Severity.WARNING,
        "A step has no command output and no check to confirm it worked.",
        "Add a verification check after the step.",
    ),
    Rule(
        "RB023",
        "vague-step",
        Severity.WARNING,
        'A step says "investigate the issue" or "make sure everything works" with no command.',
        "Replace it with the specific command and the result to look for.",
    ),
    Rule(
        "RB024",
        "too-many-steps",
        Severity.WARNING,
        "More than 50 steps.",
        "Split it into focused runbooks that link to each other.",
    ),
    # Content.
    Rule(
        "RB030",
        "unexplained-placeholder",
        Severity.WARNING,
        "A command has a placeholder (`{name}`, `<name>`, `${NAME}`) that nothing explains.",
        "List it in a Parameters table or line saying what to fill in.",
    ),
    Rule(
        "RB031",
        "missing-file",
        Severity.WARNING,
        "A referenced file or script does not exist under the repository root.",
        "Fix the path, or commit the file it points to.",
    ),
    Rule(
        "RB032",
        "stale-runbook",
        Severity.WARNING,
        "The last updated/validated date is older than the review frequency allows.",
        "Re-run or review the runbook and update its date.",
    ),
    Rule(
        "RB033",
        "missing-review-frequency",
        Severity.INFO,
        "No review frequency; staleness is judged against Quarterly (92 days).",
        "Add `**Review Frequency**: Monthly|Quarterly|…`.",
    ),
    # The file itself.
    Rule(
        "RB090",
        "unreadable-file",
        Severity.ERROR,
        "The file cannot be read as UTF-8 markdown.",
        "Save it as UTF-8 text, or remove it from the paths linted.",
    ),
    Rule(
        "RB091",
        "bad-disable-comment",
        Severity.WARNING,
        "A `runbook-lint: disable=` comment names an unknown rule.",
        "Use a rule id (RB011) or slug (missing-rollback) from the rules table.",
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
_BY_NAME: dict[str, Rule] = {**RULES_BY_ID, **{rule.slug: rule for rule in RULES}}


def find_rule(name: str) -> Rule | None:
    """A rule by id (any case) or slug; None when nothing matches."""
    key = name.strip()
    return _BY_NAME.get(key.upper()) or _BY_NAME.get(key.lower())


def suggest_rule(name: str) -> str | None:
    """The closest id or slug, for "did you mean" messages."""
    matches = difflib.get_close_matches(name.strip().lower(), [n.lower() for n in _BY_NAME], n=1, cutoff=0.6)
    if not matches:
        return None
    return next(n for n in _BY_NAME if n.lower() == matches[0])


def resolve_rules(names: Iterable[str], *, source: str) -> frozenset[str]:
    """Ids for names given by the user; an unknown one raises with the source and a did-you-mean."""
    ids: set[str] = set()
    for name in names:
        rule = find_rule(name)
        if rule is None:
            hint = suggest_rule(name)
            did_you_mean = f"did you mean '{hint}'? " if hint else ""
            raise ConfigError(
                f"{source}: unknown lint rule '{name}'; {did_you_mean}use an id (RB011) or slug (missing-rollback)"
                " from the README rules table"
            )
        ids.add(rule.id)
    return frozenset(ids)


def rules_markdown_table() -> str:
    """The README table of rules, generated so the docs and the checker cannot drift apart."""
    lines = ["| Id | Slug | Severity | Finds | Fix |", "|---|---|---|---|---|"]
    for rule in RULES:
        cells = (rule.id, f"`{rule.slug}`", rule.severity.value, rule.description, rule.fix)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
