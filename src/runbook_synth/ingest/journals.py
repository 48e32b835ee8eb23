"""`.claude/journals/<category>/**`: error journals teach cause, fix and prevention; others give context.

Some real journals have no frontmatter and carry `**Date**:` lines instead; headings are free-form.
"""

from __future__ import annotations

import re

from runbook_synth.ingest import markdown
from runbook_synth.ingest.files import FrontmatterDocument, date_from, scalar, tag_list
from runbook_synth.ingest.observations import title_of
from runbook_synth.models import Observation, SourceKind
from runbook_synth.shell import KNOWN_TOOLS, program_of, split_block

_SHELLISH = {"", "bash", "sh", "shell", "console", "zsh"}


def category_of(relative: str, metadata_category: str) -> str:
    """The folder under journals/ (error, process, architecture, ...) unless frontmatter says otherwise."""
    if metadata_category and not markdown.is_placeholder(metadata_category) and "|" not in metadata_category:
        return metadata_category.strip().lower()
    parts = relative.split("/")
    if "journals" in parts:
        index = parts.index("journals")
        if index + 2 < len(parts):
            return parts[index + 1].lower()
    return "general"


def parse_journal(relative: str, document: FrontmatterDocument) -> Observation:
    metadata = document.metadata
    all_sections = markdown.sections(document.body, document.body_line)
    day = date_from(metadata.get("date"), markdown.field(document.body, "Date"), relative)
    symptoms_section = markdown.find_section(all_sections, "Symptoms", "Problem", "What went wrong")
    errors: list[str] = []
    symptoms = ""
    if symptoms_section is not None:
        text, line = markdown.section_with_children_text(symptoms_section, all_sections)
        symptoms = markdown.prose(text)
        errors = [b.text.strip() for b in markdown.blocks(text, line) if b.text.strip()]
        if not errors:
            errors = [code for code, _ in markdown.inline_code(text) if len(code) > 12]
    return Observation(
        path=relative,
        kind=SourceKind.JOURNAL,
        title=title_of(document, all_sections),
        context=scalar(metadata, "context"),
        tags=tag_list(metadata),
        category=category_of(relative, scalar(metadata, "category")),
        day=day,
        environment=_clean(scalar(metadata, "environment")).lower(),
        severity=_clean(scalar(metadata, "severity")).lower(),
        error_messages=tuple(errors[:10]),
        symptoms=symptoms[:4000],
        root_cause=_section_prose(all_sections, "Root Cause", "Cause"),
        solution_commands=_solution_commands(all_sections),
        prevention=_section_prose(all_sections, "Prevention", "Lessons", "Lesson"),
        text=document.body[:200_000],
    )


def _clean(value: str) -> str:
    return "" if "|" in value or markdown.is_placeholder(value) else value


def _section_prose(all_sections: list[markdown.Section], *names: str) -> str:
    section = markdown.find_section(all_sections, *names)
    if section is None:
        return ""
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


def _solution_commands(all_sections: list[markdown.Section]) -> tuple[str, ...]:
    """Shell commands of the `## Solution` section's code blocks (code that is not shell is left out)."""
    section = markdown.find_section(all_sections, "Solution", "Fix", "Resolution")
    if section is None:
        return ()
    text, line = markdown.section_with_children_text(section, all_sections)
    commands: list[str] = []
    for block in markdown.blocks(text, line):
        if block.language not in _SHELLISH:
            continue
        for command in split_block(block.text):
            if program_of(command.command) in KNOWN_TOOLS or command.command.startswith("export "):
                commands.append(command.command)
    return tuple(dict.fromkeys(commands))
