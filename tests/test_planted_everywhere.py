"""Every planted secret form (tests/data/secrets/planted.jsonl, 91 forms) put in every kind of source: none of
it, whole or in 12-character pieces, reaches stdout, stderr, a runbook, its JSON, the redaction report,
warnings, error messages or the state folder."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from runbook_synth.cli import app
from tests.support.corpus import Call, Run, fence, write_error_journal, write_run
from tests.support.scenarios import deployment_run

PLANTED = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "secrets" / "planted.jsonl").read_text().splitlines()
    if line.strip()
]


def _pieces(secret: str) -> list[str]:
    if len(secret) < 12:
        return [secret]
    middle = (len(secret) - 12) // 2
    return [secret, secret[:12], secret[middle : middle + 12], secret[-12:]]


def _plant(root: Path) -> None:
    texts = [form["text"] for form in PLANTED]
    for index in range(3):
        run = deployment_run(index)
        calls = [Call(text.split("\n")[0][:400], "ok", "Planted", "1s") for text in texts[index::3]]
        output = "\n".join(texts)
        write_run(root, Run(run.day, run.clock, run.slug, run.context, [*run.calls, *calls], total=run.total))
        write_run(
            root,
            Run(run.day, "23:00:00", f"{run.slug}-out", run.context, [Call("aws lambda get-function", output, "Look")]),
        )
    write_error_journal(
        root,
        "2026-09-05",
        "planted",
        "Everything planted",
        error="\n".join(texts),
        cause="\n".join(texts[:20]),
        fix="\n".join(texts[20:50]),
        prevention="\n".join(texts[50:]),
    )
    failure = root / ".claude" / "observations" / "2026-09-06" / "failure-120000-planted.md"
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(
        "---\nmode: failure\n---\n# Failure: planted\n\n## Error Messages\n\n" + fence("\n".join(texts)) + "\n"
    )
    broken = root / ".claude" / "observations" / "2026-09-06" / "execution-1-broken.md"
    broken.write_text(
        "---\n" + "\n".join(f"k{i}: {form['text']}" for i, form in enumerate(PLANTED[:30])) + "\n:\n---\n"
    )


def test_no_planted_form_reaches_any_output(runner: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _plant(root)
    outputs: list[tuple[str, str]] = []
    for args in (
        ["list", "--root", str(root)],
        ["deployment", "lambda", "--root", str(root), "--redaction-report"],
        ["deployment", "lambda", "--root", str(root), "--format", "json", "--stdout"],
        ["deployment", "lambda", "--root", str(root), "--stdout", "--strict"],
        ["incident-response", "nothing-like-this", "--root", str(root), "--stdout"],
    ):
        result = runner.invoke(app, args)
        outputs += [(f"stdout of {args[:2]}", result.stdout), (f"stderr of {args[:2]}", result.stderr)]
    written = [path for path in root.rglob("*") if path.is_file() and ".claude" not in path.parts]
    assert any(path.suffix == ".md" for path in written)
    outputs += [(str(path), path.read_text(errors="replace")) for path in written]
    leaks = [
        (form["form"], where)
        for form in PLANTED
        for where, text in outputs
        if any(piece in text for piece in _pieces(form["secret"]))
    ]
    assert leaks == []
