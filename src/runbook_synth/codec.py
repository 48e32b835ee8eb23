"""Records to JSON and back for the state store: observations for the parse cache (a file whose content did
not change is not redacted and parsed again), and runbooks, patterns and source accounts for the last
regeneration's snapshot (so `list` and one `generate` on an unchanged library read nothing)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from runbook_synth.models import (
    CommandRun,
    FailureDetail,
    Observation,
    Pattern,
    Provenance,
    RedactionFinding,
    Runbook,
    SourceAccount,
    SourceKind,
)

_Record = TypeVar("_Record")

CODEC_VERSION = "1"
"""Bumped whenever Observation's shape or the parsers change what they extract; old cache entries then miss."""


def plain(value: Any, *, provenance_text: bool = False) -> Any:
    """`dataclasses.asdict` without its deep copies (records are frozen; their values are immutable), and with
    provenance_text, Provenance records as `path:line` strings."""
    if provenance_text and isinstance(value, Provenance):
        return str(value)
    names = _field_names(type(value))
    if names is not None:
        return {name: plain(getattr(value, name), provenance_text=provenance_text) for name in names}
    if isinstance(value, list | tuple):
        return [plain(item, provenance_text=provenance_text) for item in value]
    if isinstance(value, dict):
        return {key: plain(item, provenance_text=provenance_text) for key, item in value.items()}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    if kind not in _FIELD_NAMES:
        fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else None
        _FIELD_NAMES[kind] = tuple(field.name for field in fields) if fields is not None else None
    return _FIELD_NAMES[kind]


def observation_to_json(
    observation: Observation, findings: tuple[RedactionFinding, ...], warnings: list[str], facts: Any = None
) -> str:
    """A parse as the parse cache keeps it; `facts` is what classification found of it, kept as given
    (plain JSON values)."""
    data = plain(observation)
    data["when"] = observation.when.isoformat() if observation.when else None
    data["day"] = observation.day.isoformat() if observation.day else None
    payload = {"observation": data, "findings": [plain(item) for item in findings], "warnings": warnings}
    payload["facts"] = facts
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def observation_from_json(text: str) -> tuple[Observation, tuple[RedactionFinding, ...], list[str], Any]:
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
    return observation, findings, list(payload["warnings"]), payload.get("facts")


def _failure(data: dict[str, Any]) -> FailureDetail:
    return FailureDetail(
        **{**data, "error_messages": tuple(data["error_messages"]), "fix_commands": tuple(data["fix_commands"])}
    )


def runbook_from_json(data: dict[str, Any]) -> Runbook:
    """The Runbook whose `render.to_json_dict` is `data` (provenances written as `path:line`)."""
    return from_plain(Runbook, data)


def pattern_from_json(data: dict[str, Any]) -> Pattern:
    return from_plain(Pattern, data)


def account_from_json(data: dict[str, Any]) -> SourceAccount:
    return from_plain(SourceAccount, data)


def from_plain(kind: type[_Record], data: Any) -> _Record:
    """A frozen record rebuilt from its `asdict` form by its field types: nested records, tuples, optionals,
    enums; a field the data lacks takes its default. Anything else is a ValueError naming the field.

    The decoder of each type is built once (a runbook of twenty thousand runs holds a quarter of a million
    provenances, and walking the type hints for each of them was most of the time)."""
    value: _Record = _decoder(typing.cast(Any, kind))(data)
    return value


_Decoder = Callable[[Any], Any]


@functools.cache
def _decoder(hint: Any) -> _Decoder:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        (inner,) = [option for option in options if option is not type(None)]
        decode_inner = _decoder(inner)
        optional = type(None) in options
        return lambda value: None if value is None and optional else decode_inner(value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            decode_item = _decoder(args[0])
            return lambda value: tuple(map(decode_item, _listed(value)))
        decoders = tuple(_decoder(arg) for arg in args)
        return lambda value: tuple(d(item) for d, item in zip(decoders, _listed(value), strict=False))
    if hint is Provenance:
        return _provenance
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _record_decoder(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is float:
        return _float
    if hint in (str, int, bool):
        return functools.partial(_exactly, hint)
    return lambda value: value


def _record_decoder(kind: type) -> _Decoder:
    hints = typing.get_type_hints(kind)
    fields = tuple((item.name, _decoder(hints[item.name])) for item in dataclasses.fields(kind))

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"{kind.__name__}: expected an object, found {type(value).__name__}")
        given: dict[str, Any] = {}
        for name, decode_field in fields:
            if name in value:
                try:
                    given[name] = decode_field(value[name])
                except ValueError as error:
                    raise ValueError(f"{kind.__name__}.{name}: {error}") from None
        return kind(**given)

    return decode


def _listed(value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list, found {type(value).__name__}")
    return value


def _provenance(value: Any) -> Provenance:
    if not isinstance(value, str):
        raise ValueError(f"expected path:line, found {type(value).__name__}")
    path, _, line = value.rpartition(":")
    return Provenance(path, int(line)) if path and line.isdigit() else Provenance(value)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected float, found {type(value).__name__}")
    return float(value)


def _exactly(kind: type, value: Any) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__}, found {type(value).__name__}")
    return value
