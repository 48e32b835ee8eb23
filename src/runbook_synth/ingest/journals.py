"""`.claude/journals/<category>/**`: error journals teach cause, fix and prevention; others give context.

Some real journals have no frontmatter and carry `**Date**:` lines instead; headings are free-form.
"""

from __future__ import annotations

from runbook_synth.ingest import markdown
from runbook_synth.ingest.files import FrontmatterDocument, date_from, scalar, tag_list
from runbook_synth.ingest.lessons import failure_detail
from runbook_synth.ingest.observations import title_of
from runbook_synth.models import Observation, SourceKind


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
    return Observation(
        path=relative,
        kind=SourceKind.JOURNAL,
        title=title_of(document, all_sections),
        context=scalar(metadata, "context"),
        tags=tag_list(metadata),
        category=category_of(relative, scalar(metadata, "category")),
        day=date_from(metadata.get("date"), markdown.field(document.body, "Date"), relative),
        environment=_clean(scalar(metadata, "environment")).lower(),
        severity=_clean(scalar(metadata, "severity")).lower(),
        failure=failure_detail(all_sections),
    )


def _clean(value: str) -> str:
    return "" if "|" in value or markdown.is_placeholder(value) else value
