"""What a failure note, an error journal or a loose write-up teaches: the error, the cause, the fix and how
to prevent it. Read by the meaning of headings, the same way for every kind of source."""

from __future__ import annotations

import re

from runbook_synth.ingest import markdown
from runbook_synth.ingest.headings import Meaning, find_meaning, meanings_of
from runbook_synth.models import FailureDetail
from runbook_synth.shell import KNOWN_TOOLS, is_shell_block, program_of, split_block

ERROR_HEADINGS = ("Error Messages", "Error Message", "Errors", "Error")
ATTEMPT_HEADINGS = ("Input State", "What was attempted", "Command")


def failure_detail(all_sections: list[markdown.Section]) -> FailureDetail:
    """The lessons of one document; empty fields where it does not say."""
    errors: list[str] = []
    error_section = markdown.find_section(all_sections, *ERROR_HEADINGS)
    if error_section is not None:
        text, line = markdown.section_with_children_text(error_section, all_sections)
        errors = _code_blocks(text, line)
    symptoms = ""
    section = find_meaning(all_sections, Meaning.SYMPTOMS) or error_section
    if section is not None:
        text, line = markdown.section_with_children_text(section, all_sections)
        symptoms = markdown.prose(text)
        errors = errors or _code_blocks(text, line)
        if not errors:
            errors = [code for code, _ in markdown.inline_code(text) if len(code) > 12]
    return FailureDetail(
        error_messages=tuple(errors[:10]),
        symptoms=symptoms[:4000],
        failed_command=_failed_command(all_sections),
        root_cause=section_prose(all_sections, Meaning.ROOT_CAUSE),
        fix_commands=fix_commands(all_sections),
        prevention=section_prose(all_sections, Meaning.PREVENTION),
    )


def _code_blocks(text: str, line: int) -> list[str]:
    return [
        b.text.strip() for b in markdown.blocks(text, line) if b.text.strip() and not markdown.is_placeholder(b.text)
    ]


def _failed_command(all_sections: list[markdown.Section]) -> str:
    state = markdown.find_section(all_sections, *ATTEMPT_HEADINGS)
    if state is None:
        return ""
    attempted = markdown.blocks_after_field(state.text, "What was attempted", state.line)
    for block in attempted or markdown.blocks(state.text, state.line):
        parsed = split_block(block.text)
        if parsed and not markdown.is_placeholder(block.text):
            return parsed[-1].command
    return ""


def section_prose(all_sections: list[markdown.Section], meaning: Meaning) -> str:
    """A section's prose as one line of `;`-joined items, labels and template leftovers removed; with no
    such section, the answer a ticked checklist item of that meaning gives (`- [x] Root cause -> ...`)."""
    section = find_meaning(all_sections, meaning)
    if section is None:
        return _ticked_answer(all_sections, meaning)
    text, _ = markdown.section_with_children_text(section, all_sections)
    kept: list[str] = []
    for raw in text.split("\n"):
        if raw.strip() == "---":
            break
        kept.append(raw)
    items: list[str] = []
    for line in markdown.prose("\n".join(kept)).split("\n"):
        line = re.sub(r"^[-*]\s+(\[[ xX]\]\s+)?", "", line).strip()
        if re.fullmatch(r"\*\*[^*]+\*\*:?", line):
            continue  # a label alone on its line ("**Lesson learned**:"); its text follows
        line = re.sub(r"\*\*([^*]+?):?\*\*:?", r"\1:", line).strip()
        if not line or line.startswith("#") or line.lower().startswith("action items"):
            continue
        if "${" in line or line.lower().startswith("optional content"):
            continue
        if re.search(r":\s*(?:n/?a|none|-)\s*$", line, re.IGNORECASE):
            continue
        items.append(line.rstrip(";"))
    joined = "; ".join(item.rstrip(".") if index < len(items) - 1 else item for index, item in enumerate(items))
    return joined[:1500].strip()


_TICKED = re.compile(r"^\s*[-*+]\s+\[[xX]\]\s+(?P<label>[^:>→—]+?)\s*(?:->|→|—|:)\s*(?P<answer>\S.*)$")


def _ticked_answer(all_sections: list[markdown.Section], meaning: Meaning) -> str:
    """`- [x] Root cause (requires investigation) -> the 09-10 change set min_capacity = 1`: the /observe
    failure template's checklist, ticked and answered in place."""
    for section in all_sections:
        for line in markdown.lines_outside_fences(section.text):
            match = _TICKED.match(line)
            if match and meaning in meanings_of(match.group("label")):
                return markdown.prose(match.group("answer")).strip()[:1500]
    return ""


_LABEL = re.compile(r"^\s*(?:\*\*|__)?(?P<label>[A-Za-z][^:*_]{1,60}?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*$")


def _is_fix_label(line: str) -> bool:
    """A line that only announces what follows as the fix: `Mitigation that worked:`, `**Workaround**:`."""
    match = _LABEL.match(line)
    return match is not None and Meaning.FIX in meanings_of(match.group("label"))


def fix_commands(all_sections: list[markdown.Section]) -> tuple[str, ...]:
    """Shell commands of the fix section's code blocks (code that is not shell is left out); with no fix
    heading, of the blocks after a line that labels them the fix ("Mitigation that worked:" under
    `## Update 04:25`). A heredoc that writes a file a later fix command reads is part of the fix."""
    section = find_meaning(all_sections, Meaning.FIX)
    found: list[markdown.Block] = []
    if section is not None:
        text, line = markdown.section_with_children_text(section, all_sections)
        found = markdown.blocks(text, line)
    else:
        for candidate in all_sections:
            labelled = markdown.blocks_after_label(candidate.text, _is_fix_label, candidate.line)
            if labelled is not None:
                found = labelled
                break
    commands: list[tuple[str, bool]] = []
    for block in found:
        if not is_shell_block(block.language, block.text):
            continue
        for command in split_block(block.text):
            text = command.command
            commands.append((text, program_of(text) in KNOWN_TOOLS or text.startswith("export ")))
    kept = [text for index, (text, tool) in enumerate(commands) if tool or _writes_what_follows_read(index, commands)]
    return tuple(dict.fromkeys(kept))


_HEREDOC_TARGET = re.compile(r"<<-?\s*['\"]?\w+['\"]?[^\n]*?(?:>|\btee\s+(?:-a\s+)?)\s*(?P<file>[\w./-]+)")


def _writes_what_follows_read(index: int, commands: list[tuple[str, bool]]) -> bool:
    """A heredoc (`cat <<'EOF' > redrive.json`) whose file a later tool command of the fix names."""
    match = _HEREDOC_TARGET.search(commands[index][0].split("\n", 1)[0])
    if match is None:
        return False
    name = match.group("file").rsplit("/", 1)[-1]
    return any(tool and name in text for text, tool in commands[index + 1 :])
