"""Finding and reading source files safely: nothing outside the root, nothing binary or huge, no surprises.

Every file that cannot be used becomes a SkippedSource with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from runbook_synth.errors import ParameterError, SourceError

SOURCE_FOLDERS = (".claude/observations", ".claude/journals")
MARKDOWN_SUFFIXES = (".md", ".markdown")
_MAX_FRONTMATTER = 64 * 1024
log = logging.getLogger(__name__)
_DATE_IN_PATH = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")


class SourceFile(NamedTuple):
    """A file under the root: its path as walked (under the root as given) and its POSIX path relative to
    the root. Strings in a named tuple, not Paths in a frozen dataclass: for tens of thousands of files
    either costs more than the walk itself."""

    location: str
    relative: str

    @property
    def path(self) -> Path:
        return Path(self.location)


@dataclass(frozen=True)
class FrontmatterDocument:
    """Text split into its YAML mapping and body; `body_line` is the body's first 1-based line."""

    metadata: dict[str, Any]
    body: str
    body_line: int
    has_frontmatter: bool


def check_root(root: Path) -> Path:
    """The resolved root, or a user error naming it."""
    try:
        if not root.exists():
            raise ParameterError("root", root, "no such directory")
        if not root.is_dir():
            raise ParameterError("root", root, "not a directory")
    except OSError as error:
        raise ParameterError(
            "root", str(root)[:200] + ("..." if len(str(root)) > 200 else ""), error.strerror or str(error)
        ) from None
    return root.resolve()


def source_folders(root: Path, patterns: tuple[str, ...] = SOURCE_FOLDERS) -> list[Path]:
    """The folders the `sources` setting names (relative to the root; `*` globs allowed), inside the root."""
    folders: list[Path] = []
    for pattern in patterns:
        candidates = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
        for candidate in candidates:
            if candidate.is_dir() and not candidate.is_symlink() and candidate.resolve().is_relative_to(root):
                folders.append(candidate)
    return folders


def unread_markdown_folders(root: Path, patterns: tuple[str, ...]) -> list[tuple[str, int]]:
    """`.claude/` folders full of markdown that the `sources` setting does not read, with their file counts."""
    claude = root / ".claude"
    if not claude.is_dir():
        return []
    read = [folder.resolve() for folder in source_folders(root, patterns)]
    unread: list[tuple[str, int]] = []
    for child in sorted(claude.iterdir()):
        if not child.is_dir() or child.is_symlink() or child.name == "commands":
            continue
        resolved = child.resolve()
        if any(
            resolved == folder or resolved.is_relative_to(folder) or folder.is_relative_to(resolved) for folder in read
        ):
            continue
        count = sum(1 for path in child.rglob("*") if path.suffix.lower() in MARKDOWN_SUFFIXES and path.is_file())
        if count:
            unread.append((_relative(child, root), count))
    return unread


def discover(root: Path, patterns: tuple[str, ...] = SOURCE_FOLDERS) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Markdown sources under the root's source folders, sorted; plus (path, reason) for each refusal.

    Walked with `os.scandir` (a folder's entries carry their type, so a plain file costs no extra system
    call): folders in name order, each folder's refused symlinked subfolders before its files."""
    found: list[SourceFile] = []
    refused: list[tuple[str, str]] = []
    seen: set[str] = set()
    for base in source_folders(root, patterns):
        _discover_in(str(base), _relative(base, root) + "/", root, found, refused, seen)
    found.sort(key=lambda source: source.relative)
    return found, refused


def _discover_in(
    folder: str,
    prefix: str,
    root: Path,
    found: list[SourceFile],
    refused: list[tuple[str, str]],
    seen: set[str],
) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return  # as os.walk: a folder that cannot be listed is passed over
    folders: list[os.DirEntry[str]] = []
    markdown: list[os.DirEntry[str]] = []
    for entry in entries:  # one pass, the common case (a plain markdown file) with the fewest calls
        if _is_folder(entry):
            if entry.is_symlink():
                refused.append((prefix + entry.name, "symlinked folder not followed"))
            else:
                folders.append(entry)
        else:
            lowered = entry.name.lower()
            if lowered.endswith(MARKDOWN_SUFFIXES) and not lowered.startswith("readme"):
                markdown.append(entry)
    for entry in markdown:
        relative = prefix + entry.name
        reason = "" if entry.is_file(follow_symlinks=False) else _refusal(entry, root)
        if reason:
            refused.append((relative, reason))
        elif relative not in seen:
            seen.add(relative)
            found.append(SourceFile(entry.path, relative))
    for entry in folders:
        _discover_in(entry.path, prefix + entry.name + "/", root, found, refused, seen)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _refusal(entry: os.DirEntry[str], root: Path) -> str:
    """Why a markdown entry is not read ("" when it is): a link out of the root, a broken link, not a file."""
    if entry.is_symlink():
        try:
            target = Path(entry.path).resolve(strict=True)
        except (OSError, RuntimeError):
            return "symlink is broken or loops"
        if not target.is_relative_to(root):
            return "symlink points outside the root"
    elif entry.is_file(follow_symlinks=False):
        return ""
    try:
        regular = stat.S_ISREG(os.stat(entry.path).st_mode)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return "" if regular else "not a regular file"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(source: SourceFile, max_bytes: int) -> str:
    """The file's text with line endings normalized; SourceError for what cannot be text."""
    try:
        size = os.stat(source.location).st_size
    except OSError as error:
        raise SourceError(source.relative, f"cannot be read ({error.strerror or error})") from None
    if size > max_bytes:
        raise SourceError(
            source.relative,
            f"too large ({size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB, "
            "set max_file_mb to raise it)",
        )
    try:
        with open(source.location, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise SourceError(source.relative, f"cannot be read ({error.strerror or error})") from None
    if b"\x00" in raw[:65536]:
        raise SourceError(source.relative, "binary file, not markdown text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(
            source.relative, f"not UTF-8 text (invalid byte 0x{raw[error.start]:02x} at offset {error.start})"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def split_frontmatter(text: str, source: str, lenient: bool = True) -> FrontmatterDocument:
    """Parse YAML frontmatter (python-frontmatter's YAML handler) and keep the body's line offset.

    `lenient` reads simple `key: value` lines that YAML rejects (with a warning); strict mode refuses them.
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return FrontmatterDocument({}, text, 1, False)
    end = None
    for index in range(1, min(len(lines), 2000)):
        if lines[index].strip() in ("---", "..."):
            end = index
            break
    if end is None:
        raise SourceError(source, "frontmatter starts with '---' but is never closed")
    raw = "\n".join(lines[1:end])
    if len(raw) > _MAX_FRONTMATTER:
        raise SourceError(source, f"frontmatter is larger than {_MAX_FRONTMATTER // 1024} KiB")
    try:
        from frontmatter.default_handlers import YAMLHandler  # here: a warm `runbook list` reads no file

        metadata = YAMLHandler().load(raw) if raw.strip() else {}
    except RecursionError:
        raise SourceError(source, "frontmatter YAML is nested too deeply") from None
    except Exception as error:  # yaml raises many types; all mean the same to the user
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        fallback = _simple_frontmatter(raw) if lenient else None
        if fallback is None:
            raise SourceError(source, f"frontmatter is not valid YAML{where}: {problem}") from None
        log.warning("%s: frontmatter is not valid YAML%s (%s); read it line by line", source, where, problem)
        metadata = fallback
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise SourceError(source, f"frontmatter is a {type(metadata).__name__}, not a mapping of keys")
    body = "\n".join(lines[end + 1 :])
    return FrontmatterDocument(metadata, body, end + 2, True)


_SIMPLE_LINE = re.compile(r"^([A-Za-z_][\w-]{0,40}):(?:\s+(.*))?$")


def _simple_frontmatter(raw: str) -> dict[str, Any] | None:
    """`key: value` lines as /observe writes them, for frontmatter YAML rejects (an unquoted `a: b: c`).

    Only when every line has that shape and brackets balance; anything stranger stays an error.
    """
    metadata: dict[str, Any] = {}
    for line in raw.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SIMPLE_LINE.match(line)
        if not match:
            return None
        value = (match.group(2) or "").strip()
        if value.count("[") != value.count("]") or value.count("{") != value.count("}"):
            return None
        if value.startswith("[") and value.endswith("]"):
            metadata[match.group(1)] = [item.strip().strip("'\"") for item in value[1:-1].split(",") if item.strip()]
        else:
            metadata[match.group(1)] = value.strip("'\"")
    return metadata


def scalar(metadata: dict[str, Any], key: str) -> str:
    """A frontmatter value as text, only when it is a scalar (lists and maps are ignored, never expanded)."""
    value = metadata.get(key)
    if isinstance(value, str | int | float | bool | date | datetime):
        return str(value).strip()
    return ""


def tag_list(metadata: dict[str, Any]) -> tuple[str, ...]:
    """Tags as lower-case strings; a comma-separated string is accepted, anything else is ignored."""
    value = metadata.get("tags")
    items: list[str] = []
    if isinstance(value, str):
        items = [part for part in re.split(r"[,\s]+", value.strip("[]")) if part]
    elif isinstance(value, list):
        items = [str(item) for item in value[:100] if isinstance(item, str | int | float)]
    return tuple(dict.fromkeys(item.strip().strip("#").lower() for item in items if item.strip()))


def date_from(value: Any, *fallbacks: str) -> date | None:
    """A date from a frontmatter value, or from the first `YYYY-MM-DD` in the fallbacks (paths, lines)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    candidates = [value] if isinstance(value, str) else []
    candidates.extend(fallbacks)
    for candidate in candidates:
        match = _DATE_IN_PATH.search(str(candidate)[:500])
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
    return None
