"""Observations to JSON and back, for the parse cache in the state store: a file whose content did not
change is not redacted and parsed again."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from runbook_synth.models import CommandRun, FailureDetail, Observation, Provenance, RedactionFinding, SourceKind

CODEC_VERSION = "1"
"""Bumped whenever Observation's shape or the parsers change what they extract; old cache entries then miss."""


def observation_to_json(observation: Observation, findings: tuple[RedactionFinding, ...], warnings: list[str]) -> str:
    data = asdict(observation)
    data["when"] = observation.when.isoformat() if observation.when else None
    data["day"] = observation.day.isoformat() if observation.day else None
    payload = {"observation": data, "findings": [asdict(item) for item in findings], "warnings": warnings}
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def observation_from_json(text: str) -> tuple[Observation, tuple[RedactionFinding, ...], list[str]]:
    payload = json.loads(text)
    data: dict[str, Any] = payload["observation"]
    commands = tuple(
        CommandRun(**{**run, "provenance": Provenance(**run["provenance"])}) for run in data.pop("commands")
    )
    failure = data.pop("failure")
    observation = Observation(
        **{
            **data,
            "kind": SourceKind(data["kind"]),
            "tags": tuple(data["tags"]),
            "when": datetime.fromisoformat(data["when"]) if data["when"] else None,
            "day": date.fromisoformat(data["day"]) if data["day"] else None,
            "commands": commands,
            "failure": _failure(failure) if failure is not None else None,
        }
    )
    findings = tuple(RedactionFinding(**item) for item in payload["findings"])
    return observation, findings, list(payload["warnings"])


def _failure(data: dict[str, Any]) -> FailureDetail:
    return FailureDetail(
        **{**data, "error_messages": tuple(data["error_messages"]), "fix_commands": tuple(data["fix_commands"])}
    )
