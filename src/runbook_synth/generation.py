"""One runbook for a request: what the last `regenerate` mined for it when nothing it read has changed since,
else the recipe in `pipeline.py` (imported only then: a warm answer loads no parser, aligner or clusterer)."""

from __future__ import annotations

from pathlib import Path

from runbook_synth.errors import ParameterError, RunbookSynthError
from runbook_synth.ingest.files import check_root, source_folders
from runbook_synth.models import (
    Generated,
    GenerateRequest,
    OutputFormat,
    Runbook,
    Shape,
    resolve_type,
)
from runbook_synth.output import (
    atomic_write,
    check_not_worse,
    output_folder,
    remove_stale_temporaries,
    run_lock,
    runbook_filename,
    safe_child,
)
from runbook_synth.render import render_json, render_markdown
from runbook_synth.snapshot import WarmRunbook, warm_runbook
from runbook_synth.state import keep_state


def generate(request: GenerateRequest) -> Generated:
    """Mine the runbook for (type, scope) under the root and render it; nothing is written."""
    operation_type, scope = _checked(request)
    known = snapshot_runbook(request, operation_type, scope) if request.reuse_snapshot else None
    if known is None:
        from runbook_synth.pipeline import ingest, mine

        corpus = ingest(request.root, request.settings, request.strict)
        runbook = mine(corpus, check_root(request.root), operation_type, scope, request.settings, request.today)
        text = render(runbook, request.output_format, request.templates_dir, request.shape)
        return Generated(runbook, text, corpus, _filename(request, operation_type, runbook.scope))
    filename = _filename(request, operation_type, scope)  # the snapshot holds runbooks under their own label
    packaged = request.templates_dir is None and request.shape == Shape.RUNBOOK
    if known.markdown is not None and packaged and request.output_format == OutputFormat.MD:
        return Generated(known.load, known.markdown, known.corpus, filename, True, known.summary)
    runbook = known.load()
    text = render(runbook, request.output_format, request.templates_dir, request.shape)
    return Generated(runbook, text, known.corpus, filename, from_snapshot=True)


def _filename(request: GenerateRequest, operation_type: str, scope: str) -> str:
    return runbook_filename(request.today.isoformat(), operation_type, scope, request.output_format)


def snapshot_runbook(request: GenerateRequest, operation_type: str, scope: str) -> WarmRunbook | None:
    """What the last `regenerate` mined for this type and scope, when nothing it read has changed since."""
    if not scope:
        return None  # which scope is meant is decided by the full path (`only_ready_scope`)
    root = check_root(request.root)
    return warm_runbook(root, request.settings, request.strict, request.today, operation_type, scope)


def render(
    runbook: Runbook, output_format: OutputFormat, templates_dir: Path | None = None, shape: Shape = Shape.RUNBOOK
) -> str:
    if output_format == OutputFormat.JSON:
        if shape != Shape.RUNBOOK:
            raise ParameterError("shape", shape.value, "is a markdown shape; JSON has one shape (drop --format json)")
        return render_json(runbook)
    return render_markdown(runbook, templates_dir, name=f"{shape.value}.md.j2")


def _checked(request: GenerateRequest) -> tuple[str, str]:
    """The request's type and scope, or an error naming the parameter."""
    if request.templates_dir is not None and not request.templates_dir.is_dir():
        raise ParameterError("templates_dir", request.templates_dir, "no such directory")
    operation_type = resolve_type(request.operation_type)
    if not operation_type or "\x00" in operation_type or "/" in operation_type:
        raise RunbookSynthError(f"operation type {request.operation_type!r} is not a name")
    return operation_type, request.scope.replace("\x00", "").strip()


def generate_and_write(
    request: GenerateRequest, out: Path | None = None, force: bool = False
) -> tuple[Generated, Path]:
    """The whole writing run under the root's lock, taken before any source is read."""
    root = check_root(request.root)
    with run_lock(root):
        out_dir = output_folder(root, out, source_folders(root, request.settings.sources))
        remove_stale_temporaries(out_dir)
        keep_state(root)
        generated = generate(request)
        return generated, write(generated, out_dir, force)


def write(generated: Generated, out_dir: Path, force: bool = False) -> Path:
    """Write atomically; never silently replace a better runbook. Callers hold the run lock."""
    target = safe_child(out_dir, generated.filename)
    check_not_worse(target, generated.counts.run_count, force)
    atomic_write(target, generated.text)
    return target
