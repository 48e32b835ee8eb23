"""runbook-synth: mine recorded operations into runbooks.

The public API: everything the CLI does is one call here.

    settings = load_settings(check_root(root))
    generated = generate(GenerateRequest(root, "deployment", "lambda", date.today(), settings))
    write(generated, root / "runbooks")
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from runbook_synth.errors import RunbookSynthError
from runbook_synth.ingest.files import check_root
from runbook_synth.models import Pattern
from runbook_synth.pipeline import (
    Generated,
    GenerateRequest,
    generate,
    generate_and_write,
    ingest,
    list_patterns,
    render,
    write,
)
from runbook_synth.settings import Settings, load_settings
from runbook_synth.sources import ingest_github


def pattern_dict(pattern: Pattern) -> dict[str, Any]:
    """A pattern as `runbook list --format json` shows it (same facts as the table)."""
    return {**asdict(pattern), "ready": pattern.enough_runs}


__all__ = [
    "GenerateRequest",
    "Generated",
    "RunbookSynthError",
    "Settings",
    "check_root",
    "generate",
    "generate_and_write",
    "ingest",
    "ingest_github",
    "list_patterns",
    "load_settings",
    "pattern_dict",
    "render",
    "write",
]
