"""Writing runbooks without losing work: safe names, atomic replace, one writer at a time, and no silent
downgrade of a runbook mined from more runs."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from runbook_synth.errors import LockedError, RunbookSynthError, UnsafePathError

LOCK_NAME = ".runbook-synth.lock"
_MINED_FROM = re.compile(r"\*\*Mined from\*\*:\s*(\d+) recorded runs")


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe slug: lower-case words joined by dashes. `../../etc` becomes `etc`."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.replace("\x00", "").lower()).strip("-")
    return cleaned[:limit].rstrip("-")


def runbook_filename(day: str, operation_type: str, scope: str, extension: str) -> str:
    type_slug = slug(operation_type)
    if not type_slug:
        raise UnsafePathError(f"operation type {operation_type!r} has no usable name")
    parts = [day, type_slug] + ([slug(scope)] if slug(scope) else [])
    return "-".join(parts) + "." + extension


def safe_child(folder: Path, name: str) -> Path:
    """`folder/name`, refusing any name that would land outside the folder."""
    if "\x00" in name or "/" in name or "\\" in name or name in ("", ".", ".."):
        raise UnsafePathError(f"refusing output name {name!r}: it would escape {folder}")
    target = (folder / name).resolve()
    if target.parent != folder.resolve():
        raise UnsafePathError(f"refusing output name {name!r}: it would escape {folder}")
    return target


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside the target, fsync, then rename over it: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold the output folder's lock; a second concurrent run fails at once with a clear message."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunbookSynthError(f"--out {folder}: cannot create the folder ({error.strerror or error})") from None
    lock_path = folder / LOCK_NAME
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise LockedError(
                f"{lock_path}: another runbook run (pid {holder}) is writing to this folder; "
                "wait for it to finish and run again"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(descriptor)


def recorded_runs(path: Path) -> int | None:
    """How many runs an existing runbook file was mined from (markdown or JSON), if it says."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix == ".json":
        try:
            value = json.loads(text).get("run_count")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, int) else None
    match = _MINED_FROM.search(text[:20000])
    return int(match.group(1)) if match else None


def check_not_worse(path: Path, new_runs: int, force: bool) -> None:
    """Refuse to replace a runbook mined from more runs with one mined from fewer, unless forced."""
    if force or not path.exists():
        return
    old_runs = recorded_runs(path)
    if old_runs is not None and new_runs < old_runs:
        raise RunbookSynthError(
            f"{path}: the existing runbook was mined from {old_runs} runs and the new one from only {new_runs}; "
            "kept the existing file (use --force to replace it)"
        )
