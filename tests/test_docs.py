"""The README is the user's manual: every command, option, setting and JSON field must be in it."""

from __future__ import annotations

from pathlib import Path

import typer.main

from runbook_synth.cli import app
from runbook_synth.models import Runbook, Step, TroubleshootingEntry
from runbook_synth.settings import documented_keys

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_documented() -> None:
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"runbook {name}" in README, f"command {name} is not in the README"
        for parameter in command.params:
            for option in parameter.opts:
                if option.startswith("--"):
                    assert f"`{option}" in README, f"option {option} of {name} is not in the README"


def test_every_setting_is_documented() -> None:
    for key, doc in documented_keys().items():
        assert doc, f"setting {key} has no documentation beside its field"
        assert f"`{key}`" in README, f"setting {key} is not in the README"


def test_every_json_field_is_documented() -> None:
    for record in (Runbook, Step, TroubleshootingEntry):
        for name in record.__dataclass_fields__:
            if name != "extra":
                assert f"`{name}`" in README, f"JSON field {name} is not in the README"
