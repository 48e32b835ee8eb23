"""What a command does to the system: a read-only check, or a change. Decides step roles, verification
steps, pre- and post-checks."""

from __future__ import annotations

import re

from runbook_synth.catalog import (
    AWS_CHECK_OPERATION,
    AWS_MUTATING_EXCEPTIONS,
    CHECK_VERBS,
    TEST_RUNNERS,
    TEXT_FILTERS,
)
from runbook_synth.models import StepRole
from runbook_synth.shell import program_of, strip_wrappers, words

_PIPELINE = re.compile(r"\|\|?|&&|;")
_CURL_WRITES = re.compile(r"-X\s*(?:POST|PUT|DELETE|PATCH)|--data|-d\s")
_SQL_READS = re.compile(r"\b(?:select|show|\\d)\b|\\d", re.IGNORECASE)
_SQL_WRITES = re.compile(r"\b(?:insert|update|delete|alter|drop|create)\b", re.IGNORECASE)
_TEST_TARGET = re.compile(r"\btest|\bsmoke|\bcheck|\bverify")


def is_check(command: str) -> bool:
    """A read-only command that shows whether something worked (get, describe, wait, curl, status).

    In a pipeline every part must be a check or a text filter: `get-login-password | docker login` is not.
    """
    parts = [part for part in _PIPELINE.split(command) if part.strip()]
    if len(parts) > 1:
        return _is_single_check(parts[0]) and all(
            program_of(part) in TEXT_FILTERS or _is_single_check(part) for part in parts[1:]
        )
    return _is_single_check(command)


def role_of(commands: tuple[str, ...]) -> StepRole:
    """A step is a check only when every command of it is one."""
    return StepRole.CHECK if commands and all(is_check(command) for command in commands) else StepRole.CHANGE


def _is_single_check(command: str) -> bool:
    tokens = words(strip_wrappers(command))
    if not tokens:
        return False
    program = tokens[0].rsplit("/", 1)[-1]
    if program == "aws":
        verbs = [token for token in tokens[1:4] if not token.startswith("-")]
        return len(verbs) >= 2 and bool(AWS_CHECK_OPERATION.match(verbs[1])) and verbs[1] not in AWS_MUTATING_EXCEPTIONS
    if program == "curl":
        return not _CURL_WRITES.search(command)
    if program in ("psql", "mysql"):
        return bool(_SQL_READS.search(command)) and not _SQL_WRITES.search(command)
    if program in TEST_RUNNERS and _TEST_TARGET.search(command):
        return True
    check_verbs = CHECK_VERBS.get(program)
    return bool(check_verbs and len(tokens) > 1 and tokens[1] in check_verbs)
