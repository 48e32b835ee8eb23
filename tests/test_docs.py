"""The README is the user's manual: every command, option, setting and JSON field must be in it."""

from __future__ import annotations

from pathlib import Path

import typer.main
from cogapp import Cog

from runbook_synth import reference
from runbook_synth.cli import app
from runbook_synth.models import Runbook, Step, TroubleshootingEntry
from runbook_synth.settings import documented_keys

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text(encoding="utf-8")


def _commands(group: object, prefix: str = "runbook") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        full = f"{prefix} {name}"
        found.append((full, command))
        if hasattr(command, "commands"):
            found.extend(_commands(command, full))
    return found


def test_every_command_and_option_is_documented() -> None:
    for name, command in _commands(typer.main.get_command(app)):
        assert name in README, f"command {name} is not in the README"
        for parameter in command.params:  # type: ignore[attr-defined]
            for option in parameter.opts:
                if option.startswith("--"):
                    assert f"`{option}" in README, f"option {option} of {name} is not in the README"


def test_every_setting_is_documented_beside_its_field() -> None:
    for key, doc in documented_keys().items():
        assert doc, f"setting {key} has no documentation beside its field"


def test_readme_tables_are_generated_from_the_code() -> None:
    """`make docs` regenerates them; a stale table fails here (and in `make lint`)."""
    checker = Cog()
    checker.options.bReplace = False
    checker.options.bCheck = True
    checker.options.bNoGenerate = False
    assert checker.main(["cog", "--check", str(README_PATH)]) == 0, "README is stale: run `make docs`"


def test_every_json_field_is_in_the_generated_table() -> None:
    table = reference.json_fields_table()
    for record in (Runbook, Step, TroubleshootingEntry):
        for name in record.__dataclass_fields__:
            assert f"`{record.__name__}.{name}`" in table
