"""`.claude/observations/**`: the /observe execution, failure and behavior formats, and loose notes.

Lenient by design: headings vary, placeholders are left unfilled, `time:` has no fixed format. Every
command keeps its file and line.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from runbook_synth.durations import find_prose_duration, parse_duration
from runbook_synth.ingest import markdown
from runbook_synth.ingest.files import FrontmatterDocument, date_from, scalar, tag_list
from runbook_synth.ingest.lessons import failure_detail
from runbook_synth.models import CommandRun, Observation, Provenance, SourceKind
from runbook_synth.shell import is_console_language, is_shell_block, is_shell_language, looks_like_command, split_block

_TOOL_HEADING = re.compile(r"^(?P<tool>[\w .:/-]{1,60}?)\s+[-–—]\s+(?P<time>.+)$")
_SHELL_TOOLS = {"bash", "shell", "sh", "terminal", "command", "console", "zsh", "run", "exec", "cli"}
_EXECUTED = re.compile(r"^\s*[-*]\s+`?(?P<command>.+?)`?\s+[-–—]\s+(?P<code>-?\d{1,3})\s+[-–—]\s*(?P<outcome>.*)$")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")
_TITLE_PREFIX = re.compile(r"^(?:execution|failure|behavior)\s+observation\s*:\s*", re.IGNORECASE)


def kind_of(relative: str, metadata_mode: str) -> SourceKind:
    """The observation mode from frontmatter, else from the file name prefix, else a loose note."""
    mode = metadata_mode.strip().lower()
    for kind in (SourceKind.EXECUTION, SourceKind.FAILURE, SourceKind.BEHAVIOR):
        if mode == kind.value:
            return kind
    name = relative.rsplit("/", 1)[-1].lower()
    for kind in (SourceKind.EXECUTION, SourceKind.FAILURE, SourceKind.BEHAVIOR):
        if name.startswith(kind.value + "-"):
            return kind
    return SourceKind.NOTE


def parse_time(value: str, day: date | None) -> datetime | None:
    """Wall-clock time as written (time zones dropped: sources mix them and never say which)."""
    if not value or day is None:
        return None
    match = _TIME.search(value[:200])
    if not match:
        return None
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return datetime.combine(day, time(hour, minute, second))


def title_of(document: FrontmatterDocument, all_sections: list[markdown.Section]) -> str:
    title = scalar(document.metadata, "title")
    if title and not markdown.is_placeholder(title):
        return title
    for section in all_sections:
        if section.level == 1 and section.title:
            return _TITLE_PREFIX.sub("", section.title).strip()
    return ""


def parse_observation(relative: str, document: FrontmatterDocument) -> Observation:
    """One observation file (any mode, or a loose note) to an Observation."""
    metadata = document.metadata
    kind = kind_of(relative, scalar(metadata, "mode"))
    all_sections = markdown.sections(document.body, document.body_line)
    day = date_from(metadata.get("date"), relative, markdown.field(document.body, "Date"))
    context = scalar(metadata, "context")
    if markdown.is_placeholder(context):
        context = markdown.field(document.body, "Context")
        context = "" if markdown.is_placeholder(context) else context
    when = parse_time(scalar(metadata, "time") or markdown.field(document.body, "Started", "Occurred"), day)
    commands = _tool_call_commands(relative, all_sections)
    if not commands and kind in (SourceKind.EXECUTION, SourceKind.NOTE, SourceKind.FAILURE):
        commands = _loose_commands(relative, document.body, document.body_line)
    total = _total_duration(document.body, all_sections)
    failure = failure_detail(all_sections) if kind in (SourceKind.FAILURE, SourceKind.NOTE) else None
    if kind == SourceKind.NOTE and failure is not None:
        if failure.error_messages and (failure.root_cause or failure.fix_commands):
            kind = SourceKind.FAILURE  # a bug hunt or incident write-up: symptom, cause, fix
        else:
            failure = None
    environment = scalar(metadata, "environment")
    severity = scalar(metadata, "severity")
    return Observation(
        path=relative,
        kind=kind,
        title=title_of(document, all_sections),
        context=context,
        tags=tag_list(metadata),
        category=scalar(metadata, "category") if kind == SourceKind.BEHAVIOR else "",
        when=when,
        day=day,
        environment="" if "|" in environment else environment.lower(),
        severity="" if "|" in severity else severity.lower(),
        commands=commands,
        total_duration_seconds=total,
        failure=failure,
    )


def _tool_call_commands(relative: str, all_sections: list[markdown.Section]) -> tuple[CommandRun, ...]:
    """Commands from `## Tool Calls`, with exit codes matched from `**Commands Executed**`."""
    tool_calls = markdown.find_section(all_sections, "Tool Calls")
    executed = _commands_executed(all_sections)
    runs: list[CommandRun] = []
    if tool_calls is not None:
        for call in markdown.subsections(tool_calls, all_sections):
            runs.extend(_commands_of_call(relative, call))
    if not runs and executed:
        side = markdown.find_section(all_sections, "Side Effects")
        line = side.line if side else 0
        return tuple(
            CommandRun(command=command, provenance=Provenance(relative, line), exit_code=code, output=outcome)
            for command, code, outcome in executed
        )
    return tuple(_attach_exit_codes(runs, executed))


def _commands_of_call(relative: str, call: markdown.Section) -> list[CommandRun]:
    heading = _TOOL_HEADING.match(call.title)
    tool = (heading.group("tool") if heading else call.title).strip().lower()
    text = call.text
    inputs = markdown.blocks_after_field(text, "Input", call.line)
    if not inputs:
        return []
    is_shell = tool in _SHELL_TOOLS or is_shell_language(inputs[0].language)
    if not is_shell:
        return []
    outputs = markdown.blocks_after_field(text, "Output", call.line)
    output = "\n".join(block.text for block in outputs).strip()
    operation = markdown.field(text, "Operation")
    operation = "" if markdown.is_placeholder(operation) else operation
    duration = parse_duration(markdown.field(text, "Duration"))
    parsed = split_block(inputs[0].text)
    runs: list[CommandRun] = []
    for index, command in enumerate(parsed):
        last = index == len(parsed) - 1
        runs.append(
            CommandRun(
                command=command.command,
                provenance=Provenance(relative, inputs[0].line + command.line_offset),
                output=(command.output or (output if last else "")),
                duration_seconds=duration if len(parsed) == 1 else None,
                operation=operation,
            )
        )
    if len(parsed) > 1 and duration is not None:
        share = round(duration / len(parsed), 3)
        runs = [_with(run, duration_seconds=share) for run in runs]
    return runs


def _with(run: CommandRun, **changes: object) -> CommandRun:
    values = {
        "command": run.command,
        "provenance": run.provenance,
        "output": run.output,
        "exit_code": run.exit_code,
        "duration_seconds": run.duration_seconds,
        "operation": run.operation,
    }
    values.update(changes)
    return CommandRun(**values)  # type: ignore[arg-type]


def _commands_executed(all_sections: list[markdown.Section]) -> list[tuple[str, int, str]]:
    side = markdown.find_section(all_sections, "Side Effects")
    if side is None:
        return []
    text, _ = markdown.section_with_children_text(side, all_sections)
    found: list[tuple[str, int, str]] = []
    active = False
    for line in text.split("\n"):
        if line.strip().startswith("**"):
            active = line.strip().lower().startswith("**commands executed")
            continue
        if not active:
            continue
        match = _EXECUTED.match(line)
        if match and not markdown.is_placeholder(match.group("command")):
            found.append((match.group("command").strip(), int(match.group("code")), match.group("outcome").strip()))
    return found


def _squash(command: str) -> str:
    return re.sub(r"\s+", " ", command.replace("\\\n", " ")).strip().strip("`")


def _attach_exit_codes(runs: list[CommandRun], executed: list[tuple[str, int, str]]) -> list[CommandRun]:
    """Match `Commands Executed` items to tool-call commands in order (same text, or failing that, prefix)."""
    if not executed:
        return runs
    result: list[CommandRun] = []
    cursor = 0
    for run in runs:
        target = _squash(run.command)
        for position in range(cursor, len(executed)):
            candidate = _squash(executed[position][0])
            if candidate == target or (len(candidate) > 20 and target.startswith(candidate.rstrip(". …"))):
                result.append(_with(run, exit_code=executed[position][1]))
                cursor = position + 1
                break
        else:
            result.append(run)
    return result


def _loose_commands(relative: str, body: str, first_line: int) -> tuple[CommandRun, ...]:
    """Commands in a note with no tool-call structure: console/bash blocks, else inline code."""
    runs: list[CommandRun] = []
    for block in markdown.blocks(body, first_line):
        if not is_shell_block(block.language, block.text):
            continue
        parsed = split_block(block.text, console=True if is_console_language(block.language) else None)
        for command in parsed:
            runs.append(
                CommandRun(
                    command=command.command,
                    provenance=Provenance(relative, block.line + command.line_offset),
                    output=command.output or command.expected,
                )
            )
    if runs:
        return tuple(runs)
    for code, index in markdown.inline_code(body):
        if looks_like_command(code):
            runs.append(CommandRun(command=code.strip(), provenance=Provenance(relative, first_line + index)))
    return tuple(runs)


def _total_duration(body: str, all_sections: list[markdown.Section]) -> float | None:
    consumption = markdown.find_section(all_sections, "Resource Consumption")
    if consumption is not None:
        total = parse_duration(markdown.field(consumption.text, "Time", "Total Time", "Duration"))
        if total is not None:
            return total
    stated = markdown.field(body, "Total Duration", "Total time", "Duration")
    return parse_duration(stated) if stated else find_prose_duration(markdown.prose(body))
