"""Runbook → markdown (jinja2) and JSON.

Templates are looked up in the user's folder first and the packaged defaults second. Rendering always uses
jinja2's sandbox: user templates come from a repository, and observation text is only ever data (an
observation containing `{{ … }}` renders literally, because data is never compiled as a template).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from runbook_synth.codec import plain
from runbook_synth.display import printable
from runbook_synth.errors import RunbookSynthError
from runbook_synth.models import Runbook, type_title
from runbook_synth.resources import packaged_templates

RENDER_SECONDS = 10.0
"""A user template gets this much wall time, plus ``RENDER_SECONDS_PER_ITEM`` for each command, source and
troubleshooting entry of the runbook: a template that loops for ever is an error, not a hang, while a big
runbook is not (the packaged template takes about 80 µs a command; 100,000 commands render in 8 s)."""
RENDER_SECONDS_PER_ITEM = 0.001


class ContainedLoader(jinja2.FileSystemLoader):
    """A file system loader that never follows a symlink out of the templates folder it was found in."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(folder).resolve()) for folder in self.searchpath):
            raise jinja2.exceptions.SecurityError(f"{template} resolves to {real}, outside the templates folder")
        return source, filename, uptodate


def environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    """One environment per templates folder and its listing, for the life of the process: jinja2 then compiles
    each template once, not once per runbook; it recompiles one whose file changed (``auto_reload``), and a
    template added to or removed from the user's folder gives a new environment (the lookup order changed)."""
    return _environment(templates_dir, _listing(templates_dir))


def _listing(folder: Path | None) -> tuple[str, ...]:
    if folder is None:
        return ()
    try:
        return tuple(sorted(str(path.relative_to(folder)) for path in folder.rglob("*")))
    except OSError:
        return ("unreadable",)


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: Path | None, listing: tuple[str, ...]) -> SandboxedEnvironment:
    folders = [str(templates_dir)] if templates_dir else []
    folders.append(str(packaged_templates()))
    env = SandboxedEnvironment(
        loader=ContainedLoader(folders),
        finalize=lambda value: printable(value) if isinstance(value, str) else value,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["fence"] = fence
    env.filters["duration"] = format_duration
    env.filters["code"] = inline_code
    env.filters["from_ci"] = lambda sources: [source for source in sources if str(source).startswith("github:")]
    env.filters["oneline"] = lambda text: " ".join(printable(str(text)).split())
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


def format_duration(seconds: float | None) -> str:
    """A short human form: 45s, 3m 20s, 1h 05m."""
    if seconds is None:
        return "unknown"
    total = round(seconds)
    if total < 60:
        return f"{max(total, 0)}s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def runbook_context(runbook: Runbook) -> dict[str, Any]:
    """What templates see: the JSON model, plus display names and the check steps picked by number."""
    data = to_json_dict(runbook)
    by_number = {step["number"]: step for step in data["steps"]}
    return {
        "runbook": data,
        "type_title": type_title(runbook.operation_type),
        "scope_title": " ".join(printable(runbook.scope).split()) or "all scopes",
        "owner": runbook.owner or "Unassigned (set `owner` in [tool.runbook-synth])",
        "review_frequency": runbook.review_frequency,
        "pre_checks": [by_number[number] for number in runbook.pre_checks],
        "post_checks": [by_number[number] for number in runbook.post_checks],
    }


def render_markdown(runbook: Runbook, templates_dir: Path | None = None, name: str = "runbook.md.j2") -> str:
    items = sum(len(step.commands) for step in runbook.steps) + len(runbook.sources) + len(runbook.troubleshooting)
    return render_template(name, runbook_context(runbook), templates_dir, items)


def render_time_limit(templates_dir: Path | None, items: int, listing: tuple[str, ...] | None = None) -> float | None:
    """No limit for the packaged templates (ours, linear in the runbook); once the user's folder holds any
    template (it may be the one rendered or one that a packaged template includes), a limit that grows with
    the size of what is rendered. ``listing`` is the folder's, when the caller has already listed it."""
    listed = _listing(templates_dir) if listing is None else listing
    if not any(name.endswith(".j2") for name in listed):
        return None
    return RENDER_SECONDS + RENDER_SECONDS_PER_ITEM * items


def render_template(name: str, context: dict[str, Any], templates_dir: Path | None = None, items: int = 0) -> str:
    """Any template (the user's copy first), sandboxed and time-limited; every failure is one line.

    ``items`` is how big the context is (commands, sources, entries): it widens a user template's time limit."""
    listing = _listing(templates_dir)  # listed once: for the environment and for the time limit
    try:
        template = _environment(templates_dir, listing).get_template(name)
        with _time_limit(render_time_limit(templates_dir, items, listing), name):
            return template.render(**context)
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
    except UnicodeDecodeError as error:
        raise RunbookSynthError(f"template {name}: a template file is not UTF-8 ({error.reason})") from None
    except RecursionError:
        raise RunbookSynthError(f"template {name}: recursion too deep (a template that extends itself?)") from None
    except RunbookSynthError:
        raise
    except Exception as error:  # a user template may raise anything; it is their error to fix, not a crash
        raise RunbookSynthError(f"template {name}: {type(error).__name__}: {error}") from None


class _RenderTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float | None, name: str) -> Iterator[None]:
    """A wall-clock limit on rendering (main thread only, where POSIX timers deliver their signal)."""
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _RenderTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _RenderTimeout:
        raise RunbookSynthError(f"template {name}: rendering took longer than {seconds:g}s; simplify it") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def to_json_dict(runbook: Runbook) -> dict[str, Any]:
    """The public JSON shape (field names are an interface: extend, never rename); provenance records are
    `path:line` strings, as the JSON interface has always shown them."""
    data: dict[str, Any] = plain(runbook, provenance_text=True)
    return data


def render_json(runbook: Runbook) -> str:
    return json.dumps(to_json_dict(runbook), indent=2, ensure_ascii=False) + "\n"
