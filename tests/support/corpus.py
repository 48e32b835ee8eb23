"""Builders for observation files in the /observe formats, so tests state their inputs literally."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Call:
    command: str
    output: str = ""
    operation: str = ""
    duration: str = ""
    exit_code: int = 0


@dataclass(frozen=True)
class Run:
    day: str
    clock: str
    slug: str
    context: str
    calls: tuple[Call, ...]
    tags: tuple[str, ...] = ("deployment", "lambda")
    total: str = ""
    extra_frontmatter: dict[str, str] = field(default_factory=dict)


def fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


def execution_text(run: Run) -> str:
    lines = [
        "---",
        "mode: execution",
        f"date: {run.day}",
        f"time: {run.clock}",
        f"context: {run.context}",
        "session_id: test",
        f"tags: [{', '.join(run.tags)}]",
        *[f"{key}: {value}" for key, value in run.extra_frontmatter.items()],
        "---",
        "",
        f"# Execution Observation: {run.context}",
        "",
        "## Tool Calls",
        "",
    ]
    for call in run.calls:
        lines += [
            f"### Bash - {run.clock}",
            f"**Operation**: {call.operation or 'Run command'}",
            "**Input**:",
            fence(call.command, "bash"),
            "**Output**:",
            fence(call.output or "(no output)"),
            f"**Duration**: {call.duration or '{if measurable}'}",
            "",
        ]
    lines += ["## Side Effects", "", "**Commands Executed**:"]
    for call in run.calls:
        lines.append(f"- {' '.join(call.command.replace(chr(92) + chr(10), ' ').split())} - {call.exit_code} - done")
    lines += ["", "## Resource Consumption", "", f"**Time**: {run.total or '{total duration}'}", ""]
    return "\n".join(lines)


def write_run(root: Path, run: Run) -> Path:
    folder = root / ".claude" / "observations" / run.day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"execution-{run.clock.replace(':', '')}-{run.slug}.md"
    path.write_text(execution_text(run), encoding="utf-8")
    return path


def failure_text(
    day: str, context: str, error: str, command: str, tags: tuple[str, ...] = ("deployment", "lambda")
) -> str:
    return "\n".join(
        [
            "---",
            "mode: failure",
            f"date: {day}",
            "time: 09:00",
            f"context: {context}",
            "severity: high",
            "resolved: yes",
            "environment: production",
            f"tags: [{', '.join(tags)}]",
            "---",
            "",
            f"# Failure Observation: {context}",
            "",
            "## Symptoms Observed",
            "",
            "The command failed.",
            "",
            "## Error Messages",
            "",
            "### Error 1",
            fence(error),
            "",
            "## Input State",
            "",
            "**What was attempted**:",
            fence(command),
            "",
        ]
    )


def write_failure(root: Path, day: str, slug: str, context: str, error: str, command: str) -> Path:
    folder = root / ".claude" / "observations" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"failure-090000-{slug}.md"
    path.write_text(failure_text(day, context, error, command), encoding="utf-8")
    return path


def write_error_journal(
    root: Path, day: str, slug: str, title: str, error: str, cause: str, fix: str, prevention: str
) -> Path:
    folder = root / ".claude" / "journals" / "error"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}-{slug}.md"
    path.write_text(
        "\n".join(
            [
                "---",
                f"title: {title}",
                "category: error",
                f"date: {day}",
                "resolved: yes",
                "tags: [deployment, lambda]",
                "---",
                "",
                f"# {title}",
                "",
                "## Symptoms",
                "",
                "**What went wrong?**",
                "",
                fence(error),
                "",
                "## Root Cause",
                "",
                "**What was actually wrong?**",
                "",
                cause,
                "",
                "## Solution",
                "",
                "**Code/Config Changes**:",
                fence(fix, "bash"),
                "",
                "## Prevention",
                "",
                f"- [ ] {prevention}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path
