"""One exception root, so the CLI can turn every user-fixable problem into one line and exit code 1."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RunbookSynthError(Exception):
    """A problem the user can fix. The message names the file, source or option and the remedy."""


class SourceError(RunbookSynthError):
    """A source (file, log stream, API) could not be read or parsed."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class NotEnoughRunsError(RunbookSynthError):
    """Fewer recorded executions than a pattern needs: there is nothing to mine yet."""


class EmptyRunbookError(RunbookSynthError):
    """Runs were found, but no command recurs in enough of them to make a step: nothing to write."""


class UnsafePathError(RunbookSynthError):
    """A user-given name or path would escape the folder it must stay in."""


class LockedError(RunbookSynthError):
    """Another run holds the output folder's lock."""


class ConfigError(RunbookSynthError):
    """A configuration key or value is wrong."""

    @classmethod
    def unknown_key(cls, source: str, key: str, table: str, known: Iterable[str], listing: str = "") -> ConfigError:
        """`unknown key 'x' in [table]; did you mean 'y'?` (or `listing` when nothing is close)."""
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else listing
        return cls(f"{source}: unknown key '{key}' in {table}{hint}")


class ParameterError(RunbookSynthError):
    """A parameter of a library call is wrong; the message names the parameter, the CLI names its flag."""

    def __init__(self, parameter: str, value: object, problem: str) -> None:
        self.parameter = parameter
        self.value = value
        self.problem = problem
        super().__init__(f"{parameter} {value}: {problem}")

    def phrased(self, name: str) -> str:
        return f"{name} {self.value}: {self.problem}"
