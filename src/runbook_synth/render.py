"""Runbook → markdown (jinja2) and JSON.

Templates are looked up in the user's folder first and the packaged defaults second. Rendering always uses
jinja2's sandbox: user templates come from a repository, and observation text is only ever data (an
observation containing `{{ … }}` renders literally, because data is never compiled as a template).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from runbook_synth.durations import format_duration
from runbook_synth.errors import RunbookSynthError
from runbook_synth.models import Runbook
from runbook_synth.settings import Settings
from runbook_synth.synthesize import is_check, review_frequency

TYPE_TITLES = {
    "deployment": "Deployment",
    "rollback": "Rollback",
    "incident-response": "Incident Response",
    "migration": "Migration",
    "scaling": "Scaling",
}


def packaged_templates() -> Path:
    """The default templates: inside the installed package, or the repository's templates/ folder."""
    installed = Path(__file__).parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "templates"


def environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    folders = [str(templates_dir)] if templates_dir else []
    folders.append(str(packaged_templates()))
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["fence"] = fence
    env.filters["duration"] = format_duration
    env.filters["code"] = inline_code
    env.filters["oneline"] = lambda text: " ".join(str(text).split())
    env.tests["check"] = is_check
    return env


def fence(text: str, language: str = "") -> str:
    """A fenced block that the text cannot close early (the fence is longer than any backtick run in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marker = "`" * max(3, longest + 1)
    return f"{marker}{language}\n{text.rstrip()}\n{marker}"


def inline_code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marker = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marker}{padding}{text}{padding}{marker}"


def runbook_context(runbook: Runbook, settings: Settings) -> dict[str, Any]:
    data = to_json_dict(runbook)
    steps = runbook.steps
    mutating = [step.number for step in steps if not all(is_check(command) for command in step.commands)]
    first_change = mutating[0] if mutating else 0
    last_change = mutating[-1] if mutating else 0
    return {
        "runbook": data,
        "type_title": TYPE_TITLES.get(runbook.operation_type, runbook.operation_type.replace("-", " ").title()),
        "scope_title": runbook.scope or "all scopes",
        "owner": settings.owner or "Unassigned (set `owner` in [tool.runbook-synth])",
        "review_frequency": review_frequency(runbook.operation_type, settings),
        "pre_checks": [step for step in data["steps"] if first_change and step["number"] < first_change],
        "post_checks": [step for step in data["steps"] if last_change and step["number"] > last_change],
        "aws_services": _aws_services(runbook),
    }


def _aws_services(runbook: Runbook) -> list[str]:
    found: list[str] = []
    for step in runbook.steps:
        for command in step.commands:
            found.extend(re.findall(r"(?:^|\s)aws\s+([a-z0-9-]+)\s", command + " "))
    return sorted(set(found))


def render_markdown(
    runbook: Runbook, settings: Settings, templates_dir: Path | None = None, name: str = "runbook.md.j2"
) -> str:
    try:
        template = environment(templates_dir).get_template(name)
        return template.render(**runbook_context(runbook, settings))
    except jinja2.TemplateNotFound as error:
        raise RunbookSynthError(
            f"template {error.name!r} not found in {templates_dir or packaged_templates()}"
        ) from None
    except jinja2.TemplateSyntaxError as error:
        raise RunbookSynthError(
            f"{error.filename or error.name}:{error.lineno}: template syntax error: {error.message}"
        ) from None
    except jinja2.UndefinedError as error:
        raise RunbookSynthError(f"template {name}: {error.message}") from None
    except jinja2.exceptions.SecurityError as error:
        raise RunbookSynthError(f"template {name}: refused by the sandbox: {error}") from None


def to_json_dict(runbook: Runbook) -> dict[str, Any]:
    """The public JSON shape (field names are an interface: extend, never rename)."""
    data = asdict(runbook)
    data.pop("extra", None)
    return data


def render_json(runbook: Runbook) -> str:
    return json.dumps(to_json_dict(runbook), indent=2, ensure_ascii=False) + "\n"
