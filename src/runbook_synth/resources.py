"""Where the package's own files are, without importing what reads them (jinja2 costs a fast path more
than the lookup it needs)."""

from __future__ import annotations

from pathlib import Path


def packaged_templates() -> Path:
    """The default templates: inside the installed package, or the repository's templates/ folder."""
    installed = Path(__file__).parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "templates"
