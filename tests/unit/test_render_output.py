"""Render (fences, inline code, JSON shape) and output (names, paths, atomic writes, downgrade guard)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_synth.errors import RunbookSynthError, UnsafePathError
from runbook_synth.models import DurationEstimate, RollbackProcedure, Runbook, Step, Support, TroubleshootingEntry
from runbook_synth.output import check_not_worse, recorded_runs, runbook_filename, safe_child, slug
from runbook_synth.render import fence, inline_code, render_json, render_markdown

STEP = Step(
    number=1,
    title="Push image",
    commands=("docker push api:{git_sha}",),
    parameters=("git_sha",),
    expected_output="```\nnested fence\n```",
    duration_seconds=DurationEstimate(30.0, 45.0),
    support=Support(3, 4),
    optional=True,
    verification="",
    if_failed=("Check: denied",),
    sources=("a.md:3",),
)
RUNBOOK = Runbook(
    operation_type="deployment",
    scope="lambda",
    generated="2026-11-23",
    last_validated="2026-11-20",
    estimated_duration_seconds=300.0,
    sources=("a.md",),
    steps=(STEP,),
    troubleshooting=(
        TroubleshootingEntry(
            "Token expired", ("denied",), "", ("aws ecr get-login-password",), "", 2, "2026-11-20", ("a.md",)
        ),
    ),
    rollback=RollbackProcedure(),
    run_count=4,
)


def test_fence_outlasts_backticks_inside() -> None:
    assert fence("a ``` b", "bash") == "````bash\na ``` b\n````"
    assert fence("plain") == "```\nplain\n```"


def test_inline_code_survives_backticks() -> None:
    assert inline_code("a`b") == "``a`b``"
    assert inline_code("`x`") == "`` `x` ``"


def test_markdown_has_the_spec_sections_and_survives_nested_fences() -> None:
    text = render_markdown(RUNBOOK)
    for heading in (
        "# Runbook: Deployment - lambda",
        "## Overview",
        "## Prerequisites",
        "## Procedure",
        "## Verification",
        "## Rollback Procedure",
        "## Monitoring",
        "## Troubleshooting",
        "## Sources Analyzed",
    ):
        assert f"\n{heading}\n" in f"\n{text}"
    assert "### Step 1: Push image (optional)" in text
    assert "````\n```\nnested fence\n```\n````" in text
    assert "TODO: no rollback was observed for this scope." in text
    assert "**Estimated Duration**: 5m" in text and "~30s (median; p90 45s)" in text


def test_json_is_the_public_shape() -> None:
    data = json.loads(render_json(RUNBOOK))
    assert data["steps"][0]["duration_seconds"] == {"median": 30.0, "p90": 45.0}
    assert data["steps"][0]["support"] == {"runs": 3, "of": 4}
    assert data["rollback"] == {"steps": [], "sources": [], "estimated_duration_seconds": None, "operation_type": ""}
    assert "extra" not in data


@pytest.mark.parametrize(
    ("scope", "expected"), [("API timeout", "api-timeout"), ("../../etc", "etc"), ("a\x00/b", "a-b"), ("", "")]
)
def test_slug(scope: str, expected: str) -> None:
    assert slug(scope) == expected


def test_filenames() -> None:
    assert (
        runbook_filename("2026-11-23", "incident-response", "API timeout", "md")
        == "2026-11-23-incident-response-api-timeout.md"
    )
    assert runbook_filename("2026-11-23", "deployment", "", "json") == "2026-11-23-deployment.json"
    with pytest.raises(UnsafePathError):
        runbook_filename("2026-11-23", "../", "x", "md")


@pytest.mark.parametrize("name", ["../x.md", "/etc/passwd", "a/b.md", "x\x00.md", "..", ""])
def test_safe_child_refuses_escapes(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_child(tmp_path, name)


def test_downgrade_guard_reads_markdown_and_json(tmp_path: Path) -> None:
    markdown = tmp_path / "a.md"
    markdown.write_text(render_markdown(RUNBOOK))
    document = tmp_path / "a.json"
    document.write_text(render_json(RUNBOOK))
    assert recorded_runs(markdown) == 4 and recorded_runs(document) == 4
    check_not_worse(markdown, 4, force=False)
    check_not_worse(markdown, 2, force=True)
    with pytest.raises(RunbookSynthError, match="mined from 4 runs and the new one from only 2"):
        check_not_worse(document, 2, force=False)


def test_a_big_runbook_is_never_cut_off_by_the_limit_meant_for_a_user_template_that_loops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100,000-command note gave 'rendering took longer than 10s' on a slow machine with the packaged
    template. The packaged templates have no limit; a user's has one that grows with the runbook."""
    from dataclasses import replace

    from runbook_synth import render

    big = replace(RUNBOOK, steps=tuple(replace(STEP, number=n, commands=(f"echo {n}",) * 20) for n in range(1, 400)))
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.001)
    monkeypatch.setattr(render, "RENDER_SECONDS_PER_ITEM", 0.0)
    assert render_markdown(big).count("echo 399") == 20  # takes ~0.1 s: over a limit of 1 ms
    user = tmp_path / "tpl"
    user.mkdir()
    forever = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    (user / "step.md.j2").write_text(forever)
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.2)
    with pytest.raises(RunbookSynthError, match=r"rendering took longer than 0\.2s"):
        render_markdown(big, user)  # a packaged template including the user's looping piece is still stopped
    monkeypatch.setattr(render, "RENDER_SECONDS_PER_ITEM", 0.001)
    assert render.render_time_limit(user, 100_000) == pytest.approx(100.2)
    assert render.render_time_limit(tmp_path / "empty", 100_000) is None
