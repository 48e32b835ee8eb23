"""Settings: `[tool.runbook-synth]` in pyproject.toml or a runbook-synth.toml, found by walking up from the root.

Every key is documented beside its field; an unknown key is an error with a "did you mean".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from runbook_synth.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    sources: tuple[str, ...] = field(
        default=(".claude/observations", ".claude/journals"),
        metadata={
            "doc": "Folders read as sources, relative to the root (`*` globs allowed); `journals` in a path "
            "reads it as a journal."
        },
    )
    min_runs: int = field(default=2, metadata={"doc": "Fewest matching executions that make a pattern."})
    required_support: float = field(
        default=0.8, metadata={"doc": "A step seen in at least this share of runs is required."}
    )
    optional_support: float = field(
        default=0.15,
        metadata={
            "doc": "A step seen in at least this share of runs (but below required) is optional; below it, noise."
        },
    )
    min_step_runs: int = field(
        default=2, metadata={"doc": "Fewest runs a command must be seen in to be a step (with two or more runs)."}
    )
    trivial_steps: int = field(
        default=2, metadata={"doc": "A procedure with this many steps or fewer is flagged as trivial."}
    )
    max_file_mb: float = field(default=20.0, metadata={"doc": "Larger source files are skipped by name."})
    max_commands_per_source: int = field(
        default=5000,
        metadata={"doc": "Commands used from one source at most; past it the rest are dropped with a warning."},
    )
    owner: str = field(default="", metadata={"doc": "Shown as Runbook Owner; empty says it is unassigned."})
    review_frequency: str = field(
        default="", metadata={"doc": "Shown as Review Frequency; empty picks Monthly or Quarterly by type."}
    )
    redact_patterns: tuple[tuple[str, str], ...] = field(
        default=(), metadata={"doc": "Extra secrets to mask: a table of kind = regex."}
    )
    redact_allowlist: tuple[str, ...] = field(
        default=(), metadata={"doc": "Values that look secret but are not; never masked."}
    )
    risk_level: str = field(
        default="", metadata={"doc": "Shown as Risk Level (Low, Medium, High, Critical); empty writes a TODO."}
    )
    escalation: str = field(
        default="", metadata={"doc": "The Escalation section: when to escalate, who, what to provide; empty: a TODO."}
    )
    lint_disable: tuple[str, ...] = field(
        default=(), metadata={"doc": "Lint rules (ids or slugs) turned off for `runbook lint`."}
    )
    scope_threshold: float = field(
        default=0.62, metadata={"doc": "How similar (0-1) an observation must be to a free-text scope."}
    )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_048_576)


def documented_keys() -> dict[str, str]:
    """Every setting with its documentation, for the README and `--help` checks."""
    return {item.name: str(item.metadata.get("doc", "")) for item in fields(Settings)}


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest runbook-synth.toml, or pyproject.toml with a [tool.runbook-synth] table.

    The walk goes up from the root to the top of its git repository, and no further; outside a repository
    only the root itself is looked at, so a stray file in a parent folder never changes a run.
    """
    for folder in _config_folders(start):
        dedicated = folder / "runbook-synth.toml"
        if dedicated.is_file():
            return dedicated, _load_toml(dedicated)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _load_toml(pyproject).get("tool", {}).get("runbook-synth")
            if isinstance(table, dict):
                return pyproject, table
    return None


def _config_folders(start: Path) -> list[Path]:
    folders: list[Path] = []
    for folder in [start, *start.parents]:
        folders.append(folder)
        if (folder / ".git").exists():
            return folders
    return [start]


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration ({error})") from None


def load_settings(root: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from the nearest configuration file, with command-line overrides on top."""
    settings = Settings()
    found = find_config(root.resolve())
    if found is not None:
        path, table = found
        settings = apply(settings, table, str(path))
    if overrides:
        given = {key: value for key, value in overrides.items() if value is not None}
        for key, value in given.items():
            check_range(key, value, "command line")
        settings = replace(settings, **given)
    return settings


SOURCE_TABLES = ("cloudwatch", "github")
"""Sub-tables of [tool.runbook-synth] that belong to a source and are parsed by it."""


def source_table(root: Path, name: str) -> tuple[dict[str, Any], str]:
    """A source's configuration table (`[tool.runbook-synth.<name>]`) and where it came from."""
    found = find_config(root.resolve())
    if found is None:
        return {}, f"[tool.runbook-synth.{name}]"
    path, table = found
    value = table.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [tool.runbook-synth.{name}] must be a table")
    return value, f"{path} [tool.runbook-synth.{name}]"


def apply(settings: Settings, table: dict[str, Any], source: str) -> Settings:
    known = {item.name.replace("_", "-"): item.name for item in fields(Settings)}
    known.update({item.name: item.name for item in fields(Settings)})
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key in SOURCE_TABLES and isinstance(value, dict):
            continue  # read by the source's own parser: source_table()
        name = known.get(key)
        if name is None:
            raise ConfigError.unknown_key(source, key, "[tool.runbook-synth]", known)
        changes[name] = _coerce(name, value, source)
    return replace(settings, **changes)


def _coerce(name: str, value: Any, source: str) -> Any:
    default = getattr(Settings(), name)
    if name == "redact_patterns":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f'{source}: {name} must be a table of kind = "regex"')
        return tuple(sorted((str(kind), pattern) for kind, pattern in value.items()))
    if name in ("redact_allowlist", "lint_disable", "sources"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: {name} must be a list of strings")
        return tuple(value)
    accepted: tuple[type, ...] = (int, float) if isinstance(default, float) else (type(default),)
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise ConfigError(f"{source}: {name} must be a {type(default).__name__}, got {value!r}")
    check_range(name, value, source)
    return type(default)(value)


def check_range(name: str, value: Any, source: str) -> None:
    """Numbers outside a setting's documented range are refused, naming the key and the range."""
    bounds = RANGES.get(name)
    if bounds is None or isinstance(value, str):
        return
    low, high = bounds
    if not (low <= value <= high) or value != value:
        raise ConfigError(f"{source}: {name} must be between {low} and {high}, got {value!r}")


RANGES: dict[str, tuple[float, float]] = {
    "min_runs": (1, 100_000),
    "required_support": (0.0, 1.0),
    "optional_support": (0.0, 1.0),
    "min_step_runs": (1, 100_000),
    "trivial_steps": (0, 1_000),
    "max_file_mb": (0.001, 10_240),
    "max_commands_per_source": (1, 1_000_000),
    "scope_threshold": (0.0, 1.0),
}
"""Accepted range of each numeric setting."""
