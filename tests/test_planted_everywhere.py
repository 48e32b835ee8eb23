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


def test_a_secret_in_a_file_name_is_never_shown(runner: CliRunner, tmp_path: Path) -> None:
    token = "ghp_" + "Zq8rT2vW9xY4bN6mK1pL3sD5fG7hJ0aQ2wE4"
    root = tmp_path / "repo"
    for index in range(2):
        run = deployment_run(index)
        write_run(
            root, Run(run.day, run.clock, f"{run.slug}-{token}" if index == 0 else run.slug, run.context, run.calls)
        )
    (root / ".claude" / "observations" / f"execution-9-{token}-broken.md").write_bytes(b"\x00binary")
    outputs = []
    for args in (
        ["list", "--root", str(root)],
        ["deployment", "lambda", "--root", str(root), "--redaction-report"],
        ["deployment", "lambda", "--root", str(root), "--stdout", "--format", "json"],
    ):
        result = runner.invoke(app, args)
        outputs += [result.stdout, result.stderr]
    outputs += [path.read_text(errors="replace") for path in (root / "runbooks").glob("*")]
    assert any("execution-9-{github_token}-broken.md" in text for text in outputs), "the skip is named, masked"
    assert not [text for text in outputs if any(piece in text for piece in _pieces(token[4:]))]
