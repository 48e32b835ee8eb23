"""`runbook init`: the files that make runbook-synth live in a team's repository (the Claude Code slash
command, the nightly GitHub workflow, a `.gitignore` entry), written without overwriting unless forced.

The texts are package data (`templates/scaffold/`), so a team can read them as files and a test can parse
them; they are copied verbatim, never rendered, because both hold `$ARGUMENTS` / `${{ }}` syntax of their own.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path

from runbook_synth.errors import RunbookSynthError
from runbook_synth.output import atomic_write
from runbook_synth.resources import packaged_templates

SLASH_COMMAND = Path(".claude/commands/runbook.md")
WORKFLOW = Path(".github/workflows/runbook-nightly.yml")
GITIGNORE = Path(".gitignore")
IGNORE_ENTRY = ".runbook-synth/"
_SCAFFOLD = {SLASH_COMMAND: "slash-command.md", WORKFLOW: "runbook-nightly.yml"}

_SHELL_META = re.compile(r"[$`;|&<>(){}\[\]*?!~#'\"\\\n\r]")
_MAX_ARGUMENT = 200


class Action(enum.StrEnum):
    CREATED = "created"
    OVERWRITTEN = "overwritten"
    KEPT = "kept"
    """Already there, left alone (pass force to replace it)."""
    APPENDED = "appended"
    """The `.gitignore` entry was added to an existing file."""


def scaffold_text(name: str) -> str:
    """A packaged scaffold file's text."""
    path = packaged_templates() / "scaffold" / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise RunbookSynthError(
            f"{path}: packaged scaffold missing ({error.strerror}); reinstall runbook-synth"
        ) from None


def init_files(root: Path, force: bool = False) -> list[tuple[Path, Action]]:
    """Write the slash command, the nightly workflow and the `.gitignore` entry; what exists is kept unless force."""
    if not root.is_dir():
        raise RunbookSynthError(f"--root {root}: no such folder; run `runbook init` inside your repository")
    done: list[tuple[Path, Action]] = []
    for relative, name in _SCAFFOLD.items():
        target = root / relative
        if target.is_symlink():
            raise RunbookSynthError(f"{target}: is a symbolic link; remove it and run `runbook init` again")
        existed = target.exists()
        if existed and not force:
            done.append((relative, Action.KEPT))
            continue
        atomic_write(target, scaffold_text(name))
        done.append((relative, Action.OVERWRITTEN if existed else Action.CREATED))
    done.append((GITIGNORE, _ignore_state(root / GITIGNORE)))
    return done


def _ignore_state(path: Path) -> Action:
    """Add `.runbook-synth/` to .gitignore unless a line already ignores it (force never removes user lines)."""
    if path.is_symlink():
        raise RunbookSynthError(f"{path}: is a symbolic link; remove it and run `runbook init` again")
    if not path.exists():
        atomic_write(path, IGNORE_ENTRY + "\n")
        return Action.CREATED
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RunbookSynthError(f"{path}: cannot be read ({error}); add the line {IGNORE_ENTRY} yourself") from None
    lines = {line.strip() for line in text.splitlines()}
    if lines & {IGNORE_ENTRY, IGNORE_ENTRY.rstrip("/"), "/" + IGNORE_ENTRY, "/" + IGNORE_ENTRY.rstrip("/")}:
        return Action.KEPT
    separator = "" if not text or text.endswith("\n") else "\n"
    atomic_write(path, f"{text}{separator}{IGNORE_ENTRY}\n")
    return Action.APPENDED


def check_cli_argument(text: str, what: str = "argument") -> str:
    """A type or scope as the slash command passes it: a plain word or phrase, nothing a shell would act on.

    The slash command puts `$ARGUMENTS` into a shell line unescaped, so a quoted `$(…)`, a backtick or a `;`
    reaching us means someone is trying to smuggle a command; refuse it in one line rather than mine it.
    (An unquoted `;` is split off by the shell before we run; Claude Code's `allowed-tools: Bash(runbook *)`
    is what refuses that.)
    """
    found = _SHELL_META.search(text)
    if found:
        shown = found.group().encode("unicode_escape").decode("ascii")
        raise RunbookSynthError(
            f"{what} {text!r}: contains {shown!r}; use a plain word or phrase (letters, digits, spaces, - _ . / : ,)"
        )
    if text.startswith("-"):
        raise RunbookSynthError(f"{what} {text!r}: starts with '-'; use a plain word or phrase, not an option")
    if len(text) > _MAX_ARGUMENT:
        raise RunbookSynthError(f"{what}: longer than {_MAX_ARGUMENT} characters; use a short word or phrase")
    return text
