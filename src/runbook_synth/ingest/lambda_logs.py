"""Lambda log lines: the platform's START/END/REPORT lines, its timeout lines, and application ERROR/WARN lines.

Pure text parsing, so it can be tested on literal lines and reused by the raw and the Insights paths alike.
Both forms of the platform lines are read: the older tab-separated REPORT (a timeout is announced by a
separate "Task timed out after N seconds" line) and the newer one that ends in ``Status: timeout``; the
JSON log format's ``platform.report`` records too. Application lines are read in the forms the managed
runtimes write them (Python ``[ERROR]\\t<time>\\t<request id>\\t<message>``, Node ``<time>\\t<request
id>\\tERROR\\t<message>``), as JSON (``{"level": "ERROR", ...}``, an unhandled ``errorType``), or plain
(``ERROR: ...``, ``level=error``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "AppLogLine",
    "LogLevel",
    "PlatformLine",
    "PlatformReport",
    "PlatformTimeout",
    "parse_lambda_message",
]


class LogLevel(StrEnum):
    """The levels worth a runbook entry; INFO and DEBUG lines are not evidence of anything going wrong."""

    ERROR = "ERROR"
    WARN = "WARN"


@dataclass(frozen=True)
class PlatformLine:
    """A START or END line: it only marks an invocation's bounds."""

    kind: str  # "START" | "END"
    request_id: str


@dataclass(frozen=True)
class PlatformReport:
    """One invocation's REPORT line: what it cost and whether it was a cold start or a timeout."""

    request_id: str
    duration_ms: float
    billed_duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None  # present only on a cold start
    timed_out: bool  # the newer form's "Status: timeout"


@dataclass(frozen=True)
class PlatformTimeout:
    """The older form's "Task timed out after N seconds" line (the REPORT that follows does not say so)."""

    request_id: str
    seconds: float


@dataclass(frozen=True)
class AppLogLine:
    """An application line at ERROR or WARN: the message is its first line, without level and request id."""

    level: LogLevel
    message: str
    request_id: str  # "" when the line does not say


ParsedLine = PlatformLine | PlatformReport | PlatformTimeout | AppLogLine

_REQUEST_ID = r"(?P<rid>[0-9A-Za-z][0-9A-Za-z-]{7,})"
_START_END = re.compile(rf"^(?P<kind>START|END) RequestId: {_REQUEST_ID}")
_REPORT = re.compile(rf"^REPORT RequestId: {_REQUEST_ID}(?P<rest>.*)$", re.DOTALL)
_REPORT_FIELD = re.compile(
    r"(?P<name>Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration|Restore Duration|Status):\s*"
    r"(?P<value>[^\t\s]+)"
)
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z"
_TIMEOUT = re.compile(rf"^(?:{_ISO}\s+)?(?:{_REQUEST_ID}\s+)?Task timed out after (?P<secs>\d+(?:\.\d+)?) seconds")
_LEVEL_WORDS = {"ERROR": LogLevel.ERROR, "FATAL": LogLevel.ERROR, "CRITICAL": LogLevel.ERROR, "WARN": LogLevel.WARN}
_LEVEL_WORDS["WARNING"] = LogLevel.WARN
_LEVEL = r"(?P<level>ERROR|FATAL|CRITICAL|WARN(?:ING)?)"
# Python runtime: "[ERROR]\t2026-11-20T10:00:00.123Z\t<request id>\tmessage" (request id may be missing).
_PYTHON = re.compile(rf"^\[{_LEVEL}\]\t(?:{_ISO}\t)?(?:(?P<rid>[0-9a-fA-F-]{{36}})\t)?(?P<msg>.*)$", re.DOTALL)
# Node runtime: "2026-11-20T10:00:00.123Z\t<request id>\tERROR\tmessage".
_NODE = re.compile(rf"^{_ISO}\t(?P<rid>[0-9a-fA-F-]{{36}}|undefined)\t{_LEVEL}\t(?P<msg>.*)$", re.DOTALL)
# Plain text: "ERROR something", "[WARN] something", "2026-... ERROR: something", "level=error msg=...".
_PLAIN = re.compile(
    rf"^(?:{_ISO}\s+|\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?\s+)?"
    rf"\[?{_LEVEL}\]?(?::|\s+-)?\s+(?P<msg>.*)$",
    re.DOTALL,
)
_LOGFMT = re.compile(r"(?:^|\s)level=\"?(?P<level>error|fatal|critical|warn|warning)\"?(?:\s|$)", re.IGNORECASE)
_LOGFMT_MSG = re.compile(r"(?:^|\s)msg=(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<bare>\S+))")
_JSON_LEVEL_KEYS = ("level", "levelname", "log_level", "logLevel", "severity", "lvl")
_JSON_MESSAGE_KEYS = ("message", "msg", "errorMessage", "error", "event")


def parse_lambda_message(message: str) -> ParsedLine | None:
    """What a log event's message says, or None for lines that are no evidence (INFO, DEBUG, prose)."""
    text = message.strip()
    if not text:
        return None
    if text.startswith("{"):
        return _parse_json(text)
    if text.startswith(("START ", "END ")):
        marker = _START_END.match(text)
        return PlatformLine(marker.group("kind"), marker.group("rid")) if marker else None
    if text.startswith("REPORT "):
        return _parse_report(text)
    timeout = _TIMEOUT.match(text)
    if timeout:
        return PlatformTimeout(timeout.group("rid") or "", float(timeout.group("secs")))
    for pattern in (_PYTHON, _NODE, _PLAIN):
        found = pattern.match(text)
        if found:
            rid = found.group("rid") if "rid" in pattern.groupindex else None
            return AppLogLine(
                _LEVEL_WORDS[found.group("level").upper()],
                _first_line(found.group("msg")),
                "" if rid in (None, "undefined") else str(rid),
            )
    logfmt = _LOGFMT.search(text)
    if logfmt:
        msg = _LOGFMT_MSG.search(text)
        body = (msg.group("quoted") or msg.group("bare") or "") if msg else text
        return AppLogLine(_LEVEL_WORDS[logfmt.group("level").upper()], _first_line(body), "")
    return None


def _first_line(text: str) -> str:
    """Tracebacks follow the message on later lines; the first line is what identifies the error."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def _parse_report(text: str) -> PlatformReport | None:
    head = _REPORT.match(text)
    if head is None:
        return None
    fields = {m.group("name"): m.group("value") for m in _REPORT_FIELD.finditer(head.group("rest"))}
    try:
        return PlatformReport(
            request_id=head.group("rid"),
            duration_ms=float(fields["Duration"]),
            billed_duration_ms=float(fields.get("Billed Duration", fields["Duration"])),
            memory_size_mb=int(fields["Memory Size"]),
            max_memory_used_mb=int(fields["Max Memory Used"]),
            init_duration_ms=float(fields["Init Duration"]) if "Init Duration" in fields else None,
            timed_out=fields.get("Status", "").lower() == "timeout",
        )
    except (KeyError, ValueError):
        return None  # a truncated REPORT line says nothing reliable


def _parse_json(text: str) -> ParsedLine | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == "platform.report" and isinstance(data.get("record"), dict):
        return _parse_platform_report(data["record"])
    if data.get("type") == "platform.start" and isinstance(data.get("record"), dict):
        return PlatformLine("START", str(data["record"].get("requestId", "")))
    level = next((str(data[k]).upper() for k in _JSON_LEVEL_KEYS if isinstance(data.get(k), str)), "")
    if level not in _LEVEL_WORDS and "errorType" in data:
        level = "ERROR"  # an unhandled exception: {"errorType": ..., "errorMessage": ..., "stackTrace": [...]}
    if level not in _LEVEL_WORDS:
        return None
    message = next((data[k] for k in _JSON_MESSAGE_KEYS if isinstance(data.get(k), str) and data[k]), "")
    if "errorType" in data and message and not message.startswith(str(data["errorType"])):
        message = f"{data['errorType']}: {message}"
    rid = next((str(data[k]) for k in ("requestId", "request_id", "AWSRequestId", "aws_request_id") if k in data), "")
    return AppLogLine(_LEVEL_WORDS[level], _first_line(str(message)), rid)


def _parse_platform_report(record: dict[str, Any]) -> PlatformReport | None:
    found = record.get("metrics")
    if not isinstance(found, dict):
        return None
    metrics: dict[str, Any] = found
    try:
        init = metrics.get("initDurationMs")
        return PlatformReport(
            request_id=str(record.get("requestId", "")),
            duration_ms=float(metrics["durationMs"]),
            billed_duration_ms=float(metrics.get("billedDurationMs", metrics["durationMs"])),
            memory_size_mb=int(metrics["memorySizeMB"]),
            max_memory_used_mb=int(metrics["maxMemoryUsedMB"]),
            init_duration_ms=float(init) if init is not None else None,
            timed_out=str(record.get("status", "")).lower() == "timeout",
        )
    except (KeyError, TypeError, ValueError):
        return None
