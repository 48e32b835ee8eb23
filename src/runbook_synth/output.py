"""Writing runbooks without losing work: safe names, atomic replace, one writer at a time, and no silent
downgrade of a runbook mined from more runs."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from runbook_synth.errors import LockedError, RunbookSynthError, UnsafePathError
from runbook_synth.state import state_folder

LOCK_NAME = "lock"
DEFAULT_OUT = "runbooks"
TEMP_SUFFIX = ".tmp"
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


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside the target, fsync, then rename over it: all or nothing.

    The rename replaces a symlink at the target instead of following it; the file gets the mode the
    umask allows (as any file the user creates), not the temporary file's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Temporary files a killed run left in the output folder (call only while holding the lock)."""
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX) and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry.name)
    return removed


@contextlib.contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """Hold the root's lock for a whole run that writes; a second run fails at once, naming the holder.

    `flock` semantics: the kernel drops the lock when its holder dies, so a crashed run never blocks the
    next one. The pid inside is only for the message. The lock file is opened without following links.
    """
    lock_path = state_folder(root) / LOCK_NAME
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise LockedError(f"{lock_path}: cannot open the lock ({error.strerror or error})") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise LockedError(
                f"{lock_path}: another runbook run (pid {holder}) is working on this repository; "
                "wait for it to finish and run again"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)  # an idle lock is empty, so two runs leave byte-identical state
    finally:
        os.close(descriptor)


def output_folder(root: Path, out: Path | None, read_folders: Sequence[Path]) -> Path:
    """Where runbooks go: `<root>/runbooks` by default, which must stay inside the root (a symlinked
    `runbooks/` pointing elsewhere is refused); an explicit `--out` may be anywhere, but never inside a
    folder that is read as a source (the next run would ingest its own runbook)."""
    resolved_root = root.resolve()
    target = (out if out is not None else root / DEFAULT_OUT).resolve()
    if out is None and not target.is_relative_to(resolved_root):
        raise UnsafePathError(
            f"{root / DEFAULT_OUT}: resolves to {target}, outside the root; refusing to write there "
            "(remove the link, or pass --out explicitly)"
        )
    for folder in read_folders:
        source = folder.resolve()
        if target == source or target.is_relative_to(source):
            raise UnsafePathError(
                f"--out {target}: inside {folder.relative_to(root) if folder.is_relative_to(root) else folder}, "
                "which is read as a source; the next run would mine its own "
                "runbook. Choose another folder"
            )
    return target


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
